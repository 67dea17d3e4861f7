"""How far two raters' marks of one loop agree, frame by frame and per track (no Qt).

Objects are paired by label (several of one label: by best agreement, see
:func:`pair_tracks`); on each frame where both tracks of a pair exist (stored or
interpolated), by kind:

- needle: ``tip_error`` (distance between the tips), ``tip_error_lateral`` and
  ``tip_error_axial`` (its parts across and down the image, absolute), and
  ``angle_difference`` (deg, between the entry-to-tip directions, 0 to 180);
- fascial plane (polyline): ``mean_distance`` (symmetric mean of point-to-curve
  distances) and ``hausdorff_95`` (the larger of the two directed 95th percentiles), on
  both curves resampled to :data:`CURVE_SAMPLES` points evenly spaced by arc length;
- region: ``dice`` and ``iou`` of the two outlines rasterised at the image's resolution
  (a pixel belongs to an outline when its centre lies inside; counted without drawing
  by :mod:`usannotate.team.region_overlap`), and ``mean_distance``
  (symmetric mean of the boundary-to-boundary distances, outlines resampled as above);
- point: ``distance``.

Lengths are in mm when one calibration measures every point of both sidecars (the same
calibrated region, or the same manual calibration in both), else every length is in px,
never mixed; the report says why. Per track: mean, median and max of each measurement
over the frames both raters marked, and the frames only one of them marked, counted.

Coordinates follow the sidecar: ``(x, y)`` = (column, row) in image pixels, ``(0, 0)``
at the top-left corner of the top-left pixel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from usannotate.annotations import AnnotatedObject, Annotations, ShapeKind, calibration_lookup
from usannotate.cine.calibration import Region
from usannotate.team.region_overlap import fill_outline, overlap, overlap_batch

# Reading the two files and writing the report: usannotate.team.agreement_files.
#: Points each curve (plane, region outline) is resampled to, evenly by arc length.
CURVE_SAMPLES = 64
# Frames whose point-to-curve distances are computed in one array operation.
_CURVE_CHUNK = 32
#: The columns of the per-frame table (CSV) and the keys of a JSON row, in order.
ROW_COLUMNS = ("frame", "label_id", "measurement", "value", "unit", "object_a", "object_b")
#: The keys of a per-track summary entry.
SUMMARY_KEYS = (
    "label_id",
    "object_a",
    "object_b",
    "measurement",
    "unit",
    "n_frames",
    "mean",
    "median",
    "max",
    "frames_only_a",
    "frames_only_b",
)
#: Measurements that are lengths (mm or px); the others are ratios or degrees.
_LENGTHS = {
    "tip_error",
    "tip_error_lateral",
    "tip_error_axial",
    "mean_distance",
    "hausdorff_95",
    "distance",
}
_MEASUREMENTS = {
    ShapeKind.NEEDLE: ("tip_error", "tip_error_lateral", "tip_error_axial", "angle_difference"),
    ShapeKind.POLYLINE: ("mean_distance", "hausdorff_95"),
    ShapeKind.REGION: ("dice", "iou", "mean_distance"),
    ShapeKind.POINT: ("distance",),
}
# The measurement pairing minimises, per kind (lower is better).
_PAIRING = {
    ShapeKind.NEEDLE: "tip_error",
    ShapeKind.POLYLINE: "mean_distance",
    ShapeKind.REGION: "mean_distance",
    ShapeKind.POINT: "distance",
}


class AgreementError(ValueError):
    """The sidecars cannot be compared (unreadable, of different loops, ...); the message
    names the file (its name only) and says why, in one line."""


@dataclass(frozen=True)
class AgreementRow:
    """One measurement on one frame of one pair of tracks."""

    frame: int
    label_id: str
    measurement: str
    value: float
    unit: str
    object_a: str
    object_b: str


@dataclass(frozen=True)
class TrackSummary:
    """One measurement of one pair over the frames both raters marked (``n_frames``;
    ``mean`` / ``median`` / ``max`` None when there is none), and the frames only one
    marked; an unpaired track has ``object_b`` (or ``object_a``) None and no measurement."""

    label_id: str
    object_a: str | None
    object_b: str | None
    measurement: str | None
    unit: str | None
    n_frames: int
    mean: float | None
    median: float | None
    max: float | None
    frames_only_a: int
    frames_only_b: int


@dataclass
class AgreementReport:
    """Rows per frame, summaries per track, the unit of every length and why."""

    rows: list[AgreementRow] = field(default_factory=list)
    summary: list[TrackSummary] = field(default_factory=list)
    length_unit: str = "px"
    unit_reason: str = ""


# ------------------------------------------------------------------ geometry
def resample_by_arc_length(points: np.ndarray, n: int, *, closed: bool = False) -> np.ndarray:
    """``n`` points evenly spaced by arc length along the polyline (closed: the outline)."""
    pts = np.asarray(points, dtype=np.float64)
    if closed:
        pts = np.vstack([pts, pts[:1]])
    steps = np.hypot(*np.diff(pts, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] == 0.0:
        return np.repeat(pts[:1], n, axis=0)
    targets = np.linspace(0.0, along[-1], n, endpoint=not closed)
    return np.column_stack(
        [np.interp(targets, along, pts[:, 0]), np.interp(targets, along, pts[:, 1])]
    )


def point_to_curve(points: np.ndarray, curve: np.ndarray) -> np.ndarray:
    """The distance of each point to the polyline ``curve``: to its nearest segment, not
    only its nearest vertex. Batched: ``points`` ``(..., N, 2)`` and ``curve``
    ``(..., M, 2)`` (the same leading shape) give ``(..., N)``."""
    points = np.asarray(points, dtype=np.float64)
    curve = np.asarray(curve, dtype=np.float64)
    if curve.shape[-2] == 1:
        return np.sqrt(np.sum((points - curve[..., :1, :]) ** 2, axis=-1))
    # x and y apart: sums over a last axis of two are slow in NumPy.
    ax, ay = curve[..., :-1, 0], curve[..., :-1, 1]
    abx, aby = curve[..., 1:, 0] - ax, curve[..., 1:, 1] - ay  # (..., M-1)
    length2 = abx * abx + aby * aby
    inverse = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 0)
    relx = points[..., :, 0, None] - ax[..., None, :]  # (..., N, M-1)
    rely = points[..., :, 1, None] - ay[..., None, :]
    abx, aby, inverse = abx[..., None, :], aby[..., None, :], inverse[..., None, :]
    # In place, in the order of ``(relx * abx + rely * aby) * inverse`` and
    # ``relx * relx + rely * rely`` (the same values), with two temporaries, not seven.
    t = relx * abx
    scratch = rely * aby
    t += scratch
    t *= inverse
    np.clip(t, 0.0, 1.0, out=t)
    np.multiply(t, abx, out=scratch)
    relx -= scratch
    np.multiply(t, aby, out=scratch)
    rely -= scratch
    relx *= relx
    rely *= rely
    relx += rely
    return np.sqrt(np.min(relx, axis=-1))


def resample_batch(curves: np.ndarray, n: int, *, closed: bool = False) -> np.ndarray:
    """:func:`resample_by_arc_length` of ``(B, M, 2)`` curves at once: ``(B, n, 2)``."""
    pts = np.asarray(curves, dtype=np.float64)
    if closed:
        pts = np.concatenate([pts, pts[:, :1]], axis=1)
    count, m = pts.shape[0], pts.shape[1]
    steps = np.hypot(pts[:, 1:, 0] - pts[:, :-1, 0], pts[:, 1:, 1] - pts[:, :-1, 1])
    along = np.concatenate([np.zeros((count, 1)), np.cumsum(steps, axis=1)], axis=1)
    total = along[:, -1:]
    fractions = np.linspace(0.0, 1.0, n, endpoint=not closed)[None, :]
    targets = fractions * total  # (B, n)
    # One search for every curve: offset each curve's lengths past the previous ones.
    offset = (np.cumsum(total[:, 0] + 1.0) - (total[:, 0] + 1.0))[:, None]
    flat = (along + offset).ravel()
    index = np.searchsorted(flat, (targets + offset).ravel(), side="right") - 1
    index = index.reshape(count, n) - (np.arange(count) * m)[:, None]
    index = np.clip(index, 0, m - 2)
    rows = np.arange(count)[:, None]
    left, right = along[rows, index], along[rows, index + 1]
    span = right - left
    w = np.divide(targets - left, span, out=np.zeros_like(span), where=span > 0)[..., None]
    return pts[rows, index] * (1.0 - w) + pts[rows, index + 1] * w


def curve_distances(a: np.ndarray, b: np.ndarray, *, closed: bool = False) -> tuple[float, float]:
    """``(symmetric mean distance, 95 % Hausdorff distance)`` of two curves, in the
    points' units: from :data:`CURVE_SAMPLES` points of each, evenly spaced by arc
    length, to the other curve itself (its segments)."""
    means, h95s = curve_distances_batch([a], [b], closed=closed)
    return float(means[0]), float(h95s[0])


def curve_distances_batch(
    curves_a: list[np.ndarray], curves_b: list[np.ndarray], *, closed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`curve_distances` of many pairs at once (the frames of two tracks): pairs
    with the same point counts are computed together, in one array operation."""
    n = len(curves_a)
    means = np.empty(n)
    h95s = np.empty(n)
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (a, b) in enumerate(zip(curves_a, curves_b, strict=True)):
        groups.setdefault((len(a), len(b)), []).append(index)
    for members in groups.values():
        # Bounded temporary arrays. 128 curves are resampled at once (the one search's
        # offsets depend on the batch, so it stays as it was: the same values to the
        # last bit), their distances 32 at a time (temporaries that stay in the cache).
        for chunk in range(0, len(members), 128):
            part = members[chunk : chunk + 128]
            a = np.stack([curves_a[i] for i in part])
            b = np.stack([curves_b[i] for i in part])
            ra = resample_batch(a, CURVE_SAMPLES, closed=closed)
            rb = resample_batch(b, CURVE_SAMPLES, closed=closed)
            if closed:
                a = np.concatenate([a, a[:, :1]], axis=1)
                b = np.concatenate([b, b[:, :1]], axis=1)
            d_ab = np.concatenate(
                [point_to_curve(ra[k : k + _CURVE_CHUNK], b[k : k + _CURVE_CHUNK])
                 for k in range(0, len(part), _CURVE_CHUNK)]
            )  # fmt: skip
            d_ba = np.concatenate(
                [point_to_curve(rb[k : k + _CURVE_CHUNK], a[k : k + _CURVE_CHUNK])
                 for k in range(0, len(part), _CURVE_CHUNK)]
            )  # fmt: skip
            means[part] = (d_ab.mean(axis=1) + d_ba.mean(axis=1)) / 2.0
            h95s[part] = np.maximum(
                np.percentile(d_ab, 95, axis=1), np.percentile(d_ba, 95, axis=1)
            )
    return means, h95s


def pair_measurements(
    kind: ShapeKind,
    frames_a: list[np.ndarray],
    frames_b: list[np.ndarray],
    scale: tuple[float, float],
    image_size: tuple[int, int],
) -> dict[str, np.ndarray]:
    """:func:`frame_measurements` of many frames of one pair at once: one array per
    measurement, a value per frame (curves batched, see :func:`curve_distances_batch`)."""
    s = np.asarray(scale, dtype=np.float64)
    if kind in (ShapeKind.NEEDLE, ShapeKind.POINT):
        a = np.stack(frames_a) * s
        b = np.stack(frames_b) * s
        if kind == ShapeKind.POINT:
            return {"distance": np.hypot(*(b[:, 0] - a[:, 0]).T)}
        d = b[:, 1] - a[:, 1]
        angle_a = np.degrees(np.arctan2(*(a[:, 1] - a[:, 0]).T[::-1]))
        angle_b = np.degrees(np.arctan2(*(b[:, 1] - b[:, 0]).T[::-1]))
        diff = np.abs(angle_b - angle_a) % 360.0
        return {
            "tip_error": np.hypot(*d.T),
            "tip_error_lateral": np.abs(d[:, 0]),
            "tip_error_axial": np.abs(d[:, 1]),
            "angle_difference": np.minimum(diff, 360.0 - diff),
        }
    closed = kind == ShapeKind.REGION
    means, h95s = curve_distances_batch(
        [x * s for x in frames_a], [y * s for y in frames_b], closed=closed
    )
    if not closed:
        return {"mean_distance": means, "hausdorff_95": h95s}
    dice, iou = overlap_batch(frames_a, frames_b, image_size)
    return {"dice": dice, "iou": iou, "mean_distance": means}


def frame_measurements(
    kind: ShapeKind,
    a: np.ndarray,
    b: np.ndarray,
    scale: tuple[float, float],
    image_size: tuple[int, int],
) -> dict[str, float]:
    """The measurements of one frame of one pair: ``a`` and ``b`` in image pixels,
    ``scale`` (units per px along x, y: mm per px, or 1 for px)."""
    values = pair_measurements(kind, [a], [b], scale, image_size)
    return {name: float(array[0]) for name, array in values.items()}


# ------------------------------------------------------------------- pairing
def _geometry(obj: AnnotatedObject, n_frames: int) -> dict[int, np.ndarray]:
    return {f: g[0] for f, g in obj.all_geometry(n_frames).items()}


def pair_tracks(
    tracks_a: list[AnnotatedObject],
    tracks_b: list[AnnotatedObject],
    cost: Callable[[AnnotatedObject, AnnotatedObject], float],
) -> list[tuple[AnnotatedObject | None, AnnotatedObject | None]]:
    """Pairs of tracks of one label: the pair that agrees best first, then the best of
    the rest... (greedy: a rater leaves a handful of tracks of one label, where it gives
    the optimal assignment in all but contrived cases; no SciPy needed). Tracks left
    over are returned alone."""
    candidates = sorted(
        ((cost(a, b), i, j) for i, a in enumerate(tracks_a) for j, b in enumerate(tracks_b)),
        key=lambda c: (c[0], c[1], c[2]),
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[tuple[AnnotatedObject | None, AnnotatedObject | None]] = []
    for value, i, j in candidates:
        if i in used_a or j in used_b or math.isinf(value):
            continue
        used_a.add(i)
        used_b.add(j)
        pairs.append((tracks_a[i], tracks_b[j]))
    pairs += [(a, None) for i, a in enumerate(tracks_a) if i not in used_a]
    pairs += [(None, b) for j, b in enumerate(tracks_b) if j not in used_b]
    return pairs


# ------------------------------------------------------------------- compare
def compare(
    a: Annotations,
    b: Annotations,
    *,
    n_frames: int,
    image_size: tuple[int, int],
    regions: Iterable[Region] = (),
) -> AgreementReport:
    """Compare two raters' annotations of one loop (``image_size`` = ``(columns, rows)``;
    ``regions`` its ultrasound regions)."""
    regions = list(regions)
    geometry_a = {obj.id: _geometry(obj, n_frames) for obj in a.objects}
    geometry_b = {obj.id: _geometry(obj, n_frames) for obj in b.objects}
    scale, unit, reason = _common_scale(a, b, geometry_a, geometry_b, regions, image_size)
    report = AgreementReport(length_unit=unit, unit_reason=reason)

    def pair_cost(x: AnnotatedObject, y: AnnotatedObject, *, rank: bool = True) -> float:
        gx, gy = geometry_a[x.id], geometry_b[y.id]
        if gx.keys().isdisjoint(gy.keys()):
            return math.inf
        if not rank and x.kind == y.kind:
            return 0.0  # one track each: they pair if they share a frame, whatever the cost
        common = sorted(gx.keys() & gy.keys())
        step = max(1, len(common) // 20)  # a sample of the frames is enough to pair
        sample = common[::step]
        if x.kind in (ShapeKind.POLYLINE, ShapeKind.REGION):  # only the mean distance
            s = np.asarray(scale, dtype=np.float64)
            means, _ = curve_distances_batch(
                [gx[f] * s for f in sample],
                [gy[f] * s for f in sample],
                closed=x.kind == ShapeKind.REGION,
            )
            return float(np.mean(means))
        values = pair_measurements(
            x.kind, [gx[f] for f in sample], [gy[f] for f in sample], scale, image_size
        )
        return float(np.mean(values[_PAIRING[x.kind]]))

    labels = list(dict.fromkeys([o.label_id for o in a.objects] + [o.label_id for o in b.objects]))
    for label in labels:
        tracks_a = [o for o in a.objects if o.label_id == label]
        tracks_b = [o for o in b.objects if o.label_id == label]
        kinds = {o.kind for o in tracks_a + tracks_b}
        if len(kinds) != 1:  # the label means different shapes to the two raters
            tracks_a = [o for o in tracks_a if o.kind == next(iter(kinds))]
        rank = len(tracks_a) > 1 or len(tracks_b) > 1
        cost = pair_cost if rank else functools.partial(pair_cost, rank=False)
        for x, y in pair_tracks(tracks_a, tracks_b, cost):
            _compare_pair(report, label, x, y, geometry_a, geometry_b, scale, unit, image_size)
    return report


def _compare_pair(
    report: AgreementReport,
    label: str,
    x: AnnotatedObject | None,
    y: AnnotatedObject | None,
    geometry_a: dict[str, dict[int, np.ndarray]],
    geometry_b: dict[str, dict[int, np.ndarray]],
    scale: tuple[float, float],
    unit: str,
    image_size: tuple[int, int],
) -> None:
    gx = geometry_a[x.id] if x is not None else {}
    gy = geometry_b[y.id] if y is not None else {}
    only_a = len(gx.keys() - gy.keys())
    only_b = len(gy.keys() - gx.keys())
    if x is None or y is None:
        report.summary.append(
            TrackSummary(
                label, x and x.id, y and y.id, None, None, 0, None, None, None, only_a, only_b
            )
        )
        return
    kind = x.kind
    common = sorted(gx.keys() & gy.keys())
    values = {m: np.empty(0) for m in _MEASUREMENTS[kind]}
    if common:
        values = pair_measurements(
            kind, [gx[f] for f in common], [gy[f] for f in common], scale, image_size
        )
    names = list(values)
    columns = [values[name].tolist() for name in names]
    units = [_unit(name, unit) for name in names]
    for index, frame in enumerate(common):
        for name, column, name_unit in zip(names, columns, units, strict=True):
            report.rows.append(
                AgreementRow(frame, label, name, column[index], name_unit, x.id, y.id)
            )
    for name in names:
        arr = values[name]
        stats = (
            (float(arr.mean()), float(np.median(arr)), float(arr.max()))
            if len(arr)
            else (None,) * 3
        )
        report.summary.append(
            TrackSummary(
                label, x.id, y.id, name, _unit(name, unit), len(arr), *stats, only_a, only_b
            )
        )


def _unit(measurement: str, length_unit: str) -> str:
    if measurement in _LENGTHS:
        return length_unit
    return "deg" if measurement == "angle_difference" else "ratio"


def _common_scale(
    a: Annotations,
    b: Annotations,
    geometry_a: dict[str, dict[int, np.ndarray]],
    geometry_b: dict[str, dict[int, np.ndarray]],
    regions: list[Region],
    image_size: tuple[int, int],
) -> tuple[tuple[float, float], str, str]:
    """One scale for every length of the comparison: mm when both sidecars' calibration
    (manual, else the regions) measures all their points alike, else px and why."""
    answers = []
    for marks, geometry in ((a, geometry_a), (b, geometry_b)):
        arrays = [p for frames in geometry.values() for p in frames.values()]
        if not arrays:
            continue
        # The extreme points stand for all of them (a region is a rectangle).
        stacked = np.vstack(arrays)
        corners = np.array(
            [stacked.min(axis=0), stacked.max(axis=0), [stacked[:, 0].min(), stacked[:, 1].max()],
             [stacked[:, 0].max(), stacked[:, 1].min()]]
        )  # fmt: skip
        answers.append(calibration_lookup(marks, regions, image_size)(corners))
    if not answers:
        return (1.0, 1.0), "px", "nothing marked"
    if any(c.unit != "mm" for c in answers):
        reason = next(c.reason for c in answers if c.unit != "mm")
        return (1.0, 1.0), "px", reason or "no usable calibration"
    scales = {(round(c.mm_per_px_x, 9), round(c.mm_per_px_y, 9)) for c in answers}
    if len(scales) != 1:
        return (1.0, 1.0), "px", "the two sidecars are calibrated differently"
    return next(iter(scales)), "mm", ""


__all__ = [
    "CURVE_SAMPLES",
    "ROW_COLUMNS",
    "SUMMARY_KEYS",
    "AgreementError",
    "AgreementReport",
    "AgreementRow",
    "TrackSummary",
    "compare",
    "curve_distances",
    "curve_distances_batch",
    "fill_outline",
    "frame_measurements",
    "overlap",
    "pair_measurements",
    "pair_tracks",
    "point_to_curve",
    "resample_batch",
    "resample_by_arc_length",
]
