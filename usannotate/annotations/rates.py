"""Rates over time of a track's measures, for the curves and one frame's table (no Qt).

``spread_rate`` (the fluid's extent along the plane per second, mm/s), ``area_rate``
(its area per second, mm²/s) and ``advance_rate`` (the needle's insertion depth per
second, mm/s): px/s and px²/s without a calibration, as every measure is in px then.
The same central differences as :func:`usannotate.annotations.hydro.loop_hydro_rows`
(and so ``measure --hydro``): over the track's consecutive frames, one-sided at the
ends and across a change of unit, none for a lone frame; each frame's own time (s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from usannotate.annotations.hydro import RATE_OF, frame_hydro_rows
from usannotate.annotations.measurements import Row, measure_frame
from usannotate.annotations.model import Annotations
from usannotate.cine.calibration import Calibration

__all__ = ["RATE_OF", "central_rates", "frame_rate_rows", "rate_unit"]


def rate_unit(unit: str) -> str:
    """The unit of the rate of a measure in ``unit``: ``"mm"`` -> ``"mm/s"``."""
    return f"{unit}/s"


def central_rates(
    frames: Sequence[int], values: Sequence[float], units: Sequence[str], times_s: Sequence[float]
) -> list[float | None]:
    """d value / d t at each of a track's values (``frames`` ascending, each with its
    value and unit): central differences over consecutive frames, one-sided at the ends
    and across a change of unit, None for a value alone (or a zero time step)."""
    out: list[float | None] = []
    n = len(frames)
    for i in range(n):
        a = b = i
        if i > 0 and frames[i - 1] == frames[i] - 1 and units[i - 1] == units[i]:
            a = i - 1
        if i + 1 < n and frames[i + 1] == frames[i] + 1 and units[i + 1] == units[i]:
            b = i + 1
        if a == b or not (0 <= frames[a] < len(times_s) and 0 <= frames[b] < len(times_s)):
            out.append(None)
            continue
        dt = float(times_s[frames[b]]) - float(times_s[frames[a]])
        # Rounded: a mark that does not move gives 0, not 1e-14 of float noise (which
        # the curves would scale up to fill a panel).
        out.append(round((values[b] - values[a]) / dt, 9) + 0.0 if dt > 0 else None)
    return out


def frame_rate_rows(
    annotations: Annotations,
    frame: int,
    calibration_for: Callable[[np.ndarray], Calibration],
    times_s: Sequence[float],
    rows: Sequence[Row] | None = None,
) -> list[Row]:
    """The rates of every track on ``frame`` (for the Measurements dock), from its
    values on the frames before and after.

    Parameters
    ----------
    rows
        ``frame``'s own rows when the caller has them (:func:`measure_frame` and
        :func:`frame_hydro_rows`): not measured twice.

    Returns
    -------
    list of Row
        ``spread_rate``, ``area_rate``, ``advance_rate`` rows of the tracks that have the
        measure on ``frame`` and on a neighbouring frame; unit ``<unit>/s``.
    """
    wanted = set(RATE_OF.values())

    def measured(f: int) -> list[Row]:
        if f < 0 or f >= len(times_s):
            return []
        found = measure_frame(annotations, f, calibration_for)
        found += frame_hydro_rows(annotations, f, calibration_for)
        return [r for r in found if r.measurement in wanted]

    here = [r for r in rows if r.measurement in wanted] if rows is not None else measured(frame)
    if not here:
        return []
    around = {frame - 1: measured(frame - 1), frame: here, frame + 1: measured(frame + 1)}
    out = []
    for row in here:
        series = [
            r
            for f in (frame - 1, frame, frame + 1)
            for r in around[f]
            if r.object_id == row.object_id and r.measurement == row.measurement
        ]
        rates = central_rates(
            [r.frame for r in series], [r.value for r in series], [r.unit for r in series], times_s
        )
        value = rates[[r.frame for r in series].index(frame)]
        if value is None:
            continue
        name = next(k for k, v in RATE_OF.items() if v == row.measurement)
        out.append(
            Row(
                row.frame,
                row.object_id,
                row.label_id,
                row.label_name,
                row.kind,
                name,
                value,
                rate_unit(row.unit),
                row.reference,
                row.source,
                row.unit_reason,
            )
        )
    return out
