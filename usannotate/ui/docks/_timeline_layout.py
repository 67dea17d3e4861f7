"""Where things are in the track timeline, in widget pixels, for the mouse and the painter.

The title column, the ruler, the lanes, each frame's column and the lanes' scroll range. Qt-free:
the widget asks it what is under the mouse, the painter where to draw.

The widget is laid out as::

    +-------------+---------------------------------------------+
    | corner      | ruler: frame numbers and ticks              |
    +-------------+---------------------------------------------+
    | lane titles | lanes: one per track, a column per frame  |#| <- scroll bar when
    | ...         | ...                                       |#|    the lanes overflow
    +-------------+---------------------------------------------+
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

TITLE_WIDTH = 150
"""Width of the lane titles' column (and of the corner above it), px."""
LANE_HEIGHT = 18
"""A lane's height while the lanes fit, px."""
MIN_LANE_HEIGHT = 14
"""Lanes shrink to this height, then scroll, px."""
RIGHT_MARGIN = 8
"""Room right of the last frame's column (for its ruler label), px."""
LEFT_MARGIN = 6
"""Room between the titles and the first frame's column, px."""


class Cell(NamedTuple):
    """A rectangle in widget pixels: left and top edges, width and height."""

    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True)
class TimelineLayout:
    """The timeline's geometry at one size, scroll position and content.

    Attributes
    ----------
    width, height
        The widget's size, px.
    ruler_height
        The ruler's height (from its font), px.
    n_frames
        Frames of the loop (0: no loop).
    n_lanes
        Lanes (tracks) shown.
    scroll_px
        How far the lanes are scrolled up, px.
    scrollbar_px
        The width of the lanes' scroll bar when shown, else 0, px.
    """

    width: int
    height: int
    ruler_height: int
    n_frames: int
    n_lanes: int
    scroll_px: int = 0
    scrollbar_px: int = 0

    # ------------------------------------------------------------- the frames' columns

    @property
    def frames_left(self) -> float:
        """Widget x where the first frame's column starts."""
        return float(TITLE_WIDTH + LEFT_MARGIN)

    @property
    def frames_right(self) -> float:
        """Widget x where the last frame's column ends."""
        return float(self.width - RIGHT_MARGIN - self.scrollbar_px)

    @property
    def column_width(self) -> float:
        """The width of one frame's column, px (more than 0)."""
        return max(1e-6, self.frames_right - self.frames_left) / max(1, self.n_frames)

    def x_of_frame(self, frame: int) -> float:
        """Widget x of the centre of ``frame``'s column (0-based)."""
        return self.frames_left + (frame + 0.5) * self.column_width

    def frame_at(self, x: float) -> int:
        """The 0-based frame whose column holds widget ``x``, clamped to the loop."""
        if self.n_frames == 0:
            return 0
        frame = math.floor((x - self.frames_left) / self.column_width)
        return min(max(frame, 0), self.n_frames - 1)

    # ------------------------------------------------------------- the lanes

    @property
    def lane_height(self) -> int:
        """Every lane's height: :data:`LANE_HEIGHT`, less when the lanes would not fit,
        never less than :data:`MIN_LANE_HEIGHT` (then they scroll)."""
        if not self.n_lanes:
            return LANE_HEIGHT
        available = self.height - self.ruler_height
        return max(MIN_LANE_HEIGHT, min(LANE_HEIGHT, available // self.n_lanes))

    def lane_top(self, index: int) -> int:
        """Widget y of the top of lane ``index`` (0 the first), scrolled."""
        return self.ruler_height + index * self.lane_height - self.scroll_px

    def lane_at(self, y: float) -> int | None:
        """The index of the lane at widget ``y``; None over the ruler or below the lanes."""
        if y < self.ruler_height:
            return None
        index = math.floor((y - self.lane_top(0)) / self.lane_height)
        return index if 0 <= index < self.n_lanes else None

    def visible_lanes(self) -> list[int]:
        """The indices of the lanes at least partly below the ruler and inside the widget."""
        lane_h = self.lane_height
        return [
            i
            for i in range(self.n_lanes)
            if self.lane_top(i) + lane_h >= self.ruler_height and self.lane_top(i) <= self.height
        ]

    # ------------------------------------------------------------- scrolling

    @property
    def lanes_area_height(self) -> int:
        """The height under the ruler, where the lanes are, px."""
        return max(0, self.height - self.ruler_height)

    @property
    def needs_scroll(self) -> bool:
        """Whether the lanes are taller than the room under the ruler."""
        return self.n_lanes * self.lane_height > self.lanes_area_height

    @property
    def scroll_max(self) -> int:
        """How far the lanes can scroll, px (0 when they fit)."""
        return max(0, self.n_lanes * self.lane_height - self.lanes_area_height)

    def wheel_scroll_px(self, angle_delta_y: int) -> int:
        """The scroll position after a wheel turn of ``angle_delta_y`` (eighths of a
        degree, 120 a notch): a lane per notch, up for a positive turn (unclamped)."""
        return self.scroll_px - round(angle_delta_y / 120 * self.lane_height)

    # ------------------------------------------------------------- what is where

    def in_titles(self, x: float) -> bool:
        """Whether widget ``x`` is in the lane titles' column (or the corner above it)."""
        return x < TITLE_WIDTH

    def cell_at(self, x: float, y: float) -> Cell:
        """The cell at widget ``(x, y)``: a lane's title, or one frame's column of a lane
        or of the ruler (what a tooltip stands for)."""
        lane = self.lane_at(y)
        top, height = (
            (0, self.ruler_height) if lane is None else (self.lane_top(lane), self.lane_height)
        )
        if self.in_titles(x):
            return Cell(0, top, TITLE_WIDTH, height)
        frame = self.frame_at(x)
        width = self.column_width
        x0 = math.floor(self.frames_left + frame * width)
        return Cell(x0, top, max(1, math.ceil(width)), height)
