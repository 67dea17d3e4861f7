"""What the Curves dock plots, as plain data (no Qt): panels of curves of samples by frame.

Also the way units are written on the plot (:func:`pretty_unit`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from usannotate.annotations import FrameSource

__all__ = ["SOURCES", "Curve", "CurvePanel", "CurveSample", "pretty_unit"]

SOURCES = tuple(FrameSource)  # a sample's source, as the strings the model uses


@dataclass(frozen=True)
class CurveSample:
    """One value of a curve on one frame (0-based).

    ``source`` says where it comes from: "keyframe" (placed by the user), "interpolated"
    or "tracked".
    """

    frame: int
    value: float
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(
                f"CurveSample source must be one of {', '.join(SOURCES)}, not {self.source!r}"
            )


@dataclass(frozen=True)
class Curve:
    """One line of a panel. ``samples`` sorted by frame; a missing frame is a gap in the line."""

    name: str
    colour: str
    samples: Sequence[CurveSample]


@dataclass(frozen=True)
class CurvePanel:
    """One plot of the stack, sharing the time axis with the others.

    ``unit`` is shown as given ("mm", "mm²", "px²"; "mm2" / "px2" are shown as mm² / px²).
    ``invert_y`` makes values grow downward, like depth in the image.
    ``empty_text`` is shown in the panel while none of its curves has a sample.
    """

    title: str
    unit: str
    curves: Sequence[Curve]
    invert_y: bool = False
    empty_text: str = ""


def pretty_unit(unit: str) -> str:
    """``unit`` as shown: "mm2" is "mm²", "px2" is "px²" (and "mm2/s" "mm²/s")."""
    base, slash, per = unit.partition("/")
    return {"mm2": "mm²", "px2": "px²", "cm2": "cm²"}.get(base, base) + slash + per
