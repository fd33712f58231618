"""`vidvis train` end to end on a small split: checkpoints per epoch, metrics, a model card."""

import json

import pytest

from vidvis_widgets.cli import main
from vidvis_widgets.data import dataset_card
from vidvis_widgets.models import load_model
from vidvis_widgets.models.checkpoints import WEIGHTS_DIR
from vidvis_widgets.training import train_all, train_model


def test_train_command_writes_loadable_checkpoints_and_a_card(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), "--epochs", "2", "--models", "tiny_two_stream",
                 "--samples-per-class", "3"]) == 0
    files = sorted((tmp_path / "tiny_two_stream").glob("epoch_*.pt"))
    assert [f.name for f in files] == ["epoch_01.pt", "epoch_02.pt"]
    model = load_model("tiny_two_stream", weights=files[-1])
    assert model.vidvis_adapter.weights == str(files[-1])
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    r = metrics["models"]["tiny_two_stream"]
    assert len(r["history"]) == 2 and 0 <= r["test_accuracy"] <= 1 and len(r["confusion_matrix"]) == 14
    assert "| `tiny_two_stream` |" in (tmp_path / "MODEL_CARD.md").read_text()
    assert "tiny_two_stream: test" in capsys.readouterr().out


def test_train_rejects_unknown_models(tmp_path):
    with pytest.raises(SystemExit):
        main(["train", "--out", str(tmp_path), "--models", "resnet"])


def test_shipped_cards_match_the_code():
    assert (WEIGHTS_DIR.parent.parent / "data" / "DATASET_CARD.md").read_text() == dataset_card()
    card = (WEIGHTS_DIR / "MODEL_CARD.md").read_text()
    metrics = json.loads((WEIGHTS_DIR / "metrics.json").read_text())
    for name, r in metrics["models"].items():
        assert f"| `{name}` | {r['test_accuracy']:.1%} |" in card


@pytest.mark.parametrize("kw,named", [({"epochs": 0}, "epochs"), ({"epochs": -1}, "epochs"), ({"epochs": 2.5}, "epochs"),
                                      ({"samples_per_class": 0}, "samples_per_class"), ({"seed": -1}, "seed"),
                                      ({"models": ("resnet",)}, "models"), ({"models": ()}, "models")])
def test_train_all_refuses_bad_settings_instead_of_substituting_defaults(kw, named, tmp_path):
    with pytest.raises(ValueError, match=named):
        train_all(tmp_path, **{"models": ("tiny_r3d",), **kw}, progress=False)
    assert not list(tmp_path.iterdir())


def test_train_model_refuses_zero_epochs(tmp_path):
    with pytest.raises(ValueError, match="epochs must be an integer ≥ 1, got 0"):
        train_model("tiny_r3d", {}, tmp_path, epochs=0)
