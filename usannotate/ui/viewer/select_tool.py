"""The select tool: select a mark, drag it or one of its points, add a point to its line.

Click a mark to select it, drag it or one of its points, double-click its line to add a point. A
drag shows on the mark's item only (a preview) and becomes one ``SetPoints`` edit when the button is
released.
"""

from __future__ import annotations

import numpy as np

from usannotate.annotations import ShapeKind
from usannotate.annotations.edits import SetPoints
from usannotate.annotations.geometry import nearest_on_outline, nearest_vertex
from usannotate.ui.viewer.pointer import DRAG_THRESHOLD_PX, PointerEvent
from usannotate.ui.viewer.sketch import Drag
from usannotate.ui.viewer.tool_context import ToolContext

__all__ = ["clamped_shift", "select_tool"]


def select_tool(tc: ToolContext, event: PointerEvent) -> None:
    """The select tool's handler of one pointer event."""
    if event.kind == "press" and event.button == "left":
        _press(tc, event)
    elif event.kind == "move":
        if tc.drag is not None and event.button == "left":
            _drag_move(tc, tc.drag, event)
        elif event.button == "none":
            tc.update_hover(event.xy)
    elif event.kind == "release" and event.button == "left":
        _drag_release(tc)
        tc.update_hover(event.xy)
    elif event.kind == "double" and event.button == "left":
        _insert_vertex(tc, event)


def clamped_shift(
    bounds: tuple[float, float, float, float] | None, points: np.ndarray, delta: np.ndarray
) -> np.ndarray:
    """``delta`` limited so the whole mark stays within ``bounds`` (left, top, right,
    bottom; None: anywhere), its shape unchanged."""
    if bounds is None:
        return delta
    left, top, right, bottom = bounds
    low = np.array([left, top]) - points.min(axis=0)
    high = np.array([right, bottom]) - points.max(axis=0)
    return np.clip(delta, np.minimum(low, 0), np.maximum(high, 0))


def _press(tc: ToolContext, event: PointerEvent) -> None:
    at = event.xy
    vertex = tc.picker.vertex_at(at, tc.selected)
    item = vertex[0] if vertex else tc.picker.mark_at(at, tc.selected)
    if item is None:
        tc.press_kept_selection = False
        tc.select(None)
        return
    tc.press_kept_selection = item.obj.id == tc.selected
    tc.select(item.obj.id)
    frame = tc.frame
    assert frame is not None
    points = item.obj.points(frame)
    if points is None:  # the layer shows another frame than the tools edit
        return
    vertex_index = vertex[1] if vertex else None
    tc.drag = Drag(item.obj.id, frame, points.copy(), at, vertex_index, points.copy())


def _drag_move(tc: ToolContext, drag: Drag, event: PointerEvent) -> None:
    at = event.xy
    if not drag.moved:
        moved_px = np.hypot(*(at - drag.origin)) * tc.zoom
        if moved_px < DRAG_THRESHOLD_PX:
            return
        drag.moved = True
    if drag.vertex is not None:
        current = drag.start.copy()
        # By the cursor's travel, not to the cursor: the vertex does not jump to where
        # within the handle it was grabbed.
        current[drag.vertex] = tc.clamp(*(drag.start[drag.vertex] + at - drag.origin))
    else:
        current = drag.start + clamped_shift(tc.image_bounds, drag.start, at - drag.origin)
    drag.current = current
    tc.show_live(drag, current)


def _drag_release(tc: ToolContext) -> None:
    drag, tc.drag = tc.drag, None
    if drag is None or not drag.moved:
        return
    tc.undo_live(drag)
    if np.array_equal(drag.current, drag.start):  # dragged back where it was
        return
    what = "point" if drag.vertex is not None else "mark"
    tc.push(SetPoints(drag.object_id, drag.frame, drag.current, text=f"Move {what}"))


def _insert_vertex(tc: ToolContext, event: PointerEvent) -> None:
    """Double-click on the selected line or outline: a new point there."""
    points = tc.selected_points()
    item = tc.layer.items.get(tc.selected or "")
    if points is None or item is None or not tc.press_kept_selection:
        return
    kind = item.label.kind
    if kind not in (ShapeKind.POLYLINE, ShapeKind.REGION):
        return
    tolerance = tc.picker.tolerance
    nearest = nearest_on_outline(points, kind == ShapeKind.REGION, event.xy)
    segment, foot = nearest.segment, nearest.foot
    if nearest.distance > tolerance or nearest_vertex(points, foot)[0] <= tolerance:
        return  # not on the outline, or on a vertex already
    new = np.insert(points, segment + 1, foot, axis=0)
    selected, frame = tc.selected, tc.frame
    assert selected is not None
    assert frame is not None
    tc.push(SetPoints(selected, frame, new, text="Add point"))
    tc.set_hover((selected, segment + 1))
    tc.statusMessage.emit("Point added: drag it into place")
