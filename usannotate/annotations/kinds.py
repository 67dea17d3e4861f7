"""The shape kinds marks are drawn with and the sources of a track's geometry (no Qt).

Below both :mod:`usannotate.annotations.model` (tracks) and
:mod:`usannotate.annotations.interpolation` (blending two keyframes), so that neither
needs the other's module to know what a kind is. The string values are the sidecar's.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

__all__ = ["FrameSource", "ShapeKind"]


class ShapeKind(StrEnum):
    """How a label is drawn; the string values are the sidecar's."""

    POLYLINE = "polyline"
    NEEDLE = "needle"
    REGION = "region"
    POINT = "point"

    @property
    def min_points(self) -> int:
        """The fewest points a mark of this kind has (a needle and a point: exactly)."""
        return {ShapeKind.POLYLINE: 2, ShapeKind.NEEDLE: 2, ShapeKind.REGION: 3}.get(self, 1)

    def check_points(self, points: np.ndarray) -> None:
        """Raise ValueError unless ``points`` (an ``(N, 2)`` array) suits this kind."""
        n = len(points)
        wanted = {
            ShapeKind.POLYLINE: (n >= 2, "two or more (x, y) points"),
            ShapeKind.NEEDLE: (n == 2, "exactly two (x, y) points: entry, then tip"),
            ShapeKind.REGION: (n >= 3, "three or more (x, y) points (closed, first not repeated)"),
            ShapeKind.POINT: (n == 1, "exactly one (x, y) point"),
        }[self]
        if not wanted[0]:
            raise ValueError(f"a {self.value} needs {wanted[1]}, got {n}")


class FrameSource(StrEnum):
    """Where a track's geometry on a frame comes from; the string values are the sidecar's."""

    KEYFRAME = "keyframe"
    INTERPOLATED = "interpolated"
    TRACKED = "tracked"
