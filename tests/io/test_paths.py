"""No output may replace an input (by name, through a link, by a hard link, or inside a folder the run fills), and a
failed command's own empty folders go while older folders stay."""

import os

import pytest
from PIL import Image

from nstyle.errors import UsageError
from nstyle.io.paths import folder_for_results, refuse_overwriting_inputs, removed_on_failure


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (8, 6), "red").save(path)
    return path


def refused(outputs, inputs, folders=None) -> str:
    with pytest.raises(UsageError) as caught:
        refuse_overwriting_inputs(outputs, inputs, folders, advice="give -o another name")
    message = str(caught.value)
    assert "\n" not in message and message.endswith("give -o another name")
    return message


def test_the_same_name_is_refused(photo):
    message = refused({"-o": photo}, {"the content image": photo})
    assert message.startswith(f"-o {str(photo)!r} would replace the content image {str(photo)!r};")


def test_a_name_spelled_another_way_is_the_same_file(photo, monkeypatch):
    monkeypatch.chdir(photo.parent)
    message = refused({"-o": "./photo.png"}, {"the style image": "photo.png"})
    assert message.startswith("-o './photo.png' would replace the style image 'photo.png';")
    assert "would replace" in refused({"-o": f"../{photo.parent.name}/photo.png"}, {"the style image": "photo.png"})


def test_a_symbolic_link_either_way_is_the_same_file(photo, tmp_path):
    link = tmp_path / "link.png"
    link.symlink_to(photo)
    assert "(the same file, through a symbolic link)" in refused({"-o": link}, {"the content image": photo})
    assert "(the same file, through a symbolic link)" in refused({"-o": photo}, {"the style image": link})
    folder_link = tmp_path / "elsewhere"
    folder_link.symlink_to(tmp_path, target_is_directory=True)
    assert "through a symbolic link" in refused({"-o": folder_link / "photo.png"}, {"--mask": photo})


def test_a_hard_link_is_the_same_file(photo, tmp_path):
    twin = tmp_path / "twin.png"
    os.link(photo, twin)
    assert "(the same file, a hard link)" in refused({"-o": twin}, {"the content image": photo})


def test_other_files_and_what_is_not_a_path_pass(photo, tmp_path):
    refuse_overwriting_inputs({"-o": tmp_path / "out.png", "the loss table of -o": tmp_path / "out.losses.csv"},
                              {"the content image": photo, "the style image": [Image.new("RGB", (2, 2)), photo],
                               "--mask": None})
    refuse_overwriting_inputs({"-o": photo}, {"the content image": Image.new("RGB", (2, 2))})


def test_every_path_of_a_list_is_checked(photo, tmp_path):
    snapshots = [tmp_path / f"out_iter{n:04d}.png" for n in (10, 20, 30)]
    message = refused({"a --save-every snapshot of -o": snapshots},
                      {"the style image": [photo, tmp_path / "out_iter0020.png"]})
    assert message.startswith("a --save-every snapshot of -o") and "out_iter0020.png" in message


def test_an_input_inside_a_folder_the_run_fills_is_refused(photo, tmp_path):
    message = refused({}, {"the style image": photo}, {"the folder -o fills with frames": tmp_path})
    assert f"the style image {str(photo)!r} is inside {str(tmp_path)!r}, the folder -o fills with frames" in message
    assert "is inside" in refused({}, {"the input": tmp_path}, {"the folder -o fills with frames": tmp_path / "."})
    sibling = tmp_path.parent / (tmp_path.name + "2")  # shares the folder's name as a prefix, is not inside it
    refuse_overwriting_inputs({}, {"the input": sibling / "a.png"}, {"the folder": tmp_path})
    refuse_overwriting_inputs({}, {"the input": tmp_path}, {"the folder": tmp_path / "frames"})  # above, not inside


def test_a_folder_made_for_a_failed_command_goes_with_the_parents_it_made(tmp_path):
    deep = tmp_path / "a" / "b" / "c"
    with pytest.raises(UsageError), folder_for_results(deep, "choose another folder"):
        assert deep.is_dir()
        raise UsageError("cannot read the content image")
    assert not (tmp_path / "a").exists()


def test_a_folder_that_existed_before_is_kept_even_empty(tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir()
    with pytest.raises(KeyboardInterrupt), folder_for_results(kept / "new", "choose another folder"):
        raise KeyboardInterrupt
    assert kept.is_dir() and not (kept / "new").exists()
    with pytest.raises(UsageError), folder_for_results(kept, "choose another folder"):
        raise UsageError("no weights")
    assert kept.is_dir()


def test_a_folder_with_something_written_in_it_is_kept(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(UsageError), removed_on_failure(out, leftovers=(".state.json",)):
        out.mkdir()
        (out / ".state.json").write_text("{}")
        (out / "frame_00001.png").write_bytes(b"x")
        raise UsageError("stopped after one frame")
    assert (out / "frame_00001.png").is_file() and (out / ".state.json").is_file()


def test_a_folder_holding_only_the_commands_own_leftovers_goes(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(UsageError), removed_on_failure(out, leftovers=(".state.json",)):
        out.mkdir()
        (out / ".state.json").write_text("{}")
        raise UsageError("the weights file is not readable")
    assert not out.exists()


def test_a_folder_is_kept_when_the_command_succeeds(tmp_path):
    with folder_for_results(tmp_path / "out", "choose another folder") as out:
        pass
    assert out.is_dir()


def test_a_file_in_the_folders_place_is_one_line(tmp_path):
    (tmp_path / "out").write_text("")
    with pytest.raises(UsageError, match="exists and is not a folder; choose another folder"):
        with folder_for_results(tmp_path / "out", "choose another folder"):
            pass
    assert (tmp_path / "out").is_file()
