"""One listing of a folder's loops, in natural name order (issue 9: the viewer opened
one loop first and the Loops list showed another first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from usannotate.cine import is_loop_file_name, list_loop_files


def test_loops_in_natural_name_order_ignoring_case(tmp_path: Path) -> None:
    names = ["loop_10.dcm", "Loop_9.DCM", "loop_2.dicom", "IM_0001", "im_0002", "a.dcm"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    listed = [Path(p).name for p in list_loop_files(tmp_path)]
    assert listed == ["a.dcm", "IM_0001", "im_0002", "loop_2.dicom", "Loop_9.DCM", "loop_10.dcm"]
    assert all(Path(p).parent == tmp_path for p in list_loop_files(str(tmp_path)))


def test_what_is_not_a_loop_is_left_out(tmp_path: Path) -> None:
    for name in ("notes.txt", ".hidden.dcm", "loop.usannotate.json", "loop.truth.json"):
        (tmp_path / name).write_text("x")
    (tmp_path / "DICOMDIR").write_bytes(b"an index")
    (tmp_path / "sub.dcm").mkdir()
    (tmp_path / "loop.dcm").write_bytes(b"")
    assert [Path(p).name for p in list_loop_files(tmp_path)] == ["loop.dcm"]
    assert not is_loop_file_name("dicomdir")
    assert is_loop_file_name("US000123")


def test_a_missing_folder_raises_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list_loop_files(tmp_path / "absent")
