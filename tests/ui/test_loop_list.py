"""The loop list reads a folder in the background, lists its loops and lets the user pick one."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFont, QIcon

from usannotate.ui.docks import folder_scan
from usannotate.ui.docks.folder_scan import FolderScanner, LoopEntry
from usannotate.ui.docks.loops import ENTRY_ROLE, LoopListPanel

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
SAMPLE_A = SAMPLES / "hydrodissection_linear_a.dcm"
SAMPLE_B = SAMPLES / "hydrodissection_linear_b.dcm"
# (frames, duration in s) of each source file.
A, B = (60, 2.0), (45, 1.8)
YBR, PALETTE = (30, 1.0), (1, 1 / 30)
# The folder's name looks like a patient's on purpose: it must never be shown.
FOLDER_NAME = "DOE^JANE 1970-01-01"


def _copy(source: Path | str, target: Path) -> None:
    shutil.copyfile(source, target)


@pytest.fixture(scope="module")
def loop_folder(tmp_path_factory) -> tuple[Path, dict[str, tuple[int, float] | None]]:
    """About twenty loops, one broken file, and files that are not loops at all."""
    folder = tmp_path_factory.mktemp("scan") / FOLDER_NAME
    folder.mkdir()
    expected: dict[str, tuple[int, float] | None] = {}
    for number in range(1, 15):
        name = f"loop_{number}.dcm"  # natural order: loop_2 before loop_10
        _copy(SAMPLE_A if number % 2 else SAMPLE_B, folder / name)
        expected[name] = A if number % 2 else B
    _copy(SAMPLE_A, folder / "hydrodissection_linear_a.dcm")
    _copy(SAMPLE_B, folder / "hydrodissection_linear_b.dcm")
    _copy(get_testdata_file("examples_ybr_color.dcm"), folder / "examples_ybr_color.dcm")
    _copy(get_testdata_file("examples_palette.dcm"), folder / "examples_palette.dcm")
    _copy(SAMPLE_B, folder / "IM_0001")  # no ending: archives export such names
    _copy(SAMPLE_A, folder / "UPPER.DICOM")
    (folder / "broken.dcm").write_bytes(b"\x00junk, not DICOM\xff" * 64)
    expected.update(
        {
            "hydrodissection_linear_a.dcm": A,
            "hydrodissection_linear_b.dcm": B,
            "examples_ybr_color.dcm": YBR,
            "examples_palette.dcm": PALETTE,
            "IM_0001": B,
            "UPPER.DICOM": A,
            "broken.dcm": None,
        }
    )
    # Not loops: notes, hidden files, sidecars and truth files.
    (folder / "notes.txt").write_text("not a loop\n")
    _copy(SAMPLE_A, folder / ".hidden.dcm")
    (folder / "loop_1.truth.json").write_text("{}\n")
    (folder / "loop_1.dcm.usannotate.json").write_text("{}\n")
    (folder / "DICOMDIR").write_bytes(b"an index of other files, not a loop")
    return folder, expected


def _natural_order(names) -> list[str]:
    def key(name: str) -> list[object]:
        return [int(p) if p.isdigit() else p.casefold() for p in re.split(r"(\d+)", name)]

    return sorted(names, key=key)


@pytest.fixture
def panel(qtbot):
    widget = LoopListPanel()
    qtbot.addWidget(widget)
    widget.resize(360, 520)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.scanner.cancel()
    assert widget.scanner.wait(10_000)


def _scan(qtbot, panel: LoopListPanel, folder: Path, current: Path | None = None) -> None:
    with qtbot.waitSignal(panel.scanner.finished, timeout=20_000):
        panel.set_folder(str(folder), None if current is None else str(current))


def _double_click(qtbot, widget, pos) -> None:
    """A double-click as a window system delivers it: press, release, double-click, release.

    (QTest's ``mouseDClick`` alone sends only the double-click event, which item views
    treat as a press because no press came first.)
    """
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(widget, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=pos)


def _row_of(panel: LoopListPanel, name: str) -> QModelIndex:
    proxy = panel.view.model()
    for row in range(proxy.rowCount()):
        index = proxy.index(row, 0)
        if index.data(ENTRY_ROLE).name == name:
            return index
    raise AssertionError(f"{name} is not displayed")


def test_scan_finds_the_loops_with_their_frames_and_durations(qtbot, panel, loop_folder):
    folder, expected = loop_folder
    started: list[int] = []
    progress: list[tuple[int, int]] = []
    panel.scanner.started.connect(started.append)
    panel.scanner.progress.connect(lambda done, total: progress.append((done, total)))

    with qtbot.waitSignal(panel.scanner.finished, timeout=20_000):
        panel.set_folder(str(folder))
        # Entries come through queued signals, only once the event loop runs again: the
        # call returned without reading a single file on the GUI thread.
        assert panel.entries() == []
        assert panel.is_scanning()
        assert panel.progress_bar.isVisible()

    entries = panel.entries()
    assert [entry.name for entry in entries] == _natural_order(expected)
    assert entries[0].name == "broken.dcm"
    assert [e.name for e in entries if e.name.startswith("loop_")][:3] == [
        "loop_1.dcm",
        "loop_2.dcm",
        "loop_3.dcm",
    ]
    for entry in entries:
        assert isinstance(entry, LoopEntry)
        assert entry.path == str(folder / entry.name)
        if expected[entry.name] is None:
            continue
        frames, seconds = expected[entry.name]
        assert entry.error is None, entry.error
        assert entry.n_frames == frames
        assert entry.duration_ms == pytest.approx(seconds * 1000, abs=0.1)
    assert {e.size for e in entries if e.n_frames == 60} == {"640 x 480"}
    assert started == [len(expected)]
    assert progress[0][0] == 1  # the first file shows at once
    assert progress[-1] == (len(expected), len(expected))
    assert [done for done, _ in progress] == sorted({done for done, _ in progress})
    assert not panel.is_scanning()
    assert not panel.progress_bar.isVisible()
    assert panel.status_label.text() == f"{len(expected) - 1} loops, 1 unreadable"

    # What the table shows.
    index = _row_of(panel, "loop_2.dcm")
    model = panel.view.model()
    assert model.headerData(0, Qt.Orientation.Horizontal) == "File"
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(4)] == [
        "File",
        "Status",
        "Frames",
        "Duration",
    ]
    assert index.siblingAtColumn(1).data() == "none"  # no sidecar
    assert index.siblingAtColumn(2).data() == "45"
    assert index.siblingAtColumn(3).data() == "1.8 s"
    assert _row_of(panel, "loop_1.dcm").siblingAtColumn(3).data() == "2.0 s"
    assert "45 frames" in index.data(Qt.ItemDataRole.ToolTipRole)


def test_progress_bar_counts_files_while_scanning(qtbot, panel, loop_folder):
    folder, expected = loop_folder
    texts: list[str] = []
    panel.scanner.progress.connect(lambda *_: texts.append(panel.progress_bar.text()))
    _scan(qtbot, panel, folder)
    assert texts[0] == f"Scanning 1 / {len(expected)}…"
    assert texts[-1] == f"Scanning {len(expected)} / {len(expected)}…"
    assert panel.progress_bar.toolTip()


def test_broken_file_is_listed_greyed_with_its_error_and_cannot_be_opened(
    qtbot, panel, loop_folder
):
    folder, _ = loop_folder
    _scan(qtbot, panel, folder)
    broken = next(e for e in panel.entries() if e.name == "broken.dcm")
    assert not broken.openable
    assert broken.n_frames is None
    assert broken.duration_ms is None
    assert broken.error.startswith("broken.dcm: ")

    index = _row_of(panel, "broken.dcm")
    assert broken.error in index.data(Qt.ItemDataRole.ToolTipRole)
    icon = index.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(icon, QIcon)
    assert not icon.isNull()
    grey = panel.palette().color(
        panel.palette().ColorGroup.Disabled, panel.palette().ColorRole.Text
    )
    assert index.data(Qt.ItemDataRole.ForegroundRole).color() == grey
    assert index.siblingAtColumn(2).data() == "—"
    assert _row_of(panel, "loop_1.dcm").data(Qt.ItemDataRole.DecorationRole) is None

    rect = panel.view.visualRect(index)
    view_activations: list[QModelIndex] = []
    panel.view.activated.connect(view_activations.append)
    with qtbot.assertNotEmitted(panel.loopActivated, wait=100):
        _double_click(qtbot, panel.view.viewport(), rect.center())
        qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    # The view did see both activations; the panel refused them.
    assert len(view_activations) == 2


def test_next_and_previous_follow_the_displayed_order_and_skip_broken_files(
    qtbot, panel, loop_folder
):
    folder, expected = loop_folder
    _scan(qtbot, panel, folder)
    order = [str(folder / name) for name in _natural_order(expected) if name != "broken.dcm"]
    assert panel.next_path(None) == order[0]
    assert panel.previous_path(None) == order[-1]
    for here, there in itertools.pairwise(order):
        assert panel.next_path(here) == there
        assert panel.previous_path(there) == here
    assert panel.next_path(order[-1]) is None
    # broken.dcm comes first by name but cannot be opened: nothing before the first loop.
    assert panel.previous_path(order[0]) is None
    assert panel.next_path(str(folder / "not_in_this_folder.dcm")) is None


def test_filter_shows_matching_names_and_steers_next_and_previous(qtbot, panel, loop_folder):
    folder, _ = loop_folder
    _scan(qtbot, panel, folder)
    assert panel.filter_edit.placeholderText() == "Filter by name"
    qtbot.keyClicks(panel.filter_edit, "LOOP_1")
    shown = [entry.name for entry in panel.displayed_entries()]
    assert shown == [
        "loop_1.dcm",
        "loop_10.dcm",
        "loop_11.dcm",
        "loop_12.dcm",
        "loop_13.dcm",
        "loop_14.dcm",
    ]
    assert panel.next_path(str(folder / "loop_1.dcm")) == str(folder / "loop_10.dcm")
    assert panel.previous_path(str(folder / "loop_10.dcm")) == str(folder / "loop_1.dcm")
    assert panel.next_path(str(folder / "loop_14.dcm")) is None
    # A loop the filter hides still has displayed neighbours.
    assert panel.next_path(str(folder / "loop_9.dcm")) == str(folder / "loop_10.dcm")
    assert "(6 shown)" in panel.status_label.text()

    panel.filter_edit.clear()
    assert len(panel.displayed_entries()) == len(panel.entries())


def test_double_click_and_enter_activate_a_loop(qtbot, panel, loop_folder):
    folder, _ = loop_folder
    _scan(qtbot, panel, folder)
    index = _row_of(panel, "loop_3.dcm")
    panel.view.scrollTo(index)
    rect = panel.view.visualRect(index.siblingAtColumn(1))
    activated: list[str] = []
    panel.loopActivated.connect(activated.append)
    _double_click(qtbot, panel.view.viewport(), rect.center())
    assert activated == [str(folder / "loop_3.dcm")]

    panel.view.setFocus()
    panel.view.setCurrentIndex(_row_of(panel, "examples_palette.dcm"))
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    assert activated[1:] == [str(folder / "examples_palette.dcm")]


def test_current_loop_is_highlighted(qtbot, panel, loop_folder):
    folder, _ = loop_folder
    _scan(qtbot, panel, folder, current=folder / "loop_12.dcm")
    index = _row_of(panel, "loop_12.dcm")
    assert panel.view.currentIndex().row() == index.row()
    assert panel.view.selectionModel().isRowSelected(index.row(), QModelIndex())
    font = index.data(Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont)
    assert font.bold()

    panel.set_current(str(folder / "loop_2.dcm"))
    assert not _row_of(panel, "loop_12.dcm").data(Qt.ItemDataRole.FontRole).bold()
    assert _row_of(panel, "loop_2.dcm").data(Qt.ItemDataRole.FontRole).bold()
    assert panel.view.currentIndex().row() == _row_of(panel, "loop_2.dcm").row()
    assert panel.current_path() == str(folder / "loop_2.dcm")


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory) -> Path:
    """300 loops (hard links to one file): long enough a scan to interrupt."""
    folder = tmp_path_factory.mktemp("big")
    source = folder / "source.dcm"
    _copy(SAMPLE_B, source)
    for number in range(300):
        os.link(source, folder / f"IMG_{number:04d}.dcm")
    return folder


def test_a_new_folder_mid_scan_replaces_the_old_scan(qtbot, panel, big_folder, tmp_path):
    folder = big_folder
    other = tmp_path / "other"
    other.mkdir()
    _copy(SAMPLE_B, other / "second.dcm")
    _copy(SAMPLE_A, other / "first.dcm")

    finished: list[bool] = []
    panel.scanner.finished.connect(lambda: finished.append(True))
    panel.set_folder(str(folder))
    # Let the first scan deliver some of its entries, then switch folders.
    qtbot.waitUntil(lambda: len(panel.entries()) >= 2, timeout=20_000)
    assert panel.is_scanning()
    with qtbot.waitSignal(panel.scanner.finished, timeout=20_000):
        panel.set_folder(str(other))
        assert panel.entries() == []
    # The old scan's thread stops, and nothing it read arrives afterwards.
    assert panel.scanner.wait(10_000)
    qtbot.wait(50)
    assert [entry.name for entry in panel.entries()] == ["first.dcm", "second.dcm"]
    assert finished == [True]
    assert panel.status_label.text() == "2 loops"


def test_cancel_stops_the_scan_and_delivers_nothing_more(qtbot, big_folder):
    scanner = FolderScanner()
    received: list[LoopEntry] = []
    scanner.entriesReady.connect(received.extend)
    with qtbot.assertNotEmitted(scanner.finished, wait=200):
        scanner.scan(str(big_folder))
        assert scanner.is_running()
        scanner.cancel()
        assert not scanner.is_running()
    assert scanner.wait(10_000)
    assert received == []


def test_unreadable_folder_says_so(qtbot, panel, tmp_path):
    with qtbot.waitSignal(panel.scanner.failed, timeout=5000) as blocker:
        panel.set_folder(str(tmp_path / "gone"))
    assert blocker.args[0] == "This folder cannot be read (No such file or directory)"
    qtbot.waitUntil(lambda: not panel.is_scanning())
    assert panel.entries() == []
    assert panel.status_label.text() == blocker.args[0]
    assert not panel.progress_bar.isVisible()


def test_empty_folder(qtbot, panel, tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here\n")
    _scan(qtbot, panel, tmp_path)
    assert panel.entries() == []
    assert panel.next_path(None) is None
    assert panel.status_label.text() == "No DICOM files in this folder"


def test_no_folder_name_or_patient_data_is_shown(qtbot, panel, loop_folder):
    folder, _ = loop_folder
    _scan(qtbot, panel, folder)
    model = panel.view.model()
    shown = [panel.status_label.text(), panel.progress_bar.text(), panel.toolTip()]
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            shown += [str(index.data()), str(index.data(Qt.ItemDataRole.ToolTipRole))]
    text = "\n".join(shown)
    # The folder's name, and the sample's made-up patient name and id, appear nowhere.
    for secret in ("DOE^JANE", "1970", "SYNTHETIC^DEMO", "000000"):
        assert secret not in text


def test_an_unexpected_failure_keeps_the_file_listed_without_quoting_it(monkeypatch, tmp_path):
    def explode(path, **kwargs):
        raise RuntimeError("PatientName SMITH^JOHN is odd")

    monkeypatch.setattr(folder_scan, "open_cine", explode)
    entry = folder_scan.read_entry(str(tmp_path / "odd.dcm"))
    assert entry.error == "odd.dcm: could not be read (RuntimeError)"
    assert not entry.openable
