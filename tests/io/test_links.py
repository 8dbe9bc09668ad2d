"""No output is written through a symbolic link nstyle did not make: a link at the output's name is replaced by the
new file, and a link to a folder outside the output folder, met on the way to a file the run names itself, is
refused in one line (issue 33, item 2)."""

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from nstyle.errors import UsageError
from nstyle.io.atomic import replacing, write_text
from nstyle.io.images import save_image
from nstyle.io.paths import refuse_link, refuse_links_out


@pytest.fixture
def victim(tmp_path) -> Path:
    """A file outside the output folder that is no input of anything."""
    path = tmp_path / "victim.jpg"
    path.write_bytes(b"precious")
    return path


def test_a_link_at_the_output_name_is_replaced_not_written_through(tmp_path, victim):
    out = tmp_path / "out"
    out.mkdir()
    (out / "table.csv").symlink_to("../victim.jpg")
    os.chmod(victim, 0o600)
    write_text(out / "table.csv", "new")
    assert victim.read_bytes() == b"precious" and victim.stat().st_mode & 0o777 == 0o600
    assert not (out / "table.csv").is_symlink() and (out / "table.csv").read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "table.csv").stat().st_mode & 0o777 == 0o666 & ~umask  # not the link target's 0600


def test_a_dangling_link_makes_no_file_where_it_points(tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "nowhere.csv")
    with replacing(tmp_path / "a.csv") as tmp:
        tmp.write_text("x")
    assert not (tmp_path / "nowhere.csv").exists() and (tmp_path / "a.csv").read_text() == "x"


def test_save_image_replaces_a_link_at_its_name(tmp_path, victim):
    (tmp_path / "out.png").symlink_to(victim)
    save_image(Image.new("RGB", (4, 3), "red"), tmp_path / "out.png")
    assert victim.read_bytes() == b"precious"
    with Image.open(tmp_path / "out.png") as written:
        assert written.size == (4, 3)


def test_a_folder_link_leading_outside_is_refused_in_one_line(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").symlink_to("..")
    with pytest.raises(UsageError) as refused:
        refuse_links_out(out, [out / "sub" / "b.png"])
    assert str(refused.value) == (f"-o {str(out)!r}: 'sub' is a symbolic link to '..', outside -o; nstyle writes "
                                  "nothing through a link it did not make: remove the link or give another -o")
    refuse_links_out(out, [out / "b.png", out / "sub"])  # no folder on the way: the link itself would be replaced


def test_a_link_that_stays_inside_the_folder_passes(tmp_path):
    out = tmp_path / "out"
    (out / "real").mkdir(parents=True)
    (out / "alias").symlink_to("real")
    refuse_links_out(out, [out / "alias" / "x.png"])


def test_a_link_in_the_folders_own_path_is_the_users_choice(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "elsewhere")
    refuse_links_out(tmp_path / "out", [tmp_path / "out" / "x.png"])


def test_a_working_folder_that_is_a_link_is_refused(tmp_path):
    (tmp_path / "frames").mkdir()
    (tmp_path / "out.mp4.frames").symlink_to(tmp_path / "frames")
    with pytest.raises(UsageError, match="is a symbolic link"):
        refuse_link(tmp_path / "out.mp4.frames", "the working folder", "remove the link")
    refuse_link(tmp_path / "frames", "the working folder", "remove the link")


NAMES = st.sampled_from(["a", "b", "c"])


@settings(max_examples=60, deadline=None)
@given(output=st.lists(NAMES, min_size=1, max_size=3),
       links=st.dictionaries(st.lists(NAMES, min_size=1, max_size=2).map(tuple),
                             st.sampled_from(["..", "../..", "/", ".", "inner"]), max_size=3))
def test_whatever_the_links_nothing_is_written_outside_the_folder(tmp_path_factory, output, links):
    """Links to folders in and out of -o, at any depth: either the write is refused before anything is written, or
    the file lands inside -o; nothing outside changes."""
    base = tmp_path_factory.mktemp("links")
    out = base / "out"
    (out / "inner").mkdir(parents=True)
    (base / "victim").write_text("precious")
    for where, to in sorted(links.items(), key=lambda kv: len(kv[0])):
        path = out.joinpath(*where)
        if path.parent.is_dir() and not os.path.lexists(path) and out.resolve() in [path.parent.resolve(),
                                                                                     *path.parent.resolve().parents]:
            path.symlink_to(to)
    outside_before = sorted(p.name for p in base.iterdir())
    target = out.joinpath(*output[:-1], output[-1] + ".csv")
    try:
        refuse_links_out(out, [target])
    except UsageError as err:
        assert "is a symbolic link" in str(err) and "\n" not in str(err)
        return
    finally:
        assert sorted(p.name for p in base.iterdir()) == outside_before
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a dangling link or a file on the way: nothing to write
        assert sorted(p.name for p in base.iterdir()) == outside_before
        return
    write_text(target, "new")
    real = Path(os.path.realpath(target))
    assert out.resolve() in real.parents
    assert (base / "victim").read_text() == "precious" and sorted(p.name for p in base.iterdir()) == outside_before
