"""The Loops list's case-detail columns (procedure, target, side, teaching): filled from
the sidecars, sortable by a header click, filtered by the case filter, shown from the
header's menu (hidden in a 480 px dock, where the worklist's columns fill it)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.team.sidecars import labelled_loop
from usannotate.sidecar import WorkStatus, load_sidecar, save_sidecar, sidecar_path_for
from usannotate.team.worklist import summarise_sidecar
from usannotate.ui.docks.loop_case_columns import CASE_COLUMNS

CASES = {
    "loop_001.dcm": {"procedure": "hydrodissection", "target": "trapezius", "teaching_case": True},
    "loop_002.dcm": {"procedure": "trigger_point_injection", "target": "rhomboid", "side": "left"},
    "loop_003.dcm": {},
}


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    folder.mkdir()
    for name, case in CASES.items():
        dicom = labelled_loop(folder, name, status=WorkStatus.IN_PROGRESS)
        path = sidecar_path_for(dicom)
        doc = load_sidecar(path)
        doc.annotations.details.case = dict(case)
        save_sidecar(doc, path)
    labelled_loop(folder, "loop_004.dcm", status=None)  # no sidecar
    return folder


def test_the_summary_reads_the_case_details(tmp_path):
    folder = _folder(tmp_path)
    summary = summarise_sidecar(sidecar_path_for(folder / "loop_001.dcm"))
    assert summary.case_value("target") == "trapezius"
    assert summary.case_value("teaching_case") is True
    assert summary.case_value("side") is None


def _column(panel, title: str) -> int:
    model = panel.view.model()
    return next(
        c
        for c in range(model.columnCount())
        if model.headerData(c, Qt.Orientation.Horizontal) == title
    )


def _shown(panel, column: int) -> list[tuple[str, str]]:
    model = panel.view.model()
    return [
        (model.index(r, 0).data(), model.index(r, column).data()) for r in range(model.rowCount())
    ]


def test_case_columns_sort_and_filter(qtbot, window, tmp_path):
    folder = _folder(tmp_path)
    assert window.open_path(str(folder))
    panel = window.loop_list
    qtbot.waitUntil(lambda: len(panel.entries()) == 4, timeout=20_000)
    header = panel.view.header()
    for title in CASE_COLUMNS:  # hidden in the 480 px dock until shown
        assert header.isSectionHidden(_column(panel, title))
    target = _column(panel, "Target")
    header.setSectionHidden(target, False)
    assert dict(_shown(panel, target)) == {
        "loop_001.dcm": "trapezius",
        "loop_002.dcm": "rhomboid",
        "loop_003.dcm": "",
        "loop_004.dcm": "",
    }
    assert dict(_shown(panel, _column(panel, "Procedure")))["loop_002.dcm"] == (
        "trigger point injection"  # a choice in words
    )
    assert dict(_shown(panel, _column(panel, "Teaching")))["loop_001.dcm"] == "yes"
    # A click on the header sorts by the column (the empty ones first).
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=header.rect().topLeft()
        + type(header.rect().topLeft())(header.sectionViewportPosition(target) + 5, 5),
    )
    names = [name for name, _ in _shown(panel, target)]
    assert names[-2:] == ["loop_002.dcm", "loop_001.dcm"]  # rhomboid, trapezius
    # The case filter lists the values met; choosing one keeps its loops only.
    combo = panel.case_filter
    texts = [combo.itemText(i) for i in range(combo.count())]
    assert texts[0] == "Any case"
    assert {"Target: trapezius", "Target: rhomboid", "Side: left", "Teaching cases"} <= set(texts)
    combo.setFocus()
    combo.setCurrentIndex(texts.index("Teaching cases"))
    assert [name for name, _ in _shown(panel, target)] == ["loop_001.dcm"]
    combo.setCurrentIndex(texts.index("Procedure: trigger point injection"))
    assert [name for name, _ in _shown(panel, target)] == ["loop_002.dcm"]
    combo.setCurrentIndex(0)
    assert len(_shown(panel, target)) == 4
