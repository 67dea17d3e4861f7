"""The measures hydrodissection is about, per frame and as rates over time (no Qt).

Plane separation, fluid thickness, spread and needle advance.

Conventions are those of :mod:`~usannotate.annotations.measurements`: points ``(x, y)``
in image px; with a calibration in mm the x and y offsets are scaled (``mm_per_px_x``,
``mm_per_px_y``) before anything is computed, so "perpendicular" is perpendicular in
millimetres; without one everything is in px. Each value is in mm only when one region
holds every point it spans (the outline, the planes' crossing points), else in px.

Measures (``Row.measurement``)
------------------------------
``fluid_thickness``
    Injected fluid: its largest extent perpendicular to the plane it spreads along (the
    plane nearest its centroid): the longest chord of the outline along the plane's
    normal, the normal taken from the plane's chord over the stretch the fluid spans.
``plane_separation``
    Injected fluid: the distance between the two fascial planes that bound it, along the
    same normal through the middle of that longest chord (the fluid's thickest point):
    the nearest plane crossing on each side that is not inside the fluid (a crossing
    more than half-way from the middle to the fluid's edge counts as bounding).
``plane_separation_at_tip``
    Needle: the same, along the normal of the plane nearest the tip, through the tip.
``insertion_depth``
    Needle: distance along the shaft from the entry point to the tip.
``spread_rate``, ``area_rate``, ``advance_rate``
    Rates over time (per s) of ``extent_along_plane``, ``area`` and ``insertion_depth``
    (:func:`loop_hydro_rows`): central differences over the frames where the track has a
    value, using each frame's time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence

import numpy as np

from usannotate.annotations.kinds import ShapeKind
from usannotate.annotations.measurements import (
    Measurement,
    Row,
    is_fluid_label,
    measure_frame,
)
from usannotate.annotations.model import AnnotatedObject, Annotations
from usannotate.cine.calibration import Calibration

__all__ = [
    "HYDRO_TITLES",
    "RATE_OF",
    "frame_hydro_rows",
    "loop_hydro_rows",
    "needle_insertion_depth",
    "plane_separation_along",
    "thickest_chord",
]

#: Titles of the new measures (for tables, curves and columns).
HYDRO_TITLES = {
    "fluid_thickness": "Thickness",
    "plane_separation": "Plane separation",
    "plane_separation_at_tip": "Plane separation at tip",
    "insertion_depth": "Insertion depth",
    "spread_rate": "Spread rate",
    "area_rate": "Area rate",
    "advance_rate": "Advance per second",
}
#: Rate measure -> the per-frame measure it is the time derivative of.
RATE_OF = {
    "spread_rate": "extent_along_plane",
    "area_rate": "area",
    "advance_rate": "insertion_depth",
}
_SAMPLES = 256  # chords sampled across the fluid's length


def _scale(cal: Calibration) -> np.ndarray:
    return np.array([cal.mm_per_px_x, cal.mm_per_px_y]) if cal.is_mm else np.ones(2)


def _unit(cal: Calibration) -> str:
    return "mm" if cal.is_mm else "px"


def needle_insertion_depth(points: np.ndarray, cal: Calibration) -> Measurement:
    """Distance along the shaft from the entry (first point) to the tip (last), mm or px."""
    offset = (np.asarray(points[-1], float) - np.asarray(points[0], float)) * _scale(cal)
    return Measurement("insertion_depth", float(np.hypot(*offset)), _unit(cal))


def _plane_axes(plane: np.ndarray, around: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit tangent and normal (scaled space) of ``plane`` over the stretch the points
    ``around`` project onto: the chord between the projections of the two extremes."""
    seg = np.diff(plane, axis=0)
    lengths = np.hypot(*seg.T)
    arcs = np.concatenate([[0.0], np.cumsum(lengths)])
    ok = lengths > 0
    if not ok.any():
        return np.array([1.0, 0.0]), np.array([0.0, 1.0])
    # Projection of each point on each segment, the closest kept (as measurements does).
    rel = around[:, None, :] - plane[None, :-1, :]
    t = np.clip(np.einsum("nsk,sk->ns", rel, seg) / np.where(ok, lengths**2, 1.0), 0.0, 1.0)
    feet = plane[None, :-1, :] + t[..., None] * seg[None, :, :]
    dist = np.hypot(*(around[:, None, :] - feet).transpose(2, 0, 1))
    dist[:, ~ok] = np.inf
    best = dist.argmin(axis=1)
    along = arcs[best] + t[np.arange(len(around)), best] * lengths[best]
    lo, hi = int(along.argmin()), int(along.argmax())
    a, b = feet[lo, best[lo]], feet[hi, best[hi]]
    tangent = b - a
    if np.hypot(*tangent) == 0:
        tangent = seg[best[lo]] if ok[best[lo]] else seg[ok][0]
    tangent = tangent / np.hypot(*tangent)
    return tangent, np.array([-tangent[1], tangent[0]])


def _crossing_extremes(
    poly: np.ndarray,
    origin: np.ndarray,
    t_axis: np.ndarray,
    n_axis: np.ndarray,
    t_values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each ``t`` in ``t_values``: how many times the closed outline ``poly`` (scaled
    space) crosses the line at that ``t`` (axes from ``origin``), and the least and the
    greatest ``n`` coordinate of those crossings (+inf / -inf where it crosses none).

    All lines at once, as arrays ``(len(t_values), edges)``: each crossing is computed
    with the same arithmetic as one line at a time would, so the values are the same.
    """
    rel = poly - origin
    tt, nn = rel @ t_axis, rel @ n_axis
    t0, t1 = tt[None, :], np.roll(tt, -1)[None, :]
    n0, n1 = nn[None, :], np.roll(nn, -1)[None, :]
    t = t_values[:, None]
    hit = ((t0 <= t) & (t1 > t)) | ((t1 <= t) & (t0 > t))
    with np.errstate(invalid="ignore", divide="ignore"):  # edges along t: never a hit
        ns = n0 + (t - t0) / (t1 - t0) * (n1 - n0)
    return (
        hit.sum(axis=1),
        np.where(hit, ns, np.inf).min(axis=1),
        np.where(hit, ns, -np.inf).max(axis=1),
    )


def thickest_chord(
    outline: np.ndarray, plane: np.ndarray, cal: Calibration
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """The fluid's thickness perpendicular to ``plane``.

    Returns
    -------
    (thickness, middle, normal) or None
        ``thickness`` in the calibration's unit; ``middle`` the middle of the longest
        chord, image px; ``normal`` the unit normal in scaled space (None when the
        outline has no extent along the plane).
    """
    scale = _scale(cal)
    poly = np.asarray(outline, float) * scale
    tangent, normal = _plane_axes(np.asarray(plane, float) * scale, poly)
    origin = poly.mean(axis=0)
    along = (poly - origin) @ tangent
    if along.max() - along.min() <= 0:
        return None
    span = along.max() - along.min()
    t_values = np.linspace(along.min() + span * 1e-6, along.max() - span * 1e-6, _SAMPLES)
    counts, lows, highs = _crossing_extremes(poly, origin, tangent, normal, t_values)
    widths = np.where(counts >= 2, highs - lows, -np.inf)
    i = int(widths.argmax())  # the first of the widest, as a scan keeping the first would
    if counts[i] < 2:
        return None
    middle = origin + float(t_values[i]) * tangent + float((highs[i] + lows[i]) / 2) * normal
    return float(widths[i]), middle / scale, normal


def _polyline_crossings(plane: np.ndarray, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Signed distances (scaled space) along ``normal`` from ``point`` where the
    polyline ``plane`` crosses the line through ``point`` along ``normal``."""
    tangent = np.array([normal[1], -normal[0]])
    rel = plane - point
    side = rel @ tangent
    dist = rel @ normal
    s0, s1, d0, d1 = side[:-1], side[1:], dist[:-1], dist[1:]
    hit = ((s0 <= 0) & (s1 > 0)) | ((s1 <= 0) & (s0 > 0)) | ((s0 == 0) & (s1 == 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(s1[hit] != s0[hit], -s0[hit] / (s1[hit] - s0[hit]), 0.0)
    return d0[hit] + frac * (d1[hit] - d0[hit])


def plane_separation_along(
    point: np.ndarray,
    normal: np.ndarray,
    planes: Sequence[np.ndarray],
    cal: Calibration,
    inside: float = 0.0,
) -> tuple[float, np.ndarray, np.ndarray] | None:
    """The distance between the nearest plane crossing on each side of ``point`` along
    ``normal`` (unit, scaled space), ignoring crossings closer than ``inside`` (scaled).

    Returns ``(separation, first, second)`` (the crossing points in image px) or None
    when no plane crosses on one side.
    """
    scale = _scale(cal)
    p = np.asarray(point, float) * scale
    below: list[float] = []
    above: list[float] = []
    for plane in planes:
        for d in _polyline_crossings(np.asarray(plane, float) * scale, p, normal):
            if d >= inside:
                above.append(float(d))
            elif d <= -inside:
                below.append(float(d))
    if not above or not below:
        return None
    up, down = min(above), max(below)
    return up - down, (p + up * normal) / scale, (p + down * normal) / scale


def _nearest_plane(point: np.ndarray, planes: dict[str, np.ndarray], cal: Calibration) -> str:
    scale = _scale(cal)
    p = np.asarray(point, float) * scale
    best, best_d = "", math.inf
    for plane_id, plane in planes.items():
        scaled = np.asarray(plane, float) * scale
        seg = np.diff(scaled, axis=0)
        lengths2 = np.maximum((seg**2).sum(axis=1), 1e-12)
        t = np.clip(((p - scaled[:-1]) * seg).sum(axis=1) / lengths2, 0.0, 1.0)
        d = float(np.hypot(*(scaled[:-1] + t[:, None] * seg - p).T).min())
        if d < best_d:
            best, best_d = plane_id, d
    return best


def _in_one_region(
    calibration_for: Callable[[np.ndarray], Calibration], *parts: np.ndarray
) -> Calibration:
    return calibration_for(np.vstack([np.asarray(p, float).reshape(-1, 2) for p in parts]))


def _fluid_measures(
    outline: np.ndarray,
    planes: dict[str, np.ndarray],
    calibration_for: Callable[[np.ndarray], Calibration],
) -> list[tuple[Measurement, str, Calibration]]:
    """Thickness and plane separation of one fluid outline (each with its reference
    plane id and the calibration it was measured in)."""
    out: list[tuple[Measurement, str, Calibration]] = []
    cal = calibration_for(outline)
    plane_id = _nearest_plane(outline.mean(axis=0), planes, cal)
    chord = thickest_chord(outline, planes[plane_id], cal)
    if chord is None:
        return out
    thickness, middle, _ = chord
    # In mm only if one region holds the outline and the plane it is measured against.
    both = _in_one_region(calibration_for, outline, planes[plane_id])
    if both.is_mm != cal.is_mm:
        cal = both
        chord = thickest_chord(outline, planes[plane_id], cal)
        if chord is None:
            return out
        thickness, middle, _ = chord
    out.append((Measurement("fluid_thickness", thickness, _unit(cal)), plane_id, cal))
    normal = chord[2]
    others = list(planes.values())
    found = plane_separation_along(middle, normal, others, cal, inside=thickness / 4)
    if found is not None:
        sep_cal = _in_one_region(calibration_for, outline, found[1], found[2])
        if sep_cal.is_mm != cal.is_mm:
            found = plane_separation_along(middle, normal, others, sep_cal, inside=0.0)
            cal = sep_cal
        if found is not None:
            out.append((Measurement("plane_separation", found[0], _unit(cal)), "", cal))
    return out


def _tip_separation(
    needle: np.ndarray,
    planes: dict[str, np.ndarray],
    calibration_for: Callable[[np.ndarray], Calibration],
) -> tuple[Measurement, Calibration] | None:
    tip = np.asarray(needle[-1], float)
    cal = calibration_for(tip[None, :])
    plane_id = _nearest_plane(tip, planes, cal)
    scale = _scale(cal)
    _, normal = _plane_axes(np.asarray(planes[plane_id], float) * scale, (tip * scale)[None])
    found = plane_separation_along(tip, normal, list(planes.values()), cal)
    if found is None:
        return None
    span_cal = _in_one_region(calibration_for, tip, found[1], found[2])
    if span_cal.is_mm != cal.is_mm:
        cal = span_cal
        found = plane_separation_along(tip, normal, list(planes.values()), cal)
        if found is None:
            return None
    return Measurement("plane_separation_at_tip", found[0], _unit(cal)), cal


def frame_hydro_rows(
    annotations: Annotations,
    frame: int,
    calibration_for: Callable[[np.ndarray], Calibration],
) -> list[Row]:
    """The per-frame hydrodissection measures of every object on ``frame`` (in drawing
    order): a needle's ``insertion_depth`` and ``plane_separation_at_tip``; injected
    fluid's ``fluid_thickness`` and ``plane_separation``. Plane measures need fascial
    planes (polylines) on the frame; those that cannot be measured are left out."""
    present = [(o, o.geometry(frame)) for o in annotations.objects]
    present = [(o, g) for o, g in present if g is not None]
    planes = {o.id: g[0] for o, g in present if o.kind is ShapeKind.POLYLINE}
    rows: list[Row] = []
    for obj, (points, source) in present:
        label = annotations.label_set.get(obj.label_id)
        measured: list[tuple[Measurement, str, Calibration]] = []
        if obj.kind is ShapeKind.NEEDLE:
            cal = calibration_for(points)
            measured.append((needle_insertion_depth(points, cal), "", cal))
            if planes:
                tip = _tip_separation(points, planes, calibration_for)
                if tip is not None:
                    measured.append((tip[0], "", tip[1]))
        elif (
            obj.kind is ShapeKind.REGION
            and planes
            and is_fluid_label(obj.label_id, label.group if label is not None else "")
        ):
            measured += _fluid_measures(points, planes, calibration_for)
        rows += [
            _row(frame, obj, label.name if label else obj.label_id, m, ref, source.value, cal)
            for m, ref, cal in measured
            if math.isfinite(m.value)
        ]
    return rows


def _row(
    frame: int,
    obj: AnnotatedObject,
    label_name: str,
    m: Measurement,
    reference: str,
    source: str,
    cal: Calibration,
) -> Row:
    return Row.of(frame, obj, label_name, m, reference, source, "" if cal.is_mm else cal.reason)


def loop_hydro_rows(
    annotations: Annotations,
    n_frames: int,
    calibration_for: Callable[[np.ndarray], Calibration],
    times_s: Sequence[float],
    base_rows: Sequence[Row] | None = None,
    frames: Collection[int] | None = None,
) -> list[Row]:
    """Every per-frame hydrodissection measure on every frame, then the rates.

    Parameters
    ----------
    annotations, n_frames, calibration_for
        As for :func:`usannotate.export.loop_measurements`.
    times_s
        Each frame's time from the loop's start (s), ``n_frames`` of them.
    base_rows
        The loop's :func:`measure_frame` rows when the caller has them (their ``area``
        and ``extent_along_plane`` give the rates); computed here otherwise.
    frames
        Only these frames' rows (an export of some frames): each is measured, and
        its rates computed, as with every frame (a rate's central difference needs
        the frames next to it, and only those are measured besides).

    Returns
    -------
    list of Row
        Frames in order; per frame the per-frame measures, then the rates of that frame
        (``spread_rate``, ``area_rate``, ``advance_rate``: unit ``<unit>/s``).
    """
    marked = sorted({f for obj in annotations.objects for f in obj.frame_sources(n_frames)})
    if frames is None:
        wanted = measured = marked
    else:
        wanted = sorted(set(frames).intersection(marked))
        near = {g for f in wanted for g in (f - 1, f, f + 1)}
        measured = [f for f in marked if f in near]
    per_frame = {f: frame_hydro_rows(annotations, f, calibration_for) for f in measured}
    if base_rows is None:
        base_rows = [r for f in measured for r in measure_frame(annotations, f, calibration_for)]
    series: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in [*base_rows, *(r for rs in per_frame.values() for r in rs)]:
        if row.measurement in RATE_OF.values():
            series[(row.object_id, row.measurement)].append(row)
    rates: dict[int, list[Row]] = defaultdict(list)
    for (_, measurement), rows in series.items():
        rate_name = next(k for k, v in RATE_OF.items() if v == measurement)
        for row, value in zip(rows, _rates(rows, times_s), strict=True):
            if value is not None:
                rates[row.frame].append(
                    Row(
                        row.frame,
                        row.object_id,
                        row.label_id,
                        row.label_name,
                        row.kind,
                        rate_name,
                        value,
                        f"{row.unit}/s",
                        row.reference,
                        row.source,
                        row.unit_reason,
                    )
                )
    out: list[Row] = []
    for f in wanted:
        out += per_frame[f] + rates.get(f, [])
    return out


def _rates(rows: list[Row], times_s: Sequence[float]) -> list[float | None]:
    """d value / d t at each row (central differences over the track's consecutive
    frames; one-sided at the ends and across a change of unit; None alone)."""
    out: list[float | None] = []
    for i, row in enumerate(rows):
        left = rows[i - 1] if i > 0 and rows[i - 1].frame == row.frame - 1 else None
        right = rows[i + 1] if i + 1 < len(rows) and rows[i + 1].frame == row.frame + 1 else None
        left = left if left is not None and left.unit == row.unit else None
        right = right if right is not None and right.unit == row.unit else None
        a, b = left or row, right or row
        dt = times_s[b.frame] - times_s[a.frame]
        # Rounded as annotations.rates rounds: a still mark gives 0, not float noise.
        out.append(round((b.value - a.value) / dt, 9) + 0.0 if a is not b and dt > 0 else None)
    return out
