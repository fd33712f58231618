"""`vidvis train` end to end on a small split: checkpoints per epoch, metrics, a model card."""

import json

import pytest

from vidvis_widgets.cli import main
from vidvis_widgets.data import dataset_card
from vidvis_widgets.models import load_model
from vidvis_widgets.models.checkpoints import WEIGHTS_DIR


def test_train_command_writes_loadable_checkpoints_and_a_card(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path), "--epochs", "2", "--models", "tiny_two_stream",
                 "--samples-per-class", "3"]) == 0
    files = sorted((tmp_path / "tiny_two_stream").glob("epoch_*.pt"))
    assert [f.name for f in files] == ["epoch_01.pt", "epoch_02.pt"]
    model = load_model("tiny_two_stream", weights=files[-1])
    assert model.vidvis_info.weights == str(files[-1])
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
