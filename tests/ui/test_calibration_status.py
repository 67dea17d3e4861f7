"""The status bar's mm position and the Measurements dock follow the calibration that
really applies: no lateral position without a reference pixel, the manual calibration
when one is set (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.cine import dicom_factory as factory
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject, SetManualCalibration
from usannotate.cine import ManualCalibration


def _move_over(window, qtbot, x: float, y: float) -> QPointF:
    """A real mouse move (no button held) over the view to image point ``(x, y)``; the
    point the view reports. Sent as a QMouseEvent: QTest's pointer state carries over
    from earlier tests."""
    view = window.view
    at = view.mapFromScene(QPointF(x, y))
    event = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(at),
        QPointF(view.viewport().mapToGlobal(at)),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(view.cursorMoved, timeout=2000) as moved:
        QApplication.sendEvent(view.viewport(), event)
    point = moved.args[0]
    assert point is not None
    return point


def _loop(tmp_path: Path, regions: list) -> Path:
    case = factory.make_explicit_le_mono2_8bit(tmp_path / "good")  # 64 x 48, 4 frames
    return factory.with_regions(case.path, tmp_path / "loop.dcm", regions)


def test_no_lateral_position_without_a_reference_pixel(window, qtbot, tmp_path: Path) -> None:
    """Without ReferencePixelX0 the status bar read '+3.2 mm lateral' from the region's
    left edge: now depth only, from the region's top, and it says why."""
    region = factory.ultrasound_region((0, 4, 63, 47), mm_per_px=(0.1, 0.1), reference_pixel=None)
    assert window.open_path(str(_loop(tmp_path, [region])))
    point = _move_over(window, qtbot, 32.0, 24.0)
    text = window.cursor_label.text()
    assert "lateral" not in text.replace("no lateral reference", "")
    assert f"depth {(point.y() - 4) * 0.1:.1f} mm (no lateral reference in the file)" in text


def test_lateral_and_depth_from_the_reference_pixel(window, qtbot, tmp_path: Path) -> None:
    region = factory.ultrasound_region(
        (0, 4, 63, 47), mm_per_px=(0.1, 0.2), reference_pixel=(32, 0)
    )
    assert window.open_path(str(_loop(tmp_path, [region])))
    point = _move_over(window, qtbot, 20.0, 30.0)
    text = window.cursor_label.text()
    assert f"{(point.x() - 32) * 0.1:+.1f} mm lateral" in text
    assert f"{(point.y() - 4) * 0.2:.1f} mm deep" in text


def test_manual_calibration_reaches_the_status_bar_and_the_measurements(
    window, qtbot, tmp_path: Path
) -> None:
    """A loop without regions (a GE export): px until calibrated, mm after, px again on
    undo."""
    assert window.open_path(str(_loop(tmp_path, [])))
    history = window.session.history
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [(10.0, 10.0), (10.0, 40.0)])
    history.push(AddObject(needle))
    table = window.measurement_panel.table

    def shown() -> dict[str, tuple[float, str]]:
        return {
            table.item(r, 1).text(): (float(table.item(r, 2).text()), table.item(r, 3).text())
            for r in range(table.rowCount())
        }

    assert shown()["Length"] == (30.0, "px")
    _move_over(window, qtbot, 30.0, 20.0)
    assert "mm" not in window.cursor_label.text()

    history.push(SetManualCalibration(ManualCalibration.from_line([(0, 0), (0, 20)], 10.0)))
    assert shown()["Length"] == (15.0, "mm")
    assert shown()["Tip depth"] == (20.0, "mm")  # from the image top
    point = _move_over(window, qtbot, 34.0, 26.0)
    assert (
        f"depth {point.y() * 0.5:.1f} mm from the image top (manual calibration)"
        in window.cursor_label.text()
    )

    window.undo()
    assert shown()["Length"] == (30.0, "px")


@pytest.fixture(autouse=True)
def _offscreen_sized(window) -> None:
    window.resize(1200, 800)
