"""What the marking tools work with: pointer events, tools and modes, tolerances, hints.

Pointer events in image coordinates, the tools and their modes, the tolerances (in screen pixels)
and the hints shown in the status bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from PySide6.QtCore import Qt

__all__ = ["Mode", "PointerEvent", "Tool"]

#: How close (screen pixels) the cursor must be to a line or vertex to hit it.
HIT_TOLERANCE_PX = 6.0
#: A point placed this close (screen pixels) outside a calibrated region lands on its edge,
#: so a mark meant to lie in the region is measured in mm rather than all in px.
SNAP_TO_REGION_PX = 4.0
#: A press turns into a drag once the cursor has moved this far (screen pixels).
DRAG_THRESHOLD_PX = 2.0
#: Freehand outlines keep a point every this many image pixels.
FREEHAND_STEP = 3.0
#: Freehand outlines longer than this are simplified (Douglas-Peucker).
FREEHAND_MAX_POINTS = 200
#: Largest distance (image pixels) simplification may move the outline.
FREEHAND_EPSILON = 0.75

KINDS = ("press", "move", "release", "double")
BUTTONS = ("left", "right", "none")
#: The keys the tools take, by name (see :meth:`ToolController.key`).
KEY_NAMES = {
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
        if self.kind not in KINDS:
            raise ValueError(f"pointer event kind {self.kind!r} must be one of {KINDS}")
        if self.button not in BUTTONS:
            raise ValueError(f"pointer event button {self.button!r} must be one of {BUTTONS}")

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


HINTS = {
    Tool.POLYLINE: "click points, Enter or double-click to finish, Backspace removes the "
    "last point, Esc cancels",
    Tool.NEEDLE: "click the entry, then the tip; Backspace removes the entry, Esc cancels",
    Tool.REGION: "click corners (Enter, double-click or a click on the first corner closes "
    "it) or drag around it freehand; Backspace removes the last point, Esc cancels",
    Tool.POINT: "click to mark it",
}
SELECT_HINT = (
    "Select: click a mark, drag it or its points; double-click an edge to add a point; "
    "Delete removes the point under the cursor or the mark on this frame; Esc deselects"
)
