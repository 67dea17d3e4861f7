"""The drawing tools, one handler per shape kind: plane, needle, fluid region and point.

A fascial plane (polyline) by clicks, the needle by its entry and tip, a fluid region by corners or
freehand, a point by one click. Each handler adds to the controller's
:class:`~usannotate.ui.viewer.sketch.Sketch` and asks the controller to finish the mark (one edit)
when the shape is complete.
"""

from __future__ import annotations

import numpy as np

from usannotate.ui.viewer.pointer import FREEHAND_STEP, PointerEvent
from usannotate.ui.viewer.sketch import Sketch
from usannotate.ui.viewer.tool_context import ToolContext

__all__ = ["needle_tool", "point_tool", "polyline_tool", "region_tool"]


def polyline_tool(tc: ToolContext, event: PointerEvent) -> None:
    """Click the points of a plane; Enter or a double-click finishes it."""
    if event.button != "left" and event.kind != "move":
        return
    if event.kind == "press":
        if tc.add_point(event):
            tc.hint()
    elif event.kind == "double":
        tc.add_point(event)  # normally the click before already placed it
        tc.finish()
    elif event.kind == "move":
        _follow_cursor(tc, event)


def needle_tool(tc: ToolContext, event: PointerEvent) -> None:
    """Click the entry, then the tip: the second click finishes the needle."""
    if event.kind == "move":
        _follow_cursor(tc, event)
    elif event.kind == "press" and event.button == "left" and tc.add_point(event):
        if len(tc.sketch_points) == 2:
            tc.finish()
        else:
            tc.hint()


def region_tool(tc: ToolContext, event: PointerEvent) -> None:
    """Click corners (a click on the first corner, Enter or a double-click closes the
    region) or drag around it freehand from the first press."""
    sketch = tc.sketch
    if event.kind == "move":
        if sketch is not None and sketch.pressed and event.button == "left":
            _freehand_move(tc, sketch, event)
        else:
            _follow_cursor(tc, event)
        return
    if event.button != "left":
        return
    if event.kind == "press":
        sketch = tc.sketch_for(event)
        if len(sketch.points) >= 3:
            first = np.array(sketch.points[0])
            if np.hypot(*(first - event.xy)) <= tc.picker.tolerance:
                tc.finish()  # a click on the first corner closes the region
                return
        tc.add_point(event)
        sketch.pressed = len(sketch.points) == 1  # freehand only from a first press
        tc.hint()
    elif event.kind == "release" and sketch is not None:
        sketch.pressed = False
        if sketch.freehand:
            if len(sketch.points) >= 3:
                tc.finish()
            else:  # too short to be an outline: it was a click
                del sketch.points[1:]
                sketch.freehand = False
                tc.update_preview()
    elif event.kind == "double":
        tc.add_point(event)
        tc.finish()


def point_tool(tc: ToolContext, event: PointerEvent) -> None:
    """One click marks the point."""
    if event.kind == "press" and event.button == "left":
        tc.add_point(event)
        tc.finish()


def _freehand_move(tc: ToolContext, sketch: Sketch, event: PointerEvent) -> None:
    point = tc.clamp(event.x, event.y)
    if np.hypot(*(np.array(sketch.points[-1]) - point)) >= FREEHAND_STEP:
        sketch.points.append(point)
        sketch.freehand = True
    sketch.cursor = point
    tc.update_preview()


def _follow_cursor(tc: ToolContext, event: PointerEvent) -> None:
    if tc.sketch is not None:
        tc.sketch.cursor = tc.clamp(event.x, event.y)
        tc.update_preview()
