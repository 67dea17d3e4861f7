"""How marks look, in one place: line widths, halo, fills, dashes and markers.

The app's scene items (``usannotate.ui.viewer.marks``) and the OpenCV drawing of
:mod:`usannotate.render.marks` (playback overlay, exported videos and frames) both take
their sizes from here, so a mark looks the same on screen, while playing and in a video.
Sizes are in screen (or output) pixels, whatever the zoom.
"""

from __future__ import annotations

from dataclasses import dataclass

from usannotate.annotations import FrameSource

__all__ = ["DASH_PATTERNS", "MarkStyle"]

#: How a mark's line is broken by where its geometry comes from, as Qt's pen patterns
#: (dash, gap, dash, gap... in line widths): a keyframe is solid; a computed frame is
#: broken, so a reviewer sees at a glance what nobody placed yet.
DASH_PATTERNS: dict[FrameSource, tuple[float, ...] | None] = {
    FrameSource.KEYFRAME: None,
    FrameSource.INTERPOLATED: (4.0, 2.0),  # Qt.DashLine
    FrameSource.TRACKED: (4.0, 2.0, 1.0, 2.0),  # Qt.DashDotLine
}


@dataclass(frozen=True)
class MarkStyle:
    """The sizes and alphas every mark is drawn with (pixels on screen)."""

    line_px: float = 2.0
    selected_line_px: float = 3.0
    #: The dark halo under each line is this much wider than the line.
    halo_extra_px: float = 2.0
    #: The halo's colour: black at this alpha, so marks read on bright fascia and black fluid.
    halo_alpha: int = 170
    #: A region's fill: its colour at this alpha.
    region_fill_alpha: int = 98
    #: The needle's extended trajectory: a thin dashed line in the needle's colour.
    trajectory_px: float = 1.2
    #: Needle tip: a ring of this radius around a dot; entry: a small square.
    tip_ring_px: float = 7.0
    tip_dot_px: float = 2.5
    entry_half_px: float = 3.0
    #: A point mark's disc, and the dots on the vertices of a selected mark.
    point_radius_px: float = 5.0
    vertex_dot_px: float = 3.5

    def line_width(self, selected: bool) -> float:
        return self.selected_line_px if selected else self.line_px

    def halo_width(self, selected: bool) -> float:
        return self.line_width(selected) + self.halo_extra_px
