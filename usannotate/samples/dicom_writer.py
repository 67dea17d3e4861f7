"""Write RGB cine loops as JPEG-baseline US Multi-frame DICOM files, streaming frame by frame."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import Tag
from pydicom.uid import JPEGBaseline8Bit, UltrasoundMultiFrameImageStorage, generate_uid

__all__ = ["UltrasoundRegion", "encode_jpeg_frame", "format_ds", "write_jpeg_cine"]

#: Fixed so that files do not change with the installed pydicom version.
IMPLEMENTATION_CLASS_UID = generate_uid(entropy_srcs=["usannotate.samples implementation"])
IMPLEMENTATION_VERSION_NAME = "USANNOTATE_SYN1"

#: DICOM code for centimetres in PhysicalUnitsX/YDirection.
_UNITS_CM = 3


@dataclass(frozen=True)
class UltrasoundRegion:
    """One item of SequenceOfUltrasoundRegions: a calibrated 2D tissue region.

    Bounds are inclusive pixel indices, as DICOM stores them: the region covers columns
    ``x0..x1`` and rows ``y0..y1``, i.e. the point rectangle ``[x0, x1 + 1) x [y0, y1 + 1)``.

    Attributes:
        x0, y0, x1, y1: RegionLocationMinX0 / MinY0 / MaxX1 / MaxY1 (px, inclusive).
        mm_per_px_x, mm_per_px_y: physical pixel spacing (mm per px); written in cm.
        reference_px_x0, reference_px_y0: ReferencePixelX0 / Y0, relative to the region's
            top-left pixel (px); the physical origin (here the skin line under the probe
            centre).
        data_type: RegionDataType (1 = tissue).
        spatial_format: RegionSpatialFormat (1 = 2D).
    """

    x0: int
    y0: int
    x1: int
    y1: int
    mm_per_px_x: float
    mm_per_px_y: float
    reference_px_x0: int = 0
    reference_px_y0: int = 0
    data_type: int = 1
    spatial_format: int = 1

    def __post_init__(self) -> None:
        if not (0 <= self.x0 <= self.x1 and 0 <= self.y0 <= self.y1):
            raise ValueError(
                f"region bounds must satisfy 0 <= x0 <= x1 and 0 <= y0 <= y1 "
                f"(inclusive pixel indices), got {self.bounds}"
            )
        if not (self.mm_per_px_x > 0 and self.mm_per_px_y > 0):
            raise ValueError(
                f"mm_per_px must be positive, got x={self.mm_per_px_x!r}, y={self.mm_per_px_y!r}"
            )

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """``(x0, y0, x1, y1)``, inclusive pixel indices."""
        return (self.x0, self.y0, self.x1, self.y1)

    def to_dataset(self) -> Dataset:
        """Return this region as a SequenceOfUltrasoundRegions item."""
        item = Dataset()
        item.RegionSpatialFormat = self.spatial_format
        item.RegionDataType = self.data_type
        item.RegionFlags = 0
        item.RegionLocationMinX0 = self.x0
        item.RegionLocationMinY0 = self.y0
        item.RegionLocationMaxX1 = self.x1
        item.RegionLocationMaxY1 = self.y1
        item.ReferencePixelX0 = self.reference_px_x0
        item.ReferencePixelY0 = self.reference_px_y0
        item.PhysicalUnitsXDirection = _UNITS_CM
        item.PhysicalUnitsYDirection = _UNITS_CM
        item.ReferencePixelPhysicalValueX = 0.0
        item.ReferencePixelPhysicalValueY = 0.0
        item.PhysicalDeltaX = self.mm_per_px_x / 10.0
        item.PhysicalDeltaY = self.mm_per_px_y / 10.0
        return item


def format_ds(value: float) -> str:
    """Format a number as a DICOM decimal string (at most 16 characters).

    Parameters:
        value: the number.

    Returns:
        Six significant digits, e.g. ``33.3333`` for 1000 / 30.
    """
    text = f"{value:.6g}"
    if len(text) > 16:  # pragma: no cover - only absurd magnitudes
        raise ValueError(f"{value!r} does not fit a DICOM DS")
    return text


def encode_jpeg_frame(rgb: np.ndarray, quality: int) -> bytes:
    """Encode one RGB frame as a baseline JPEG with 4:2:2 chroma subsampling.

    Parameters:
        rgb: ``(rows, columns, 3)`` uint8 RGB frame.
        quality: JPEG quality, 1-100.

    Returns:
        The JPEG (JFIF, YCbCr) bytes.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(
            f"a frame must be a (rows, columns, 3) uint8 RGB array, got {rgb.shape} {rgb.dtype}"
        )
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        int(quality),
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    ]
    ok, buffer = cv2.imencode(".jpg", bgr, params)
    if not ok:  # pragma: no cover - OpenCV only fails on invalid input
        raise RuntimeError("OpenCV could not encode the frame as JPEG")
    return buffer.tobytes()


def write_jpeg_cine(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    frame_time_ms: float,
    regions: Sequence[UltrasoundRegion],
    quality: int = 88,
    uid_entropy: Sequence[str] = ("usannotate synthetic",),
    patient_name: str = "SYNTHETIC^DEMO",
    patient_id: str = "000000",
    study_date: str = "20260101",
    study_time: str = "090000",
    manufacturer_model_name: str = "usannotate phantom",
    transducer: str = "L12-5",
    series_description: str = "Synthetic hydrodissection (no patient)",
    image_comments: str = "Synthetic phantom made by usannotate.samples; no patient data.",
) -> str:
    """Write frames as a US Multi-frame Image Storage file, JPEG baseline, YBR_FULL_422.

    Frames are consumed one at a time and only their JPEG bytes are kept, so a long loop
    never sits in memory decoded. Each frame is one fragment; the Basic Offset Table is
    filled. UIDs are derived from ``uid_entropy``, so the same inputs give the same file.

    Parameters:
        path: output file.
        frames: iterable of ``(rows, columns, 3)`` uint8 RGB frames, all the same shape.
        frame_time_ms: time between frames (ms); written as FrameTime (DS, 6 digits) and,
            rounded to frames per second, as CineRate and RecommendedDisplayFrameRate.
        regions: the SequenceOfUltrasoundRegions items (bounds inclusive, px).
        quality: JPEG quality, 1-100.
        uid_entropy: strings the UIDs are derived from (e.g. the generator's seed).
        patient_name, patient_id: made-up identifiers (the default is obviously fake).
        study_date, study_time: fixed ``YYYYMMDD`` / ``HHMMSS``.
        manufacturer_model_name, transducer: device description (TransducerData).
        series_description, image_comments: free text.

    Returns:
        The SOP Instance UID written.

    Raises:
        ValueError: no frames, frames of different shapes, or a bad frame time.
    """
    if not frame_time_ms > 0:
        raise ValueError(f"frame_time_ms must be positive, got {frame_time_ms!r}")
    fragments: list[bytes] = []
    shape: tuple[int, ...] | None = None
    for index, frame in enumerate(frames):
        if shape is None:
            shape = frame.shape
        elif frame.shape != shape:
            raise ValueError(
                f"frame {index} (0-based) has shape {frame.shape}, frame 0 has {shape}"
            )
        fragments.append(encode_jpeg_frame(frame, quality))
    if shape is None:
        raise ValueError("a cine loop needs at least one frame, got none")
    rows, columns = int(shape[0]), int(shape[1])
    n_frames = len(fragments)

    entropy = list(uid_entropy)
    sop_instance_uid = generate_uid(entropy_srcs=[*entropy, "sop instance"])
    frame_time_text = format_ds(frame_time_ms)
    frames_per_second = max(1, round(1000.0 / float(frame_time_text)))

    file_meta = FileMetaDataset()
    file_meta.MediaStorageSOPClassUID = UltrasoundMultiFrameImageStorage
    file_meta.MediaStorageSOPInstanceUID = sop_instance_uid
    file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = Dataset()
    ds.file_meta = file_meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.SOPClassUID = UltrasoundMultiFrameImageStorage
    ds.SOPInstanceUID = sop_instance_uid
    ds.StudyDate = study_date
    ds.SeriesDate = study_date
    ds.ContentDate = study_date
    ds.StudyTime = study_time
    ds.SeriesTime = study_time
    ds.ContentTime = study_time
    ds.AccessionNumber = ""
    ds.Modality = "US"
    ds.Manufacturer = "usannotate synthetic"
    ds.ReferringPhysicianName = ""
    ds.SeriesDescription = series_description
    ds.ManufacturerModelName = manufacturer_model_name
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.TransducerData = [transducer]
    ds.EffectiveDuration = format_ds(n_frames * float(frame_time_text) / 1000.0)
    ds.CineRate = frames_per_second
    ds.SoftwareVersions = "usannotate.samples 1"
    ds.FrameTime = frame_time_text
    ds.RecommendedDisplayFrameRate = frames_per_second
    ds.PreferredPlaybackSequencing = 0
    ds.StudyInstanceUID = generate_uid(entropy_srcs=[*entropy, "study"])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=[*entropy, "series"])
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.ImageComments = image_comments
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PlanarConfiguration = 0
    ds.NumberOfFrames = n_frames
    ds.FrameIncrementPointer = Tag(0x0018, 0x1063)  # FrameTime
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.BurnedInAnnotation = "YES"
    ds.LossyImageCompression = "01"
    compressed = sum(len(fragment) for fragment in fragments)
    ds.LossyImageCompressionRatio = format_ds(rows * columns * 3 * n_frames / compressed)
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    ds.SequenceOfUltrasoundRegions = DicomSequence([region.to_dataset() for region in regions])
    ds.PixelData = encapsulate(fragments, has_bot=True)
    pixel_element = ds["PixelData"]
    pixel_element.VR = "OB"
    pixel_element.is_undefined_length = True

    ds.save_as(Path(path), enforce_file_format=True)
    return str(sop_instance_uid)
