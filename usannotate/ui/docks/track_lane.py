"""What the timeline and the annotated-frame list are told of one track, as plain data.

Its id, title, colour and the source of each frame where it exists. Qt-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from usannotate.annotations import FrameSource

FRAME_SOURCES = tuple(FrameSource)
"""The values of :attr:`TrackLane.frame_sources` (those of ``annotations.FrameSource``)."""


@dataclass(frozen=True)
class TrackLane:
    """What the timeline shows of one track (one annotated object through the loop).

    Parameters
    ----------
    object_id
        The object the lane stands for (emitted back by ``trackSelected``).
    title
        What the lane is called on screen, e.g. ``"Needle"`` or ``"Superficial fascia 2"``.
    colour
        The label's colour, ``'#rrggbb'``.
    frame_sources
        0-based frame index -> ``"keyframe"``, ``"interpolated"`` or ``"tracked"``, only for
        the frames where the track exists (``annotations.FrameSource`` values work too).

    Raises
    ------
    ValueError
        A frame index below 0 or a source that is not one of the three.
    """

    object_id: str
    title: str
    colour: str
    frame_sources: Mapping[int, str]

    def __post_init__(self) -> None:
        for frame, source in self.frame_sources.items():
            if frame < 0:
                raise ValueError(
                    f"track {self.object_id!r}: frame {frame} is negative (frames are 0-based)"
                )
            if source not in FRAME_SOURCES:
                raise ValueError(
                    f"track {self.object_id!r}: frame {frame} has source {source!r}, "
                    f"expected one of {', '.join(FRAME_SOURCES)}"
                )
