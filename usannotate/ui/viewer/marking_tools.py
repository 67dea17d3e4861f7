"""Mouse and keyboard tools on the image: draw marks, select them, edit their points.

The controller turns the view's mouse events into small :class:`PointerEvent` objects in
image coordinates (pixel-corner convention, like the model) and hands them to one plain
handler function per :class:`Tool` (``draw_tools``, ``select_tool``: they see the
controller as a :class:`~usannotate.ui.viewer.tool_context.ToolContext`), so the
interaction logic is tested by calling :meth:`ToolController.handle` without a window.
Every change is an edit pushed on the loop's
:class:`~usannotate.annotations.edits.EditHistory`; a drag is one edit, pushed when the
button is released.

Keys the tools take (only when they have something to do with them, so the window's
shortcuts keep working otherwise): Enter/Return, Backspace, Escape, Delete. Digits
(labels), Space and the arrows (playback) are the window's.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent

from usannotate.annotations import AnnotatedObject, Label, ShapeKind
from usannotate.annotations.edits import AddObject, Edit, EditHistory, SetPoints
from usannotate.annotations.geometry import simplify_outline, snap_into_rects
from usannotate.annotations.marking import continued_track, delete_on_frame
from usannotate.ui.viewer.draw_tools import needle_tool, point_tool, polyline_tool, region_tool
from usannotate.ui.viewer.hit_test import MarkPicker
from usannotate.ui.viewer.marks import AnnotationLayer
from usannotate.ui.viewer.pointer import (
    FREEHAND_EPSILON,
    FREEHAND_MAX_POINTS,
    HINTS,
    KEY_NAMES,
    SELECT_HINT,
    SNAP_TO_REGION_PX,
    Mode,
    PointerEvent,
    Tool,
)
from usannotate.ui.viewer.select_tool import select_tool
from usannotate.ui.viewer.sketch import Drag, Sketch, SketchItem
from usannotate.ui.viewer.tool_context import ToolContext
from usannotate.ui.viewer.view import CineView

__all__ = ["Mode", "PointerEvent", "Tool", "ToolController"]

_HANDLERS: dict[Tool, Callable[[ToolContext, PointerEvent], None]] = {
    Tool.SELECT: select_tool,
    Tool.POLYLINE: polyline_tool,
    Tool.NEEDLE: needle_tool,
    Tool.REGION: region_tool,
    Tool.POINT: point_tool,
}


class ToolController(QObject):
    """Draws and edits marks on a :class:`CineView` with the mouse and a few keys.

    Parameters
    ----------
    view
        The image view; the controller filters its viewport's mouse events (plain left
        button only: Ctrl + left and the middle button still pan) and its keys.
    layer
        The marks drawn on the view; hit-testing uses its items, so hidden labels
        cannot be picked, and the controller redraws it after each of its edits.

    Signals
    -------
    marksChanged()
        After every edit the controller pushed (refresh measurements, lists, title).
    previewChanged(object, int, object)
        A drag in progress: the object id, the frame and the points its item shows (not
        yet in the model); ``(None, frame, None)`` when the preview ends.
    selectionChanged(object)
        The selected object's id, or None.
    statusMessage(str)
        A hint or what just happened, for the status bar.
    modeChanged(str)
        ``"select"`` or ``"draw"``.
    """

    marksChanged = Signal()
    previewChanged = Signal(object, int, object)
    selectionChanged = Signal(object)
    statusMessage = Signal(str)
    modeChanged = Signal(str)
    markCommitted = Signal(str, int, object)  # object id, frame, label: a mark just drawn

    def __init__(self, view: CineView, layer: AnnotationLayer) -> None:
        super().__init__(view)
        self._view = view
        self._layer = layer
        layer.show_handles = True
        self._history: EditHistory | None = None
        self._frame: int | None = None
        self._label_id: str | None = None
        self._mode = Mode.SELECT
        self._selected: str | None = None
        self.sketch: Sketch | None = None
        self.drag: Drag | None = None
        self._hover: tuple[str, int] | None = None  # (object id, vertex) under the cursor
        self._cursor: np.ndarray | None = None  # last pointer position, image px
        self.press_kept_selection = False  # the last press hit the mark already selected
        self._panning = False
        self.snap_off = False  # the mark was finished with Alt held: no snap suggested
        #: Whether :meth:`push` redraws the layer itself; False where the history's
        #: listeners redraw it (the window's state: one redraw per edit).
        self.redraws_after_edits = True
        #: Calibrated regions points snap into (see :meth:`set_snap_regions`).
        self._snap_rects: list[tuple[float, float, float, float]] = []
        #: The hit tests on the layer's marks.
        self.picker = MarkPicker(view, layer)
        self._preview = SketchItem()
        self._preview.setVisible(False)
        view.scene().addItem(self._preview)
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)

    # ------------------------------------------------------------------ public state
    @property
    def mode(self) -> str:
        """``"select"`` or ``"draw"``."""
        return self._mode.value

    @property
    def tool(self) -> Tool:
        """What the left button does now."""
        label = self.label
        if self._mode == Mode.SELECT or label is None:
            return Tool.SELECT
        return Tool(label.kind.value)

    @property
    def label(self) -> Label | None:
        """The label the next mark gets (None until one is set, or if the document's
        label set has no such label)."""
        if self._label_id is None or self._history is None:
            return None
        return self._history.annotations.label_set.get(self._label_id)

    @property
    def selected(self) -> str | None:
        """The selected object's id, or None."""
        return self._selected

    @property
    def history(self) -> EditHistory | None:
        """The edit history of the annotations being marked (None: nothing to edit)."""
        return self._history

    @property
    def frame(self) -> int | None:
        """The frame marks are drawn on (0-based), or None."""
        return self._frame

    @property
    def layer(self) -> AnnotationLayer:
        """The marks drawn on the view."""
        return self._layer

    @property
    def zoom(self) -> float:
        """Screen pixels per image pixel."""
        return self._view.zoom

    @property
    def image_bounds(self) -> tuple[float, float, float, float] | None:
        """The image's ``(left, top, right, bottom)`` in image px (None: no image)."""
        bounds = self._view.frame_item.boundingRect()
        if bounds.isEmpty():
            return None
        return bounds.left(), bounds.top(), bounds.right(), bounds.bottom()

    @property
    def sketch_points(self) -> np.ndarray:
        """The points of the mark being drawn, ``(N, 2)`` image px (empty if none)."""
        points = self.sketch.points if self.sketch else []
        return np.array(points, dtype=np.float64).reshape(-1, 2)

    @property
    def is_busy(self) -> bool:
        """A mark is being drawn or dragged (the window should not change frames)."""
        return bool(self.sketch and self.sketch.points) or self.drag is not None

    def set_document(self, history: EditHistory | None) -> None:
        """Edit ``history``'s annotations (None: nothing to edit)."""
        self._cancel_all()
        self._history = history
        self._set_selected(None)

    def set_frame(self, index: int | None) -> None:
        """Marks are drawn on frame ``index`` (0-based). Changing frames cancels a mark
        half drawn or dragged, which belonged to the previous frame."""
        if index != self._frame:
            self._cancel_all()
            self._frame = index
        self._sync_selection()

    def set_snap_regions(self, rects: list[tuple[float, float, float, float]]) -> None:
        """Calibrated regions, ``(left, top, right, bottom)`` image px: points placed or
        dragged within :data:`SNAP_TO_REGION_PX` screen px outside one land on its edge."""
        self._snap_rects = [tuple(map(float, r)) for r in rects]  # type: ignore[misc]

    def set_label(self, label_id: str) -> None:
        """The label the next mark gets; its shape kind picks the drawing tool. A mark
        being drawn keeps its points if the new label has the same kind."""
        if self._history is not None and self._history.annotations.label_set.get(label_id) is None:
            raise ValueError(f"no label {label_id!r} in this loop's label set")
        before = self.label
        self._label_id = label_id
        label = self.label
        if self.sketch is not None and (
            label is None or before is None or label.kind != before.kind
        ):
            self._cancel_sketch()
        self.update_preview()
        if self._mode == Mode.DRAW:
            self.hint()

    def start_drawing(self) -> None:
        """Draw marks of the current label with the left button."""
        if self.label is None:
            self.statusMessage.emit("Pick a label to draw with first")
            return
        self._cancel_drag()
        self.set_hover(None)
        self._set_mode(Mode.DRAW)
        self.hint()

    def select_mode(self) -> None:
        """Select and edit marks with the left button (a mark half drawn is dropped)."""
        self._cancel_sketch()
        self._set_mode(Mode.SELECT)
        self.statusMessage.emit(SELECT_HINT)

    def select(self, object_id: str | None) -> None:
        """Select the object ``object_id`` (None: nothing)."""
        self._set_selected(object_id)

    # ------------------------------------------------------------------ events
    def handle(self, event: PointerEvent) -> None:
        """Act on one pointer event (image coordinates), per the current tool."""
        if self._history is None or self._frame is None:
            return
        self._cursor = event.xy
        _HANDLERS[self.tool](self, event)

    def key(self, name: str) -> bool:
        """Act on ``"enter"``, ``"backspace"``, ``"escape"`` or ``"delete"``; True if the
        key did something (so it is not passed on)."""
        if not self.wants_key(name):
            return False
        sketch = self.sketch
        if name == "enter":
            self.finish()
        elif name == "backspace" and sketch is not None and sketch.points:
            sketch.points.pop()
            sketch.freehand = False
            self.update_preview()
            self.hint()
        elif name in ("backspace", "delete"):
            self._delete()
        elif name == "escape":
            if sketch is not None and sketch.points:
                self._cancel_sketch()
                self.statusMessage.emit("Mark cancelled")
            elif self.drag is not None:
                self._cancel_drag()
            elif self._mode == Mode.DRAW:
                self.select_mode()
            else:
                self._set_selected(None)
        return True

    def wants_key(self, name: str) -> bool:
        """Whether :meth:`key` would do something with ``name`` now."""
        if self._history is None or self._frame is None:
            return False
        sketching = bool(self.sketch and self.sketch.points)
        selection = self.selected_points() is not None and self.drag is None
        if name == "enter":
            return sketching
        if name == "backspace":
            return sketching or (self._mode == Mode.SELECT and selection)
        if name == "delete":
            return not sketching and selection
        if name == "escape":
            return (
                sketching
                or self.drag is not None
                or self._mode == Mode.DRAW
                or self._selected is not None
            )
        return False

    def finish(self) -> bool:
        """Finish the mark being drawn (Enter); False if it has too few points."""
        sketch = self.sketch
        label = self.label
        if sketch is None or label is None or not sketch.points:
            return False
        needed = label.kind.min_points
        if len(sketch.points) < needed:
            self.statusMessage.emit(
                f"{label.name}: a {label.kind.value} needs {needed} or more points, "
                f"has {len(sketch.points)}"
            )
            return False
        points = np.array(sketch.points, dtype=np.float64)
        if label.kind == ShapeKind.REGION and len(points) > FREEHAND_MAX_POINTS:
            points = simplify_outline(points, FREEHAND_EPSILON)
        self._commit(label, points, new_object=sketch.new_object)
        return True

    # ------------------------------------------------------------------ Qt events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if watched is self._view:
            if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
                return self._key_event(event, override=kind == QEvent.Type.ShortcutOverride)
            return False
        if kind == QEvent.Type.Leave:
            self._cursor = None
            if self.sketch is not None:
                self.sketch.cursor = None
                self.update_preview()
            self.set_hover(None)
            return False
        if not isinstance(event, QMouseEvent):
            return False
        return self._mouse_event(event)

    def _mouse_event(self, event: QMouseEvent) -> bool:
        kind = event.type()
        button = event.button()
        left = Qt.MouseButton.LeftButton
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick):
            if button == Qt.MouseButton.MiddleButton or (button == left and ctrl):
                self._panning = True  # the view pans; the tools sit this drag out
                return False
            if button != left or self._history is None or self._frame is None:
                return False
            if not self._view.hasFocus():
                self._view.setFocus(Qt.FocusReason.MouseFocusReason)
            self.snap_off = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            pointer = "press" if kind == QEvent.Type.MouseButtonPress else "double"
            self.handle(self._pointer(event, pointer, "left"))
            return True
        if kind == QEvent.Type.MouseMove:
            if self._panning:
                return False
            held = "left" if event.buttons() & left else "none"
            self.handle(self._pointer(event, "move", held))
            self._update_cursor_shape()
            return False  # the view still reports the cursor position
        if kind == QEvent.Type.MouseButtonRelease:
            if self._panning:
                if not event.buttons() & (left | Qt.MouseButton.MiddleButton):
                    self._panning = False
                return False
            if button != left or self._history is None or self._frame is None:
                return False
            self.handle(self._pointer(event, "release", "left"))
            return True
        return False

    def _pointer(self, event: QMouseEvent, kind: str, button: str) -> PointerEvent:
        # The inverse transform keeps sub-pixel precision (mapToScene rounds to a QPoint).
        inverse, _ = self._view.viewportTransform().inverted()
        at = inverse.map(event.position())
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        return PointerEvent(at.x(), at.y(), kind, button, shift)

    def _key_event(self, event: QKeyEvent, *, override: bool) -> bool:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        name = KEY_NAMES.get(event.key())
        alt_enter = name == "enter" and modifiers == Qt.KeyboardModifier.AltModifier
        if name is None or (modifiers != Qt.KeyboardModifier.NoModifier and not alt_enter):
            return False
        self.snap_off = alt_enter  # Alt+Enter finishes a plane with no snap suggested
        if override:
            # Claim the key before a window shortcut (e.g. an Edit > Delete action) does.
            if self.wants_key(name):
                event.accept()
                return True
            return False
        return self.key(name)

    # ------------------------------------------------ for the tool handlers (ToolContext)
    def clamp(self, x: float, y: float) -> tuple[float, float]:
        """Keep points on the image (the sidecar allows no more than a 1 px margin), and
        a hair outside a calibrated region on its edge."""
        bounds = self.image_bounds
        if bounds is not None:
            x = min(max(x, bounds[0]), bounds[2])
            y = min(max(y, bounds[1]), bounds[3])
        point = (float(x), float(y))
        if self._snap_rects:
            tolerance = SNAP_TO_REGION_PX / max(self._view.zoom, 1e-6)
            point = snap_into_rects(point, self._snap_rects, tolerance)
        return point

    def sketch_for(self, event: PointerEvent) -> Sketch:
        """The mark being drawn (a new one if none); Shift on a press starts a new object."""
        if self.sketch is None:
            self.sketch = Sketch()
        if event.shift and event.kind in ("press", "double"):
            self.sketch.new_object = True
        return self.sketch

    def add_point(self, event: PointerEvent) -> bool:
        """Add the event's point to the sketch unless it repeats the last one."""
        sketch = self.sketch_for(event)
        point = self.clamp(event.x, event.y)
        if sketch.points:
            last = np.array(sketch.points[-1])
            if np.hypot(*(last - point)) < max(0.5, 2.0 / max(self._view.zoom, 1e-6)):
                return False
        sketch.points.append(point)
        self.update_preview()
        return True

    def _commit(self, label: Label, points: np.ndarray, *, new_object: bool) -> None:
        """Put a finished mark in the model: on the label's object missing from this frame
        if there is one (a needle keeps its identity through the loop), else new."""
        assert self._history is not None
        assert self._frame is not None
        frame = self._frame
        target = None if new_object else continued_track(self._history.annotations, label.id, frame)
        edit: Edit
        if target is not None:
            edit = SetPoints(target.id, frame, points, text=f"Mark {label.name}")
            object_id = target.id
        else:
            obj = AnnotatedObject(label.id, label.kind)
            obj.set_points(frame, points)
            edit = AddObject(obj, text=f"Add {label.name}")
            object_id = obj.id
        self.sketch = None
        self.update_preview()
        self.push(edit)
        self._set_selected(object_id)
        self.statusMessage.emit(
            f"{label.name} marked on frame {frame + 1}: draw the next one, or Esc to select"
        )
        self.markCommitted.emit(object_id, frame, label)

    def selected_points(self) -> np.ndarray | None:
        """The selected mark's points on this frame (None: none selected or not here)."""
        if self._history is None or self._frame is None or self._selected is None:
            return None
        obj = self._history.annotations.get(self._selected)
        return None if obj is None else obj.points(self._frame)

    def show_live(self, drag: Drag, points: np.ndarray) -> None:
        """Show a drag in progress on the mark's item only (a preview): the model and
        the history stay as they are until the release pushes one edit."""
        item = self._layer.items.get(drag.object_id)
        if item is not None:
            item.set_points(points.copy())
        self.previewChanged.emit(drag.object_id, drag.frame, points.copy())

    def undo_live(self, drag: Drag) -> None:
        """End the preview: the item shows what the model holds again."""
        assert self._history is not None
        obj = self._history.annotations.get(drag.object_id)
        item = self._layer.items.get(drag.object_id)
        shown = obj.points(drag.frame) if obj is not None else None
        if item is not None and shown is not None:
            item.set_points(shown)
        self.previewChanged.emit(None, drag.frame, None)

    def _delete(self) -> None:
        """Delete the hovered point of the selected mark if it can spare it, else the
        mark on this frame (see :func:`usannotate.annotations.marking.delete_on_frame`)."""
        if self.selected_points() is None or self._history is None or self._frame is None:
            return
        object_id = self._selected
        assert object_id is not None
        hover = self._hover
        vertex = hover[1] if hover is not None and hover[0] == object_id else None
        deletion = delete_on_frame(self._history.annotations, object_id, self._frame, vertex)
        self.set_hover(None)
        self.push(deletion.edit)
        if deletion.mark_removed:
            self._set_selected(None)
        self.statusMessage.emit(deletion.message)

    # ------------------------------------------------------------------ plumbing
    def push(self, edit: Edit) -> None:
        """Push ``edit`` on the history and show its result."""
        assert self._history is not None
        self._history.push(edit)
        if self.redraws_after_edits:
            self._refresh_layer()
        else:
            self.layer_rebuilt()
        self.marksChanged.emit()

    def layer_rebuilt(self) -> None:
        """The layer drew its items anew: select and hover them as before."""
        self._sync_selection()
        self._apply_hover()

    def _refresh_layer(self) -> None:
        if self._history is not None and self._frame is not None:
            self._layer.show(self._history.annotations, self._frame)
        self._sync_selection()
        self._apply_hover()

    def _set_mode(self, mode: Mode) -> None:
        if mode != self._mode:
            self._mode = mode
            self._update_cursor_shape()
            self.modeChanged.emit(mode.value)

    def _set_selected(self, object_id: str | None) -> None:
        changed = object_id != self._selected
        self._selected = object_id
        self._sync_selection()
        if changed:
            self.selectionChanged.emit(object_id)

    def _sync_selection(self) -> None:
        for object_id, item in self._layer.items.items():
            selected = object_id == self._selected
            if item.isSelected() != selected:
                item.setSelected(selected)

    def set_hover(self, hover: tuple[str, int] | None) -> None:
        """Highlight vertex ``hover = (object id, index)`` (None: no vertex)."""
        if hover != self._hover:
            self._hover = hover
            self._apply_hover()

    def _apply_hover(self) -> None:
        for object_id, item in self._layer.items.items():
            hovered = self._hover is not None and self._hover[0] == object_id
            item.set_hovered_vertex(self._hover[1] if hovered and self._hover else None)

    def update_hover(self, at: np.ndarray) -> None:
        """Highlight the vertex under ``at``, if any."""
        vertex = self.picker.vertex_at(at, self._selected)
        self.set_hover((vertex[0].obj.id, vertex[1]) if vertex else None)

    def _update_cursor_shape(self) -> None:
        viewport = self._view.viewport()
        if self._panning:
            return
        if self._mode == Mode.DRAW:
            viewport.setCursor(Qt.CursorShape.CrossCursor)
        elif self.drag is not None and self.drag.moved:
            viewport.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._hover is not None:
            viewport.setCursor(Qt.CursorShape.PointingHandCursor)
        elif self._cursor is not None and self._mark_on_cursor_is_selected():
            viewport.setCursor(Qt.CursorShape.SizeAllCursor)
        else:
            viewport.unsetCursor()

    def _mark_on_cursor_is_selected(self) -> bool:
        if self._cursor is None or self._selected is None:
            return False
        item = self.picker.mark_at(self._cursor, self._selected)
        return item is not None and item.obj.id == self._selected

    def update_preview(self) -> None:
        """Redraw the mark being drawn (hidden unless drawing)."""
        self._preview.show(self.sketch, self.label, self._mode == Mode.DRAW)

    def hint(self) -> None:
        """Say in the status bar how to go on with the current tool."""
        label = self.label
        if label is None:
            return
        tool = Tool(label.kind.value)
        points = len(self.sketch.points) if self.sketch else 0
        progress = f" ({points} point{'s' if points != 1 else ''})" if points else ""
        self.statusMessage.emit(f"{label.name}{progress}: {HINTS[tool]}")

    def _cancel_sketch(self) -> None:
        self.sketch = None
        self.update_preview()

    def _cancel_drag(self) -> None:
        drag, self.drag = self.drag, None
        if drag is not None and self._history is not None and drag.moved:
            self.undo_live(drag)

    def _cancel_all(self) -> None:
        self._cancel_sketch()
        self._cancel_drag()
        self.set_hover(None)
