"""Ultrasound calibration: the SequenceOfUltrasoundRegions, which one measures, mm per pixel.

Coordinates follow the sidecar convention: a point is ``(x, y)`` = (column, row) in
image pixels, floats, with ``(0, 0)`` at the top-left corner of the top-left pixel, so
the first pixel's centre is ``(0.5, 0.5)``. A region's DICOM bounds are inclusive pixel
indices, so region ``[x0, y0, x1, y1]`` covers the points ``x0 <= x <= x1 + 1`` and
``y0 <= y <= y1 + 1`` (edges included).

Scanners often write a region one pixel too large (``RegionLocationMaxX1`` = 800 on an
800-column image): a region that overshoots the image by at most
:data:`REGION_OVERSHOOT_PX` on a side is clipped to the image and used; one clearly larger
than the image (an export resized after the scan) is never used for millimetres.

Regions are numbered from 1 in file order in every message, as ``usannotate info`` lists
them; points are numbered from 1 in the order given ("point 1 of 8").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

#: PS3.3 C.8.5.5.1.1 Region Spatial Format.
SPATIAL_FORMATS = {0: "none", 1: "2d", 2: "m-mode", 3: "spectral", 4: "waveform", 5: "graphics"}
#: PS3.3 C.8.5.5.1.2 Region Data Type.
DATA_TYPES = {
    0: "none",
    1: "tissue",
    2: "color_flow",
    3: "pw_spectral_doppler",
    4: "cw_spectral_doppler",
    5: "doppler_mean_trace",
    6: "doppler_mode_trace",
    7: "doppler_max_trace",
    8: "volume_trace",
    10: "ecg_trace",
    11: "pulse_trace",
    12: "phonocardiogram_trace",
    13: "gray_bar",
    14: "color_bar",
    15: "integrated_backscatter",
    16: "area_trace",
    17: "d_area_dt",
    18: "other_physiological",
}
#: PS3.3 C.8.5.5.1.15 Physical Units X/Y Direction.
PHYSICAL_UNITS = {
    0: "none",
    1: "percent",
    2: "dB",
    3: "cm",
    4: "s",
    5: "Hz",
    6: "dB/s",
    7: "cm/s",
    8: "cm2",
    9: "cm2/s",
    10: "cm3",
    11: "cm3/s",
    12: "deg",
}


#: How far (px) a region may extend past the image on a side and still be used, clipped.
REGION_OVERSHOOT_PX = 1
#: Where millimetres come from: a DICOM region, a manual calibration line, or nowhere.
CALIBRATION_SOURCES = ("dicom", "manual", "none")


@dataclass(frozen=True)
class Region:
    """One item of the SequenceOfUltrasoundRegions.

    Attributes
    ----------
    bounds : (x0, y0, x1, y1)
        Inclusive pixel indices (RegionLocationMinX0, MinY0, MaxX1, MaxY1).
    spatial_format, data_type : str
        Decoded names, e.g. ``"2d"`` and ``"tissue"``.
    units_x, units_y : str
        Physical units of each axis, e.g. ``"cm"``.
    physical_delta_x, physical_delta_y : float
        Size of one pixel in ``units_x`` / ``units_y``.
    reference_pixel : (x0, y0) or None
        Reference pixel relative to the region's top-left (ReferencePixelX0/Y0), the
        skin line / transducer face for a linear probe.
    file_bounds : (x0, y0, x1, y1) or None
        The file's own bounds when ``bounds`` are those clipped to the image (see
        :meth:`clipped_to`); None when the file's bounds are used as they are.
    """

    bounds: tuple[int, int, int, int]
    spatial_format: str
    data_type: str
    flags: int
    units_x: str
    units_y: str
    physical_delta_x: float
    physical_delta_y: float
    reference_pixel: tuple[int, int] | None = None
    reference_physical_x: float = 0.0
    reference_physical_y: float = 0.0
    file_bounds: tuple[int, int, int, int] | None = None

    @property
    def is_spatial_cm(self) -> bool:
        """True for a 2-D region calibrated in centimetres on both axes."""
        return (
            self.spatial_format == "2d"
            and self.units_x == "cm"
            and self.units_y == "cm"
            and self.physical_delta_x > 0
            and self.physical_delta_y > 0
        )

    @property
    def mm_per_px_x(self) -> float | None:
        """Millimetres per pixel along x, or None when the x axis is not in cm."""
        return self.physical_delta_x * 10.0 if self.units_x == "cm" else None

    @property
    def mm_per_px_y(self) -> float | None:
        """Millimetres per pixel along y, or None when the y axis is not in cm."""
        return self.physical_delta_y * 10.0 if self.units_y == "cm" else None

    @property
    def area_px(self) -> int:
        x0, y0, x1, y1 = self.bounds
        return (x1 - x0 + 1) * (y1 - y0 + 1)

    def fits_image(self, columns: int, rows: int) -> bool:
        """Whether the region lies inside a ``columns`` x ``rows`` image."""
        x0, y0, x1, y1 = self.bounds
        return 0 <= x0 <= x1 < columns and 0 <= y0 <= y1 < rows

    def overshoot_px(self, columns: int, rows: int) -> int:
        """How many pixels the region extends past a ``columns`` x ``rows`` image on its
        worst side (0 when it lies inside)."""
        x0, y0, x1, y1 = self.bounds
        return max(0, -x0, -y0, x1 - (columns - 1), y1 - (rows - 1))

    def clipped_to(self, columns: int, rows: int) -> Region:
        """The region as it is used on a ``columns`` x ``rows`` image.

        A region overshooting the image by at most :data:`REGION_OVERSHOOT_PX` on a side
        (scanners write ``MaxX1`` = columns) comes back clipped to the image, its own
        bounds kept in ``file_bounds``; any other region comes back unchanged (inside
        the image, or clearly larger than it and so never used for millimetres).
        """
        x0, y0, x1, y1 = self.bounds
        if not 0 < self.overshoot_px(columns, rows) <= REGION_OVERSHOOT_PX:
            return self
        if x1 < x0 or y1 < y0:
            return self
        clipped = (max(0, x0), max(0, y0), min(columns - 1, x1), min(rows - 1, y1))
        return replace(self, bounds=clipped, file_bounds=self.file_bounds or self.bounds)

    def position_mm(self, x: float, y: float) -> tuple[float | None, float]:
        """Where point ``(x, y)`` (image px, pixel-corner convention) lies, in mm.

        Returns
        -------
        (lateral_mm, depth_mm)
            ``depth_mm`` below the reference pixel's row (the skin line / transducer
            face) or, when the file gives no reference pixel, below the region's top
            edge; ``lateral_mm`` right (+) or left (-) of the reference pixel's column,
            or None without a reference pixel (the region's edge is no anatomical
            reference, so no lateral position is given).

        Raises
        ------
        ValueError
            The region is not a 2-D region in cm (:attr:`is_spatial_cm`).
        """
        if not self.is_spatial_cm:
            raise ValueError(
                f"the region's units are {self.units_x} x {self.units_y}: no position in mm"
            )
        assert self.mm_per_px_x is not None
        assert self.mm_per_px_y is not None
        x0, y0 = self.bounds[:2]
        if self.reference_pixel is None:
            return None, (y - y0) * self.mm_per_px_y
        ref_x, ref_y = self.reference_pixel
        return (x - (x0 + ref_x)) * self.mm_per_px_x, (y - (y0 + ref_y)) * self.mm_per_px_y

    def contains(self, x: float, y: float) -> bool:
        """Whether point ``(x, y)`` (pixel-corner convention) lies in the region, its
        outer edges included (a mark may end on the image's last pixel edge)."""
        x0, y0, x1, y1 = self.bounds
        return x0 <= x <= x1 + 1 and y0 <= y <= y1 + 1

    def to_json(self) -> dict[str, object]:
        """The region as the ``usannotate info --json`` contract describes it: ``bounds``
        as used (clipped to the image when it overshot by 1 px), ``file_bounds`` the
        file's own when they differ, else None."""
        return {
            "bounds": list(self.bounds),
            "file_bounds": list(self.file_bounds) if self.file_bounds else None,
            "spatial_format": self.spatial_format,
            "data_type": self.data_type,
            "units_x": self.units_x,
            "units_y": self.units_y,
            "mm_per_px_x": _round(self.mm_per_px_x),
            "mm_per_px_y": _round(self.mm_per_px_y),
            "reference_pixel": list(self.reference_pixel) if self.reference_pixel else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Region:
        """The region a :meth:`to_json` dict (a sidecar's ``calibration.regions`` item)
        describes, as far as measuring needs it (``flags`` 0, no reference physical
        values); other keys are ignored.

        Raises
        ------
        ValueError
            ``data`` is not such a dict: bounds not four whole numbers, a unit or format
            not a string, a pixel size not a number or null.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a region is a JSON object, not {type(data).__name__}")
        texts = {}
        for key in ("spatial_format", "data_type", "units_x", "units_y"):
            value = data.get(key, "unknown")
            if not isinstance(value, str):
                raise ValueError(f"a region's {key} is a string, not {value!r}")
            texts[key] = value
        deltas = []
        for axis in ("x", "y"):
            mm = data.get(f"mm_per_px_{axis}")
            if mm is not None and not _is_number(mm):
                raise ValueError(f"a region's mm_per_px_{axis} is a number or null, not {mm!r}")
            # Only a cm axis has a pixel size in mm (see mm_per_px_x).
            usable = mm is not None and texts[f"units_{axis}"] == "cm" and math.isfinite(mm)
            deltas.append(abs(float(mm)) / 10.0 if usable else 0.0)
        file_bounds, reference = data.get("file_bounds"), data.get("reference_pixel")
        return cls(
            bounds=_whole_numbers(data.get("bounds"), 4, "bounds"),
            spatial_format=texts["spatial_format"],
            data_type=texts["data_type"],
            flags=0,
            units_x=texts["units_x"],
            units_y=texts["units_y"],
            physical_delta_x=deltas[0],
            physical_delta_y=deltas[1],
            reference_pixel=_whole_numbers(reference, 2, "reference_pixel") if reference else None,
            file_bounds=_whole_numbers(file_bounds, 4, "file_bounds") if file_bounds else None,
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 9)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _whole_numbers(value: object, count: int, key: str) -> Any:
    """``value`` (a JSON array of ``count`` whole numbers: JSON's 2.0 is an integer too)
    as a tuple of ints."""
    if (
        isinstance(value, list | tuple)
        and len(value) == count
        and all(_is_number(v) and math.isfinite(v) and float(v).is_integer() for v in value)
    ):
        return tuple(int(v) for v in value)
    raise ValueError(f"a region's {key} are {count} whole numbers, not {value!r}")


def usable_regions(regions: Iterable[Region], image_size: tuple[int, int]) -> list[Region]:
    """The regions that give millimetres on a ``(columns, rows)`` image, in file order.

    A region is usable when it is 2-D, in cm on both axes with a positive pixel size
    (:attr:`Region.is_spatial_cm`), and lies within the image once an overshoot of at
    most :data:`REGION_OVERSHOOT_PX` is clipped (:meth:`Region.clipped_to`; a region
    that needs no clipping comes back as it was given). The one definition of a usable
    region: the viewer (depth ruler, snapping, the "no calibration" note) and the
    sidecar (its ``calibration.source``) both ask here.
    """
    columns, rows = image_size
    clipped = (region.clipped_to(columns, rows) for region in regions)
    return [r for r in clipped if r.is_spatial_cm and r.fits_image(columns, rows)]


def measuring_region(regions: Iterable[Region], image_size: tuple[int, int]) -> Region | None:
    """The calibrated B-mode region of a ``(columns, rows)`` image: the largest of
    :func:`usable_regions` (the first of equally large ones), or None when no region
    gives millimetres (the loop is then measured in px, unless calibrated by hand)."""
    usable = usable_regions(regions, image_size)
    return max(usable, key=lambda r: r.area_px) if usable else None


@dataclass(frozen=True)
class Calibration:
    """The answer to "in which unit can these points be measured?".

    ``unit`` is ``"mm"`` when one spatial region in cm holds every point, or a manual
    calibration applies; then ``mm_per_px_x`` / ``mm_per_px_y`` are set. Otherwise
    ``"px"`` with both at 1.0 and ``reason`` saying why no millimetres are possible,
    naming the point and the region ("point 1 of 8 is outside region 1").

    Attributes
    ----------
    source
        ``"dicom"`` (mm from ``region``), ``"manual"`` (mm from a manual calibration
        line; depths are then measured from the image top) or ``"none"`` (px). Left
        empty, it follows ``unit``: ``"dicom"`` for mm, ``"none"`` for px.
    region, region_number
        The region measured in (for px: the one that holds the points but cannot be
        used), and its number (1-based, in file order).
    """

    unit: str
    mm_per_px_x: float
    mm_per_px_y: float
    region: Region | None = None
    reason: str = ""
    source: str = ""
    region_number: int | None = None

    def __post_init__(self) -> None:
        if self.unit not in ("mm", "px"):
            raise ValueError(f"a calibration's unit is 'mm' or 'px', not {self.unit!r}")
        if not self.source:
            object.__setattr__(self, "source", "dicom" if self.unit == "mm" else "none")
        if self.source not in CALIBRATION_SOURCES:
            raise ValueError(
                f"a calibration's source is one of {', '.join(CALIBRATION_SOURCES)}, "
                f"not {self.source!r}"
            )
        if (self.source == "none") != (self.unit == "px"):
            raise ValueError(f"a {self.unit} calibration cannot have source {self.source!r}")

    @property
    def is_mm(self) -> bool:
        return self.unit == "mm"


@dataclass(frozen=True)
class ManualCalibration:
    """A line of known length drawn by the user: ``mm_per_px`` = ``length_mm`` / its length.

    ``line`` is ``((x0, y0), (x1, y1))`` in image pixels (pixel-corner convention). It
    applies to the whole image, the same on both axes; depths are measured from the
    image top (row 0), since a burned-in scale says nothing of where the skin is.
    """

    mm_per_px: float
    line: tuple[tuple[float, float], tuple[float, float]]
    length_mm: float

    @classmethod
    def from_line(cls, line: Sequence[Sequence[float]], length_mm: float) -> ManualCalibration:
        """The calibration a line of ``length_mm`` millimetres gives.

        Raises
        ------
        ValueError
            The line has no length, or ``length_mm`` is not a positive number.
        """
        (x0, y0), (x1, y1) = ((float(p[0]), float(p[1])) for p in line)
        length_px = math.hypot(x1 - x0, y1 - y0)
        if not (length_px > 0 and math.isfinite(length_px)):
            raise ValueError("the calibration line needs two different (x, y) points")
        if not (length_mm > 0 and math.isfinite(length_mm)):
            raise ValueError(f"the known length must be more than 0 mm, got {length_mm!r}")
        return cls(length_mm / length_px, ((x0, y0), (x1, y1)), float(length_mm))

    @property
    def length_px(self) -> float:
        (x0, y0), (x1, y1) = self.line
        return math.hypot(x1 - x0, y1 - y0)

    def calibration(self) -> Calibration:
        """As a :class:`Calibration` (``source="manual"``, no region)."""
        return Calibration("mm", self.mm_per_px, self.mm_per_px, source="manual")


def parse_regions(ds: Dataset) -> list[Region]:
    """Read every SequenceOfUltrasoundRegions item of ``ds``.

    Items that lack their location are skipped (they cannot be used for measuring);
    everything else is kept, spatial or not, so callers can show them.
    """
    regions: list[Region] = []
    for item in ds.get("SequenceOfUltrasoundRegions", None) or []:
        try:
            bounds = (
                int(item.RegionLocationMinX0),
                int(item.RegionLocationMinY0),
                int(item.RegionLocationMaxX1),
                int(item.RegionLocationMaxY1),
            )
        except (AttributeError, TypeError, ValueError):
            continue
        ref = None
        if "ReferencePixelX0" in item and "ReferencePixelY0" in item:
            try:
                ref = (int(item.ReferencePixelX0), int(item.ReferencePixelY0))
            except (TypeError, ValueError):
                ref = None
        regions.append(
            Region(
                bounds=bounds,
                spatial_format=SPATIAL_FORMATS.get(_int(item, "RegionSpatialFormat"), "unknown"),
                data_type=DATA_TYPES.get(_int(item, "RegionDataType"), "unknown"),
                flags=_int(item, "RegionFlags"),
                units_x=PHYSICAL_UNITS.get(_int(item, "PhysicalUnitsXDirection"), "unknown"),
                units_y=PHYSICAL_UNITS.get(_int(item, "PhysicalUnitsYDirection"), "unknown"),
                physical_delta_x=_float(item, "PhysicalDeltaX"),
                physical_delta_y=_float(item, "PhysicalDeltaY"),
                reference_pixel=ref,
                reference_physical_x=_float(item, "ReferencePixelPhysicalValueX"),
                reference_physical_y=_float(item, "ReferencePixelPhysicalValueY"),
            )
        )
    return regions


def _int(item: Dataset, keyword: str) -> int:
    try:
        return int(item.get(keyword, 0) or 0)
    except (TypeError, ValueError):
        return -1


def _float(item: Dataset, keyword: str) -> float:
    """A finite value's magnitude, or 0.0 (which makes the region unusable for mm)."""
    try:
        value = abs(float(item.get(keyword, 0.0) or 0.0))
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return value if math.isfinite(value) else 0.0


def calibration_for_points(
    regions: Sequence[Region],
    points: Iterable[Sequence[float]],
    image_size: tuple[int, int] | None = None,
) -> Calibration:
    """Find the calibration that measures ``points`` in millimetres, if any.

    Parameters
    ----------
    regions
        The loop's ultrasound regions (see :func:`parse_regions`), in file order: the
        reasons number them from 1.
    points
        ``(x, y)`` pairs in image pixels, pixel-corner convention; the reasons number
        them from 1.
    image_size
        ``(columns, rows)`` of the image. A region overshooting the image by at most
        :data:`REGION_OVERSHOOT_PX` is clipped to it and used; one extending further
        does not describe these pixels (the image was resized or cropped after the
        scanner wrote the calibration), so it is never used for millimetres.

    Returns
    -------
    Calibration
        ``unit="mm"`` with the region when one 2-D region with cm on both axes contains
        every point (the smallest such region when regions are nested, e.g. a colour box
        inside the B-mode image); otherwise ``unit="px"`` and a ``reason`` that names
        the points and regions: "point 1 of 8 is outside region 1", "the points lie in
        regions 1 and 2 (never mixed): point 5 of 8 is outside region 1", every point
        outside every 2-D region, a region larger than the image, a region whose units
        are not cm. Regions are never mixed.
    """
    xy = _as_xy(points)
    if not len(xy):
        return Calibration("px", 1.0, 1.0, reason="no points to measure")
    if not regions:
        return Calibration("px", 1.0, 1.0, reason="the file has no ultrasound calibration")
    numbered = [
        (number, region.clipped_to(*image_size) if image_size is not None else region)
        for number, region in enumerate(regions, 1)
    ]
    spatial = [(n, r) for n, r in numbered if r.spatial_format == "2d"]
    holding_all = [(n, r) for n, r in spatial if _holds_all(r, xy)]
    if not holding_all:
        pts = [(x, y) for x, y in xy.tolist()]
        return Calibration("px", 1.0, 1.0, reason=_outside_reason(spatial, pts))
    number, region = min(holding_all, key=lambda item: item[1].area_px)
    if image_size is not None and not region.fits_image(*image_size):
        return Calibration(
            "px",
            1.0,
            1.0,
            region=region,
            region_number=number,
            reason=f"region {number} {list(region.bounds)} extends beyond the "
            f"{image_size[0]} x {image_size[1]} image by more than {REGION_OVERSHOOT_PX} px "
            "(resized or cropped after the scan?), so it does not match these pixels",
        )
    if not region.is_spatial_cm:
        return Calibration(
            "px",
            1.0,
            1.0,
            region=region,
            region_number=number,
            reason=f"region {number}'s units are {region.units_x} x {region.units_y}, not cm",
        )
    assert region.mm_per_px_x is not None
    assert region.mm_per_px_y is not None
    return Calibration(
        "mm", region.mm_per_px_x, region.mm_per_px_y, region=region, region_number=number
    )


def _as_xy(points: Iterable[Sequence[float]]) -> np.ndarray:
    """``points``' ``(x, y)`` as an ``(N, 2)`` float array (a mark's array as it is)."""
    if isinstance(points, np.ndarray) and points.ndim == 2 and points.shape[1] >= 2:
        return points[:, :2].astype(float)
    return np.array([(float(p[0]), float(p[1])) for p in points], dtype=float).reshape(-1, 2)


def _holds_all(region: Region, xy: np.ndarray) -> bool:
    """Whether ``region`` contains every point of ``xy`` (as :meth:`Region.contains`
    says for each: all points at once, as an export asks for thousands of outlines)."""
    x0, y0, x1, y1 = region.bounds
    x, y = xy[:, 0], xy[:, 1]
    return bool(((x0 <= x) & (x <= x1 + 1) & (y0 <= y) & (y <= y1 + 1)).all())


def _outside_reason(spatial: list[tuple[int, Region]], points: list[tuple[float, float]]) -> str:
    """Why no one 2-D region holds every point, naming points and regions (1-based)."""
    holders = [[n for n, r in spatial if r.contains(x, y)] for x, y in points]
    touched = sorted({n for numbers in holders for n in numbers})
    if not spatial:
        return "the file has no 2-D ultrasound region to measure in"
    if not touched:
        which = "the point lies" if len(points) == 1 else "the points lie"
        return f"{which} outside every 2-D ultrasound region"
    # The region holding most points (the first such one): the others are the stray ones.
    home = max(touched, key=lambda n: (sum(n in numbers for numbers in holders), -n))
    stray = [i for i, numbers in enumerate(holders) if home not in numbers]
    outside = f"{_points_phrase(stray, len(points))} outside region {home}"
    if len(touched) > 1:
        return f"the points lie in regions {_listed(touched)} (never mixed): {outside}"
    return outside


def _points_phrase(indices: list[int], total: int) -> str:
    """``point 1 of 8 is`` / ``points 1 and 8 of 8 are`` / ``points 1, 2, 3 and 4 more of
    9 are`` for 0-based ``indices``."""
    numbers = [str(i + 1) for i in indices]
    if len(numbers) == 1:
        return f"point {numbers[0]} of {total} is"
    if len(numbers) > 4:
        numbers = [*numbers[:3], f"{len(numbers) - 3} more"]
    return f"points {_listed(numbers)} of {total} are"


def _listed(items: Sequence[object]) -> str:
    """``1``, ``1 and 2``, ``1, 2 and 3``."""
    texts = [str(item) for item in items]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} and {texts[-1]}"


def position_text(calibration: Calibration, x: float, y: float) -> str:
    """Where image point ``(x, y)`` lies in mm, as the status bar says it (``""`` where it
    cannot be said in mm).

    ``calibration`` is what measures that point (see
    :func:`usannotate.annotations.calibration_lookup`): lateral and deep from the region's
    reference pixel; depth only, from the region's top, when the file gives no reference
    pixel (a lateral position from the region's edge would be meaningless in a sector);
    depth from the image top with a manual calibration.
    """
    if calibration.source == "manual":
        depth = y * calibration.mm_per_px_y
        return f"   ·   depth {depth:.1f} mm from the image top (manual calibration)"
    if not calibration.is_mm or calibration.region is None:
        return ""
    lateral, depth = calibration.region.position_mm(x, y)
    if lateral is None:
        return f"   ·   depth {depth:.1f} mm (no lateral reference in the file)"
    return f"   ·   {lateral:+.1f} mm lateral, {depth:.1f} mm deep"
