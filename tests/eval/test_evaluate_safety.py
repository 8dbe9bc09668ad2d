"""`nstyle evaluate`'s clear answers (issue 33): a result name that fits two pairs says so, and an output folder
that cannot be written is refused before anything is scored. No network loads in these tests."""

import pytest

from nstyle.cli import main
from tests.disks import read_only_disk  # noqa: F401 (the fixture)
from tests.eval.test_evaluate import folders, no_networks, one_line, save  # noqa: F401 (fixtures)


@pytest.mark.usefixtures("no_networks")
def test_a_result_name_that_fits_two_pairs_says_so(tmp_path, capsys):
    for name in ("contents", "styles", "results"):
        (tmp_path / name).mkdir()
    for content in ("x", "x_stylized_y"):
        save(tmp_path / "contents" / f"{content}.png")
    for style in ("y_stylized_z", "z"):
        save(tmp_path / "styles" / f"{style}.png")
    save(tmp_path / "results" / "x_stylized_y_stylized_z.png")
    code = main(["evaluate", str(tmp_path / "results"), "--contents", str(tmp_path / "contents"), "--styles",
                 str(tmp_path / "styles"), "--partial", "-q"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and line == (
        "nstyle: error: x_stylized_y_stylized_z.png in RESULTS fits 2 pairs (content 'x' with style 'y_stylized_z' "
        "or content 'x_stylized_y' with style 'z'); rename the content or style images so that no stem holds "
        "'_stylized_'")


@pytest.mark.usefixtures("no_networks")
def test_a_read_only_output_folder_is_refused_before_scoring(folders, capsys, read_only_disk):  # noqa: F811
    code = main(["evaluate", str(folders["results"]), "--contents", str(folders["contents"]), "--styles",
                 str(folders["styles"]), "-o", str(read_only_disk), "-q"])
    line = one_line(capsys.readouterr().err)
    assert code == 2 and line == (f"nstyle: error: cannot write in {read_only_disk} (Read-only file system); "
                                  "choose another folder with -o")
