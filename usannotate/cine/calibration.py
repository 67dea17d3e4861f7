"""Ultrasound calibration: the SequenceOfUltrasoundRegions and mm-per-pixel look-ups.

Coordinates follow the sidecar convention: a point is ``(x, y)`` = (column, row) in
image pixels, floats, with ``(0, 0)`` at the top-left corner of the top-left pixel, so
the first pixel's centre is ``(0.5, 0.5)``. A region's DICOM bounds are inclusive pixel
indices, so region ``[x0, y0, x1, y1]`` covers the points ``x0 <= x <= x1 + 1`` and
``y0 <= y <= y1 + 1`` (edges included).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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

    def contains(self, x: float, y: float) -> bool:
        """Whether point ``(x, y)`` (pixel-corner convention) lies in the region, its
        outer edges included (a mark may end on the image's last pixel edge)."""
        x0, y0, x1, y1 = self.bounds
        return x0 <= x <= x1 + 1 and y0 <= y <= y1 + 1

    def to_json(self) -> dict[str, object]:
        """The region as the ``usannotate info --json`` contract describes it."""
        return {
            "bounds": list(self.bounds),
            "spatial_format": self.spatial_format,
            "data_type": self.data_type,
            "units_x": self.units_x,
            "units_y": self.units_y,
            "mm_per_px_x": _round(self.mm_per_px_x),
            "mm_per_px_y": _round(self.mm_per_px_y),
            "reference_pixel": list(self.reference_pixel) if self.reference_pixel else None,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 9)


@dataclass(frozen=True)
class Calibration:
    """The answer to "in which unit can these points be measured?".

    ``unit`` is ``"mm"`` when one spatial region in cm holds every point, then
    ``mm_per_px_x`` / ``mm_per_px_y`` are set; otherwise ``"px"`` with both at 1.0 and
    ``reason`` saying why no millimetres are possible.
    """

    unit: str
    mm_per_px_x: float
    mm_per_px_y: float
    region: Region | None = None
    reason: str = ""

    @property
    def is_mm(self) -> bool:
        return self.unit == "mm"


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
        The loop's ultrasound regions (see :func:`parse_regions`).
    points
        ``(x, y)`` pairs in image pixels, pixel-corner convention.
    image_size
        ``(columns, rows)`` of the image. A region that extends beyond the image does
        not describe these pixels (the image was resized or cropped after the scanner
        wrote the calibration), so it is never used for millimetres.

    Returns
    -------
    Calibration
        ``unit="mm"`` with the region when one 2-D region with cm on both axes contains
        every point (the smallest such region when regions are nested, e.g. a colour box
        inside the B-mode image); otherwise ``unit="px"`` and a ``reason``: no
        calibration, points outside every spatial region, points across two regions, or
        a region whose units are not cm. Regions are never mixed.
    """
    pts = [(float(p[0]), float(p[1])) for p in points]
    if not pts:
        return Calibration("px", 1.0, 1.0, reason="no points to measure")
    if not regions:
        return Calibration("px", 1.0, 1.0, reason="the file has no ultrasound calibration")
    spatial = [r for r in regions if r.spatial_format == "2d"]
    holding_all = [r for r in spatial if all(r.contains(x, y) for x, y in pts)]
    if not holding_all:
        touched = [r for r in spatial if any(r.contains(x, y) for x, y in pts)]
        if len(touched) >= 2 or (
            touched and all(any(r.contains(*p) for r in spatial) for p in pts)
        ):
            reason = "the points lie in different ultrasound regions"
        else:
            reason = "the points lie outside every spatial ultrasound region"
        return Calibration("px", 1.0, 1.0, reason=reason)
    region = min(holding_all, key=lambda r: r.area_px)
    if image_size is not None and not region.fits_image(*image_size):
        return Calibration(
            "px",
            1.0,
            1.0,
            region=region,
            reason=f"the calibration region {list(region.bounds)} extends beyond the "
            f"{image_size[0]} x {image_size[1]} image, so it does not match these pixels",
        )
    if not region.is_spatial_cm:
        return Calibration(
            "px",
            1.0,
            1.0,
            region=region,
            reason=f"the region's units are {region.units_x} x {region.units_y}, not cm",
        )
    assert region.mm_per_px_x is not None
    assert region.mm_per_px_y is not None
    return Calibration("mm", region.mm_per_px_x, region.mm_per_px_y, region=region)
