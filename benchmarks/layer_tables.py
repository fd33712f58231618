"""Time to a layer table and to an AM job's first step, per model, beside one forward pass.

    .venv/bin/python benchmarks/layer_tables.py [model ...]

Each model (random weights) at its native input: ``list_layers`` (one forward pass; fields derived, or "–"
where they cannot be), then the time from an AM call on a unit of the model's default AM layer to its first step (a callback with
``every=1``), and Saliency Tubes on a batch of 2 clips at its default layer, each also as a ratio to one forward
pass timed in the same run. Caches start cold per model. The Hugging Face rows are each family's base config
(transformers' defaults: VideoMAE-B 16×224², TimeSformer-B 8×224², ViViT-B 32×224²), built with random weights
through ``load_model(instance)``, and X-CLIP B/32 (8×224²) over 400 class names; X3D-S is PyTorchVideo's at 13×160², SlowFast R50 its 8×8 (32 fast frames at 224²,
AM with one input per pathway).
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import torch

from vidvis_widgets.methods import SaliencyTubes
from vidvis_widgets.methods.activation_maximization.am import ActivationMaximization, AMJob
from vidvis_widgets.models.layers import clear_layer_caches
from vidvis_widgets.models import list_layers, load_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.small_models import word_tokenizer  # noqa: E402 — the tests' offline tokenizer

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


def run(name: str) -> tuple:
    model, shape = build(name)
    layer = model.vidvis_adapter.am_layer
    adapter = model.vidvis_adapter
    inputs = [torch.zeros((1, *s)) for s in ([shape] if isinstance(shape[0], int) else shape)]
    if adapter.kind == "pathways":  # one clip, sampled into SlowFast's pathways
        inputs = adapter.split(inputs[0])
    with torch.no_grad():
        model(*adapter.forward_args(inputs))  # warm-up
        t = time.perf_counter()
        model(*adapter.forward_args(inputs))
        forward = time.perf_counter() - t
    clear_layer_caches()
    t = time.perf_counter()
    table = list_layers(model, shape)
    listing = time.perf_counter() - t
    clear_layer_caches()  # the AM call starts cold too
    am = ActivationMaximization(model, activation_max=None)
    seen = []
    t = time.perf_counter()
    am(AMJob(layer, 0), steps=2, every=1, callback=lambda s: seen.append(time.perf_counter() - t))
    to_first = seen[0] if seen else float("nan")
    derived = sum(r.receptive_field is not None for r in table if len(r.output_shape) > 1)
    spatial = sum(len(r.output_shape) > 1 for r in table)
    tube = float("nan")
    if isinstance(shape[0], int):
        clips = torch.randint(0, 256, (2, *shape[1:], 3), dtype=torch.uint8).numpy()
        tubes = SaliencyTubes(model)
        t = time.perf_counter()
        tubes(clips).tubes()
        tube = time.perf_counter() - t
    return name, layer, forward, listing, to_first, f"{derived}/{spatial}", tube


def main(names) -> None:
    torch.set_num_threads(torch.get_num_threads())
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    print("| model | AM layer | forward | list_layers | ×fwd | AM call → 1st step | ×fwd | tubes, 2 clips | ×fwd | "
          "fields derived |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        n, layer, fwd, lst, first, derived, tube = run(name)
        print(f"| {n} | {layer} | {fwd:.2f} s | {lst:.2f} s | {lst / fwd:.1f} | {first:.2f} s | {first / fwd:.1f} | "
              f"{tube:.2f} s | {tube / fwd:.1f} | {derived} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
