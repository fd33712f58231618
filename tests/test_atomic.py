"""atomic_path: files it writes get the mode any other new file of the user's would get (0666 less the umask),
and a replaced file keeps its mode; checked with os.stat on real files, MP4 and HTML exports included."""

import os
import stat

import numpy as np
import pytest

from vidvis_widgets._atomic import atomic_path
from vidvis_widgets.io import write_video

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.fixture
def umask():
    def set_mask(mask):
        old.append(os.umask(mask))

    old = []
    yield set_mask
    if old:
        os.umask(old[0])


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002], ids=["022", "027", "002"])
def test_new_file_gets_0666_less_the_umask(tmp_path, umask, mask):
    umask(mask)
    with atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("x")
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # how any other file the user writes comes out
    assert mode(tmp_path / "a.txt") == 0o666 & ~mask == mode(plain)


def test_replacing_keeps_the_existing_mode(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "b.txt"
    target.write_text("old")
    os.chmod(target, 0o640)
    with atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and mode(target) == 0o640


def test_failed_block_leaves_nothing_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "c.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["c.txt"]


def test_exported_mp4_and_html_are_readable_like_other_files(tmp_path, umask):
    from vidvis_widgets import ClipPlayer

    umask(0o022)
    clip = np.zeros((4, 16, 16, 3), np.uint8)
    mp4 = write_video(tmp_path / "c.mp4", clip, fps=4)
    page = ClipPlayer(clip).to_html(tmp_path / "c.html")
    assert mode(mp4) == 0o644 and mode(page) == 0o644
