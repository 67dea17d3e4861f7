"""Opening a folder shows its first loop, the first row of the Loops list, and the list
counts the frames really in each file (issue 9)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cine import dicom_factory as factory
from tests.ui.paths import SAMPLE_A, SAMPLE_B
from usannotate.ui.docks.folder_scan import read_entry


def test_the_first_loop_opened_is_the_first_row(window, qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    # A plain string sort puts Loop_11, then loop_10 first; people (and the list) put
    # loop_9 first.
    shutil.copy(SAMPLE_A, folder / "loop_10.dcm")
    shutil.copy(SAMPLE_B, folder / "loop_9.dcm")
    shutil.copy(SAMPLE_A, folder / "Loop_11.dcm")
    assert window.open_path(str(folder))
    qtbot.waitUntil(lambda: not window.loop_list.is_scanning(), timeout=20_000)
    rows = [entry.name for entry in window.loop_list.displayed_entries()]
    assert rows == ["loop_9.dcm", "loop_10.dcm", "Loop_11.dcm"]
    assert Path(window.loop.path).name == rows[0]
    assert window.loop_list.current_path() == window.loop.path


def test_the_list_counts_the_frames_really_there(tmp_path: Path) -> None:
    case = factory.make_jpeg_cine(tmp_path / "good", 30)
    fragments = factory.fragments_of(case.path.read_bytes())
    offset, data = fragments[8]
    cut = factory.cut_short(case.path, tmp_path / "cut.dcm", offset + 8 + len(data) // 2)
    entry = read_entry(str(cut))
    assert entry.n_frames == 8
    assert entry.duration_ms == 8 * 40.0
