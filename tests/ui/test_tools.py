"""The annotation tools: draw each kind of mark, select, drag, insert and delete points,
with real mouse events on the viewer (and the same logic through plain pointer events)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication, QGraphicsScene

import usannotate
from usannotate.annotations import AnnotatedObject, Annotations, ShapeKind, default_label_set
from usannotate.annotations.edits import AddObject, EditHistory
from usannotate.annotations.geometry import simplify_outline
from usannotate.ui.viewer.marking_tools import PointerEvent, Tool, ToolController
from usannotate.ui.viewer.marks import AnnotationLayer
from usannotate.ui.viewer.pointer import FREEHAND_EPSILON
from usannotate.ui.viewer.view import CineView

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicoms" / "hydrodissection_linear_a.dcm"
FRAME = 12
LEFT = Qt.MouseButton.LeftButton
NO_BUTTON = Qt.MouseButton.NoButton
NO_MODIFIER = Qt.KeyboardModifier.NoModifier


@dataclass
class Rig:
    view: CineView
    layer: AnnotationLayer
    history: EditHistory
    tools: ToolController

    @property
    def objects(self) -> list[AnnotatedObject]:
        return self.history.annotations.objects

    def add(self, label_id: str, points, frame: int = FRAME) -> AnnotatedObject:
        """A mark made through the history (as the tools would), shown on the layer."""
        kind = self.history.annotations.label_set[label_id].kind
        obj = AnnotatedObject(label_id, kind)
        obj.set_points(frame, points)
        self.history.push(AddObject(obj))
        self.layer.show(self.history.annotations, FRAME)
        return obj


@pytest.fixture
def rig(cine_view):
    view = cine_view
    with usannotate.open_cine(SAMPLE) as loop:
        view.set_regions(loop.regions, (loop.columns, loop.rows))
        view.show_frame(loop.frame(FRAME).copy(), FRAME)
    layer = AnnotationLayer(view.scene())
    history = EditHistory(Annotations(default_label_set()))
    tools = ToolController(view, layer)
    tools.set_document(history)
    tools.set_frame(FRAME)
    return Rig(view, layer, history, tools)


def draw_with(rig: Rig, label_id: str) -> None:
    rig.tools.set_label(label_id)
    rig.tools.start_drawing()


# --------------------------------------------------------------- real mouse events
def viewport_point(view: CineView, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def send(view, kind, x, y, button=LEFT, buttons=LEFT, modifiers=NO_MODIFIER) -> None:
    send_at(view, kind, viewport_point(view, x, y), button, buttons, modifiers)


def send_at(view, kind, at: QPoint, button=LEFT, buttons=LEFT, modifiers=NO_MODIFIER) -> None:
    """A mouse event at viewport point ``at``."""
    position = QPointF(at)
    event = QMouseEvent(
        kind, position, QPointF(view.viewport().mapToGlobal(at)), button, buttons, modifiers
    )
    QApplication.sendEvent(view.viewport(), event)


def press(view, x, y, modifiers=NO_MODIFIER) -> None:
    send(view, QEvent.Type.MouseButtonPress, x, y, LEFT, LEFT, modifiers)


def release(view, x, y, modifiers=NO_MODIFIER) -> None:
    send(view, QEvent.Type.MouseButtonRelease, x, y, LEFT, NO_BUTTON, modifiers)


def click(view, x, y, modifiers=NO_MODIFIER) -> None:
    press(view, x, y, modifiers)
    release(view, x, y, modifiers)


def double_click(view, x, y) -> None:
    """What Qt delivers for a double-click: press, release, double-click, release."""
    click(view, x, y)
    send(view, QEvent.Type.MouseButtonDblClick, x, y)
    release(view, x, y)


def hover(view, x, y) -> None:
    send(view, QEvent.Type.MouseMove, x, y, NO_BUTTON, NO_BUTTON)


def drag(view, path, modifiers=NO_MODIFIER, *, end: bool = True) -> None:
    """Press at the first point, move through the others with the button held (the
    state ``qtbot.mouseMove`` cannot carry), release at the last. The image points are
    mapped to the viewport before the drag, as the hand moves on the screen."""
    points = [viewport_point(view, x, y) for x, y in path]
    send_at(view, QEvent.Type.MouseButtonPress, points[0], LEFT, LEFT, modifiers)
    for at in points[1:]:
        send_at(view, QEvent.Type.MouseMove, at, NO_BUTTON, LEFT, modifiers)
    if end:
        send_at(view, QEvent.Type.MouseButtonRelease, points[-1], LEFT, NO_BUTTON, modifiers)


def key(view, qt_key) -> None:
    QApplication.sendEvent(view, QKeyEvent(QEvent.Type.KeyPress, qt_key, NO_MODIFIER))


def assert_points(actual, expected, tolerance: float = 1.0) -> None:
    actual = np.asarray(actual)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= tolerance, f"{actual} != {expected}"


# ------------------------------------------------------------------------- drawing
def test_polyline_clicks_then_enter(rig):
    draw_with(rig, "fascia.superficial")
    assert rig.tools.tool == Tool.POLYLINE
    messages: list[str] = []
    rig.tools.statusMessage.connect(messages.append)
    clicks = [(100, 150), (250, 160), (400, 155)]
    for x, y in clicks:
        click(rig.view, x, y)
    assert not rig.objects  # not in the model until finished
    assert rig.tools._preview.isVisible()
    key(rig.view, Qt.Key.Key_Return)
    [plane] = rig.objects
    assert plane.label_id == "fascia.superficial"
    assert plane.kind == ShapeKind.POLYLINE
    assert_points(plane.points(FRAME), clicks)
    # Keyboard-first: still drawing the same label, the new mark selected and shown.
    assert rig.tools.mode == "draw"
    assert rig.tools.selected == plane.id
    assert rig.layer.items[plane.id].isSelected()
    assert not rig.tools._preview.isVisible()
    assert any("Superficial fascia marked" in m for m in messages)
    rig.history.undo()
    assert not rig.objects


def test_polyline_double_click_finishes(rig):
    draw_with(rig, "fascia.deep")
    changed: list[bool] = []
    rig.tools.marksChanged.connect(lambda: changed.append(True))
    click(rig.view, 120, 300)
    click(rig.view, 260, 310)
    double_click(rig.view, 420, 305)
    [plane] = rig.objects
    assert_points(plane.points(FRAME), [(120, 300), (260, 310), (420, 305)])
    assert changed == [True]  # one edit


def test_polyline_needs_two_points(rig):
    draw_with(rig, "fascia.deep")
    click(rig.view, 120, 300)
    key(rig.view, Qt.Key.Key_Return)
    assert not rig.objects
    assert len(rig.tools.sketch_points) == 1


def test_polyline_backspace_and_escape(rig):
    draw_with(rig, "fascia.interfascial")
    for x, y in [(100, 200), (200, 210), (300, 205)]:
        click(rig.view, x, y)
    key(rig.view, Qt.Key.Key_Backspace)
    assert_points(rig.tools.sketch_points, [(100, 200), (200, 210)])
    click(rig.view, 320, 190)
    key(rig.view, Qt.Key.Key_Escape)  # cancels the mark, stays drawing
    assert not len(rig.tools.sketch_points)
    assert rig.tools.mode == "draw"
    assert not rig.tools._preview.isVisible()
    assert not rig.objects
    assert not rig.history.can_undo
    key(rig.view, Qt.Key.Key_Escape)  # nothing half drawn: back to selecting
    assert rig.tools.mode == "select"


def test_needle_two_clicks_and_identity_through_the_loop(rig):
    draw_with(rig, "needle")
    assert rig.tools.tool == Tool.NEEDLE
    click(rig.view, 60, 80)
    assert not rig.objects
    click(rig.view, 300, 260)  # the tip finishes it
    [needle] = rig.objects
    assert_points(needle.points(FRAME), [(60, 80), (300, 260)])

    rig.tools.set_frame(FRAME + 1)
    rig.layer.show(rig.history.annotations, FRAME + 1)
    click(rig.view, 62, 82)
    click(rig.view, 320, 275)
    assert [o.id for o in rig.objects] == [needle.id]  # the same needle, advanced
    assert_points(needle.points(FRAME + 1), [(62, 82), (320, 275)])
    assert_points(needle.points(FRAME), [(60, 80), (300, 260)])
    rig.history.undo()
    assert sorted(needle.frames) == [FRAME]

    # Shift draws a separate object of the same label.
    click(rig.view, 500, 80, Qt.KeyboardModifier.ShiftModifier)
    click(rig.view, 400, 200)
    assert len(rig.objects) == 2


def test_region_corners(rig):
    draw_with(rig, "fluid.injectate")
    corners = [(300, 250), (360, 245), (370, 290), (310, 300)]
    for x, y in corners:
        click(rig.view, x, y)
    key(rig.view, Qt.Key.Key_Enter)
    [fluid] = rig.objects
    assert fluid.kind == ShapeKind.REGION
    assert_points(fluid.points(FRAME), corners)

    # A click on the first corner closes the next one.
    draw_with(rig, "avoid.vessel")
    for x, y in [(100, 300), (140, 300), (120, 340), (101, 301)]:
        click(rig.view, x, y)
    vessel = rig.objects[1]
    assert_points(vessel.points(FRAME), [(100, 300), (140, 300), (120, 340)])


def test_region_freehand(rig):
    draw_with(rig, "avoid.nerve")
    centre, radius = np.array([320.0, 240.0]), 40.0
    angles = np.linspace(0, 2 * np.pi, 90, endpoint=False)
    path = [tuple(centre + radius * np.array([np.cos(a), np.sin(a)])) for a in angles]
    drag(rig.view, path)  # the release closes it
    [nerve] = rig.objects
    points = nerve.points(FRAME)
    assert 40 <= len(points) <= 90  # sampled every 3 px or more
    steps = np.hypot(*np.diff(points, axis=0).T)
    assert steps.min() >= 3.0 - 1e-9
    assert np.abs(np.hypot(*(points - centre).T) - radius).max() <= 1.0
    area = cv2.contourArea(points.astype(np.float32))
    assert area == pytest.approx(np.pi * radius**2, rel=0.03)


def test_region_click_with_a_small_jitter_is_a_corner(rig):
    draw_with(rig, "fluid.injectate")
    drag(rig.view, [(300, 250), (301, 250)])
    assert len(rig.tools.sketch_points) == 1
    assert not rig.objects


def test_point_one_click(rig):
    draw_with(rig, "target")
    click(rig.view, 333, 222)
    [target] = rig.objects
    assert_points(target.points(FRAME), [(333, 222)])
    click(rig.view, 340, 230)  # another target on the same frame: a new object
    assert len(rig.objects) == 2


def test_points_stay_on_the_image(rig):
    draw_with(rig, "target")
    width = rig.view.frame_item.boundingRect().width()
    click(rig.view, width + 8, 100)
    [target] = rig.objects
    assert target.points(FRAME)[0][0] == pytest.approx(width)


# ----------------------------------------------------------------- select and edit
def test_click_selects_and_escape_clears(rig):
    plane = rig.add("fascia.deep", [(100, 300), (500, 310)])
    seen: list = []
    rig.tools.selectionChanged.connect(seen.append)
    click(rig.view, 300, 306)
    assert rig.tools.selected == plane.id
    item = rig.layer.items[plane.id]
    assert item.isSelected()
    assert item.show_handles
    key(rig.view, Qt.Key.Key_Escape)
    assert rig.tools.selected is None
    assert seen == [plane.id, None]
    click(rig.view, 300, 100)  # empty image: nothing
    assert rig.tools.selected is None
    assert not rig.history.can_undo or rig.history.undo_text == "Add mark"


def test_drag_a_vertex_is_one_undo_step(rig):
    plane = rig.add("fascia.superficial", [(100, 150), (250, 160), (400, 155)])
    click(rig.view, 175, 155)  # select it
    hover(rig.view, 250, 160)
    assert rig.layer.items[plane.id].hovered_vertex == 1
    steps = rig.history.revision
    path = [(250, 160), (252, 170), (255, 180), (258, 190)]
    drag(rig.view, path, end=False)
    # A preview: the item shows the drag; the model and the history wait for the release.
    assert_points(plane.points(FRAME)[1], (250, 160))
    assert_points(rig.layer.items[plane.id].points[1], (258, 190))
    assert rig.history.revision == steps
    release(rig.view, 258, 190)
    assert rig.history.revision == steps + 1
    assert_points(plane.points(FRAME), [(100, 150), (258, 190), (400, 155)])
    assert rig.history.undo_text == "Move point"
    rig.history.undo()
    assert np.array_equal(plane.points(FRAME), [(100, 150), (250, 160), (400, 155)])
    rig.history.redo()
    assert_points(plane.points(FRAME)[1], (258, 190))


def test_drag_moves_the_whole_mark(rig):
    fluid = rig.add("fluid.injectate", [(300, 250), (360, 245), (370, 290), (310, 300)])
    before = fluid.points(FRAME).copy()
    click(rig.view, 335, 270)  # inside the region
    drag(rig.view, [(335, 270), (345, 275), (355, 280)])
    assert_points(fluid.points(FRAME), before + np.array([20, 10]))
    rig.history.undo()
    assert np.array_equal(fluid.points(FRAME), before)


def test_a_plain_click_on_a_mark_changes_nothing(rig):
    plane = rig.add("fascia.deep", [(100, 300), (500, 310)])
    steps = rig.history.revision
    click(rig.view, 300, 305)
    click(rig.view, 300, 305)
    assert rig.history.revision == steps
    assert np.array_equal(plane.points(FRAME), [(100, 300), (500, 310)])


def test_double_click_on_an_edge_inserts_a_point(rig):
    plane = rig.add("fascia.deep", [(100, 300), (300, 300), (500, 320)])
    click(rig.view, 200, 300)  # select
    double_click(rig.view, 400, 310)
    points = plane.points(FRAME)
    assert len(points) == 4
    assert_points(points[2], (400, 310))
    assert rig.history.undo_text == "Add point"
    rig.history.undo()
    assert len(plane.points(FRAME)) == 3


def test_double_click_on_an_unselected_mark_only_selects(rig):
    plane = rig.add("fascia.deep", [(100, 300), (500, 300)])
    double_click(rig.view, 300, 300)
    assert rig.tools.selected == plane.id
    assert len(plane.points(FRAME)) == 2


def test_delete_a_point_then_the_mark(rig):
    fluid = rig.add("avoid.vessel", [(300, 250), (360, 245), (370, 290), (310, 300)])
    click(rig.view, 335, 270)
    hover(rig.view, 370, 290)
    key(rig.view, Qt.Key.Key_Delete)
    assert_points(fluid.points(FRAME), [(300, 250), (360, 245), (310, 300)])
    assert rig.history.undo_text == "Delete point"
    # Three corners are the least a region has: Delete now removes the mark, and the
    # object with it (this was its only frame), in one step.
    hover(rig.view, 360, 245)
    key(rig.view, Qt.Key.Key_Delete)
    assert not rig.objects
    assert rig.tools.selected is None
    assert not rig.layer.items
    rig.history.undo()
    [back] = rig.objects
    assert back.id == fluid.id
    assert len(back.points(FRAME)) == 3


def test_delete_keeps_the_mark_on_other_frames(rig):
    needle = rig.add("needle", [(60, 80), (300, 260)])
    needle.set_points(FRAME + 5, [(60, 80), (320, 270)])
    click(rig.view, 180, 170)
    key(rig.view, Qt.Key.Key_Delete)
    assert [o.id for o in rig.objects] == [needle.id]
    assert needle.points(FRAME) is None
    # The frames between keep what they showed: the next one became a keyframe.
    assert sorted(needle.frames) == [FRAME + 1, FRAME + 5]
    np.testing.assert_allclose(needle.points(FRAME + 1), [(60, 80), (304, 262)])


def test_delete_on_an_interpolated_frame_leaves_a_gap_of_one_frame(rig):
    needle = rig.add("needle", [(60, 80), (300, 260)])
    needle.set_points(FRAME - 4, [(60, 80), (280, 250)])
    needle.set_points(FRAME + 4, [(60, 80), (320, 270)])
    needle.frames.pop(FRAME)  # FRAME is now interpolated between FRAME - 4 and FRAME + 4
    rig.layer.show(rig.history.annotations, FRAME)
    click(rig.view, 180, 170)
    key(rig.view, Qt.Key.Key_Delete)
    assert needle.points(FRAME) is None
    assert needle.source(FRAME - 1) == "keyframe"
    assert needle.source(FRAME + 1) == "keyframe"
    assert needle.source(FRAME - 2) == "interpolated"
    rig.history.undo()
    np.testing.assert_allclose(needle.points(FRAME), [(60, 80), (300, 260)])
    assert needle.source(FRAME) == "interpolated"


def test_vertices_beat_areas(rig):
    fluid = rig.add("fluid.injectate", [(200, 200), (400, 200), (400, 350), (200, 350)])
    target = rig.add("target", [(300, 275)])
    click(rig.view, 250, 300)
    assert rig.tools.selected == fluid.id
    drag(rig.view, [(302, 277), (312, 277), (322, 277)])  # grabbed 2 px off its centre
    assert rig.tools.selected == target.id
    assert_points(target.points(FRAME), [(320, 275)])  # moved by 20 px, no jump
    assert len(fluid.points(FRAME)) == 4


def test_the_selected_mark_wins_over_one_drawn_above_it(rig):
    below = rig.add("fascia.deep", [(100, 300), (500, 300)])
    above = rig.add("fascia.superficial", [(100, 302), (500, 302)])
    click(rig.view, 300, 301)
    assert rig.tools.selected == above.id  # the topmost
    rig.tools.select(below.id)
    drag(rig.view, [(300, 301), (300, 311), (300, 321)])
    assert_points(below.points(FRAME), [(100, 320), (500, 320)])
    assert_points(above.points(FRAME), [(100, 302), (500, 302)])


# ------------------------------------------------------------------ view behaviour
def test_ctrl_drag_pans_and_draws_nothing(rig):
    rig.view.zoom_by(4.0)
    draw_with(rig, "fascia.superficial")
    ctrl = Qt.KeyboardModifier.ControlModifier
    start = viewport_point(rig.view, 300, 240)
    before = rig.view.mapToScene(start)
    drag(rig.view, [(300, 240), (300 - 10, 240), (300 - 20, 240)], ctrl)
    after = rig.view.mapToScene(start)
    assert after.x() - before.x() == pytest.approx(20, abs=1.0)
    assert not len(rig.tools.sketch_points)
    assert not rig.objects
    click(rig.view, 300, 240)  # the plain left button draws again after the pan
    assert len(rig.tools.sketch_points) == 1


def test_hits_respect_zoom(rig):
    plane = rig.add("fascia.deep", [(100, 300), (500, 300)])
    rig.view.zoom_actual_size()
    rig.view.centerOn(300, 300)
    click(rig.view, 300, 305)  # 5 screen px away at 1:1: a hit
    assert rig.tools.selected == plane.id
    key(rig.view, Qt.Key.Key_Escape)
    rig.view.zoom_by(4.0, QPointF(viewport_point(rig.view, 300, 300)))
    click(rig.view, 300, 305)  # 20 screen px away at 4x: a miss
    assert rig.tools.selected is None
    click(rig.view, 300, 301.25)  # 5 screen px away at 4x: a hit
    assert rig.tools.selected == plane.id


def test_keys_are_left_alone_when_there_is_nothing_to_do(rig):
    assert not rig.tools.key("enter")
    assert not rig.tools.key("delete")
    assert not rig.tools.key("escape")
    assert not rig.tools.key("space")
    # A window shortcut for Delete keeps working unless a mark is selected.
    override = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_Delete, NO_MODIFIER)
    override.ignore()
    QApplication.sendEvent(rig.view, override)
    assert not override.isAccepted()
    plane = rig.add("fascia.deep", [(100, 300), (500, 300)])
    rig.tools.select(plane.id)
    override = QKeyEvent(QEvent.Type.ShortcutOverride, Qt.Key.Key_Delete, NO_MODIFIER)
    override.ignore()
    QApplication.sendEvent(rig.view, override)
    assert override.isAccepted()


def test_changing_frame_drops_a_half_drawn_mark(rig):
    draw_with(rig, "fascia.deep")
    click(rig.view, 100, 300)
    assert rig.tools.is_busy
    rig.tools.set_frame(FRAME + 1)
    assert not rig.tools.is_busy
    assert not rig.tools._preview.isVisible()


# ------------------------------------------------------------ pure pointer logic
def pointer(x, y, kind="press", button="left", shift=False) -> PointerEvent:
    return PointerEvent(x, y, kind, button, shift)


def test_pointer_events_are_validated():
    with pytest.raises(ValueError, match="'hover'"):
        PointerEvent(0, 0, "hover", "left")
    with pytest.raises(ValueError, match="'middle'"):
        PointerEvent(0, 0, "press", "middle")


def test_handlers_draw_without_mouse_events(rig):
    tools = rig.tools
    draw_with(rig, "fascia.superficial")
    tools.handle(pointer(10, 20))
    tools.handle(pointer(10, 20, "release"))
    tools.handle(pointer(60, 25, "move", "none"))
    assert_points(tools._preview.path().currentPosition().toTuple(), (60, 25))
    tools.handle(pointer(60, 25))
    tools.handle(pointer(60, 25, "release"))
    tools.handle(pointer(60, 25, "double"))
    [plane] = rig.objects
    assert np.array_equal(plane.points(FRAME), [(10, 20), (60, 25)])

    tools.set_label("needle")
    assert tools.tool == Tool.NEEDLE
    tools.handle(pointer(5, 5))
    tools.handle(pointer(5, 5, "press", "right"))  # ignored
    tools.handle(pointer(50, 40))
    assert np.array_equal(rig.objects[1].points(FRAME), [(5, 5), (50, 40)])

    tools.set_label("target")
    tools.handle(pointer(7.25, 8.5))
    assert np.array_equal(rig.objects[2].points(FRAME), [(7.25, 8.5)])


def test_handlers_edit_without_mouse_events(rig):
    tools = rig.tools
    plane = rig.add("fascia.deep", [(100, 300), (300, 300)])
    tools.select_mode()
    tolerance = 6.0 / rig.view.zoom
    tools.handle(pointer(200, 300 + tolerance * 1.5))  # beyond the tolerance
    assert tools.selected is None
    tools.handle(pointer(200, 300 + tolerance * 0.5))
    tools.handle(pointer(200, 300 + tolerance * 0.5, "release"))
    assert tools.selected == plane.id
    tools.handle(pointer(300, 300))
    tools.handle(pointer(310, 320, "move"))
    tools.handle(pointer(310, 320, "release"))
    assert np.array_equal(plane.points(FRAME), [(100, 300), (310, 320)])
    tools.handle(pointer(205, 310, "double"))  # the press before kept the selection
    assert_points(plane.points(FRAME), [(100, 300), (205, 310), (310, 320)])


def test_long_freehand_outlines_are_simplified(rig):
    tools = rig.tools
    draw_with(rig, "fluid.injectate")
    centre, radius = np.array([320.0, 240.0]), 200.0
    angles = np.linspace(0, 2 * np.pi, 360, endpoint=False)  # 3.5 px apart
    circle = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    tools.handle(pointer(*circle[0]))
    for x, y in circle[1:]:
        tools.handle(pointer(x, y, "move"))
    assert len(tools.sketch_points) > 200
    tools.handle(pointer(*circle[-1], "release"))
    [fluid] = rig.objects
    points = fluid.points(FRAME)
    assert 3 <= len(points) < 200
    assert np.abs(np.hypot(*(points - centre).T) - radius).max() <= 1.0


def test_simplify_keeps_small_outlines():
    triangle = np.array([(0.0, 0.0), (10.0, 0.0), (5.0, 0.2)])
    assert len(simplify_outline(triangle, FREEHAND_EPSILON)) == 3


# ------------------------------------------------------------------------ drawing aids
def pixel(rig: Rig, x: float, y: float) -> tuple[int, int, int]:
    image = rig.view.viewport().grab().toImage()
    colour = image.pixelColor(viewport_point(rig.view, x, y))
    return colour.red(), colour.green(), colour.blue()


def test_preview_and_handles_are_drawn(rig):
    draw_with(rig, "fascia.deep")  # #009e73
    click(rig.view, 200, 300)
    hover(rig.view, 300, 320)
    assert rig.tools._preview.isVisible()
    assert pixel(rig, 200, 300) == (0x00, 0x9E, 0x73)  # the first point's square
    key(rig.view, Qt.Key.Key_Escape)
    key(rig.view, Qt.Key.Key_Escape)
    fluid = rig.add("fluid.injectate", [(300, 250), (360, 245), (370, 290), (310, 300)])
    click(rig.view, 335, 270)
    hover(rig.view, 370, 290)
    assert rig.layer.items[fluid.id].hovered_vertex == 2
    assert pixel(rig, 370, 290) == (255, 255, 255)  # the hovered handle
    assert pixel(rig, 300, 250) == (0x56, 0xB4, 0xE9)  # a handle in the label's colour
    hover(rig.view, 330, 100)
    assert rig.layer.items[fluid.id].hovered_vertex is None


def test_layer_draws_no_handles_unless_asked(qtbot):
    layer = AnnotationLayer(QGraphicsScene())
    assert not layer.show_handles
    model = Annotations(default_label_set())
    plane = model.add(AnnotatedObject("fascia.deep", ShapeKind.POLYLINE))
    plane.set_points(0, [(0, 50), (100, 52)])
    layer.show(model, 0)
    item = layer.items[plane.id]
    assert not item.show_handles
    assert item.hovered_vertex is None
    item.set_points(np.array([(0.0, 50.0), (300.0, 80.0)]))
    assert item.boundingRect().contains(300, 80)


def test_dragging_an_interpolated_frame_makes_it_a_keyframe(rig):
    plane = rig.add("fascia.superficial", [(100, 150), (250, 160), (400, 155)])
    plane.set_points(FRAME - 4, [(100, 140), (250, 150), (400, 145)])
    plane.set_points(FRAME + 4, [(100, 160), (250, 170), (400, 165)])
    plane.frames.pop(FRAME)  # FRAME is interpolated between its neighbours
    rig.layer.show(rig.history.annotations, FRAME)
    assert rig.layer.items[plane.id].source == "interpolated"
    click(rig.view, 175, 155)  # select it
    drag(rig.view, [(250, 160), (252, 170), (255, 180)], end=False)
    # A preview on the mark's item only: the model and the history wait for the release.
    assert plane.stored_points(FRAME) is None
    assert_points(rig.layer.items[plane.id].points[1], (255, 180))
    release(rig.view, 255, 180)
    assert plane.source(FRAME) == "keyframe"
    assert rig.layer.items[plane.id].source == "keyframe"
    assert_points(plane.points(FRAME)[1], (255, 180))
    assert plane.source(FRAME - 1) == "interpolated"  # its neighbours still are
    rig.history.undo()
    assert plane.source(FRAME) == "interpolated"
    assert_points(plane.points(FRAME), [(100, 150), (250, 160), (400, 155)])


def test_a_cancelled_drag_of_an_interpolated_frame_stores_nothing(rig):
    plane = rig.add("fascia.superficial", [(100, 150), (250, 160), (400, 155)])
    plane.set_points(FRAME - 4, [(100, 140), (250, 150), (400, 145)])
    plane.set_points(FRAME + 4, [(100, 160), (250, 170), (400, 165)])
    plane.frames.pop(FRAME)
    rig.layer.show(rig.history.annotations, FRAME)
    steps = rig.history.revision
    click(rig.view, 175, 155)
    drag(rig.view, [(250, 160), (252, 170), (255, 180)], end=False)
    key(rig.view, Qt.Key.Key_Escape)
    release(rig.view, 255, 180)
    assert plane.stored_points(FRAME) is None
    assert plane.source(FRAME) == "interpolated"
    assert rig.history.revision == steps


def test_drawing_a_label_on_an_interpolated_frame_adds_a_keyframe_to_its_track(rig):
    plane = rig.add("fascia.superficial", [(100, 150), (250, 160), (400, 155)])
    plane.set_points(FRAME - 4, [(100, 140), (250, 150), (400, 145)])
    plane.set_points(FRAME + 4, [(100, 160), (250, 170), (400, 165)])
    plane.frames.pop(FRAME)
    rig.layer.show(rig.history.annotations, FRAME)
    draw_with(rig, "fascia.superficial")
    for x, y in [(100, 152), (250, 162), (400, 157)]:
        click(rig.view, x, y)
    key(rig.view, Qt.Key.Key_Return)
    assert [o.id for o in rig.objects] == [plane.id]  # no second superficial fascia
    assert plane.source(FRAME) == "keyframe"
    assert_points(plane.points(FRAME), [(100, 152), (250, 162), (400, 157)])
