"""The Loops list's columns fit the 480 px dock: the Raters column is on screen (last,
taking what is left), long names cut at their end with the whole list in the tooltip."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.team.sidecars import labelled_loop
from usannotate.sidecar import WorkStatus

LONG = "Dr. Mariana Castellanos-Ortega"


def test_raters_column_is_visible_in_a_480_px_dock(qtbot, window, tmp_path: Path):
    folder = tmp_path / "archive"
    folder.mkdir()
    labelled_loop(folder, "loop_001.dcm", status=WorkStatus.DONE, annotator=LONG)
    labelled_loop(folder, "loop_002.dcm", status=None)
    assert window.open_path(str(folder))
    qtbot.waitUntil(lambda: len(window.loop_list.entries()) == 2, timeout=20_000)
    window.loop_dock.setFixedWidth(480)  # the dock's width on a 1400 px wide screen
    qtbot.waitUntil(lambda: window.loop_dock.width() == 480, timeout=5000)
    view = window.loop_list.view
    header = view.header()
    raters = 5
    assert header.visualIndex(raters) == header.count() - 1  # last: it takes what is left
    right = header.sectionViewportPosition(raters) + header.sectionSize(raters)
    assert right <= view.viewport().width()
    assert header.sectionSize(raters) >= 60
    assert view.horizontalScrollBar().maximum() == 0  # no sideways scrolling
    proxy = view.model()
    row = next(r for r in range(proxy.rowCount()) if proxy.index(r, 0).data() == "loop_001.dcm")
    assert proxy.index(row, raters).data(Qt.ItemDataRole.ToolTipRole) == f"Raters: {LONG}"
    assert proxy.index(row, 6).data(Qt.ItemDataRole.ToolTipRole).startswith("Last saved 20")
    # The duration is hidden (in the Details dock); the header's menu shows it again.
    assert header.isSectionHidden(3)
    assert proxy.index(row, 3).data().endswith(" s")
