"""Point helpers of the phantom: OpenCV fixed-point coordinates, truth rounding, polygon area."""

from __future__ import annotations

import numpy as np

__all__ = ["SUB_PIXEL_SHIFT", "round_points", "shoelace_area", "to_cv"]

#: cv2 drawing with ``shift=SUB_PIXEL_SHIFT``: coordinates in 1/16 px.
SUB_PIXEL_SHIFT = 4


def to_cv(points: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    """Convert corner-convention points (x, y) to cv2 fixed-point pixel-centre coordinates.

    cv2 puts pixel (c, r) at the integer point (c, r), i.e. at our (c + 0.5, r + 0.5).

    Parameters:
        points: ``(N, 2)`` points (x, y) in image px, corner convention.
        origin: image point (x, y) that becomes (0, 0), e.g. the region's top-left corner.

    Returns:
        ``(N, 2)`` int32, in 1/16 px, for drawing with ``shift=SUB_PIXEL_SHIFT``.
    """
    shifted = (np.asarray(points, dtype=np.float64) - np.asarray(origin) - 0.5) * (
        1 << SUB_PIXEL_SHIFT
    )
    return np.round(shifted).astype(np.int32)


def shoelace_area(points: np.ndarray) -> float:
    """Area (px²) of the closed polygon ``(N, 2)`` (the first point is not repeated)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def round_points(points: np.ndarray) -> list[list[float]]:
    """``(N, 2)`` points as JSON-ready ``[[x, y], ...]``, rounded to 0.01 px."""
    return [[round(float(x), 2), round(float(y), 2)] for x, y in points]
