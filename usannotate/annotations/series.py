"""Measurements followed over a loop, as the Curves dock plots them (no Qt).

Every series a user can pick, the ones shown by default, their values, and one unit per
panel.

Glossary
--------
series
    One measurement of one track over the loop ("Vessel 1 · Area"): its value on every
    frame where the track exists, each with the frame's source (keyframe, interpolated,
    tracked).
panel
    The plotted series of one measurement, on one axis, in one unit.
default series
    Plotted unless the user removes them: the area of each injected fluid region and the
    tip depth of each needle.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from usannotate.annotations.calibration import CalibrationFor, calibration_lookup, measures_in_mm
from usannotate.annotations.hydro import HYDRO_TITLES, frame_hydro_rows
from usannotate.annotations.marking import track_titles
from usannotate.annotations.measurements import (
    MEASUREMENT_TITLES,
    is_fluid_label,
    measure_frame,
    needle_measurements,
    point_depth,
    polyline_length,
    region_area,
)
from usannotate.annotations.model import (
    AnnotatedObject,
    Annotations,
    FrameSource,
    Label,
    ShapeKind,
)
from usannotate.annotations.rates import RATE_OF, central_rates, rate_unit

if TYPE_CHECKING:
    from usannotate.cine import CineLoop

__all__ = [
    "PANEL_ORDER",
    "SERIES_MEASUREMENTS",
    "CurveChoice",
    "CurveSeries",
    "PanelSeries",
    "SeriesKey",
    "SeriesOption",
    "SeriesSource",
    "SeriesValue",
    "curve_panels",
    "measurement_series",
    "panel_unit",
    "series_options",
    "series_values",
    "track_measurements",
]

#: The measurements :func:`measurement_series` follows, by shape kind: those of the mark's
#: own points. ``tip_to_plane`` and ``extent_along_plane`` are measured against the planes
#: on each frame (:func:`series_values` asks :func:`measure_frame` for them).
SERIES_MEASUREMENTS = {
    ShapeKind.REGION: ("area",),
    ShapeKind.NEEDLE: ("length", "angle", "tip_depth"),
    ShapeKind.POLYLINE: ("length",),
    ShapeKind.POINT: ("depth",),
}

#: Panels top to bottom: the default ones first, then as the Measurements dock lists them.
PANEL_ORDER = (
    "area",
    "tip_depth",
    "angle",
    "tip_to_plane",
    "length",
    "extent_along_plane",
    "depth",
    "plane_separation",
    "fluid_thickness",
    "plane_separation_at_tip",
    "insertion_depth",
    "spread_rate",
    "area_rate",
    "advance_rate",
)
#: Titles of every series (the hydrodissection measures' with the others').
_TITLES = {**MEASUREMENT_TITLES, **HYDRO_TITLES}

#: The default panels, shown (empty, with this text) until such a track is marked.
_DEFAULT_EMPTY_TEXT = {"area": "No injected fluid marked", "tip_depth": "No needle marked"}

#: Measurements whose values grow downward, like depth in the image.
_DEPTHS = frozenset({"tip_depth", "depth"})

#: Measured against the nearest fascial plane on each frame.
_AGAINST_PLANES = frozenset({"tip_to_plane", "extent_along_plane"})

#: Measured by annotations.hydro (frame_hydro_rows), against the planes on each frame.
_HYDRO = frozenset(
    {"plane_separation", "fluid_thickness", "plane_separation_at_tip", "insertion_depth"}
)


@dataclass(frozen=True)
class SeriesValue:
    """One frame's value of a measurement followed through a track (``unit`` as in
    :class:`~usannotate.annotations.measurements.Measurement`)."""

    frame: int
    value: float
    unit: str
    source: FrameSource


@dataclass(frozen=True)
class SeriesKey:
    """Which series: a track (object id) and one of its measurements' names."""

    object_id: str
    measurement: str


@dataclass(frozen=True)
class SeriesOption:
    """A series the user can plot, named as the picker lists it.

    Attributes
    ----------
    key
        The track and measurement.
    track
        The track's title ("Vessel 1": its name, or its label's, numbered when labels
        repeat; see :func:`track_titles`).
    measurement_title
        The measurement's title ("Area"; see ``MEASUREMENT_TITLES``).
    colour
        The track's label colour, ``"#rrggbb"``.
    default
        Plotted unless the user removes it (fluid area, needle tip depth).
    """

    key: SeriesKey
    track: str
    measurement_title: str
    colour: str
    default: bool

    @property
    def title(self) -> str:
        """E.g. ``"Vessel 1 · Area"``."""
        return f"{self.track} · {self.measurement_title}"


@dataclass(frozen=True)
class CurveChoice:
    """What the user changed from the default series: the ones added, the defaults removed.

    A track marked later follows the rule: a new fluid region's area is plotted, a new
    vessel's is not, until picked.
    """

    added: frozenset[SeriesKey] = frozenset()
    removed: frozenset[SeriesKey] = frozenset()

    def shows(self, option: SeriesOption) -> bool:
        """Whether ``option`` is plotted."""
        if option.default:
            return option.key not in self.removed
        return option.key in self.added

    def showing(self, option: SeriesOption, shown: bool) -> CurveChoice:
        """This choice with ``option`` plotted (``shown``) or not."""
        added, removed = set(self.added), set(self.removed)
        added.discard(option.key)
        removed.discard(option.key)
        if shown and not option.default:
            added.add(option.key)
        elif not shown and option.default:
            removed.add(option.key)
        return CurveChoice(frozenset(added), frozenset(removed))

    def plotted(self, options: Iterable[SeriesOption]) -> list[SeriesOption]:
        """The options plotted, in the order given."""
        return [option for option in options if self.shows(option)]


@dataclass(frozen=True)
class SeriesSource:
    """What the series of one loop are measured from.

    Attributes
    ----------
    annotations
        The loop's marks.
    n_frames
        Frames in the loop; a track's frames at or beyond it are left out.
    calibration_for
        The loop's calibration look-up (:func:`calibration_lookup`).
    calibrated_mm
        Whether the loop's calibration gives mm at all: the unit of a panel with no
        values yet.
    loop_key
        Names the loop (its path), so a view can keep each loop's choice of series.
    """

    annotations: Annotations
    n_frames: int
    calibration_for: CalibrationFor
    calibrated_mm: bool
    loop_key: str = ""
    #: Each frame's time from the loop's start (s), for the rates; empty: no rates.
    times_s: tuple[float, ...] = ()

    @classmethod
    def of_loop(cls, annotations: Annotations, loop: CineLoop) -> SeriesSource:
        """The source for ``annotations`` on ``loop``: its regions (or the manual
        calibration) measure, its frame count bounds the series."""
        size = (loop.columns, loop.rows)
        calibration_for = calibration_lookup(annotations, loop.regions, size)
        in_mm = measures_in_mm(loop.regions, size, calibration_for)
        times = tuple(float(t) / 1000.0 for t in loop.frame_start_times_ms())
        return cls(annotations, loop.n_frames, calibration_for, in_mm, str(loop.path), times)


@dataclass(frozen=True)
class CurveSeries:
    """One plotted series: the track's title and label colour, and its values in the
    panel's unit (frames measured in another unit are left out: gaps)."""

    key: SeriesKey
    name: str
    colour: str
    values: list[SeriesValue]


@dataclass(frozen=True)
class PanelSeries:
    """One panel: the series of one measurement.

    Attributes
    ----------
    measurement
        The measurement's name (``"area"``).
    title
        ``"Fluid area"``, ``"Needle tip depth"``, ``"Vessel area"``, ``"Area"`` ...
    unit
        ``"mm"``, ``"mm2"``, ``"px"``, ``"px2"`` or ``"deg"``: one per panel.
    curves
        In the tracks' drawing order; a curve may have no values.
    invert_y
        Values grow downward (depths, like the image).
    empty_text
        What the panel says while no curve has a value.
    """

    measurement: str
    title: str
    unit: str
    curves: list[CurveSeries]
    invert_y: bool
    empty_text: str


def _is_fluid(obj: AnnotatedObject, label: Label | None) -> bool:
    return obj.kind is ShapeKind.REGION and is_fluid_label(
        obj.label_id, label.group if label is not None else ""
    )


def track_measurements(obj: AnnotatedObject, label: Label | None = None) -> tuple[str, ...]:
    """The measurements :func:`measure_frame` gives a track of ``obj``'s kind, in its
    order: a needle's length, angle, tip depth, tip to nearest plane, insertion depth and
    plane separation at the tip; a plane's length; a region's area (and, for injected
    fluid, extent along the plane, thickness and plane separation); a point's depth."""
    if obj.kind is ShapeKind.NEEDLE:
        return (
            "length",
            "angle",
            "tip_depth",
            "tip_to_plane",
            "insertion_depth",
            "plane_separation_at_tip",
            "advance_rate",
        )
    if obj.kind is ShapeKind.POLYLINE:
        return ("length",)
    if obj.kind is ShapeKind.REGION:
        if _is_fluid(obj, label):
            return (
                "area",
                "extent_along_plane",
                "fluid_thickness",
                "plane_separation",
                "spread_rate",
                "area_rate",
            )
        return ("area", "area_rate")
    return ("depth",)


def _is_default(obj: AnnotatedObject, label: Label | None, measurement: str) -> bool:
    if measurement == "area":
        return _is_fluid(obj, label)
    return measurement == "tip_depth" and obj.kind is ShapeKind.NEEDLE


def series_options(annotations: Annotations) -> list[SeriesOption]:
    """Every series the user can plot: each track times each of its measurements, in the
    tracks' drawing order."""
    titles = track_titles(annotations)
    options = []
    for obj in annotations.objects:
        label = annotations.label_set.get(obj.label_id)
        colour = label.colour if label is not None else "#999999"
        for measurement in track_measurements(obj, label):
            options.append(
                SeriesOption(
                    SeriesKey(obj.id, measurement),
                    titles[obj.id],
                    _TITLES[measurement],
                    colour,
                    _is_default(obj, label, measurement),
                )
            )
    return options


def measurement_series(
    obj: AnnotatedObject,
    measurement: str,
    calibration_for: CalibrationFor,
    n_frames: int | None = None,
) -> list[SeriesValue]:
    """``measurement`` of ``obj``'s own points on every frame where its track exists.

    Parameters
    ----------
    obj
        A region (``"area"``), a needle (``"length"``, ``"angle"``, ``"tip_depth"``), a
        polyline (``"length"``) or a point (``"depth"``).
    calibration_for
        As for :func:`measure_frame` (one region must hold the measured points).
    n_frames
        Frames at or beyond it are left out.

    Returns
    -------
    list of SeriesValue
        In frame order, with each frame's source; undefined values (the angle of a
        zero-length needle) are left out.

    Raises
    ------
    ValueError
        ``measurement`` is not one this kind of object has a series of.
    """
    if measurement not in SERIES_MEASUREMENTS.get(obj.kind, ()):
        raise ValueError(
            f"no {measurement!r} series for a {obj.kind.value}: "
            f"choose from {SERIES_MEASUREMENTS.get(obj.kind, ())}"
        )
    values: list[SeriesValue] = []
    for frame, (points, source) in obj.all_geometry(n_frames).items():
        cal = calibration_for(points)
        if obj.kind is ShapeKind.REGION:
            m = region_area(points, cal)
        elif obj.kind is ShapeKind.POLYLINE:
            m = polyline_length(points, cal)
        elif obj.kind is ShapeKind.POINT:
            m = point_depth(points, cal)
        else:
            m = needle_measurements(points, cal)[measurement]
        if math.isfinite(m.value):
            values.append(SeriesValue(frame, m.value, m.unit, source))
    return values


def series_values(
    annotations: Annotations,
    key: SeriesKey,
    calibration_for: CalibrationFor,
    n_frames: int | None = None,
    times_s: Sequence[float] = (),
) -> list[SeriesValue]:
    """The values of one series, frame by frame, as the Measurements dock shows them.

    Parameters
    ----------
    annotations
        The loop's marks (``tip_to_plane`` and ``extent_along_plane`` are measured against
        the planes marked on each frame).
    key
        The track and the measurement (one of :func:`track_measurements`).
    calibration_for, n_frames
        As for :func:`measurement_series`.
    times_s
        Each frame's time (s): a rate (``spread_rate``, ``area_rate``,
        ``advance_rate``) is the time derivative of its measure
        (:mod:`~usannotate.annotations.rates`); without times it has no values.

    Returns
    -------
    list of SeriesValue
        In frame order; empty when the track no longer exists.

    Raises
    ------
    ValueError
        The track has no such measurement.
    """
    obj = annotations.get(key.object_id)
    if obj is None:
        return []
    label = annotations.label_set.get(obj.label_id)
    if key.measurement not in track_measurements(obj, label):
        raise ValueError(
            f"no {key.measurement!r} series for a {obj.kind.value}: "
            f"choose from {track_measurements(obj, label)}"
        )
    if key.measurement in RATE_OF:
        base = series_values(
            annotations, SeriesKey(obj.id, RATE_OF[key.measurement]), calibration_for, n_frames
        )
        rates = central_rates(
            [v.frame for v in base], [v.value for v in base], [v.unit for v in base], times_s
        )
        return [
            SeriesValue(v.frame, rate, rate_unit(v.unit), v.source)
            for v, rate in zip(base, rates, strict=True)
            if rate is not None
        ]
    if key.measurement in SERIES_MEASUREMENTS.get(obj.kind, ()):
        return measurement_series(obj, key.measurement, calibration_for, n_frames)
    # Measured against the planes on each frame: exactly what measure_frame does, asked
    # about this track and the planes only.
    planes = [o for o in annotations.objects if o.kind is ShapeKind.POLYLINE]
    if not planes and key.measurement != "insertion_depth":
        return []
    alone = Annotations(annotations.label_set, [obj, *planes], annotations.manual_calibration)
    values = []
    measure = frame_hydro_rows if key.measurement in _HYDRO else measure_frame
    for frame in obj.frame_sources(n_frames):
        for row in measure(alone, frame, calibration_for):
            if row.object_id == obj.id and row.measurement == key.measurement:
                values.append(SeriesValue(frame, row.value, row.unit, FrameSource(row.source)))
    return values


def panel_unit(measurement: str, units: Iterable[str], calibrated_mm: bool) -> str:
    """The one unit of a panel: mm when any value is in mm (values in px are then left
    out, as gaps, rather than drawn on the mm scale), else px; a panel with no values
    takes the loop's calibration's unit (``calibrated_mm``). Angles are in degrees.

    Returns ``"mm"`` / ``"px"``, ``"mm2"`` / ``"px2"`` for areas, or ``"deg"``.
    """
    if measurement == "angle":
        return "deg"
    seen = set(units)
    in_mm = any(u.startswith("mm") for u in seen) if seen else calibrated_mm
    square = "2" if measurement in ("area", "area_rate") else ""
    return ("mm" if in_mm else "px") + square + ("/s" if measurement in RATE_OF else "")


def _subject(annotations: Annotations, keys: Sequence[SeriesKey], measurement: str) -> str:
    """What every series of a panel measures, for its title ("Fluid", "Needle", "Vessel"),
    or "" when they differ."""
    if not keys:  # an empty default panel
        return {"area": "Fluid", "tip_depth": "Needle"}.get(measurement, "")
    subjects = set()
    for key in keys:
        obj = annotations.get(key.object_id)
        if obj is None:
            continue
        label = annotations.label_set.get(obj.label_id)
        if _is_fluid(obj, label):
            subjects.add("Fluid")
        elif obj.kind is ShapeKind.REGION:
            subjects.add(label.name if label is not None else "Region")
        else:
            subjects.add(
                {ShapeKind.NEEDLE: "Needle", ShapeKind.POLYLINE: "Plane"}.get(obj.kind, "Target")
            )
    return subjects.pop() if len(subjects) == 1 else ""


def _panel_title(subject: str, measurement: str) -> str:
    title = _TITLES[measurement]
    return f"{subject} {title[0].lower()}{title[1:]}" if subject else title


def curve_panels(source: SeriesSource, choice: CurveChoice | None = None) -> list[PanelSeries]:
    """The panels the Curves dock shows: one per measurement plotted, in
    :data:`PANEL_ORDER`, each in one unit (:func:`panel_unit`).

    Parameters
    ----------
    source
        The loop's marks and calibration.
    choice
        The user's changes to the default series (none: the defaults).

    Returns
    -------
    list of PanelSeries
        The fluid area and needle tip depth panels are there, empty, while no such track
        is marked; a panel whose series were all removed is left out.
    """
    choice = choice or CurveChoice()
    annotations = source.annotations
    options = series_options(annotations)
    plotted: dict[str, list[SeriesOption]] = defaultdict(list)
    for option in choice.plotted(options):
        plotted[option.key.measurement].append(option)
    defaults_marked = {o.key.measurement for o in options if o.default}
    panels = []
    for measurement in PANEL_ORDER:
        chosen = plotted.get(measurement, [])
        if not chosen and (
            measurement not in _DEFAULT_EMPTY_TEXT or measurement in defaults_marked
        ):
            continue
        values = [
            series_values(
                annotations, o.key, source.calibration_for, source.n_frames, source.times_s
            )
            for o in chosen
        ]
        unit = panel_unit(measurement, (v.unit for vs in values for v in vs), source.calibrated_mm)
        curves = [
            CurveSeries(o.key, o.track, o.colour, [v for v in vs if v.unit == unit])
            for o, vs in zip(chosen, values, strict=True)
        ]
        if not chosen:
            empty = _DEFAULT_EMPTY_TEXT[measurement]
        elif measurement in _AGAINST_PLANES:
            empty = "No fascial plane marked on the same frames to measure against"
        else:
            empty = "No values yet"
        subject = _subject(annotations, [o.key for o in chosen], measurement)
        panels.append(
            PanelSeries(
                measurement,
                _panel_title(subject, measurement),
                unit,
                curves,
                invert_y=measurement in _DEPTHS,
                empty_text=empty,
            )
        )
    return panels
