// anywidget entry of vidvis_widgets.ClipPlayer: maps model traits onto the
// shared ClipGridPlayer and reports user interaction back to Python.

import type { AnyModel, RenderProps } from "@anywidget/types";
import { ClipGridPlayer, type GridContent } from "./lib/player";
import "./clip_player.css";

interface ClipPlayerModel {
  _clips: unknown[];
  captions: string[];
  rows: number;
  cols: number;
  row_headers: string[];
  col_headers: string[];
  playing: boolean;
  loop: boolean;
  fps: number;
  frame: number;
  zoom: number;
}

function content(model: AnyModel<ClipPlayerModel>): GridContent {
  return {
    clips: model.get("_clips") ?? [],
    captions: model.get("captions") ?? [],
    rows: model.get("rows"),
    cols: model.get("cols"),
    rowHeaders: model.get("row_headers") ?? [],
    colHeaders: model.get("col_headers") ?? [],
  };
}

function render({ model, el }: RenderProps<ClipPlayerModel>): () => void {
  const player = new ClipGridPlayer({
    onUserState({ playing, frame }) {
      model.set("playing", playing);
      model.set("frame", frame);
      model.save_changes();
    },
    onUserSettings(s) {
      if (s.fps !== undefined) model.set("fps", s.fps);
      if (s.loop !== undefined) model.set("loop", s.loop);
      if (s.zoom !== undefined) model.set("zoom", s.zoom);
      model.save_changes();
    },
  });
  el.append(player.root);
  (el as unknown as { __vvPlayer: ClipGridPlayer }).__vvPlayer = player;

  player.setFps(model.get("fps"));
  player.setLoop(model.get("loop"));
  player.setZoom(model.get("zoom"));
  player.setPlaying(model.get("playing"));
  void player.setContent(content(model)).then(() => player.setFrame(model.get("frame")));

  // one state message can change several content traits; decode the clips once for all of them
  let contentQueued = false;
  const onContent = () => {
    if (contentQueued) return;
    contentQueued = true;
    queueMicrotask(() => {
      contentQueued = false;
      void player.setContent(content(model));
    });
  };
  const onPlaying = () => player.setPlaying(model.get("playing"));
  const onFrame = () => player.setFrame(model.get("frame"));
  const onFps = () => player.setFps(model.get("fps"));
  const onLoop = () => player.setLoop(model.get("loop"));
  const onZoom = () => player.setZoom(model.get("zoom"));
  const contentTraits = ["_clips", "captions", "rows", "cols", "row_headers", "col_headers"] as const;
  for (const t of contentTraits) model.on(`change:${t}`, onContent);
  model.on("change:playing", onPlaying);
  model.on("change:frame", onFrame);
  model.on("change:fps", onFps);
  model.on("change:loop", onLoop);
  model.on("change:zoom", onZoom);
  return () => {
    for (const t of contentTraits) model.off(`change:${t}`, onContent);
    model.off("change:playing", onPlaying);
    model.off("change:frame", onFrame);
    model.off("change:fps", onFps);
    model.off("change:loop", onLoop);
    model.off("change:zoom", onZoom);
    player.destroy();
  };
}

export default { render };
