"""Measurements of marked shapes in millimetres (or pixels when uncalibrated), no Qt.

Conventions
-----------
- Points are ``(N, 2)`` arrays of ``(x, y)`` = (column, row) in image pixels, floats,
  ``(0, 0)`` at the top-left corner of the top-left pixel; y grows downwards (deeper).
- Every function takes a :class:`~usannotate.cine.calibration.Calibration`. When
  ``calibration.is_mm`` the x and y offsets are scaled separately by ``mm_per_px_x`` and
  ``mm_per_px_y`` *before* anything is computed (lengths, projections, nearest points,
  angles), so anisotropic pixels are measured correctly. Units are then ``"mm"`` and
  ``"mm2"``; otherwise ``"px"`` and ``"px2"``. Angles are always ``"deg"``.
- Deciding the calibration is the caller's job (:func:`measure_frame` does it): one
  ultrasound region must hold every point a measurement spans, else it is in px.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from usannotate.annotations.geometry import nearest_on_outline
from usannotate.annotations.kinds import ShapeKind
from usannotate.annotations.model import (
    AnnotatedObject,
    Annotations,
    as_points,
)
from usannotate.cine.calibration import Calibration, Region

__all__ = [
    "MEASUREMENT_TITLES",
    "Measurement",
    "Row",
    "distance_point_to_polyline",
    "fluid_extent_along_plane",
    "is_fluid_label",
    "measure_frame",
    "needle_measurements",
    "point_depth",
    "polyline_length",
    "region_area",
    "tip_to_nearest_plane",
]

#: Human titles of the measurement names, for tables and tooltips.
MEASUREMENT_TITLES = {
    "length": "Length",
    "angle": "Insertion angle",
    "tip_depth": "Tip depth",
    "tip_to_plane": "Tip to nearest plane",
    "area": "Area",
    "extent_along_plane": "Extent along plane",
    "depth": "Depth",
}


@dataclass(frozen=True)
class Measurement:
    """One measured value.

    Attributes
    ----------
    name
        Machine name: ``length``, ``angle``, ``tip_depth``, ``tip_to_plane``, ``area``,
        ``extent_along_plane``, ``depth`` (see :data:`MEASUREMENT_TITLES`).
    value
        The number, unrounded; NaN when undefined (the angle of a zero-length needle).
    unit
        ``"mm"``, ``"mm2"``, ``"deg"``, ``"px"`` or ``"px2"``.
    """

    name: str
    value: float
    unit: str


@dataclass(frozen=True)
class Row:
    """One measurement of one object on one frame, as :func:`measure_frame` lists them.

    Attributes
    ----------
    frame
        0-based frame index.
    object_id, label_id, label_name, kind
        The measured object, its label id and the label's name, its shape kind
        (``"polyline"``, ``"needle"``, ``"region"``, ``"point"``).
    measurement, value, unit
        As in :class:`Measurement`.
    reference
        For ``tip_to_plane`` and ``extent_along_plane``: the object id of the fascial
        plane measured against; otherwise ``""``.
    source
        Where the object's geometry on this frame comes from: ``"keyframe"``,
        ``"interpolated"`` or ``"tracked"``.
    unit_reason
        Why this value was measured in pixels (``px`` / ``px2``, or for an angle on the
        pixel grid rather than in mm), naming the point and the region, e.g. ``"point 1
        of 8 is outside region 1"``; ``""`` when it was measured in mm.
    """

    frame: int
    object_id: str
    label_id: str
    label_name: str
    kind: str
    measurement: str
    value: float
    unit: str
    reference: str = ""
    source: str = "keyframe"
    unit_reason: str = ""

    @classmethod
    def of(
        cls,
        frame: int,
        obj: AnnotatedObject,
        label_name: str,
        measured: Measurement,
        reference: str,
        source: str,
        unit_reason: str,
    ) -> Row:
        """The row of ``measured`` of ``obj`` on ``frame`` (its ids and kind from ``obj``)."""
        return cls(
            frame,
            obj.id,
            obj.label_id,
            label_name,
            obj.kind.value,
            measured.name,
            measured.value,
            measured.unit,
            reference,
            source,
            unit_reason,
        )


# ---------------------------------------------------------------------------- helpers
def _scale(cal: Calibration) -> np.ndarray:
    """``[sx, sy]``: what multiplies pixel offsets into the measuring unit."""
    if cal.is_mm:
        return np.array([cal.mm_per_px_x, cal.mm_per_px_y], dtype=np.float64)
    return np.ones(2, dtype=np.float64)


def _unit(cal: Calibration, power: int = 1) -> str:
    base = "mm" if cal.is_mm else "px"
    return base if power == 1 else f"{base}{power}"


def _points(points: object, what: str, at_least: int = 1) -> np.ndarray:
    array = as_points(points)  # type: ignore[arg-type]
    if len(array) < at_least:
        raise ValueError(f"{what} needs {at_least} or more (x, y) points, got {len(array)}")
    return array


def _closest_on_polyline(point: np.ndarray, polyline: np.ndarray) -> tuple[float, float, int]:
    """Closest point of an (already scaled) polyline to an (already scaled) point.

    Returns ``(distance, arc_length, segment)``: the distance, the arc length from the
    polyline's first point to the closest point, and the index of its segment.
    """
    nearest = nearest_on_outline(polyline, False, point)
    return nearest.distance, nearest.arc_length(polyline), nearest.segment


def _project_onto_polyline(
    points: np.ndarray, polyline: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Arc length and position (both in the polyline's scaled space) of each point's
    closest point on the polyline.

    All points against all segments at once (an ``(N, M - 1)`` array): the same closest
    segment as :func:`~usannotate.annotations.geometry.nearest_on_outline` per point (the
    first of equally near ones), 20x faster for a fluid outline than a call per vertex,
    which was most of an SR export's measuring time.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    polyline = np.asarray(polyline, dtype=np.float64)
    if len(polyline) == 1:
        return np.zeros(len(points)), np.repeat(polyline, len(points), axis=0)
    starts, ends = polyline[:-1], polyline[1:]
    direction = ends - starts  # (M - 1, 2)
    length2 = np.einsum("ij,ij->i", direction, direction)
    offsets = points[:, None, :] - starts[None, :, :]  # (N, M - 1, 2)
    t = np.einsum("nij,ij->ni", offsets, direction) / np.where(length2 > 0, length2, 1.0)
    t = np.clip(t, 0.0, 1.0)
    feet = starts[None, :, :] + t[:, :, None] * direction[None, :, :]
    distances = np.hypot(feet[..., 0] - points[:, None, 0], feet[..., 1] - points[:, None, 1])
    segment = np.argmin(distances, axis=1)
    rows = np.arange(len(points))
    seg_len = np.hypot(direction[:, 0], direction[:, 1])
    cumulative = np.concatenate([[0.0], np.cumsum(seg_len)])
    arcs = cumulative[segment] + t[rows, segment] * seg_len[segment]
    return arcs, feet[rows, segment]


def _centroid(outline: np.ndarray) -> np.ndarray:
    """Area centroid of a closed polygon (vertex mean when its area is zero)."""
    x, y = outline.T
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area2 = cross.sum()
    if abs(area2) < 1e-12:
        return outline.mean(axis=0)
    return np.array([((x + xn) * cross).sum(), ((y + yn) * cross).sum()]) / (3.0 * area2)


def _skin_y(cal: Calibration, region: Region | None) -> float:
    """Row of the skin line (px, pixel-corner convention) depths are measured from.

    An explicit ``region`` wins; else the calibration's region when it gives mm; else
    the image top (0). The skin line is the region's top edge plus its reference pixel
    row (the transducer face of a linear probe), when the region has one.
    """
    if region is None and cal.is_mm:
        region = cal.region
    if region is None:
        return 0.0
    ref_y = region.reference_pixel[1] if region.reference_pixel is not None else 0
    return float(region.bounds[1] + ref_y)


# ------------------------------------------------------------------------ measurements
def polyline_length(points: object, cal: Calibration) -> Measurement:
    """Length of an open polyline (sum of its segments).

    Parameters
    ----------
    points
        ``(N, 2)`` ``(x, y)`` image pixels, N >= 1.
    cal
        mm when ``cal.is_mm`` (x and y scaled separately), else px.

    Returns
    -------
    Measurement
        ``length`` in ``mm`` or ``px``.
    """
    pts = _points(points, "a polyline") * _scale(cal)
    return Measurement("length", float(np.hypot(*np.diff(pts, axis=0).T).sum()), _unit(cal))


def needle_measurements(
    points: object, cal: Calibration, region: Region | None = None
) -> dict[str, Measurement]:
    """Length, insertion angle and tip depth of a needle marked entry -> tip.

    Parameters
    ----------
    points
        ``(2, 2)``: the entry point, then the tip, ``(x, y)`` image pixels.
    cal
        mm when ``cal.is_mm`` (x and y scaled separately, also for the angle), else px.
    region
        The region whose skin line tip depth is measured from. Default: ``cal.region``
        when ``cal.is_mm``; when uncalibrated, the image top (row 0).

    Returns
    -------
    dict
        ``"length"``: entry to tip, mm or px.
        ``"angle"``: insertion angle in degrees, the *acute* angle between the needle
        line and the image x axis (the transducer face of a linear probe), in
        ``[0, 90]`` and always positive whichever side the needle comes from; NaN for a
        zero-length needle.
        ``"tip_depth"``: the tip's depth below the skin line (``region.bounds[1]`` plus
        the region's reference pixel row), mm or px; negative above it.
    """
    pts = _points(points, "a needle", at_least=2)
    if len(pts) != 2:
        raise ValueError(f"a needle needs exactly two (x, y) points (entry, tip), got {len(pts)}")
    entry, tip = pts
    dx, dy = (tip - entry) * _scale(cal)
    length = math.hypot(dx, dy)
    angle = math.degrees(math.atan2(abs(dy), abs(dx))) if length > 0 else math.nan
    depth = (tip[1] - _skin_y(cal, region)) * _scale(cal)[1]
    return {
        "length": Measurement("length", length, _unit(cal)),
        "angle": Measurement("angle", angle, "deg"),
        "tip_depth": Measurement("tip_depth", float(depth), _unit(cal)),
    }


def point_depth(point: object, cal: Calibration, region: Region | None = None) -> Measurement:
    """Depth of a point below the skin line, as for a needle tip.

    Parameters
    ----------
    point
        One ``(x, y)`` image pixel position.
    cal, region
        As for :func:`needle_measurements`: below the region's skin line in mm when
        calibrated, else px below the image top (or below ``region``'s skin line in px
        when one is given).

    Returns
    -------
    Measurement
        ``depth`` in ``mm`` or ``px``; negative above the skin line.
    """
    p = _points(point, "a point")[-1]
    return Measurement("depth", float((p[1] - _skin_y(cal, region)) * _scale(cal)[1]), _unit(cal))


def distance_point_to_polyline(point: object, polyline: object, cal: Calibration) -> Measurement:
    """Shortest distance from a point to an open polyline (any point of any segment).

    Parameters
    ----------
    point
        One ``(x, y)`` image pixel position.
    polyline
        ``(N, 2)`` ``(x, y)`` image pixels, N >= 1.
    cal
        mm when ``cal.is_mm`` (x and y scaled separately before the search), else px.

    Returns
    -------
    Measurement
        ``distance`` in ``mm`` or ``px``.
    """
    scale = _scale(cal)
    p = _points(point, "a point")[-1] * scale
    line = _points(polyline, "a polyline") * scale
    return Measurement("distance", _closest_on_polyline(p, line)[0], _unit(cal))


def tip_to_nearest_plane(
    needle_points: object, planes: Mapping[str, object], cal: Calibration
) -> tuple[str, Measurement]:
    """Distance from the needle tip to the nearest fascial plane.

    Parameters
    ----------
    needle_points
        ``(2, 2)`` entry then tip; only the tip (last point) is used.
    planes
        Plane name (or object id) -> ``(N, 2)`` polyline points.
    cal
        mm when ``cal.is_mm``, else px; the same scaling picks the nearest plane.

    Returns
    -------
    (name, Measurement)
        The nearest plane's key and ``tip_to_plane`` in ``mm`` or ``px`` (unsigned).

    Raises
    ------
    ValueError
        ``planes`` is empty.
    """
    if not planes:
        raise ValueError("no fascial plane to measure the needle tip against")
    tip = _points(needle_points, "a needle")[-1]
    nearest, distance = _nearest_plane(tip, planes, cal)
    return nearest, Measurement("tip_to_plane", distance, _unit(cal))


def _nearest_plane(
    point: np.ndarray, planes: Mapping[str, object], cal: Calibration
) -> tuple[str, float]:
    """Key of the polyline nearest to ``point`` (image px) and its scaled distance."""
    scale = _scale(cal)
    distances = {
        name: _closest_on_polyline(point * scale, _points(line, f"plane {name!r}") * scale)[0]
        for name, line in planes.items()
    }
    nearest = min(distances, key=distances.__getitem__)
    return nearest, distances[nearest]


def region_area(points: object, cal: Calibration) -> Measurement:
    """Area of a closed region (shoelace formula; first point not repeated).

    Parameters
    ----------
    points
        ``(N, 2)`` ``(x, y)`` image pixels, N >= 3, the outline in either direction.
    cal
        mm² (``mm_per_px_x * mm_per_px_y`` per px²) when ``cal.is_mm``, else px².

    Returns
    -------
    Measurement
        ``area`` in ``mm2`` or ``px2`` (absolute value).
    """
    pts = _points(points, "a region", at_least=3)
    x, y = pts.T
    area_px2 = 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))
    scale = _scale(cal)
    return Measurement("area", area_px2 * float(scale[0] * scale[1]), _unit(cal, 2))


def fluid_extent_along_plane(
    region_points: object, plane_points: object, cal: Calibration
) -> Measurement:
    """How far a fluid region spreads along a fascial plane.

    Each outline vertex is projected onto the plane polyline (its closest point, found
    in scaled space) and expressed as arc length from the plane's first point; the
    extent is the largest minus the smallest arc length.

    Parameters
    ----------
    region_points
        ``(N, 2)`` outline of the fluid, ``(x, y)`` image pixels, N >= 3.
    plane_points
        ``(M, 2)`` the plane's polyline, M >= 2.
    cal
        mm when ``cal.is_mm`` (x and y scaled separately), else px.

    Returns
    -------
    Measurement
        ``extent_along_plane`` in ``mm`` or ``px``.
    """
    arcs, _ = _extent_projection(region_points, plane_points, cal)
    return Measurement("extent_along_plane", float(arcs.max() - arcs.min()), _unit(cal))


def _extent_projection(
    region_points: object, plane_points: object, cal: Calibration
) -> tuple[np.ndarray, np.ndarray]:
    """Arc lengths (scaled) and feet (image px) of the outline's projection on the plane."""
    scale = _scale(cal)
    outline = _points(region_points, "a region", at_least=3) * scale
    plane = _points(plane_points, "a plane", at_least=2) * scale
    arcs, feet = _project_onto_polyline(outline, plane)
    return arcs, feet / scale


def is_fluid_label(label_id: str, group: str = "") -> bool:
    """Whether a label marks injected fluid: group ``"fluid"``, or id ``fluid`` /
    ``fluid.*`` (the default set's ``fluid.injectate``)."""
    return group == "fluid" or label_id == "fluid" or label_id.startswith("fluid.")


# -------------------------------------------------------------------------- one frame
def measure_frame(
    annotations: Annotations,
    frame: int,
    calibration_for: Callable[[np.ndarray], Calibration],
) -> list[Row]:
    """Measure every object marked on ``frame``.

    Parameters
    ----------
    annotations
        The loop's annotations.
    frame
        0-based frame index.
    calibration_for
        ``(N, 2)`` image points -> :class:`Calibration`, typically
        ``loop.calibration_for_points``. It is asked about exactly the points each
        measurement spans, so one region must hold them all for mm (never mixed).

    Returns
    -------
    list of Row
        In object drawing order, per object:

        - needle: ``length``, ``angle``, ``tip_depth`` (calibrated by the needle's two
          points) and, when planes (polyline objects) are marked on the frame,
          ``tip_to_plane`` to the nearest one (calibrated by the tip and its closest
          point on that plane; ``reference`` = the plane's object id);
        - polyline: ``length``;
        - region: ``area``; for injected fluid (see :func:`is_fluid_label`) also
          ``extent_along_plane`` along the plane nearest to the region's centroid
          (calibrated by the outline plus the stretch of plane it spans);
        - point: ``depth``.

        Undefined values (the angle of a zero-length needle) are left out.
    """
    shown = [(o, o.geometry(frame)) for o in annotations.objects]
    present = [(o, found) for o, found in shown if found is not None]
    planes = {o.id: found[0] for o, found in present if o.kind is ShapeKind.POLYLINE}
    rows: list[Row] = []
    for obj, (points, source) in present:
        label = annotations.label_set.get(obj.label_id)
        cal = calibration_for(points)
        own = _why_px(cal)
        measured: list[tuple[Measurement, str, str]] = []  # value, reference, unit reason
        if obj.kind is ShapeKind.NEEDLE:
            measured += [(m, "", own) for m in needle_measurements(points, cal).values()]
            if planes:
                plane_id, _ = tip_to_nearest_plane(points, planes, cal)
                tip = points[-1]
                foot = _foot_on_polyline(tip, planes[plane_id], cal)
                pair_cal = calibration_for(np.vstack([tip, foot]))
                m = distance_point_to_polyline(tip, planes[plane_id], pair_cal)
                reason = _derived_reason(
                    pair_cal, cal, "the plane's closest point to the needle tip is outside"
                )
                measured.append((Measurement("tip_to_plane", m.value, m.unit), plane_id, reason))
        elif obj.kind is ShapeKind.POLYLINE:
            measured.append((polyline_length(points, cal), "", own))
        elif obj.kind is ShapeKind.REGION:
            measured.append((region_area(points, cal), "", own))
            fluid = is_fluid_label(obj.label_id, label.group if label is not None else "")
            if planes and fluid:
                plane_id, _ = _nearest_plane(_centroid(points), planes, cal)
                extent, span_cal = _extent_in_one_region(
                    points, planes[plane_id], cal, calibration_for
                )
                reason = _derived_reason(
                    span_cal, cal, "the stretch of plane the fluid spans leaves"
                )
                measured.append((extent, plane_id, reason))
        elif obj.kind is ShapeKind.POINT:
            measured.append((point_depth(points, cal), "", own))
        label_name = label.name if label is not None else obj.label_id
        rows += [
            Row.of(frame, obj, label_name, m, reference, source.value, reason)
            for m, reference, reason in measured
            if math.isfinite(m.value)
        ]
    return rows


def _why_px(cal: Calibration) -> str:
    return "" if cal.is_mm else cal.reason


def _derived_reason(derived: Calibration, own: Calibration, what: str) -> str:
    """Why a value measured over the mark's points plus others (``derived``) is in px,
    told about the mark: its own reason when the mark itself is in px, else what left
    the region the mark lies in."""
    if derived.is_mm:
        return ""
    if not own.is_mm:
        return own.reason
    if derived.region is not None or own.region_number is None:  # a region that cannot be used
        return derived.reason
    return f"{what} region {own.region_number}"


def _extent_in_one_region(
    outline: np.ndarray,
    plane: np.ndarray,
    cal: Calibration,
    calibration_for: Callable[[np.ndarray], Calibration],
) -> tuple[Measurement, Calibration]:
    """:func:`fluid_extent_along_plane`, in mm only if one region holds the outline, its
    projections and the stretch of plane between them (all of which are measured); and
    the calibration it was measured with."""
    arcs, feet = _extent_projection(outline, plane, cal)
    plane_arcs = np.concatenate(
        [[0.0], np.cumsum(np.hypot(*np.diff(plane * _scale(cal), axis=0).T))]
    )
    spanned = plane[(plane_arcs >= arcs.min()) & (plane_arcs <= arcs.max())]
    span_cal = calibration_for(np.vstack([outline, feet, spanned]))
    return fluid_extent_along_plane(outline, plane, span_cal), span_cal


def _foot_on_polyline(point: np.ndarray, polyline: np.ndarray, cal: Calibration) -> np.ndarray:
    """Closest point (image px) of ``polyline`` to ``point``, searched in scaled space."""
    scale = _scale(cal)
    _, feet = _project_onto_polyline((point * scale)[None, :], polyline * scale)
    return feet[0] / scale
