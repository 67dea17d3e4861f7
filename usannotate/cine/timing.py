"""Frame timing of a cine loop, from whichever tag the scanner wrote."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

ASSUMED_FRAME_TIME_MS = 1000.0 / 30.0

#: Where the frame time came from, in the order they are tried.
FRAME_TIME_SOURCES = (
    "FrameTime",
    "FrameTimeVector",
    "CineRate",
    "RecommendedDisplayFrameRate",
    "assumed",
)


@dataclass(frozen=True)
class FrameTiming:
    """Nominal time between frames and, when the file has one, the per-frame vector.

    ``source`` is one of :data:`FRAME_TIME_SOURCES`; ``"assumed"`` means the file says
    nothing and 30 fps is used.
    """

    frame_time_ms: float
    source: str
    vector_ms: tuple[float, ...] | None = None

    def start_times_ms(self, n_frames: int) -> np.ndarray:
        """Start time of each frame in ms, frame 0 at 0."""
        if self.vector_ms is not None and len(self.vector_ms) >= n_frames:
            increments = np.asarray(self.vector_ms[:n_frames], dtype=float)
            increments[0] = 0.0
            return np.cumsum(increments)
        return np.arange(n_frames, dtype=float) * self.frame_time_ms


# A frame time beyond ten minutes (or a rate beyond 10 kHz) is a damaged value, not a loop.
_MAX_FRAME_TIME_MS = 600_000.0
_MAX_RATE_FPS = 10_000.0


def _positive(value: object, upper: float = _MAX_FRAME_TIME_MS) -> float | None:
    """``value`` as a float when it is a plausible positive number, else None."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if np.isfinite(number) and 0 < number <= upper else None


def read_frame_timing(ds: Dataset) -> FrameTiming:
    """FrameTime, else FrameTimeVector, else CineRate, else RecommendedDisplayFrameRate,
    else 30 fps marked as assumed."""
    frame_time = _positive(ds.get("FrameTime"))
    if frame_time is not None:
        return FrameTiming(frame_time, "FrameTime")
    vector = ds.get("FrameTimeVector")
    if vector is not None:
        items = vector if isinstance(vector, MultiValue | list | tuple) else [vector]
        values = [(_positive(x) or 0.0) if i else 0.0 for i, x in enumerate(items)]
        # The first entry is 0 by definition (PS3.3 C.7.6.5.1.2); the rest are increments.
        increments = [v for v in values[1:] if v > 0]
        if increments:
            return FrameTiming(float(np.mean(increments)), "FrameTimeVector", tuple(values))
    for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
        rate = _positive(ds.get(keyword), _MAX_RATE_FPS)
        if rate is not None:
            return FrameTiming(1000.0 / rate, keyword)
    return FrameTiming(ASSUMED_FRAME_TIME_MS, "assumed")
