"""Cine engine: DICOM file -> frames, timing and calibration; folder listing (no Qt)."""

from usannotate.cine.calibration import (
    CALIBRATION_SOURCES,
    REGION_OVERSHOOT_PX,
    Calibration,
    ManualCalibration,
    Region,
    calibration_for_points,
    measuring_region,
    parse_regions,
    usable_regions,
)
from usannotate.cine.errors import (
    CineError,
    CorruptDicomError,
    NoPixelDataError,
    NotDicomError,
    UnsupportedDicomError,
)
from usannotate.cine.folders import DICOM_SUFFIXES, is_loop_file_name, list_loop_files
from usannotate.cine.header import DicomIdentity, PatientDetails, ScanInfo
from usannotate.cine.loop import DEFAULT_CACHE_BYTES, DEFAULT_PREFETCH_FRAMES, CineLoop, open_cine
from usannotate.cine.timing import FrameTiming, read_frame_timing

__all__ = [
    "CALIBRATION_SOURCES",
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_PREFETCH_FRAMES",
    "DICOM_SUFFIXES",
    "REGION_OVERSHOOT_PX",
    "Calibration",
    "CineError",
    "CineLoop",
    "CorruptDicomError",
    "DicomIdentity",
    "FrameTiming",
    "ManualCalibration",
    "NoPixelDataError",
    "NotDicomError",
    "PatientDetails",
    "Region",
    "ScanInfo",
    "UnsupportedDicomError",
    "calibration_for_points",
    "is_loop_file_name",
    "list_loop_files",
    "measuring_region",
    "open_cine",
    "parse_regions",
    "read_frame_timing",
    "usable_regions",
]
