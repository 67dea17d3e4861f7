"""The image view: zoom about the cursor, pan, fit / 1:1, gain, calibration overlays."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

import usannotate
from tests.ui.paths import SAMPLE_A
from usannotate.ui.viewer.view import CineView, DepthRuler, DisplayAdjustment, RegionOutline


@pytest.fixture
def view(cine_view):
    widget = cine_view
    with usannotate.open_cine(SAMPLE_A) as loop:
        widget.set_regions(loop.regions, (loop.columns, loop.rows))
        widget.show_frame(loop.frame(20).copy(), 20)
    return widget


def wheel(view: CineView, at: QPoint, steps: int) -> None:
    event = QWheelEvent(
        QPointF(at),
        QPointF(view.viewport().mapToGlobal(at)),
        QPoint(),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


def mouse(view, kind, at: QPoint, button, buttons, modifiers=Qt.KeyboardModifier.NoModifier):
    event = QMouseEvent(
        kind, QPointF(at), QPointF(view.viewport().mapToGlobal(at)), button, buttons, modifiers
    )
    QApplication.sendEvent(view.viewport(), event)


def test_frame_fits_with_aspect_kept(view):
    """Fit shows the frame and its overlays (ruler, scale bar) whole, aspect kept."""
    frame = view.mapFromScene(view.frame_item.boundingRect()).boundingRect()
    scene = view.mapFromScene(view.sceneRect()).boundingRect()
    viewport = view.viewport().rect()
    assert viewport.adjusted(-2, -2, 2, 2).contains(scene)
    assert abs(frame.width() / frame.height() - 640 / 480) < 0.02
    # The limiting dimension is used: no wasted zoom.
    assert max(scene.width() / viewport.width(), scene.height() / viewport.height()) > 0.97


def test_wheel_zooms_about_the_cursor(view):
    cursor = QPoint(300, 250)
    before = view.mapToScene(cursor)
    zoom = view.zoom
    wheel(view, cursor, 3)
    assert view.zoom == pytest.approx(zoom * 1.2**3, rel=1e-3)
    after = view.mapToScene(cursor)
    assert abs(after.x() - before.x()) < 1.0
    assert abs(after.y() - before.y()) < 1.0
    assert not view.fit_mode
    wheel(view, cursor, -3)
    assert view.zoom == pytest.approx(zoom, rel=1e-3)


def test_middle_drag_pans(view):
    wheel(view, QPoint(400, 300), 5)
    start = view.mapToScene(QPoint(400, 300))
    mouse(
        view,
        QEvent.Type.MouseButtonPress,
        QPoint(400, 300),
        Qt.MouseButton.MiddleButton,
        Qt.MouseButton.MiddleButton,
    )
    for x in range(400, 299, -20):
        mouse(
            view,
            QEvent.Type.MouseMove,
            QPoint(x, 300),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.MiddleButton,
        )
    mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        QPoint(300, 300),
        Qt.MouseButton.MiddleButton,
        Qt.MouseButton.NoButton,
    )
    moved = view.mapToScene(QPoint(400, 300)).x() - start.x()
    assert moved == pytest.approx(100 / view.zoom, rel=0.1)


def test_ctrl_left_drag_pans_too(view):
    wheel(view, QPoint(400, 300), 5)
    start = view.mapToScene(QPoint(400, 300))
    ctrl = Qt.KeyboardModifier.ControlModifier
    mouse(
        view,
        QEvent.Type.MouseButtonPress,
        QPoint(400, 300),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.LeftButton,
        ctrl,
    )
    mouse(
        view,
        QEvent.Type.MouseMove,
        QPoint(400, 360),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.LeftButton,
        ctrl,
    )
    mouse(
        view,
        QEvent.Type.MouseButtonRelease,
        QPoint(400, 360),
        Qt.MouseButton.LeftButton,
        Qt.MouseButton.NoButton,
        ctrl,
    )
    assert view.mapToScene(QPoint(400, 300)).y() - start.y() == pytest.approx(
        -60 / view.zoom, rel=0.1
    )


def test_fit_and_actual_size(view):
    wheel(view, QPoint(100, 100), 4)
    view.zoom_actual_size()
    assert view.zoom == pytest.approx(1.0)
    view.fit()
    assert view.fit_mode
    view.resize(500, 700)
    QApplication.processEvents()
    rect = view.mapFromScene(view.frame_item.boundingRect()).boundingRect()
    assert rect.width() <= view.viewport().width() + 1


def test_cursor_reports_image_coordinates(view, qtbot):
    view.zoom_actual_size()
    view.centerOn(320, 240)
    seen: list = []
    view.cursorMoved.connect(seen.append)
    at = view.mapFromScene(QPointF(100.5, 50.5))
    mouse(view, QEvent.Type.MouseMove, at, Qt.MouseButton.NoButton, Qt.MouseButton.NoButton)
    assert seen[-1] is not None
    assert seen[-1].x() == pytest.approx(100.5, abs=1.0)
    assert seen[-1].y() == pytest.approx(50.5, abs=1.0)


def test_gain_is_display_only(view):
    before = view.frame_item.pixels.copy()
    raw = view.raw_pixel(320.5, 300.5)
    view.set_adjustment(DisplayAdjustment(brightness=40.0, contrast=1.5))
    assert not np.array_equal(view.frame_item.pixels, before)
    assert view.raw_pixel(320.5, 300.5) == raw
    view.set_adjustment(DisplayAdjustment())
    assert np.array_equal(view.frame_item.pixels, before)


def test_display_adjustment_lut():
    lut = DisplayAdjustment(brightness=10, contrast=2.0).lut()
    assert lut[128] == 138
    assert lut[0] == 0
    assert lut[255] == 255
    assert lut[100] == 82  # (100 - 128) * 2 + 128 + 10


def test_region_outline_and_ruler_toggle(view):
    outlines = [i for i in view.scene().items() if isinstance(i, RegionOutline)]
    rulers = [i for i in view.scene().items() if isinstance(i, DepthRuler)]
    assert len(outlines) == 1
    assert len(rulers) == 1
    assert view.calibrated
    view.set_regions_visible(False)
    assert not outlines[0].isVisible()
    assert rulers[0].isVisible()
    view.set_ruler_visible(False)
    assert not rulers[0].isVisible()
    view.set_regions_visible(True)
    assert outlines[0].isVisible()


def test_ruler_length_matches_calibration(view):
    [ruler] = [i for i in view.scene().items() if isinstance(i, DepthRuler)]
    assert ruler.bar_mm == 10.0
    region = ruler.region
    # The scale bar is bar_mm long in image pixels of this region.
    assert ruler._bar_x0 + ruler.bar_mm / region.mm_per_px_x > ruler._bar_x0


def test_uncalibrated_loop_says_px(qtbot):
    widget = CineView()
    qtbot.addWidget(widget)
    with usannotate.open_cine(get_testdata_file("examples_rgb_color.dcm")) as loop:
        widget.set_regions(loop.regions, (loop.columns, loop.rows))
        widget.show_frame(loop.frame(0).copy(), 0)
    assert not widget.calibrated
    assert not [i for i in widget.scene().items() if isinstance(i, DepthRuler)]


def test_region_beyond_the_image_is_drawn_as_unusable(qtbot):
    widget = CineView()
    qtbot.addWidget(widget)
    with usannotate.open_cine(get_testdata_file("examples_ybr_color.dcm")) as loop:
        widget.set_regions(loop.regions, (loop.columns, loop.rows))
        widget.show_frame(loop.frame(0).copy(), 0)
    [outline] = [i for i in widget.scene().items() if isinstance(i, RegionOutline)]
    assert not outline.usable
    assert outline.boundingRect().right() <= 320 + 2  # clipped to the image
    assert not widget.calibrated
    assert widget.has_regions
    assert not [i for i in widget.scene().items() if isinstance(i, DepthRuler)]


def _pixels(widget) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    array = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    rows = array.reshape(image.height(), image.bytesPerLine())[:, : 3 * image.width()]
    return rows.reshape(image.height(), image.width(), 3).copy()  # the image is freed next


def test_a_playing_frame_scaled_down_looks_as_the_still_frame(view):
    """While playing, a zoomed-out frame is scaled by OpenCV and drawn pixel for pixel:
    the same picture in the same place as Qt's smooth scaling of the still frame (within
    the two filters' rounding), and the still frame exactly as before once it stops."""
    view.resize(520, 400)
    view.fit()
    dpr = view.viewport().devicePixelRatioF()
    while view.transform().m11() * dpr >= 0.9:  # zoomed out on the screen's own pixels
        wheel(view, view.viewport().rect().center(), -1)
    QApplication.processEvents()
    still = _pixels(view.viewport()).astype(int)
    view.set_playing(True)
    view.frame_item.update()
    playing = _pixels(view.viewport()).astype(int)
    assert view.frame_item._scaled is not None  # drawn from the scaled copy
    difference = np.abs(playing - still)
    assert difference.mean() < 1.0
    assert np.percentile(difference, 99) < 8  # no shift, no other zoom
    shifted = np.abs(playing[:, 2:] - still[:, :-2]).mean()
    assert shifted > 2 * difference.mean()  # two pixels off would show
    view.set_playing(False)
    assert np.array_equal(_pixels(view.viewport()), still)
