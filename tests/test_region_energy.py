"""Region energy: shares and densities equal the test's own numpy sums on AM results (two streams, one stream,
two pathways) and on tube results (two streams, one stream); and on the embedded model, masks drawn around the
parts separate what halves of the frame cannot."""

import dataclasses

import numpy as np
import pytest

from vidvis_widgets.data.bias import plan_bias
from vidvis_widgets.data.synthetic import SyntheticActions
from vidvis_widgets.methods import ActivationMaximization, AMJob, SaliencyTubes, logit
from vidvis_widgets.methods.core.diagnostics import DeadUnitWarning
from vidvis_widgets.methods.core.region_energy import RegionEnergy, region_energy
from vidvis_widgets.methods.core.regions import box, grid_cells, mask, whole_clip
from vidvis_widgets.models import load_model

from .test_model_matrix import _build, _clips

PLAN = plan_bias(None)  # the embedded models' world
PAIR = (PLAN.other, PLAN.carrier)  # the second class carries the cue, drawn in the part PLAN.region


@pytest.fixture(scope="module")
def two_stream():
    return load_model("tiny_two_stream")


@pytest.fixture(scope="module")
def face_clips():
    """The pair's validation clips with their named part masks (N×R×T×H×W) and object masks."""
    data = SyntheticActions("val", samples_per_class=8)
    out = {}
    for c in PAIR:
        out[c] = data.arrays(np.flatnonzero(data.labels == data.classes.index(c)))
    return data.region_names, out


@pytest.fixture(scope="module")
def pair_am(two_stream):
    """Each logit of the pair at the papers' slow temporal regularization, one start: 2 jobs, 120 steps."""
    return ActivationMaximization(two_stream)([AMJob(logit(c), 1.0, 10.0, 0) for c in PAIR], steps=120, progress=False)


def _share(e: np.ndarray, w: np.ndarray) -> float:
    return float((e * w).sum() / e.sum())


def test_am_energy_equals_a_hand_sum_on_two_streams(pair_am, face_clips):
    names, clips = face_clips
    eyes = clips[PLAN.carrier]["region_masks"][:, names.index(PLAN.region)]  # N×T×H×W, one per clip
    regions = [box(0, 0, 32, 32, name="top left"), mask(eyes, "eyes"), whole_clip()]
    e = region_energy(pair_am, regions)
    assert isinstance(e, RegionEnergy) and len(e.rows) == 2 * 2 * 3  # jobs × streams × regions
    for r in pair_am:
        motion = (r.motion.astype(np.float64) ** 2).sum(1)  # L×H×W
        x = r.appearance.astype(np.float64)  # H×W×3: a two-stream model's one frame
        appearance = ((x - x.mean((0, 1))) ** 2).sum(-1)[None]
        corner = np.zeros(motion.shape[1:])
        corner[:32, :32] = 1
        l = motion.shape[0]
        t_of = np.minimum(((np.arange(l) + 0.5) * eyes.shape[1] / l).astype(int), eyes.shape[1] - 1)
        eyes_motion = eyes[:, t_of].mean(0)  # each frame: the fraction of clips with the eyes there
        eyes_still = eyes.mean((0, 1))[None]  # a one-frame input: averaged over time too
        want = {("motion", "top left"): (_share(motion, corner), 0.25),
                ("motion", "eyes"): (_share(motion, eyes_motion), eyes_motion.mean()),
                ("appearance", "top left"): (_share(appearance, corner), 0.25),
                ("appearance", "eyes"): (_share(appearance, eyes_still), eyes_still.mean()),
                ("motion", "whole clip"): (1.0, 1.0), ("appearance", "whole clip"): (1.0, 1.0)}
        for (stream, region), (share, area) in want.items():
            row, = [w for w in e.rows if w["target"] == r.job.unit and w["stream"] == stream and w["region"] == region]
            assert row["share"] == pytest.approx(share, rel=1e-9) and row["area"] == pytest.approx(area, rel=1e-9)
            assert row["density"] == pytest.approx(share / area, rel=1e-9)
            assert row["kappa"] == 1.0 and row["gamma"] == 10.0 and row["seed"] == 0
    named = region_energy(pair_am, regions, class_names=load_model("tiny_two_stream").vidvis_adapter.class_names)
    assert named.targets == list(PAIR)
    # a logit difference (a contrastive AM job) is labelled by its classes' names
    diff = [dataclasses.replace(pair_am[0], job=AMJob(logit(3) - logit(1), 1.0, 10.0))]
    assert region_energy(diff, regions, class_names=["a", "b", "c", "d"]).targets == ["logit('d') - logit('b')"]


def test_am_energy_on_one_stream_and_on_two_pathways():
    """A library default head (torchvision's R3D block, SlowFast's pathways) of the model matrix: material the
    dataset was not made for."""
    for arch in ("r3d", "slowfast"):
        model = _build(arch)
        res = ActivationMaximization(model)([AMJob(logit(1), 1.0, g, 0) for g in (0.0, 5.0)], steps=3, progress=False)
        cells = grid_cells(2, 2)
        e = region_energy(res, cells + [box(0.25, 0.25, 0.75, 0.75, "centre")])
        for r in res:
            for stream in r.stream_names:
                x = (r.pathways[stream] if r.pathways else r.appearance).astype(np.float64)  # T×H×W×3
                energy = ((x - x.mean((0, 1, 2))) ** 2).sum(-1)
                t, h, w = energy.shape
                total = 0.0
                for cell, (i, j) in zip(cells, [(0, 0), (0, 1), (1, 0), (1, 1)]):
                    part = energy[:, i * h // 2:(i + 1) * h // 2, j * w // 2:(j + 1) * w // 2].sum() / energy.sum()
                    assert e.value(cell.name, "share", target=r.job.unit, gamma=r.job.gamma, stream=stream) == \
                        pytest.approx(part, rel=1e-9)
                    total += part
                assert total == pytest.approx(1.0)
                centre = energy[:, h // 4:3 * h // 4, w // 4:3 * w // 4].sum() / energy.sum()
                assert e.value("centre", "density", target=r.job.unit, gamma=r.job.gamma, stream=stream) == \
                    pytest.approx(centre / 0.25, rel=1e-9)
        streams = {row["stream"] for row in e.rows}
        assert streams == ({"slow", "fast"} if arch == "slowfast" else {"appearance"})
        fig = e.figure()
        assert len(fig.data) == 2 * len({(row["target"], row["stream"]) for row in e.rows})  # one bar set per γ and panel
        assert list(fig.data[0].x) == [c.name for c in cells] + ["centre"]


def test_tube_energy_equals_a_hand_sum(two_stream, face_clips):
    names, clips = face_clips
    c = clips[PLAN.carrier]
    inputs = {"rgb": c["rgb"][:4], "flow": c["flow"][:4]}
    tubes = SaliencyTubes(two_stream)(None, inputs)
    parts = c["region_masks"][:4]
    eyes = names.index(PLAN.region)
    regions = [mask(parts[:, eyes], "eyes"), mask(c["mask"][:4], "applicator"), box(0, 0.5, 1, 1, "lower")]
    e = region_energy(tubes, regions)
    s = tubes.tubes().clamp_min(0).cpu().numpy().astype(np.float64)  # N×T×H×W
    n, t, h, w = s.shape
    lower = np.zeros((t, h, w))
    lower[:, h // 2:] = 1
    for i in range(n):
        for name, m in (("eyes", parts[i, eyes, :t]), ("applicator", c["mask"][i, :t]), ("lower", lower)):
            row, = [r for r in e.rows if r["clip"] == i and r["region"] == name]
            share = (s[i] * m).sum() / s[i].sum()
            assert row["share"] == pytest.approx(share, rel=1e-9) and row["area"] == pytest.approx(m.mean(), rel=1e-9)
            assert row["target"] == PLAN.carrier  # the tubes' default class: the top prediction
    # the table averages shares and areas over clips and divides the means
    row = e.table()[f"{PLAN.carrier} · tube · eyes"]
    share = np.mean([(s[i] * parts[i, eyes, :t]).sum() / s[i].sum() for i in range(n)])
    assert row["n"] == n and row["share"] == pytest.approx(share, rel=1e-9)
    assert row["density"] == pytest.approx(share / parts[:, eyes, :t].mean(), rel=1e-9)
    # another class's tubes of the same clips: empty here, and an empty tube scores 0, not NaN
    with pytest.warns(DeadUnitWarning):
        other = region_energy(tubes, regions, target=PLAN.other)
    assert other.targets == [PLAN.other] and all(r["share"] == 0 for r in other.rows)


def test_tube_energy_on_one_stream():
    model = _build("r3d")
    clips = _clips(model, n=2)
    tubes = SaliencyTubes(model)(None, clips)
    s = tubes.tubes().clamp_min(0).cpu().numpy().astype(np.float64)
    e = region_energy(tubes, [box(0, 0, 0.5, 1, "left")])
    w = s.shape[-1]
    for i in range(2):
        assert e.rows[i]["share"] == pytest.approx(s[i, ..., :w // 2].sum() / s[i].sum(), rel=1e-9)
        assert e.rows[i]["area"] == 0.5
    # a user's region name is text in the table's HTML and in the figure, never markup
    named = region_energy(tubes, [box(0, 0, 0.5, 1, "left <i>half</i>")])
    assert "<i>" not in named._repr_html_() and "left &lt;i&gt;half&lt;/i&gt;" in named._repr_html_()
    assert list(named.figure().data[0].x) == ["left &lt;i&gt;half&lt;/i&gt;"]


def test_masks_separate_what_halves_do_not(pair_am, face_clips, two_stream):
    """The issue's point on the embedded model: halves of the frame say both logits' motion sits in the upper
    half, alike; the dataset's part masks show one logit's motion on the eyes and the other's not."""
    names, clips = face_clips
    a, b = (clips[c] for c in PAIR)
    regions = [box(0, 0, 1, 0.5, "upper"), box(0, 0.5, 1, 1, "lower"),
               mask(b["region_masks"][:, names.index(PLAN.region)], "eyes"), mask(b["mask"], "b's object"),
               mask(a["mask"], "a's object")]
    e = region_energy(pair_am, regions, class_names=two_stream.vidvis_adapter.class_names)
    d = {(t, g): e.value(g, target=t, stream="motion") for t in PAIR for g in ("upper", "eyes", "b's object")}
    # halves: both logits' motion is denser in the upper half, within 25% of each other
    assert d[PAIR[0], "upper"] > 1 and d[PAIR[1], "upper"] > 1
    assert max(d[PAIR[0], "upper"], d[PAIR[1], "upper"]) < 1.25 * min(d[PAIR[0], "upper"], d[PAIR[1], "upper"])
    # masks: the second logit's motion is dense on the eyes (denser than on its own object), the first's is not
    assert d[PAIR[1], "eyes"] > 1.2 > 1 > d[PAIR[0], "eyes"]
    assert d[PAIR[1], "eyes"] > 2 * d[PAIR[0], "eyes"]
    assert d[PAIR[1], "eyes"] > d[PAIR[1], "b's object"]
    # shares alone would rank the large part first: the eyes' area is several times the object's
    assert e.value("eyes", "area") > 3 * e.value("b's object", "area")


def test_bad_calls_are_refused_by_name(pair_am):
    with pytest.raises(ValueError, match="regions must be a Region"):
        region_energy(pair_am, [])
    with pytest.raises(ValueError, match="regions must be a Region"):
        region_energy(pair_am, [np.ones((4, 4), bool)])
    with pytest.raises(ValueError, match="distinct names; 'x'"):
        region_energy(pair_am, [box(0, 0, 1, 1, "x"), box(0, 0, 0.5, 0.5, "x")])
    with pytest.raises(ValueError, match="results must be"):
        region_energy(np.zeros((2, 3)), [whole_clip()])
    with pytest.raises(ValueError, match="leave them None"):
        region_energy(pair_am, [whole_clip()], target=3)
    e = region_energy(pair_am, [whole_clip()])
    with pytest.raises(ValueError, match="measure must be one of"):
        e.value("whole clip", "mean")
    with pytest.raises(ValueError, match="no rows for region 'nowhere'"):
        e.value("nowhere")
    with pytest.raises(ValueError, match="cannot select rows by colour"):
        e.value("whole clip", colour="red")
