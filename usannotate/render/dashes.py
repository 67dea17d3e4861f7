"""Where the dashes of broken lines fall: Qt's dash patterns, for many lines at once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["dash_segments", "dashes_by_line"]


def dash_segments(
    lines: Sequence[np.ndarray], pattern: Sequence[float], width_px: float, cap_px: float = 0.0
) -> np.ndarray:
    """The dashes of every line of ``lines``: :func:`dashes_by_line` without saying
    which line each dash belongs to."""
    return dashes_by_line(lines, pattern, width_px, cap_px)[0]


def dashes_by_line(
    lines: Sequence[np.ndarray], pattern: Sequence[float], width_px: float, cap_px: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """The dashes of every line of ``lines`` (each ``(n, 2)``, a closed line repeating its
    first point at the end) with Qt's dash ``pattern`` (in line widths, restarting at each
    line's start), each dash lengthened by ``cap_px`` at both ends (negative: shortened,
    for a dash widened afterwards). ``(k, 2, 2)`` segments and the index in ``lines`` of
    each one's line ``(k,)``; a dash crossing a vertex is its chord (dashes are a few
    pixels long, shorter than the marks' vertex spacing on screen).

    All lines in one pass of array operations (a busy frame has dozens of broken lines):
    the lines are laid end to end along one axis, with a gap between them no dash reaches.
    """
    arrays = [np.asarray(line, dtype=np.float64).reshape(-1, 2) for line in lines]
    index = np.array([i for i, line in enumerate(arrays) if len(line) >= 2], dtype=int)
    lines = [arrays[i] for i in index]
    if not lines:
        return np.zeros((0, 2, 2)), np.zeros(0, dtype=int)
    unit = max(float(width_px), 1.0)
    lengths = np.asarray(pattern, dtype=np.float64) * unit
    offsets = np.concatenate([[0.0], np.cumsum(lengths)])
    period = float(offsets[-1])
    points = np.concatenate(lines)
    counts = np.array([len(line) for line in lines])
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    steps = np.hypot(*np.diff(points, axis=0).T)
    steps[first[1:] - 1] = 2.0 * period  # from one line's end to the next one's start
    along = np.concatenate([[0.0], np.cumsum(steps)])
    starts = along[first]
    totals = along[first + counts - 1] - starts
    # Every period of every line: its line's start on the axis and its place in the line.
    n_periods = (totals // period).astype(int) + 1
    line_of = np.repeat(np.arange(len(lines)), n_periods)
    period_in_line = np.arange(len(line_of)) - np.repeat(
        np.cumsum(n_periods) - n_periods, n_periods
    )
    base = period_in_line * period
    dash_on = np.stack([offsets[0:-1:2] - cap_px, offsets[1::2] + cap_px], axis=1)
    ends = base[:, None, None] + dash_on[None]  # (periods, dashes per period, 2)
    total_of = totals[line_of][:, None, None]
    keep = (ends[..., 0] + cap_px < total_of[..., 0]) & (total_of[..., 0] > 0)
    ends = np.clip(ends, 0.0, total_of) + starts[line_of][:, None, None]
    dash_line = np.broadcast_to(index[line_of][:, None], keep.shape)[keep]
    ends = ends[keep].reshape(-1)
    xy = np.empty((len(ends), 2))
    xy[:, 0] = np.interp(ends, along, points[:, 0])
    xy[:, 1] = np.interp(ends, along, points[:, 1])
    return xy.reshape(-1, 2, 2), dash_line
