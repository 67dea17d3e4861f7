"""Captions beside the marks they name, never over them; a key hides them; vertex handles
sized to the mark (issue 9, item 10). Marks from the sample loop's ground truth."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPainterPathStroker
from PySide6.QtWidgets import QApplication

from tests.ui.paths import SAMPLE_A
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.ui.viewer.captions import Anchor, Footprint, boxes_hit, place_captions
from usannotate.ui.viewer.marks import MIN_HANDLE_PX

TRUTH = json.loads(SAMPLE_A.with_name("hydrodissection_linear_a.truth.json").read_text())
PLANES = ("fascia.superficial", "fascia.deep", "fascia.interfascial")


def plane(frame: int, index: int, n: int = 8) -> np.ndarray:
    points = np.array(TRUTH["frames"][frame]["fascial_planes"][index]["points"])
    return points[np.linspace(0, len(points) - 1, n).astype(int)]


def fluid(frame: int, n: int) -> np.ndarray:
    outline = np.array(TRUTH["frames"][frame]["fluid"]["outline"])
    return outline[np.linspace(0, len(outline), n, endpoint=False).astype(int)]


def needle(frame: int) -> np.ndarray:
    truth = TRUTH["frames"][frame]["needle"]
    return np.array([truth["entry"], truth["tip"]])


@pytest.fixture
def marked(window, tmp_path):
    """The sample loop with its planes, the fluid (keyframes 30 and 40, 9 and 20 points:
    interpolated between) and the needle (keyframes 20 and 34)."""
    path = tmp_path / "case.dcm"
    shutil.copy(SAMPLE_A, path)
    assert window.open_path(str(path))
    objects = {}
    for index, label in enumerate(PLANES):
        objects[label] = AnnotatedObject(label, ShapeKind.POLYLINE)
        for frame in (0, 30, 59):
            objects[label].set_points(frame, plane(frame, index))
    objects["fluid"] = AnnotatedObject("fluid.injectate", ShapeKind.REGION)
    objects["fluid"].set_points(30, fluid(30, 9))
    objects["fluid"].set_points(40, fluid(40, 20))
    objects["needle"] = AnnotatedObject("needle", ShapeKind.NEEDLE)
    for frame in (20, 34):
        objects["needle"].set_points(frame, needle(frame))
    for obj in objects.values():
        window.session.history.push(AddObject(obj))
    window.objects = objects
    return window


def caption_clear_of_its_mark(window, item) -> None:
    scale = window.view.zoom
    box = item.caption_box(scale)
    assert window.layer.bounds.contains(box), item.caption.text_item.text()
    # The line itself, 2 screen px wide, and for a region its inside: never under it.
    stroker = QPainterPathStroker()
    stroker.setWidth(2.0 / scale)
    path = item.shape()
    assert not stroker.createStroke(path).intersects(box), item.caption.text_item.text()
    if item.label.kind == ShapeKind.REGION:
        assert not path.intersects(box)
    if item.label.kind == ShapeKind.NEEDLE:
        # Nor over the tip and its ring (7 screen px), nor over the trajectory.
        (x0, y0), (x1, y1) = item.points
        tip = QPainterPath()
        tip.addEllipse(QPointF(x1, y1), 8.0 / scale, 8.0 / scale)
        assert not tip.intersects(box)
        trajectory = QPainterPath(QPointF(x1, y1))
        trajectory.lineTo(QPointF(2 * x1 - x0, 2 * y1 - y0))
        assert not stroker.createStroke(trajectory).intersects(box)


@pytest.mark.parametrize("zoom_steps", [0, -2, 3])
def test_captions_lie_beside_their_marks(marked, qtbot, zoom_steps):
    window = marked
    key = Qt.Key.Key_Plus if zoom_steps > 0 else Qt.Key.Key_Minus
    for _ in range(abs(zoom_steps)):
        qtbot.keyClick(window, key)
    if zoom_steps > 0:
        window.view.centerOn(QPointF(330, 240))  # the needle tip and the fluid
    for frame in (20, 27, 30, 35, 40):
        window.jump(frame)
        QApplication.processEvents()
        items = list(window.layer.items.values())
        assert len(items) >= 4
        for item in items:
            caption_clear_of_its_mark(window, item)
        # ... and no caption over another.
        boxes = [item.caption_box(window.view.zoom) for item in items]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not a.intersects(b)


def test_shift_h_hides_and_shows_the_captions(marked, qtbot):
    window = marked
    window.jump(35)
    captions = [item.caption for item in window.layer.items.values()]
    assert all(c.isVisible() for c in captions)
    qtbot.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)
    assert not window.captions_action.isChecked()
    assert not any(c.isVisible() for c in captions)
    window.jump(36)  # stays hidden on other frames
    assert not any(i.caption.isVisible() for i in window.layer.items.values())
    qtbot.keyClick(window, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)
    assert all(i.caption.isVisible() for i in window.layer.items.values())
    for item in window.layer.items.values():
        caption_clear_of_its_mark(window, item)


def test_handles_shrink_on_a_small_mark_and_stay_grabbable(marked, qtbot):
    window = marked
    window.jump(35)  # the fluid is interpolated here: many vertices, a small outline
    window.tools.select(window.objects["fluid"].id)
    layer = window.layer
    fluid_item = layer.items[window.objects["fluid"].id]
    plane_item = layer.items[window.objects["fascia.deep"].id]
    scale = window.view.zoom
    assert fluid_item.show_handles
    assert len(fluid_item.points) >= 15
    side = fluid_item.handle_side_px(scale)
    assert MIN_HANDLE_PX <= side < layer.handle_size_px
    # Handles do not cover each other: the outline shows between them.
    spacing = np.median(np.hypot(*np.diff(fluid_item.points, axis=0).T)) * scale
    assert side < spacing or side == MIN_HANDLE_PX
    assert plane_item.handle_side_px(scale) == layer.handle_size_px  # a long plane
    # A small handle is still grabbed from the tools' full reach.
    x, y = fluid_item.points[3]
    assert window.tools.picker.vertex_at(np.array([x + 4.0 / scale, y]), None) is not None


def test_caption_size_and_handle_size_are_settings(marked):
    window = marked
    layer = window.layer
    layer.caption_point_size = 14.0
    layer.handle_size_px = 12.0
    window.jump(30)
    for item in layer.items.values():
        assert item.caption.text_item.font().pointSizeF() == 14.0
        assert item.handle_size_px == 12.0
        caption_clear_of_its_mark(window, item)
    # Big handles are grabbed wherever they are drawn.
    assert window.tools.picker.tolerance * window.view.zoom >= 12.0 / 2


def test_place_captions_keeps_off_the_needle_tip():
    """The layout alone: a needle going down right, its caption asked near the tip."""
    footprint = Footprint(
        np.array([[10.0, 10.0], [60.0, 60.0]]),
        discs=((60.0, 60.0, 8.0),),
        segments=np.array([[[60.0, 60.0], [110.0, 110.0]]]),
        anchors=(Anchor(60.0, 60.0, 10.0), Anchor(10.0, 10.0)),
    )
    [box] = place_captions([footprint], [(80.0, 14.0)], 1.0, (0.0, 0.0, 200.0, 200.0))
    assert not boxes_hit(footprint, np.array([box]), 1.0)[0]
    assert QRectF(0, 0, 200, 200).contains(QRectF(box[0], box[1], 80, 14))


def test_captions_follow_during_playback_and_settle_when_it_stops(marked, qtbot):
    window = marked
    window.jump(24)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.index >= 32, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.playback.is_playing
    for item in window.layer.items.values():
        caption_clear_of_its_mark(window, item)
