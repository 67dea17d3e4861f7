"""Mouse and keyboard tools on the image: draw marks, select them, edit their points.

The controller turns the view's mouse events into small :class:`PointerEvent` objects in
image coordinates (pixel-corner convention, like the model) and hands them to one plain
handler function per :class:`Tool`, so the interaction logic is tested by calling
:meth:`ToolController.handle` without a window. Every change is an edit pushed on the
loop's :class:`~usannotate.annotations.edits.EditHistory`; a drag is one edit, pushed
when the button is released.

Keys the tools take (only when they have something to do with them, so the window's
shortcuts keep working otherwise): Enter/Return, Backspace, Escape, Delete. Digits
(labels), Space and the arrows (playback) are the window's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import cv2
import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QStyleOptionGraphicsItem

from usannotate.annotations import AnnotatedObject, Label, ShapeKind
from usannotate.annotations.edits import (
    AddObject,
    Edit,
    EditHistory,
    SetPoints,
)
from usannotate.annotations.geometry import inside_region, nearest_on_outline, nearest_vertex
from usannotate.annotations.marking import continued_track, delete_on_frame
from usannotate.ui.viewer.marks import AnnotationLayer, ShapeItem
from usannotate.ui.viewer.view import CineView

__all__ = ["Mode", "PointerEvent", "Tool", "ToolController"]

#: How close (screen pixels) the cursor must be to a line or vertex to hit it.
HIT_TOLERANCE_PX = 6.0
#: A point placed this close (screen pixels) outside a calibrated region lands on its edge,
#: so a mark meant to lie in the region is measured in mm rather than all in px.
SNAP_TO_REGION_PX = 4.0
#: A press turns into a drag once the cursor has moved this far (screen pixels).
DRAG_THRESHOLD_PX = 2.0
#: Freehand outlines keep a point every this many image pixels.
FREEHAND_STEP = 3.0
#: Freehand outlines longer than this are simplified (Douglas-Peucker, below).
FREEHAND_MAX_POINTS = 200
#: Largest distance (image pixels) simplification may move the outline.
FREEHAND_EPSILON = 0.75

_KINDS = ("press", "move", "release", "double")
_BUTTONS = ("left", "right", "none")
_KEYS = {
    Qt.Key.Key_Return: "enter",
    Qt.Key.Key_Enter: "enter",
    Qt.Key.Key_Backspace: "backspace",
    Qt.Key.Key_Escape: "escape",
    Qt.Key.Key_Delete: "delete",
}


@dataclass(frozen=True)
class PointerEvent:
    """A mouse event in image coordinates.

    Attributes
    ----------
    x, y
        Image pixels, ``(0, 0)`` at the top-left corner of the top-left pixel.
    kind
        ``"press"``, ``"move"``, ``"release"`` or ``"double"`` (a double-click; Qt sends
        it instead of the second press).
    button
        ``"left"``, ``"right"`` or ``"none"``; for a move, the button held.
    shift
        Shift held. Drawing with Shift starts a new object of the label even where an
        object of that label could be continued on this frame.
    """

    x: float
    y: float
    kind: str
    button: str
    shift: bool = False

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"pointer event kind {self.kind!r} must be one of {_KINDS}")
        if self.button not in _BUTTONS:
            raise ValueError(f"pointer event button {self.button!r} must be one of {_BUTTONS}")

    @property
    def xy(self) -> np.ndarray:
        return np.array([self.x, self.y], dtype=np.float64)


class Mode(StrEnum):
    SELECT = "select"
    DRAW = "draw"


class Tool(StrEnum):
    """What the left button does: select / edit, or draw a mark of one shape kind."""

    SELECT = "select"
    POLYLINE = "polyline"
    NEEDLE = "needle"
    REGION = "region"
    POINT = "point"


_HINTS = {
    Tool.POLYLINE: "click points, Enter or double-click to finish, Backspace removes the "
    "last point, Esc cancels",
    Tool.NEEDLE: "click the entry, then the tip; Backspace removes the entry, Esc cancels",
    Tool.REGION: "click corners (Enter, double-click or a click on the first corner closes "
    "it) or drag around it freehand; Backspace removes the last point, Esc cancels",
    Tool.POINT: "click to mark it",
}
_SELECT_HINT = (
    "Select: click a mark, drag it or its points; double-click an edge to add a point; "
    "Delete removes the point under the cursor or the mark on this frame; Esc deselects"
)


# ---------------------------------------------------------------------------- helpers
def snap_into_rects(
    point: tuple[float, float],
    rects: list[tuple[float, float, float, float]],
    tolerance: float,
) -> tuple[float, float]:
    """``point`` moved onto the nearest edge of the nearest rectangle when it lies
    outside every one of them by at most ``tolerance``; otherwise unchanged.

    Rectangles are ``(left, top, right, bottom)`` in image px, edges included (a region
    ``[x0, y0, x1, y1]`` of inclusive pixel indices is ``(x0, y0, x1 + 1, y1 + 1)``).
    """
    x, y = point
    best: tuple[float, float, float] | None = None
    for left, top, right, bottom in rects:
        nx, ny = min(max(x, left), right), min(max(y, top), bottom)
        distance = float(np.hypot(x - nx, y - ny))
        if distance == 0.0:
            return point  # inside (or on the edge of) a region: leave it
        if distance <= tolerance and (best is None or distance < best[0]):
            best = (distance, nx, ny)
    return point if best is None else (best[1], best[2])


def simplify_outline(points: np.ndarray, epsilon: float = FREEHAND_EPSILON) -> np.ndarray:
    """A closed outline with fewer points, none moved more than ``epsilon`` image px
    (Douglas-Peucker); unchanged if that would leave fewer than 3 points."""
    contour = points.astype(np.float32).reshape(-1, 1, 2)
    simplified = cv2.approxPolyDP(contour, epsilon, True).reshape(-1, 2).astype(np.float64)
    return simplified if len(simplified) >= 3 else points


# ------------------------------------------------------------------------------- state
@dataclass
class _Sketch:
    """A mark being drawn (not in the model yet)."""

    points: list[tuple[float, float]] = field(default_factory=list)
    cursor: tuple[float, float] | None = None
    new_object: bool = False  # Shift: do not continue an existing object of the label
    pressed: bool = False  # left button down since the last press (freehand possible)
    freehand: bool = False


@dataclass
class _Drag:
    """A selected mark (or one of its vertices) being dragged: its item shows ``current``
    (a preview: the model is not touched) and one SetPoints is pushed on release."""

    object_id: str
    frame: int
    start: np.ndarray
    origin: np.ndarray
    vertex: int | None
    current: np.ndarray
    moved: bool = False


class _SketchItem(QGraphicsPathItem):
    """The mark being drawn: dashed in its label's colour over a dark halo, with the
    points placed so far as small squares (all sizes in screen pixels)."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(30)  # above the marks
        self.colour = QColor("#ffffff")
        self.vertices: list[tuple[float, float]] = []
        self.closing: tuple[tuple[float, float], tuple[float, float]] | None = None

    def boundingRect(self) -> QRectF:
        # Cosmetic pens and squares are a few screen pixels wide at any zoom.
        return self.path().boundingRect().adjusted(-12, -12, 12, 12)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        halo = QPen(QColor(0, 0, 0, 190), 4.0)
        halo.setCosmetic(True)
        dashed = QPen(self.colour, 2.0, Qt.PenStyle.DashLine)
        dashed.setCosmetic(True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen in (halo, dashed):
            painter.setPen(pen)
            painter.drawPath(self.path())
        if self.closing is not None:  # where a region would close: fainter
            faint = QPen(self.colour, 1.0, Qt.PenStyle.DotLine)
            faint.setCosmetic(True)
            painter.setPen(faint)
            painter.drawLine(QPointF(*self.closing[0]), QPointF(*self.closing[1]))
        scale = max(painter.worldTransform().m11(), 1e-6)
        border = QPen(QColor(0, 0, 0), 1.0)
        border.setCosmetic(True)
        painter.setPen(border)
        painter.setBrush(self.colour)
        for index, (x, y) in enumerate(self.vertices):
            half = (4.0 if index == 0 else 3.0) / scale
            painter.drawRect(QRectF(x - half, y - half, 2 * half, 2 * half))


# -------------------------------------------------------------------------- controller
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
        self._sketch: _Sketch | None = None
        self._drag: _Drag | None = None
        self._hover: tuple[str, int] | None = None  # (object id, vertex) under the cursor
        self._cursor: np.ndarray | None = None  # last pointer position, image px
        self._press_kept_selection = False  # the last press hit the mark already selected
        self._panning = False
        #: Whether :meth:`_push` redraws the layer itself; False where the history's
        #: listeners redraw it (the window's state: one redraw per edit).
        self.redraws_after_edits = True
        #: Calibrated regions points snap into (see :meth:`set_snap_regions`).
        self._snap_rects: list[tuple[float, float, float, float]] = []
        self._preview = _SketchItem()
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
        return self._selected

    @property
    def sketch_points(self) -> np.ndarray:
        """The points of the mark being drawn, ``(N, 2)`` image px (empty if none)."""
        points = self._sketch.points if self._sketch else []
        return np.array(points, dtype=np.float64).reshape(-1, 2)

    @property
    def is_busy(self) -> bool:
        """A mark is being drawn or dragged (the window should not change frames)."""
        return bool(self._sketch and self._sketch.points) or self._drag is not None

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
        if self._sketch is not None and (
            label is None or before is None or label.kind != before.kind
        ):
            self._cancel_sketch()
        self._update_preview()
        if self._mode == Mode.DRAW:
            self._hint()

    def start_drawing(self) -> None:
        """Draw marks of the current label with the left button."""
        if self.label is None:
            self.statusMessage.emit("Pick a label to draw with first")
            return
        self._cancel_drag()
        self._set_hover(None)
        self._set_mode(Mode.DRAW)
        self._hint()

    def select_mode(self) -> None:
        """Select and edit marks with the left button (a mark half drawn is dropped)."""
        self._cancel_sketch()
        self._set_mode(Mode.SELECT)
        self.statusMessage.emit(_SELECT_HINT)

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
        sketch = self._sketch
        if name == "enter":
            self.finish()
        elif name == "backspace" and sketch is not None and sketch.points:
            sketch.points.pop()
            sketch.freehand = False
            self._update_preview()
            self._hint()
        elif name in ("backspace", "delete"):
            self._delete()
        elif name == "escape":
            if sketch is not None and sketch.points:
                self._cancel_sketch()
                self.statusMessage.emit("Mark cancelled")
            elif self._drag is not None:
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
        sketching = bool(self._sketch and self._sketch.points)
        selection = self._selected_points() is not None and self._drag is None
        if name == "enter":
            return sketching
        if name == "backspace":
            return sketching or (self._mode == Mode.SELECT and selection)
        if name == "delete":
            return not sketching and selection
        if name == "escape":
            return (
                sketching
                or self._drag is not None
                or self._mode == Mode.DRAW
                or self._selected is not None
            )
        return False

    def finish(self) -> bool:
        """Finish the mark being drawn (Enter); False if it has too few points."""
        sketch = self._sketch
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
            points = simplify_outline(points)
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
            if self._sketch is not None:
                self._sketch.cursor = None
                self._update_preview()
            self._set_hover(None)
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
        name = _KEYS.get(event.key())
        if name is None or modifiers != Qt.KeyboardModifier.NoModifier:
            return False
        if override:
            # Claim the key before a window shortcut (e.g. an Edit > Delete action) does.
            if self.wants_key(name):
                event.accept()
                return True
            return False
        return self.key(name)

    # ------------------------------------------------------------------ drawing
    @property
    def _tolerance(self) -> float:
        """The hit tolerance in image pixels at the view's zoom: never less than a
        handle's half side, so a handle (a preference may make them large) is grabbed
        wherever it is drawn; small handles keep the full tolerance."""
        reach_px = max(HIT_TOLERANCE_PX, self._layer.handle_size_px / 2 + 1.0)
        return reach_px / max(self._view.zoom, 1e-6)

    def _clamp(self, x: float, y: float) -> tuple[float, float]:
        """Keep points on the image (the sidecar allows no more than a 1 px margin), and
        a hair outside a calibrated region on its edge."""
        bounds = self._view.frame_item.boundingRect()
        if not bounds.isEmpty():
            x = min(max(x, bounds.left()), bounds.right())
            y = min(max(y, bounds.top()), bounds.bottom())
        point = (float(x), float(y))
        if self._snap_rects:
            tolerance = SNAP_TO_REGION_PX / max(self._view.zoom, 1e-6)
            point = snap_into_rects(point, self._snap_rects, tolerance)
        return point

    def _sketch_for(self, event: PointerEvent) -> _Sketch:
        if self._sketch is None:
            self._sketch = _Sketch()
        if event.shift and event.kind in ("press", "double"):
            self._sketch.new_object = True
        return self._sketch

    def _add_point(self, event: PointerEvent) -> bool:
        """Add the event's point to the sketch unless it repeats the last one."""
        sketch = self._sketch_for(event)
        point = self._clamp(event.x, event.y)
        if sketch.points:
            last = np.array(sketch.points[-1])
            if np.hypot(*(last - point)) < max(0.5, 2.0 / max(self._view.zoom, 1e-6)):
                return False
        sketch.points.append(point)
        self._update_preview()
        return True

    def _commit(self, label: Label, points: np.ndarray, *, new_object: bool) -> None:
        """Put a finished mark in the model: on the label's object missing from this frame
        if there is one (a needle keeps its identity through the loop), else new."""
        assert self._history is not None
        assert self._frame is not None
        frame = self._frame
        target = None if new_object else self._continuable(label)
        edit: Edit
        if target is not None:
            edit = SetPoints(target.id, frame, points, text=f"Mark {label.name}")
            object_id = target.id
        else:
            obj = AnnotatedObject(label.id, label.kind)
            obj.set_points(frame, points)
            edit = AddObject(obj, text=f"Add {label.name}")
            object_id = obj.id
        self._sketch = None
        self._update_preview()
        self._push(edit)
        self._set_selected(object_id)
        self.statusMessage.emit(
            f"{label.name} marked on frame {frame + 1}: draw the next one, or Esc to select"
        )

    def _continuable(self, label: Label) -> AnnotatedObject | None:
        """The track a new mark of ``label`` on this frame continues (see
        :func:`usannotate.annotations.marking.continued_track`)."""
        assert self._history is not None
        assert self._frame is not None
        return continued_track(self._history.annotations, label.id, self._frame)

    # ------------------------------------------------------------------ selecting
    def _candidates(self, at: np.ndarray) -> list[ShapeItem]:
        """Marks near ``at``: the selected one first, then top to bottom (the scene's
        index does the coarse search)."""
        tolerance = self._tolerance
        rect = QRectF(at[0] - tolerance, at[1] - tolerance, 2 * tolerance, 2 * tolerance)
        items = [
            item
            for item in self._view.scene().items(
                rect,
                Qt.ItemSelectionMode.IntersectsItemBoundingRect,
                Qt.SortOrder.DescendingOrder,
            )
            if isinstance(item, ShapeItem) and item.isVisible()
        ]
        items.sort(key=lambda item: item.obj.id != self._selected)  # stable: keeps order
        return items

    def _vertex_at(self, at: np.ndarray) -> tuple[ShapeItem, int] | None:
        for item in self._candidates(at):
            distance, index = nearest_vertex(item.points, at)
            if distance <= self._tolerance:
                return item, index
        return None

    def _mark_at(self, at: np.ndarray) -> ShapeItem | None:
        """The mark under ``at``: one whose line passes within the tolerance, else a
        region it lies in (so a plane crossing a fluid pocket can still be picked)."""
        candidates = self._candidates(at)
        for item in candidates:
            closed = item.label.kind == ShapeKind.REGION
            if nearest_on_outline(item.points, closed, at).distance <= self._tolerance:
                return item
        for item in candidates:
            if item.label.kind == ShapeKind.REGION and inside_region(item.points, at):
                return item
        return None

    def _selected_points(self) -> np.ndarray | None:
        if self._history is None or self._frame is None or self._selected is None:
            return None
        obj = self._history.annotations.get(self._selected)
        return None if obj is None else obj.points(self._frame)

    def _select_press(self, event: PointerEvent) -> None:
        at = event.xy
        vertex = self._vertex_at(at)
        item = vertex[0] if vertex else self._mark_at(at)
        if item is None:
            self._press_kept_selection = False
            self._set_selected(None)
            return
        self._press_kept_selection = item.obj.id == self._selected
        self._set_selected(item.obj.id)
        assert self._frame is not None
        points = item.obj.points(self._frame)
        if points is None:  # the layer shows another frame than the tools edit
            return
        vertex_index = vertex[1] if vertex else None
        frame = self._frame
        self._drag = _Drag(item.obj.id, frame, points.copy(), at, vertex_index, points.copy())

    def _drag_move(self, event: PointerEvent) -> None:
        drag = self._drag
        assert drag is not None
        at = event.xy
        if not drag.moved:
            moved_px = np.hypot(*(at - drag.origin)) * self._view.zoom
            if moved_px < DRAG_THRESHOLD_PX:
                return
            drag.moved = True
        if drag.vertex is not None:
            current = drag.start.copy()
            # By the cursor's travel, not to the cursor: the vertex does not jump to
            # where within the handle it was grabbed.
            current[drag.vertex] = self._clamp(*(drag.start[drag.vertex] + at - drag.origin))
        else:
            current = drag.start + self._clamped_shift(drag.start, at - drag.origin)
        drag.current = current
        self._show_live(drag, current)

    def _clamped_shift(self, points: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """``delta`` limited so the whole mark stays on the image (its shape unchanged)."""
        bounds = self._view.frame_item.boundingRect()
        if bounds.isEmpty():
            return delta
        low = np.array([bounds.left(), bounds.top()]) - points.min(axis=0)
        high = np.array([bounds.right(), bounds.bottom()]) - points.max(axis=0)
        return np.clip(delta, np.minimum(low, 0), np.maximum(high, 0))

    def _show_live(self, drag: _Drag, points: np.ndarray) -> None:
        """Show a drag in progress on the mark's item only (a preview): the model and
        the history stay as they are until the release pushes one edit."""
        item = self._layer.items.get(drag.object_id)
        if item is not None:
            item.set_points(points.copy())
        self.previewChanged.emit(drag.object_id, drag.frame, points.copy())

    def _undo_live(self, drag: _Drag) -> None:
        """End the preview: the item shows what the model holds again."""
        assert self._history is not None
        obj = self._history.annotations.get(drag.object_id)
        item = self._layer.items.get(drag.object_id)
        shown = obj.points(drag.frame) if obj is not None else None
        if item is not None and shown is not None:
            item.set_points(shown)
        self.previewChanged.emit(None, drag.frame, None)

    def _drag_release(self) -> None:
        drag, self._drag = self._drag, None
        if drag is None or not drag.moved:
            return
        self._undo_live(drag)
        if np.array_equal(drag.current, drag.start):  # dragged back where it was
            return
        what = "point" if drag.vertex is not None else "mark"
        self._push(SetPoints(drag.object_id, drag.frame, drag.current, text=f"Move {what}"))

    def _insert_vertex(self, event: PointerEvent) -> None:
        """Double-click on the selected line or outline: a new point there."""
        points = self._selected_points()
        item = self._layer.items.get(self._selected or "")
        if points is None or item is None or not self._press_kept_selection:
            return
        kind = item.label.kind
        if kind not in (ShapeKind.POLYLINE, ShapeKind.REGION):
            return
        at = event.xy
        nearest = nearest_on_outline(points, kind == ShapeKind.REGION, at)
        segment, foot = nearest.segment, nearest.foot
        if nearest.distance > self._tolerance or nearest_vertex(points, foot)[0] <= self._tolerance:
            return  # not on the outline, or on a vertex already
        new = np.insert(points, segment + 1, foot, axis=0)
        assert self._selected is not None
        assert self._frame is not None
        self._push(SetPoints(self._selected, self._frame, new, text="Add point"))
        self._set_hover((self._selected, segment + 1))
        self.statusMessage.emit("Point added: drag it into place")

    def _delete(self) -> None:
        """Delete the hovered point of the selected mark if it can spare it, else the
        mark on this frame (see :func:`usannotate.annotations.marking.delete_on_frame`)."""
        if self._selected_points() is None or self._history is None or self._frame is None:
            return
        object_id = self._selected
        assert object_id is not None
        hover = self._hover
        vertex = hover[1] if hover is not None and hover[0] == object_id else None
        deletion = delete_on_frame(self._history.annotations, object_id, self._frame, vertex)
        self._set_hover(None)
        self._push(deletion.edit)
        if deletion.mark_removed:
            self._set_selected(None)
        self.statusMessage.emit(deletion.message)

    # ------------------------------------------------------------------ plumbing
    def _push(self, edit: Edit) -> None:
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

    def _set_hover(self, hover: tuple[str, int] | None) -> None:
        if hover != self._hover:
            self._hover = hover
            self._apply_hover()

    def _apply_hover(self) -> None:
        for object_id, item in self._layer.items.items():
            hovered = self._hover is not None and self._hover[0] == object_id
            item.set_hovered_vertex(self._hover[1] if hovered and self._hover else None)

    def _update_hover(self, at: np.ndarray) -> None:
        vertex = self._vertex_at(at)
        self._set_hover((vertex[0].obj.id, vertex[1]) if vertex else None)

    def _update_cursor_shape(self) -> None:
        viewport = self._view.viewport()
        if self._panning:
            return
        if self._mode == Mode.DRAW:
            viewport.setCursor(Qt.CursorShape.CrossCursor)
        elif self._drag is not None and self._drag.moved:
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
        item = self._mark_at(self._cursor)
        return item is not None and item.obj.id == self._selected

    def _update_preview(self) -> None:
        sketch = self._sketch
        label = self.label
        preview = self._preview
        if sketch is None or not sketch.points or label is None or self._mode != Mode.DRAW:
            preview.setVisible(False)
            return
        path = QPainterPath(QPointF(*sketch.points[0]))
        for point in sketch.points[1:]:
            path.lineTo(QPointF(*point))
        if sketch.cursor is not None and not sketch.freehand:
            path.lineTo(QPointF(*sketch.cursor))
        last = sketch.cursor if sketch.cursor and not sketch.freehand else sketch.points[-1]
        closing = label.kind == ShapeKind.REGION and len(sketch.points) >= 2
        preview.prepareGeometryChange()
        preview.setPath(path)
        preview.colour = QColor(label.colour)
        preview.vertices = [] if sketch.freehand else list(sketch.points)
        preview.closing = (last, sketch.points[0]) if closing else None
        preview.setVisible(True)
        preview.update()

    def _hint(self) -> None:
        label = self.label
        if label is None:
            return
        tool = Tool(label.kind.value)
        points = len(self._sketch.points) if self._sketch else 0
        progress = f" ({points} point{'s' if points != 1 else ''})" if points else ""
        self.statusMessage.emit(f"{label.name}{progress}: {_HINTS[tool]}")

    def _cancel_sketch(self) -> None:
        self._sketch = None
        self._update_preview()

    def _cancel_drag(self) -> None:
        drag, self._drag = self._drag, None
        if drag is not None and self._history is not None and drag.moved:
            self._undo_live(drag)

    def _cancel_all(self) -> None:
        self._cancel_sketch()
        self._cancel_drag()
        self._set_hover(None)


# ---------------------------------------------------------------------------- handlers
def _select_tool(tc: ToolController, event: PointerEvent) -> None:
    if event.kind == "press" and event.button == "left":
        tc._select_press(event)
    elif event.kind == "move":
        if tc._drag is not None and event.button == "left":
            tc._drag_move(event)
        elif event.button == "none":
            tc._update_hover(event.xy)
    elif event.kind == "release" and event.button == "left":
        tc._drag_release()
        tc._update_hover(event.xy)
    elif event.kind == "double" and event.button == "left":
        tc._insert_vertex(event)


def _polyline_tool(tc: ToolController, event: PointerEvent) -> None:
    if event.button != "left" and event.kind != "move":
        return
    if event.kind == "press":
        if tc._add_point(event):
            tc._hint()
    elif event.kind == "double":
        tc._add_point(event)  # normally the click before already placed it
        tc.finish()
    elif event.kind == "move":
        _follow_cursor(tc, event)


def _needle_tool(tc: ToolController, event: PointerEvent) -> None:
    if event.kind == "move":
        _follow_cursor(tc, event)
    elif event.kind == "press" and event.button == "left" and tc._add_point(event):
        if len(tc.sketch_points) == 2:
            tc.finish()
        else:
            tc._hint()


def _region_tool(tc: ToolController, event: PointerEvent) -> None:
    sketch = tc._sketch
    if event.kind == "move":
        if sketch is not None and sketch.pressed and event.button == "left":
            _freehand_move(tc, sketch, event)
        else:
            _follow_cursor(tc, event)
        return
    if event.button != "left":
        return
    if event.kind == "press":
        sketch = tc._sketch_for(event)
        if len(sketch.points) >= 3:
            first = np.array(sketch.points[0])
            if np.hypot(*(first - event.xy)) <= tc._tolerance:
                tc.finish()  # a click on the first corner closes the region
                return
        tc._add_point(event)
        sketch.pressed = len(sketch.points) == 1  # freehand only from a first press
        tc._hint()
    elif event.kind == "release" and sketch is not None:
        sketch.pressed = False
        if sketch.freehand:
            if len(sketch.points) >= 3:
                tc.finish()
            else:  # too short to be an outline: it was a click
                del sketch.points[1:]
                sketch.freehand = False
                tc._update_preview()
    elif event.kind == "double":
        tc._add_point(event)
        tc.finish()


def _freehand_move(tc: ToolController, sketch: _Sketch, event: PointerEvent) -> None:
    point = tc._clamp(event.x, event.y)
    if np.hypot(*(np.array(sketch.points[-1]) - point)) >= FREEHAND_STEP:
        sketch.points.append(point)
        sketch.freehand = True
    sketch.cursor = point
    tc._update_preview()


def _point_tool(tc: ToolController, event: PointerEvent) -> None:
    if event.kind == "press" and event.button == "left":
        tc._add_point(event)
        tc.finish()


def _follow_cursor(tc: ToolController, event: PointerEvent) -> None:
    if tc._sketch is not None:
        tc._sketch.cursor = tc._clamp(event.x, event.y)
        tc._update_preview()


_HANDLERS: dict[Tool, Callable[[ToolController, PointerEvent], None]] = {
    Tool.SELECT: _select_tool,
    Tool.POLYLINE: _polyline_tool,
    Tool.NEEDLE: _needle_tool,
    Tool.REGION: _region_tool,
    Tool.POINT: _point_tool,
}
