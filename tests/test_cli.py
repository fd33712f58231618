"""`vidvis` refuses bad arguments as argparse does (exit 2, a usage line, the option named), before any long work."""

import time

import pytest

from vidvis_widgets.cli import main

BAD = [
    (["evaluate-leaps", "--steps", "0"], "--steps"),
    (["evaluate-leaps", "--steps", "-5"], "--steps"),
    (["evaluate-leaps", "--steps", "ten"], "--steps"),
    (["evaluate-leaps", "--classes", "99"], "--classes"),
    (["evaluate-leaps", "--classes", "-1"], "--classes"),
    (["evaluate-leaps", "--classes", "no_such_class"], "--classes"),
    (["evaluate-leaps", "--methods", "magic"], "--methods"),
    (["evaluate-leaps", "--methods", "leaps", "magic"], "--methods"),
    (["evaluate-leaps", "--per-class", "-1"], "--per-class"),
    (["evaluate-leaps", "--per-class", "0"], "--per-class"),
    (["evaluate-leaps", "--seeds", "0", "-1"], "--seeds"),
    (["evaluate-leaps", "--r", "-1"], "--r"),
    (["evaluate-leaps", "--r", "nan"], "--r"),
    (["evaluate-leaps", "--r", "inf"], "--r"),
    (["evaluate-leaps", "--model", "magic_net"], "magic_net"),
    (["evaluate-leaps", "--verifier", "magic_net"], "magic_net"),
    (["evaluate-leaps", "--out", "/no/such/folder/table.csv"], "--out"),
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--epochs", "-2"], "--epochs"),
    (["train", "--samples-per-class", "0"], "--samples-per-class"),
    (["train", "--seed", "-1"], "--seed"),
    (["train", "--models", "resnet"], "--models"),
    (["cache", "purge"], "action"),
]


@pytest.mark.parametrize("argv,named", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments_exit_2_with_usage(argv, named, capsys, tmp_path):
    if argv[0] == "train":
        argv = argv + ["--out", str(tmp_path)]
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "usage:" in err and named in err, err
    assert time.perf_counter() - start < 20  # refused before any training or synthesis
    if argv[0] == "train":
        assert not list(tmp_path.iterdir())  # nothing trained


def test_train_out_must_be_a_folder(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--out", str(blocker), "--epochs", "1"])
    assert exit_.value.code == 2 and "usage:" in capsys.readouterr().err

