"""Time to a layer table and to an AM job's first step, per model, beside one forward pass.

    .venv/bin/python benchmarks/layer_tables.py [--runs 3] [model ...]

Each model (random weights) at its native input: ``list_layers`` (one forward pass; fields derived, or "–"
where they cannot be), then the time from an AM call on a unit of the model's default AM layer to its first step (a callback with
``every=1``), and Saliency Tubes on a batch of 2 clips at its default layer, each also as a ratio to one forward
pass timed in the same run. Every ``list_layers`` and AM run starts on cleared layer caches (the work of a
first call); all four are warmed up once, then run interleaved (``benchmarks/timing.py``), and each column is
the median of ``--runs``. The Hugging Face rows are each family's base config
(transformers' defaults: VideoMAE-B 16×224², TimeSformer-B 8×224², ViViT-B 32×224²), built with random weights
through ``load_model(instance)``, and X-CLIP B/32 (8×224²) over 400 class names; X3D-S is PyTorchVideo's at 13×160², SlowFast R50 its 8×8 (32 fast frames at 224²,
AM with one input per pathway).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

from vidvis_widgets.methods import SaliencyTubes
from vidvis_widgets.methods.activation_maximization.am import ActivationMaximization, AMJob, unit
from vidvis_widgets.models.layers import clear_layer_caches
from vidvis_widgets.models import list_layers, load_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.small_models import word_tokenizer  # noqa: E402 — the tests' offline tokenizer
from timing import interleaved, machine  # noqa: E402

MODELS = {  # name → input shape; the AM unit is on the model's default AM layer (its adapter's am_layer)
    "torchvision:r3d_18": (3, 16, 112, 112),
    "torchvision:mc3_18": (3, 16, 112, 112),
    "torchvision:r2plus1d_18": (3, 16, 112, 112),
    "torchvision:s3d": (3, 16, 224, 224),
    "torchvision:mvit_v2_s": (3, 16, 224, 224),
    "torchvision:swin3d_t": (3, 16, 224, 224),
    "tiny_r3d": (3, 16, 64, 64),
    "tiny_two_stream": ((3, 64, 64), (20, 64, 64)),
    "pytorchvideo:x3d_s": None,
    "pytorchvideo:slowfast_r50": None,
    "hf:videomae-base": None,
    "hf:timesformer-base": None,
    "hf:vivit-base": None,
    "hf:xclip-base-patch32": None,
}
HF = {"hf:videomae-base": ("VideoMAEForVideoClassification", "VideoMAEConfig"),
      "hf:timesformer-base": ("TimesformerForVideoClassification", "TimesformerConfig"),
      "hf:vivit-base": ("VivitForVideoClassification", "VivitConfig")}


def _xclip_base():
    """X-CLIP B/32 (8 frames at 224²) with random weights over 400 class names, embedded by a word-level
    tokenizer built here (its own needs its vocabulary files)."""
    import transformers

    names = [f"action {i}" for i in range(400)]
    model = load_model(transformers.XCLIPModel(transformers.XCLIPConfig()).eval(), class_names=names,
                       processor=word_tokenizer(names))
    return model, (3, *model.vidvis_adapter.native_shape)


def build(name: str):
    if name == "hf:xclip-base-patch32":
        return _xclip_base()
    if name in HF:
        import transformers

        model_cls, config_cls = (getattr(transformers, n) for n in HF[name])
        model = load_model(model_cls(config_cls(num_labels=400)).eval())
        return model, (3, *model.vidvis_adapter.native_shape)
    model = load_model(name, weights=None)
    return model, MODELS[name] or (3, *model.vidvis_adapter.native_shape)


def run(name: str, runs: int) -> tuple:
    model, shape = build(name)
    layer = model.vidvis_adapter.am_layer
    adapter = model.vidvis_adapter
    inputs = [torch.zeros((1, *s)) for s in ([shape] if isinstance(shape[0], int) else shape)]
    if adapter.kind == "pathways":  # one clip, sampled into SlowFast's pathways
        inputs = adapter.split(inputs[0])
    tables = []

    def forward():
        with torch.no_grad():
            model(*adapter.forward_args(inputs))

    def listing():  # what a first call does: the layer caches are cleared before each run
        clear_layer_caches()
        tables.append(list_layers(model, shape))

    def to_first_step():  # a new AM object on cold caches, until its first callback
        clear_layer_caches()
        am = ActivationMaximization(model, activation_max=None)
        t = time.perf_counter()
        seen = []
        am(AMJob(unit(layer, 0)), steps=2, every=1, callback=lambda s: seen.append(time.perf_counter() - t))[0]
        return seen[0] if seen else float("nan")

    cases = {"forward": forward, "list_layers": listing, "AM": to_first_step}
    if isinstance(shape[0], int):
        clips = torch.randint(0, 256, (2, *shape[1:], 3), dtype=torch.uint8).numpy()
        tubes = SaliencyTubes(model)
        cases["tubes"] = lambda: tubes(inputs=clips).tubes()
    # the AM case's whole call runs 2 steps and builds results; its time to the first step is read by a callback
    firsts = []
    am_case = cases["AM"]
    cases["AM"] = lambda: firsts.append(am_case())
    med = interleaved(cases, runs=runs, warmup=1)
    first = statistics.median(firsts[1:])  # the warm-up call's is left out, as interleaved leaves it out
    table = tables[-1]
    derived = sum(r.receptive_field is not None for r in table if len(r.output_shape) > 1)
    spatial = sum(len(r.output_shape) > 1 for r in table)
    return (name, layer, med["forward"], med["list_layers"], first, f"{derived}/{spatial}",
            med.get("tubes", float("nan")))


def main(names, runs: int = 3) -> None:
    print(f"machine: {machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}; "
          f"median of {runs} interleaved runs")
    print("| model | AM layer | forward | list_layers | ×fwd | AM call → 1st step | ×fwd | tubes, 2 clips | ×fwd | "
          "fields derived |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        n, layer, fwd, lst, first, derived, tube = run(name, runs)
        print(f"| {n} | {layer} | {fwd:.2f} s | {lst:.2f} s | {lst / fwd:.1f} | {first:.2f} s | {first / fwd:.1f} | "
              f"{tube:.2f} s | {tube / fwd:.1f} | {derived} |", flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    runs = 3
    if args[:1] == ["--runs"]:
        runs, args = int(args[1]), args[2:]
    main(args or list(MODELS), runs)
