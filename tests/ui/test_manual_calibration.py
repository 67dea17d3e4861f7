"""Measure > Calibrate with real events, points snapped onto a calibrated region's edge,
and the Measurements dock saying why a mark is in px (issue 9, items 5 and 6)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from tests.cine import dicom_factory as factory
from tests.ui.events import click, drag
from tests.ui.paths import SAMPLE_A
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.annotations.geometry import snap_into_rects
from usannotate.sidecar import load_sidecar, sidecar_path_for
from usannotate.ui.viewer.pointer import SNAP_TO_REGION_PX

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier


def shown(window) -> dict[str, tuple[float, str]]:
    table = window.measurement_panel.table
    return {
        table.item(r, 1).text(): (float(table.item(r, 2).text()), table.item(r, 3).text())
        for r in range(table.rowCount())
    }


@pytest.fixture
def uncalibrated_loop(tmp_path: Path) -> Path:
    """A loop with no ultrasound regions, as a GE export with a burned-in scale is."""
    case = factory.make_explicit_le_mono2_8bit(tmp_path / "good")  # 64 x 48, 4 frames
    return factory.with_regions(case.path, tmp_path / "ge_export.dcm", [])


@pytest.fixture
def length_answer(monkeypatch):
    """Answer the length question with ``answer[0]``; the prompts asked are recorded."""
    asked: list[str] = []
    answer = [(10.0, True)]

    def get_double(parent, title, label, *args, **kwargs):
        asked.append(label)
        return answer[0]

    monkeypatch.setattr(QInputDialog, "getDouble", get_double)
    return asked, answer


def test_calibrate_draws_a_line_asks_its_length_and_measures_in_mm(
    window, qtbot, uncalibrated_loop, length_answer
):
    asked, _ = length_answer
    assert window.open_path(str(uncalibrated_loop))
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [(10.0, 10.0), (10.0, 40.0)])
    window.session.history.push(AddObject(needle))
    assert shown(window)["Length"] == (30.0, "px")
    assert "No calibration" in window.view.calibration_note()[0]

    qtbot.keyClick(window, Qt.Key.Key_M, CTRL | ALT)
    assert window.measure.line_tool.active
    drag(window.view, (5.0, 4.0), (5.0, 44.0))  # along the burned-in depth scale
    assert len(asked) == 1
    manual = window.session.document.annotations.manual_calibration
    assert manual is not None
    (x0, y0), (x1, y1) = manual.line
    line_px = float(np.hypot(x1 - x0, y1 - y0))
    assert f"{line_px:.1f} px" in asked[0]
    assert manual.mm_per_px == pytest.approx(10.0 / line_px)
    assert shown(window)["Length"] == (pytest.approx(30.0 * manual.mm_per_px, abs=0.01), "mm")
    assert window.view.calibration_note()[0].startswith("Manual calibration")
    assert window.measure.calibration_item.isVisible()
    assert "manual calibration" in window.measurement_panel.note.text()
    assert window.windowTitle().startswith("*")

    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL)  # undo: px again
    assert window.session.document.annotations.manual_calibration is None
    assert shown(window)["Length"] == (30.0, "px")
    assert not window.measure.calibration_item.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_Z, CTRL | SHIFT)  # redo
    assert window.session.document.annotations.manual_calibration is manual

    qtbot.keyClick(window, Qt.Key.Key_S, CTRL)
    saved = load_sidecar(sidecar_path_for(uncalibrated_loop))
    assert saved.annotations.manual_calibration.mm_per_px == pytest.approx(manual.mm_per_px)
    window.close_loop()
    assert window.open_path(str(uncalibrated_loop))  # comes back with the loop
    assert shown(window)["Length"][1] == "mm"
    assert window.view.calibration_note()[0].startswith("Manual calibration")

    window.remove_calibration()
    assert shown(window)["Length"] == (30.0, "px")
    assert window.view.calibration_note()[0].startswith("No calibration")


def test_a_cancelled_length_changes_nothing(window, qtbot, uncalibrated_loop, length_answer):
    _, answer = length_answer
    answer[0] = (0.0, False)
    assert window.open_path(str(uncalibrated_loop))
    qtbot.keyClick(window, Qt.Key.Key_M, CTRL | ALT)
    drag(window.view, (5.0, 4.0), (5.0, 44.0))
    assert window.session.document.annotations.manual_calibration is None
    assert not window.session.history.can_undo
    assert not window.windowTitle().startswith("*")


def test_calibrating_a_calibrated_file_says_it_replaces_the_dicom_one(
    window, qtbot, tmp_path, length_answer
):
    asked, _ = length_answer
    loop = tmp_path / "case.dcm"
    shutil.copy(SAMPLE_A, loop)
    assert window.open_path(str(loop))
    qtbot.keyClick(window, Qt.Key.Key_M, CTRL | ALT)
    drag(window.view, (200.0, 100.0), (200.0, 300.0))
    assert "has its own calibration (0.0905 mm/px)" in asked[0]


# ------------------------------------------------------------------------ snapping
def test_snap_into_rects_moves_only_points_a_hair_outside():
    rects = [(110.0, 52.0, 530.0, 472.0)]
    assert snap_into_rects((109.9, 200.0), rects, 2.0) == (110.0, 200.0)
    assert snap_into_rects((531.5, 473.0), rects, 2.0) == (530.0, 472.0)  # a corner
    assert snap_into_rects((105.0, 200.0), rects, 2.0) == (105.0, 200.0)  # too far
    assert snap_into_rects((300.0, 300.0), rects, 2.0) == (300.0, 300.0)  # inside
    side_by_side = [(0.0, 0.0, 100.0, 100.0), (102.0, 0.0, 200.0, 100.0)]
    assert snap_into_rects((101.4, 50.0), side_by_side, 2.0) == (102.0, 50.0)  # the nearer


def test_a_click_just_outside_the_region_lands_on_its_edge(window, qtbot, tmp_path):
    loop = tmp_path / "case.dcm"
    shutil.copy(SAMPLE_A, loop)
    assert window.open_path(str(loop))
    left = 110.0  # region 1 of the sample: [110, 52, 529, 471]
    outside_by = 0.6 * SNAP_TO_REGION_PX / window.view.zoom  # a few screen px outside
    plane_key = next(
        label.shortcut
        for label in window.session.document.annotations.label_set
        if label.id == "fascia.superficial"
    )
    qtbot.keyClick(window, getattr(Qt.Key, f"Key_{plane_key}"))
    click(window.view, left - outside_by, 200.0)
    click(window.view, 300.0, 205.0)
    click(window.view, 450.0, 210.0)
    qtbot.keyClick(window.view, Qt.Key.Key_Return)
    plane = window.session.document.annotations.objects[0]
    points = plane.frames[0]
    assert points[0][0] == left  # on the edge, so the plane is measured in mm
    assert shown(window)["Length"][1] == "mm"


def test_the_dock_says_which_point_keeps_a_mark_in_px(window, tmp_path):
    loop = tmp_path / "case.dcm"
    shutil.copy(SAMPLE_A, loop)
    assert window.open_path(str(loop))
    plane = AnnotatedObject("fascia.superficial", ShapeKind.POLYLINE)
    plane.set_points(0, [(60.0, 200.0), (300.0, 205.0), (450.0, 210.0)])  # 1st far outside
    window.session.history.push(AddObject(plane))
    assert shown(window)["Length"][1] == "px"
    note = window.measurement_panel.note.text()
    assert "Superficial fascia in px: point 1 of 3 is outside region 1" in note
    assert "point 1 of 3" in window.measurement_panel.table.item(0, 3).toolTip()
