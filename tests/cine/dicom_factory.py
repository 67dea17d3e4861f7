"""Write small DICOM files whose display pixels are known, for the cine engine tests.

Every ``make_*`` function writes one file into a folder and returns a :class:`Case`
holding the path and the frames a correct viewer must show (``expected``: ``(n, rows,
columns, 3)`` ``uint8`` RGB). For lossless encodings the expected frames come from the
numpy arrays the file was made from, so they do not depend on any decoder. For lossy
JPEG baseline they come from pydicom's Pillow plugin (libjpeg-turbo, the decoder the
engine uses too).

Every multi-frame case has distinct content in every frame, so a viewer that shows the
wrong frame, swaps colour channels, transposes rows and columns or forgets to invert
MONOCHROME1 fails.

:func:`reference_display` applies the display rules of the engine's contract to pixels
that pydicom decoded; the tests use it for the files bundled with pydicom.

No pytest here: the module is importable from a plain script.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, encapsulate_extended
from pydicom.pixels import pixel_array
from pydicom.pixels.processing import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    convert_color_space,
)
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

ROWS = 48
COLUMNS = 64
ASSUMED_FRAME_TIME_MS = 1000.0 / 30.0

US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"
US_MULTIFRAME_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.3.1"


@dataclass(frozen=True)
class Case:
    """One written file and what a correct viewer shows for it."""

    name: str
    path: Path
    expected: np.ndarray  # (n_frames, rows, columns, 3) uint8
    #: largest allowed absolute difference per sample (0: exact)
    tolerance: int = 0
    frame_time_ms: float = ASSUMED_FRAME_TIME_MS
    frame_time_source: str = "assumed"
    #: decoded stored values before the display rules, per frame (for self-checks)
    stored: np.ndarray | None = None
    #: another rendering that is equally right, accepted when it matches exactly (colour
    #: JPEG: libjpeg's own YCbCr -> RGB conversion, which can differ by 1 from pydicom's)
    alternative: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.expected.shape[0])

    @property
    def rows(self) -> int:
        return int(self.expected.shape[1])

    @property
    def columns(self) -> int:
        return int(self.expected.shape[2])


# --------------------------------------------------------------------------- content


def grey_frames(
    n: int,
    rows: int = ROWS,
    columns: int = COLUMNS,
    *,
    low: int = 0,
    high: int = 255,
    dtype: type = np.uint8,
) -> np.ndarray:
    """``n`` distinct grey frames with values in ``low..high`` (both reached in each).

    A diagonal ramp shifted per frame, a block that moves with the frame index, and the
    two extremes in the top-left corner (so a full-range mapping is pinned down).
    """
    y, x = np.mgrid[0:rows, 0:columns]
    out = np.empty((n, rows, columns), dtype=np.float64)
    for k in range(n):
        ramp = ((x * 7 + y * 3 + k * 53) % 256) / 255.0
        top, left = (3 + 7 * k) % (rows - 10), (5 + 11 * k) % (columns - 12)
        ramp[top : top + 8, left : left + 10] = (0.15 + 0.2 * k) % 1.0
        ramp[0, 0], ramp[0, 1] = 0.0, 1.0
        out[k] = ramp
    values = np.rint(low + out * (high - low))
    return values.astype(dtype)


def rgb_frames(n: int, rows: int = ROWS, columns: int = COLUMNS) -> np.ndarray:
    """``n`` distinct RGB frames where R, G and B follow different patterns."""
    y, x = np.mgrid[0:rows, 0:columns]
    out = np.empty((n, rows, columns, 3), dtype=np.uint8)
    for k in range(n):
        out[k, ..., 0] = (x * 4 + k * 40) % 256
        out[k, ..., 1] = (y * 5 + k * 70 + 30) % 256
        out[k, ..., 2] = ((x + y) * 2 + 128 + k * 60) % 256
        top, left = (4 + 9 * k) % (rows - 8), (6 + 13 * k) % (columns - 8)
        out[k, top : top + 6, left : left + 6] = (250, 20, 120)
    return out


def smooth_rgb_frames(n: int, rows: int = ROWS, columns: int = COLUMNS) -> np.ndarray:
    """Colour frames without hard edges, closer to what JPEG is made for."""
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float64)
    out = np.empty((n, rows, columns, 3), dtype=np.uint8)
    for k in range(n):
        out[k, ..., 0] = np.clip(40 + 180 * x / columns + 10 * k, 0, 255)
        out[k, ..., 1] = np.clip(200 - 150 * y / rows + 15 * k, 0, 255)
        out[k, ..., 2] = np.clip(90 + 60 * np.sin((x + 8 * k) / 6.0), 0, 255)
    return out


def grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    """Grey ``(..., rows, columns)`` uint8 -> ``(..., rows, columns, 3)``."""
    return np.repeat(np.asarray(grey, dtype=np.uint8)[..., None], 3, axis=-1)


def scale_to_8bit(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map ``low..high`` linearly onto ``0..255``, rounded and clipped."""
    scaled = (np.asarray(values, dtype=np.float64) - low) / (high - low) * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def window_to_8bit(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM LINEAR window (PS3.3 C.11.2.1.2.1) straight onto 0..255."""
    v = np.asarray(values, dtype=np.float64)
    c, w = center - 0.5, width - 1.0
    out = ((v - c) / w + 0.5) * 255.0
    out[v <= c - w / 2] = 0.0
    out[v > c + w / 2] = 255.0
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ writing datasets


def base_dataset(
    name: str,
    transfer_syntax: str,
    *,
    rows: int,
    columns: int,
    n_frames: int | None,
    photometric: str,
    samples: int = 1,
    bits_allocated: int = 8,
    bits_stored: int | None = None,
    signed: bool = False,
    frame_time_ms: float | None = None,
) -> Dataset:
    """An ultrasound image dataset without pixel data.

    ``n_frames=None`` writes a single-frame image (no NumberOfFrames).
    """
    multi = n_frames is not None
    sop_class = US_MULTIFRAME_IMAGE_STORAGE if multi else US_IMAGE_STORAGE
    sop_instance = generate_uid(entropy_srcs=["usannotate-test", name])

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = transfer_syntax

    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.StudyInstanceUID = generate_uid(entropy_srcs=["usannotate-study", name])
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["usannotate-series", name])
    ds.Modality = "US"
    ds.PatientName = "Factory^Test"
    ds.PatientID = "TEST-0001"
    ds.SeriesDescription = name
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = photometric
    if samples > 1:
        ds.PlanarConfiguration = 0
    if multi:
        ds.NumberOfFrames = n_frames
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_stored if bits_stored is not None else bits_allocated
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if signed else 0
    if frame_time_ms is not None:
        ds.FrameTime = frame_time_ms
        ds.FrameIncrementPointer = 0x00181063
    return ds


def native_pixel_bytes(
    frames: np.ndarray,
    *,
    bits_allocated: int,
    big_endian: bool = False,
    planar: bool = False,
) -> bytes:
    """Native (uncompressed) Pixel Data bytes for ``(n, rows, columns[, 3])`` frames."""
    arr = np.asarray(frames)
    if planar:
        arr = np.ascontiguousarray(np.moveaxis(arr, -1, 1))  # (n, 3, rows, columns)
    if bits_allocated == 8:
        data = arr.astype(np.uint8 if arr.dtype.kind == "u" else np.int8).tobytes()
    else:
        kind = "i" if arr.dtype.kind == "i" else "u"
        data = arr.astype(f"{'>' if big_endian else '<'}{kind}2").tobytes()
    if len(data) % 2:
        data += b"\x00"
    return data


def set_native_pixels(ds: Dataset, data: bytes) -> None:
    vr = "OW" if ds.BitsAllocated > 8 else "OB"
    ds.add_new(0x7FE00010, vr, data)


def set_encapsulated_pixels(ds: Dataset, encapsulated: bytes) -> None:
    ds.add_new(0x7FE00010, "OB", encapsulated)
    ds["PixelData"].is_undefined_length = True


def write(ds: Dataset, path: Path) -> Path:
    """Write ``ds`` as a DICOM file (preamble + meta) in its transfer syntax."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


# ----------------------------------------------------------------------- JPEG helpers


def jpeg_encode(frame: np.ndarray, *, quality: int = 90, sampling: int | None = None) -> bytes:
    """Baseline JPEG of one grey ``(rows, columns)`` or RGB ``(rows, columns, 3)`` frame.

    OpenCV (libjpeg-turbo) writes JFIF, i.e. colour as YCbCr; ``sampling`` is one of the
    ``cv2.IMWRITE_JPEG_SAMPLING_FACTOR_*`` values.
    """
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    image = frame
    if frame.ndim == 3:
        image = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        if sampling is not None:
            params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sampling]
    ok, buf = cv2.imencode(".jpg", image, params)
    if not ok:
        raise RuntimeError("cv2.imencode failed")
    return buf.tobytes()


def libjpeg_rgb(codestream: bytes) -> np.ndarray:
    """A colour JPEG decoded and converted to RGB by libjpeg-turbo itself (Pillow)."""
    with Image.open(BytesIO(codestream)) as image:
        return np.asarray(image.convert("RGB"))


def expected_from_pydicom(
    path: Path, n_frames: int, *, decoding_plugin: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """(display frames, decoded frames) from pydicom's decoder + :func:`reference_display`."""
    ds = pydicom.dcmread(path)
    kwargs = {"decoding_plugin": decoding_plugin} if decoding_plugin else {}
    decoded = [pixel_array(ds, index=i, **kwargs) for i in range(n_frames)]
    display = np.stack([reference_display(ds, arr) for arr in decoded])
    return display, np.stack(decoded)


# ------------------------------------------------------------- reference display rules


def _stored_range(ds: Dataset) -> tuple[float, float]:
    bits = int(ds.BitsStored)
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return -(2.0 ** (bits - 1)), 2.0 ** (bits - 1) - 1
    return 0.0, 2.0**bits - 1


def _rescaled(values: np.ndarray | float, ds: Dataset) -> np.ndarray | float:
    slope = ds.get("RescaleSlope")
    intercept = ds.get("RescaleIntercept")
    if slope is None or intercept is None:
        return values
    return values * float(slope) + float(intercept)


def reference_display(ds: Dataset, arr: np.ndarray) -> np.ndarray:
    """The contract's display rules applied to one frame as pydicom decodes it.

    ``arr``: ``(rows, columns)`` stored values or ``(rows, columns, 3)`` RGB (pydicom
    converts YBR to RGB by default). Returns ``(rows, columns, 3)`` ``uint8``.
    """
    photometric = str(ds.PhotometricInterpretation)
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        if rgb.dtype == np.uint16:
            rgb = rgb >> 8
        return rgb[..., :3].astype(np.uint8)
    if arr.ndim == 3:
        if arr.dtype != np.uint8:
            raise ValueError("only 8-bit colour is covered by the display rules")
        return arr
    if int(ds.BitsStored) <= 8:
        grey = arr.astype(np.uint8)
    else:
        has_lut = bool(ds.get("VOILUTSequence"))
        has_window = ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None
        if has_lut:
            out = apply_voi_lut(apply_modality_lut(arr, ds), ds)
            depth = int(ds.VOILUTSequence[0].LUTDescriptor[2])
            grey = scale_to_8bit(out, 0, 2**depth - 1)
        elif has_window:
            out = apply_voi_lut(apply_modality_lut(arr, ds), ds)
            # pydicom puts the window's output into the (rescaled) stored range
            low, high = (float(v) for v in _rescaled(np.array(_stored_range(ds)), ds))
            grey = scale_to_8bit(out, low, high)
        else:
            low, high = _stored_range(ds)
            lo, hi = sorted(float(v) for v in _rescaled(np.array([low, high]), ds))
            grey = scale_to_8bit(_rescaled(arr.astype(np.float64), ds), lo, hi)
    if photometric == "MONOCHROME1":
        grey = 255 - grey
    return grey_to_rgb(grey)


# ----------------------------------------------------------------- native encodings


def _native_grey_case(
    folder: Path,
    name: str,
    transfer_syntax: str,
    *,
    n_frames: int | None = 4,
    photometric: str = "MONOCHROME2",
    frame_time_ms: float | None = 40.0,
) -> Case:
    n = n_frames or 1
    stored = grey_frames(n)
    ds = base_dataset(
        name,
        transfer_syntax,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=n_frames,
        photometric=photometric,
        frame_time_ms=frame_time_ms if n_frames else None,
    )
    big = transfer_syntax == ExplicitVRBigEndian
    set_native_pixels(ds, native_pixel_bytes(stored, bits_allocated=8, big_endian=big))
    path = write(ds, folder / f"{name}.dcm")
    grey = 255 - stored if photometric == "MONOCHROME1" else stored
    timed = n_frames is not None and frame_time_ms is not None
    return Case(
        name,
        path,
        grey_to_rgb(grey),
        frame_time_ms=frame_time_ms if timed else ASSUMED_FRAME_TIME_MS,
        frame_time_source="FrameTime" if timed else "assumed",
        stored=stored,
    )


def make_implicit_le_mono2_8bit(folder: Path) -> Case:
    return _native_grey_case(folder, "implicit_le_mono2_8bit", ImplicitVRLittleEndian)


def make_explicit_le_mono2_8bit(folder: Path) -> Case:
    return _native_grey_case(folder, "explicit_le_mono2_8bit", ExplicitVRLittleEndian)


def make_explicit_be_mono2_8bit(folder: Path) -> Case:
    return _native_grey_case(folder, "explicit_be_mono2_8bit", ExplicitVRBigEndian)


def make_deflated_mono2_8bit(folder: Path) -> Case:
    return _native_grey_case(folder, "deflated_mono2_8bit", DeflatedExplicitVRLittleEndian)


def make_mono1_8bit(folder: Path) -> Case:
    return _native_grey_case(
        folder, "explicit_le_mono1_8bit", ExplicitVRLittleEndian, photometric="MONOCHROME1"
    )


def make_single_frame_mono2_8bit(folder: Path) -> Case:
    return _native_grey_case(
        folder, "single_frame_mono2_8bit", ExplicitVRLittleEndian, n_frames=None
    )


def make_single_frame_implicit_mono1(folder: Path) -> Case:
    return _native_grey_case(
        folder,
        "single_frame_implicit_mono1",
        ImplicitVRLittleEndian,
        n_frames=None,
        photometric="MONOCHROME1",
    )


def make_mono2_8bit_window_ignored(folder: Path) -> Case:
    """8-bit data shows its stored values even when a window is present."""
    name = "mono2_8bit_window_ignored"
    stored = grey_frames(3)
    ds = base_dataset(
        name,
        ExplicitVRLittleEndian,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=3,
        photometric="MONOCHROME2",
        frame_time_ms=40.0,
    )
    ds.WindowCenter = 60
    ds.WindowWidth = 40
    set_native_pixels(ds, native_pixel_bytes(stored, bits_allocated=8))
    path = write(ds, folder / f"{name}.dcm")
    return Case(name, path, grey_to_rgb(stored), 0, 40.0, "FrameTime", stored)


def _deep_grey_case(
    folder: Path,
    name: str,
    *,
    transfer_syntax: str = ExplicitVRLittleEndian,
    n_frames: int | None = 3,
    bits_stored: int = 16,
    signed: bool = False,
    photometric: str = "MONOCHROME2",
    low: int | None = None,
    high: int | None = None,
    window: tuple[list[float], list[float]] | None = None,
    rescale: tuple[float, float] | None = None,
    voi_lut: tuple[int, int, np.ndarray] | None = None,
    compress: str | None = None,
) -> Case:
    """Grey data in 16 bits allocated; the expected display is computed here directly."""
    if signed:
        full_low, full_high = -(2 ** (bits_stored - 1)), 2 ** (bits_stored - 1) - 1
    else:
        full_low, full_high = 0, 2**bits_stored - 1
    low = full_low if low is None else low
    high = full_high if high is None else high
    n = n_frames or 1
    stored = grey_frames(n, low=low, high=high, dtype=np.int16 if signed else np.uint16).astype(
        np.int32
    )
    ds = base_dataset(
        name,
        transfer_syntax,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=n_frames,
        photometric=photometric,
        bits_allocated=16,
        bits_stored=bits_stored,
        signed=signed,
        frame_time_ms=33.0 if n_frames else None,
    )
    values = stored.astype(np.float64)
    if rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = rescale
        ds.RescaleType = "US"
        values = values * rescale[0] + rescale[1]

    if voi_lut is not None:
        first_mapped, depth, lut = voi_lut
        item = Dataset()
        item.LUTDescriptor = [len(lut), first_mapped, depth]
        item.add_new(0x00283006, "US", [int(v) for v in lut])  # LUTData
        item.LUTExplanation = "test curve"
        ds.VOILUTSequence = Sequence([item])
        index = np.clip(stored - first_mapped, 0, len(lut) - 1)
        grey = scale_to_8bit(lut[index], 0, 2**depth - 1)
    elif window is not None:
        centers, widths = window
        ds.WindowCenter = centers if len(centers) > 1 else centers[0]
        ds.WindowWidth = widths if len(widths) > 1 else widths[0]
        grey = window_to_8bit(values, centers[0], widths[0])
    else:
        ends = np.array([full_low, full_high], dtype=np.float64)
        if rescale is not None:
            ends = ends * rescale[0] + rescale[1]
        grey = scale_to_8bit(values, float(ends.min()), float(ends.max()))
    if photometric == "MONOCHROME1":
        grey = 255 - grey

    big = transfer_syntax == ExplicitVRBigEndian
    kind = np.int16 if signed else np.uint16
    if compress is None:
        data = native_pixel_bytes(stored.astype(kind), bits_allocated=16, big_endian=big)
        set_native_pixels(ds, data)
    else:
        ds.compress(compress, stored.astype(kind), **_encoder_kwargs(compress))
    path = write(ds, folder / f"{name}.dcm")
    return Case(
        name,
        path,
        grey_to_rgb(grey),
        tolerance=1,
        frame_time_ms=33.0 if n_frames else ASSUMED_FRAME_TIME_MS,
        frame_time_source="FrameTime" if n_frames else "assumed",
        stored=stored,
    )


def make_mono2_16bit_window(folder: Path) -> Case:
    return _deep_grey_case(folder, "mono2_16bit_window", window=([30000.0], [20000.0]))


def make_mono2_16bit_first_of_two_windows(folder: Path) -> Case:
    return _deep_grey_case(
        folder,
        "mono2_16bit_first_of_two_windows",
        window=([20000.0, 50000.0], [30000.0, 2000.0]),
    )


def make_mono2_12bit_full_range(folder: Path) -> Case:
    """12 bits stored in 16, no window: 0..4095 shown as 0..255."""
    return _deep_grey_case(folder, "mono2_12bit_full_range", bits_stored=12)


def make_mono2_12bit_narrow_values_full_range(folder: Path) -> Case:
    """Values only in 1000..1500: still the full 0..4095 range is mapped (dark image)."""
    return _deep_grey_case(folder, "mono2_12bit_narrow_values", bits_stored=12, low=1000, high=1500)


def make_mono1_12bit_full_range(folder: Path) -> Case:
    return _deep_grey_case(
        folder, "mono1_12bit_full_range", bits_stored=12, photometric="MONOCHROME1"
    )


def make_mono2_16bit_signed_full_range(folder: Path) -> Case:
    return _deep_grey_case(folder, "mono2_16bit_signed_full_range", signed=True)


def make_mono2_12bit_rescale_window(folder: Path) -> Case:
    """CT-like: stored 0..4095, intercept -1024, window 40/400 on rescaled values."""
    return _deep_grey_case(
        folder,
        "mono2_12bit_rescale_window",
        bits_stored=12,
        rescale=(1.0, -1024.0),
        window=([40.0], [400.0]),
    )


def make_mono2_12bit_voi_lut(folder: Path) -> Case:
    """VOI LUT Sequence: 1024 entries from value 1000, 10-bit output, a gamma curve."""
    lut = np.rint(1023 * (np.arange(1024) / 1023.0) ** 0.5).astype(np.int64)
    return _deep_grey_case(folder, "mono2_12bit_voi_lut", bits_stored=12, voi_lut=(1000, 10, lut))


def make_explicit_be_mono2_12bit(folder: Path) -> Case:
    return _deep_grey_case(
        folder,
        "explicit_be_mono2_12bit",
        transfer_syntax=ExplicitVRBigEndian,
        bits_stored=12,
    )


def make_explicit_be_mono2_16bit_window(folder: Path) -> Case:
    return _deep_grey_case(
        folder,
        "explicit_be_mono2_16bit_window",
        transfer_syntax=ExplicitVRBigEndian,
        window=([30000.0], [20000.0]),
    )


def make_single_frame_mono2_16bit_signed_window(folder: Path) -> Case:
    return _deep_grey_case(
        folder,
        "single_frame_16bit_signed_window",
        n_frames=None,
        signed=True,
        low=-2000,
        high=3000,
        window=([500.0], [2000.0]),
    )


def _rgb_native_case(
    folder: Path,
    name: str,
    transfer_syntax: str = ExplicitVRLittleEndian,
    *,
    planar: bool = False,
    n_frames: int | None = 3,
) -> Case:
    n = n_frames or 1
    rgb = rgb_frames(n)
    ds = base_dataset(
        name,
        transfer_syntax,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=n_frames,
        photometric="RGB",
        samples=3,
        frame_time_ms=25.0 if n_frames else None,
    )
    ds.PlanarConfiguration = 1 if planar else 0
    set_native_pixels(ds, native_pixel_bytes(rgb, bits_allocated=8, planar=planar))
    path = write(ds, folder / f"{name}.dcm")
    timed = n_frames is not None
    return Case(
        name,
        path,
        rgb,
        frame_time_ms=25.0 if timed else ASSUMED_FRAME_TIME_MS,
        frame_time_source="FrameTime" if timed else "assumed",
        stored=rgb,
    )


def make_rgb_planar0(folder: Path) -> Case:
    return _rgb_native_case(folder, "rgb_planar0")


def make_rgb_planar1(folder: Path) -> Case:
    return _rgb_native_case(folder, "rgb_planar1", planar=True)


def make_explicit_be_rgb(folder: Path) -> Case:
    return _rgb_native_case(folder, "explicit_be_rgb", ExplicitVRBigEndian)


def make_implicit_le_rgb_planar1(folder: Path) -> Case:
    return _rgb_native_case(folder, "implicit_le_rgb_planar1", ImplicitVRLittleEndian, planar=True)


def make_single_frame_rgb(folder: Path) -> Case:
    return _rgb_native_case(folder, "single_frame_rgb", n_frames=None)


def make_ybr_full_native(folder: Path) -> Case:
    """Native YBR_FULL: expected is pydicom's conversion back to RGB (exact)."""
    name = "ybr_full_native"
    rgb = rgb_frames(3)
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    ds = base_dataset(
        name,
        ExplicitVRLittleEndian,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=3,
        photometric="YBR_FULL",
        samples=3,
        frame_time_ms=25.0,
    )
    set_native_pixels(ds, native_pixel_bytes(ybr, bits_allocated=8))
    path = write(ds, folder / f"{name}.dcm")
    expected, _ = expected_from_pydicom(path, 3)
    return Case(name, path, expected, 0, 25.0, "FrameTime", ybr)


def make_ybr_full_planar1_native(folder: Path) -> Case:
    name = "ybr_full_planar1_native"
    rgb = rgb_frames(2)
    ybr = convert_color_space(rgb, "RGB", "YBR_FULL")
    ds = base_dataset(
        name,
        ExplicitVRLittleEndian,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=2,
        photometric="YBR_FULL",
        samples=3,
        frame_time_ms=25.0,
    )
    ds.PlanarConfiguration = 1
    set_native_pixels(ds, native_pixel_bytes(ybr, bits_allocated=8, planar=True))
    path = write(ds, folder / f"{name}.dcm")
    expected, _ = expected_from_pydicom(path, 2)
    return Case(name, path, expected, 0, 25.0, "FrameTime", ybr)


def _palette_case(
    folder: Path, name: str, *, entry_bits: int, first_mapped: int, n_entries: int
) -> Case:
    """PALETTE COLOR with hand-written Red/Green/Blue descriptors and data."""
    n = 3
    stored = grey_frames(n)  # indices 0..255
    i = np.arange(n_entries, dtype=np.float64) / max(n_entries - 1, 1)
    top = 2**entry_bits - 1
    red = np.rint(top * i)
    green = np.rint(top * (1.0 - i))
    blue = np.rint(top * (0.5 + 0.5 * np.sin(i * 6.0)))
    dtype = np.dtype("<u1") if entry_bits == 8 else np.dtype("<u2")
    luts = [c.astype(dtype) for c in (red, green, blue)]

    ds = base_dataset(
        name,
        ExplicitVRLittleEndian,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=n,
        photometric="PALETTE COLOR",
        frame_time_ms=50.0,
    )
    descriptor = [n_entries, first_mapped, entry_bits]
    for colour, lut in zip(("Red", "Green", "Blue"), luts, strict=True):
        ds.add_new(f"{colour}PaletteColorLookupTableDescriptor", "US", descriptor)
        data = lut.tobytes()
        if len(data) % 2:
            data += b"\x00"
        ds.add_new(f"{colour}PaletteColorLookupTableData", "OW", data)
    set_native_pixels(ds, native_pixel_bytes(stored, bits_allocated=8))
    path = write(ds, folder / f"{name}.dcm")

    index = np.clip(stored.astype(np.int64) - first_mapped, 0, n_entries - 1)
    rgb = np.stack([lut[index] for lut in luts], axis=-1).astype(np.int64)
    if entry_bits == 16:
        rgb >>= 8
    tolerance = 1 if entry_bits == 16 else 0
    return Case(name, path, rgb.astype(np.uint8), tolerance, 50.0, "FrameTime", stored)


def make_palette_8bit_entries(folder: Path) -> Case:
    return _palette_case(
        folder, "palette_8bit_entries", entry_bits=8, first_mapped=0, n_entries=256
    )


def make_palette_16bit_entries(folder: Path) -> Case:
    """16-bit entries; the LUT starts at value 16 and ends at 215 (clamping both ends)."""
    return _palette_case(
        folder, "palette_16bit_entries", entry_bits=16, first_mapped=16, n_entries=200
    )


# ----------------------------------------------------------- compressed encodings


def _encoder_kwargs(uid: str) -> dict:
    if uid == JPEGLSLossless:
        return {"encoding_plugin": "pyjpegls"}
    return {}


def _compressed_grey_case(folder: Path, name: str, uid: str, n_frames: int = 4) -> Case:
    stored = grey_frames(n_frames)
    ds = base_dataset(
        name,
        ExplicitVRLittleEndian,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=n_frames,
        photometric="MONOCHROME2",
        frame_time_ms=40.0,
    )
    ds.compress(uid, stored, **_encoder_kwargs(uid))
    path = write(ds, folder / f"{name}.dcm")
    return Case(name, path, grey_to_rgb(stored), 0, 40.0, "FrameTime", stored)


def _compressed_rgb_case(
    folder: Path, name: str, uid: str, n_frames: int = 3, photometric: str = "RGB"
) -> Case:
    """RGB frames compressed losslessly; ``photometric="YBR_RCT"`` (JPEG 2000 only)
    makes the encoder apply the reversible colour transform."""
    rgb = rgb_frames(n_frames)
    ds = base_dataset(
        name,
        ExplicitVRLittleEndian,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=n_frames,
        photometric=photometric,
        samples=3,
        frame_time_ms=25.0,
    )
    ds.compress(uid, rgb, **_encoder_kwargs(uid))
    path = write(ds, folder / f"{name}.dcm")
    return Case(name, path, rgb, 0, 25.0, "FrameTime", rgb)


def make_rle_mono2_8bit(folder: Path) -> Case:
    return _compressed_grey_case(folder, "rle_mono2_8bit", RLELossless)


def make_rle_rgb(folder: Path) -> Case:
    return _compressed_rgb_case(folder, "rle_rgb", RLELossless)


def make_rle_mono1_8bit(folder: Path) -> Case:
    name = "rle_mono1_8bit"
    stored = grey_frames(3)
    ds = base_dataset(
        name,
        ExplicitVRLittleEndian,
        rows=ROWS,
        columns=COLUMNS,
        n_frames=3,
        photometric="MONOCHROME1",
        frame_time_ms=40.0,
    )
    ds.compress(RLELossless, stored)
    path = write(ds, folder / f"{name}.dcm")
    return Case(name, path, grey_to_rgb(255 - stored), 0, 40.0, "FrameTime", stored)


def make_rle_mono2_16bit_window(folder: Path) -> Case:
    return _deep_grey_case(
        folder,
        "rle_mono2_16bit_window",
        window=([30000.0], [20000.0]),
        compress=RLELossless,
    )


def make_jpegls_lossless_mono2_8bit(folder: Path) -> Case:
    return _compressed_grey_case(folder, "jpegls_lossless_mono2_8bit", JPEGLSLossless)


def make_jpegls_lossless_rgb(folder: Path) -> Case:
    return _compressed_rgb_case(folder, "jpegls_lossless_rgb", JPEGLSLossless)


def make_jpegls_lossless_mono2_12bit(folder: Path) -> Case:
    return _deep_grey_case(
        folder, "jpegls_lossless_mono2_12bit", bits_stored=12, compress=JPEGLSLossless
    )


def make_j2k_lossless_mono2_8bit(folder: Path) -> Case:
    return _compressed_grey_case(folder, "j2k_lossless_mono2_8bit", JPEG2000Lossless)


def make_j2k_lossless_rgb_as_ybr_rct(folder: Path) -> Case:
    """RGB compressed with the reversible colour transform: written as YBR_RCT."""
    case = _compressed_rgb_case(
        folder, "j2k_lossless_ybr_rct", JPEG2000Lossless, photometric="YBR_RCT"
    )
    ds = pydicom.dcmread(case.path, stop_before_pixels=True)
    if ds.PhotometricInterpretation != "YBR_RCT":
        raise RuntimeError(f"expected YBR_RCT, pydicom wrote {ds.PhotometricInterpretation}")
    return case


def make_j2k_lossless_mono2_16bit_signed(folder: Path) -> Case:
    return _deep_grey_case(
        folder,
        "j2k_lossless_mono2_16bit_signed",
        signed=True,
        low=-3000,
        high=12000,
        window=([2000.0], [6000.0]),
        compress=JPEG2000Lossless,
    )


def _jpeg_case(
    folder: Path,
    name: str,
    frames: np.ndarray,
    *,
    photometric: str,
    sampling: int | None = None,
    layout: str = "bot",
    n_frames: int | None = None,
    quality: int = 90,
) -> Case:
    """JPEG baseline written by OpenCV, encapsulated by pydicom.

    ``layout``: ``"bot"`` (one fragment per frame, Basic Offset Table), ``"no_bot"``,
    ``"fragmented_bot"`` (2 fragments per frame), ``"fragmented_no_bot"`` (3 fragments
    per frame, frame ends found from the JPEG EOI marker), ``"extended"`` (Extended
    Offset Table, empty Basic Offset Table).
    """
    count = frames.shape[0]
    colour = frames.ndim == 4
    rows, columns = frames.shape[1], frames.shape[2]
    ds = base_dataset(
        name,
        JPEGBaseline8Bit,
        rows=rows,
        columns=columns,
        n_frames=n_frames,
        photometric=photometric,
        samples=3 if colour else 1,
        frame_time_ms=40.0 if n_frames else None,
    )
    ds.LossyImageCompression = "01"
    ds.LossyImageCompressionMethod = "ISO_10918_1"
    encoded = [jpeg_encode(f, quality=quality, sampling=sampling) for f in frames]
    if layout == "bot":
        data = encapsulate(encoded)
    elif layout == "no_bot":
        data = encapsulate(encoded, has_bot=False)
    elif layout == "fragmented_bot":
        data = encapsulate(encoded, fragments_per_frame=2, has_bot=True)
    elif layout == "fragmented_no_bot":
        data = encapsulate(encoded, fragments_per_frame=3, has_bot=False)
    elif layout == "extended":
        data, offsets, lengths = encapsulate_extended(encoded)
        ds.ExtendedOffsetTable = offsets
        ds.ExtendedOffsetTableLengths = lengths
    else:
        raise ValueError(layout)
    set_encapsulated_pixels(ds, data)
    path = write(ds, folder / f"{name}.dcm")
    expected, decoded = expected_from_pydicom(path, count, decoding_plugin="pillow")
    alternative = None
    if colour:
        # pydicom takes YCbCr from libjpeg and converts it itself (floating point);
        # libjpeg-turbo's own conversion (OpenCV, Pillow's convert) may differ by 1.
        alternative = np.stack([libjpeg_rgb(codestream) for codestream in encoded])
    return Case(
        name,
        path,
        expected,
        0,
        40.0 if n_frames else ASSUMED_FRAME_TIME_MS,
        "FrameTime" if n_frames else "assumed",
        decoded,
        alternative,
    )


def make_jpeg_cine(folder: Path, n_frames: int, *, layout: str = "no_bot") -> Case:
    """A longer grey JPEG baseline loop (48 x 64, 40 ms/frame), laid out as ``layout``
    says (see :func:`_jpeg_case`; ``"no_bot"``, one fragment per frame and an empty
    Basic Offset Table, is what most scanners write)."""
    return _jpeg_case(
        folder,
        f"jpeg_cine_{n_frames}_{layout}",
        grey_frames(n_frames),
        photometric="MONOCHROME2",
        layout=layout,
        n_frames=n_frames,
    )


def make_rle_cine(folder: Path, n_frames: int, *, offset_table: bool = True) -> Case:
    """A grey RLE loop (one fragment per frame), with or without a Basic Offset Table."""
    name = f"rle_cine_{n_frames}_{'bot' if offset_table else 'no_bot'}"
    case = _compressed_grey_case(folder, name, RLELossless, n_frames=n_frames)
    if not offset_table:
        ds = pydicom.dcmread(case.path)
        fragments = [data for _, data in fragments_of(case.path.read_bytes())]
        ds.PixelData = encapsulate(fragments, has_bot=False)
        set_encapsulated_pixels(ds, ds.PixelData)
        write(ds, case.path)
    return case


def make_jpeg_baseline_ybr_full_422(folder: Path) -> Case:
    return _jpeg_case(
        folder,
        "jpeg_baseline_ybr_full_422",
        smooth_rgb_frames(4),
        photometric="YBR_FULL_422",
        sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
        n_frames=4,
    )


def make_jpeg_baseline_ybr_full_444(folder: Path) -> Case:
    return _jpeg_case(
        folder,
        "jpeg_baseline_ybr_full_444",
        rgb_frames(3),
        photometric="YBR_FULL",
        sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
        n_frames=3,
    )


def make_jpeg_baseline_mono2(folder: Path) -> Case:
    return _jpeg_case(
        folder,
        "jpeg_baseline_mono2_no_bot",
        grey_frames(4),
        photometric="MONOCHROME2",
        layout="no_bot",
        n_frames=4,
    )


def make_jpeg_baseline_mono1(folder: Path) -> Case:
    return _jpeg_case(
        folder,
        "jpeg_baseline_mono1",
        grey_frames(3),
        photometric="MONOCHROME1",
        n_frames=3,
    )


def make_jpeg_baseline_fragmented_bot(folder: Path) -> Case:
    return _jpeg_case(
        folder,
        "jpeg_baseline_2_fragments_per_frame_bot",
        smooth_rgb_frames(3),
        photometric="YBR_FULL_422",
        sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
        layout="fragmented_bot",
        n_frames=3,
    )


def make_jpeg_baseline_fragmented_no_bot(folder: Path) -> Case:
    return _jpeg_case(
        folder,
        "jpeg_baseline_3_fragments_per_frame_no_bot",
        grey_frames(3),
        photometric="MONOCHROME2",
        layout="fragmented_no_bot",
        n_frames=3,
    )


def make_jpeg_baseline_extended_offset_table(folder: Path) -> Case:
    return _jpeg_case(
        folder,
        "jpeg_baseline_extended_offset_table",
        smooth_rgb_frames(3),
        photometric="YBR_FULL_422",
        sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
        layout="extended",
        n_frames=3,
    )


def make_jpeg_baseline_single_frame_odd_size(folder: Path) -> Case:
    """One frame (no NumberOfFrames), 47 x 61: partial MCUs at the right and bottom."""
    return _jpeg_case(
        folder,
        "jpeg_baseline_single_frame_odd_size",
        smooth_rgb_frames(1, rows=47, columns=61),
        photometric="YBR_FULL_422",
        sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    )


# ------------------------------------------------------------------- frame timing


def _timing_case(folder: Path, name: str, tags: dict, expected_ms: float, source: str):
    stored = grey_frames(4, rows=16, columns=24)
    ds = base_dataset(
        name,
        ExplicitVRLittleEndian,
        rows=16,
        columns=24,
        n_frames=4,
        photometric="MONOCHROME2",
    )
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    if "FrameTimeVector" in tags:
        ds.FrameIncrementPointer = 0x00181065
    elif "FrameTime" in tags:
        ds.FrameIncrementPointer = 0x00181063
    set_native_pixels(ds, native_pixel_bytes(stored, bits_allocated=8))
    path = write(ds, folder / f"{name}.dcm")
    return Case(name, path, grey_to_rgb(stored), 0, expected_ms, source, stored)


TIMING_SPECS: dict[str, tuple[dict, float, str]] = {
    "timing_frame_time": ({"FrameTime": 41.5}, 41.5, "FrameTime"),
    "timing_frame_time_vector": (
        {"FrameTimeVector": [0.0, 50.0, 50.0, 50.0]},
        50.0,
        "FrameTimeVector",
    ),
    "timing_cine_rate": ({"CineRate": 25}, 40.0, "CineRate"),
    "timing_recommended_rate": (
        {"RecommendedDisplayFrameRate": 20},
        50.0,
        "RecommendedDisplayFrameRate",
    ),
    "timing_none_assumed": ({}, ASSUMED_FRAME_TIME_MS, "assumed"),
    "timing_frame_time_beats_the_rest": (
        {
            "FrameTime": 20.0,
            "FrameTimeVector": [0.0, 60.0, 60.0, 60.0],
            "CineRate": 25,
            "RecommendedDisplayFrameRate": 10,
        },
        20.0,
        "FrameTime",
    ),
    "timing_vector_beats_cine_rate": (
        {"FrameTimeVector": [0.0, 62.5, 62.5, 62.5], "CineRate": 25},
        62.5,
        "FrameTimeVector",
    ),
    "timing_cine_rate_beats_recommended": (
        {"CineRate": 50, "RecommendedDisplayFrameRate": 10},
        20.0,
        "CineRate",
    ),
}


def _timing_maker(name: str) -> Callable[[Path], Case]:
    tags, ms, source = TIMING_SPECS[name]

    def make(folder: Path) -> Case:
        return _timing_case(folder, name, tags, ms, source)

    make.__name__ = f"make_{name}"
    return make


# ------------------------------------------------------------------------ registry

#: case id -> maker; every maker writes one file into the folder it is given.
FORMAT_CASES: dict[str, Callable[[Path], Case]] = {
    # transfer syntaxes, 8-bit grey
    "implicit_le_mono2_8bit": make_implicit_le_mono2_8bit,
    "explicit_le_mono2_8bit": make_explicit_le_mono2_8bit,
    "explicit_be_mono2_8bit": make_explicit_be_mono2_8bit,
    "deflated_mono2_8bit": make_deflated_mono2_8bit,
    "rle_mono2_8bit": make_rle_mono2_8bit,
    "rle_mono1_8bit": make_rle_mono1_8bit,
    "jpegls_lossless_mono2_8bit": make_jpegls_lossless_mono2_8bit,
    "j2k_lossless_mono2_8bit": make_j2k_lossless_mono2_8bit,
    # transfer syntaxes, more than 8 bits
    "explicit_be_mono2_12bit": make_explicit_be_mono2_12bit,
    "explicit_be_mono2_16bit_window": make_explicit_be_mono2_16bit_window,
    "rle_mono2_16bit_window": make_rle_mono2_16bit_window,
    "jpegls_lossless_mono2_12bit": make_jpegls_lossless_mono2_12bit,
    "j2k_lossless_mono2_16bit_signed": make_j2k_lossless_mono2_16bit_signed,
    # transfer syntaxes, colour
    "explicit_be_rgb": make_explicit_be_rgb,
    "implicit_le_rgb_planar1": make_implicit_le_rgb_planar1,
    "rle_rgb": make_rle_rgb,
    "jpegls_lossless_rgb": make_jpegls_lossless_rgb,
    "j2k_lossless_ybr_rct": make_j2k_lossless_rgb_as_ybr_rct,
    # JPEG baseline (lossy: expected from pydicom + Pillow)
    "jpeg_baseline_ybr_full_422": make_jpeg_baseline_ybr_full_422,
    "jpeg_baseline_ybr_full_444": make_jpeg_baseline_ybr_full_444,
    "jpeg_baseline_mono2_no_bot": make_jpeg_baseline_mono2,
    "jpeg_baseline_mono1": make_jpeg_baseline_mono1,
    "jpeg_baseline_2_fragments_per_frame_bot": make_jpeg_baseline_fragmented_bot,
    "jpeg_baseline_3_fragments_per_frame_no_bot": make_jpeg_baseline_fragmented_no_bot,
    "jpeg_baseline_extended_offset_table": make_jpeg_baseline_extended_offset_table,
    "jpeg_baseline_single_frame_odd_size": make_jpeg_baseline_single_frame_odd_size,
    # photometric interpretations (explicit VR little endian)
    "mono1_8bit": make_mono1_8bit,
    "mono2_8bit_window_ignored": make_mono2_8bit_window_ignored,
    "mono2_16bit_window": make_mono2_16bit_window,
    "mono2_16bit_first_of_two_windows": make_mono2_16bit_first_of_two_windows,
    "mono2_12bit_full_range": make_mono2_12bit_full_range,
    "mono2_12bit_narrow_values": make_mono2_12bit_narrow_values_full_range,
    "mono1_12bit_full_range": make_mono1_12bit_full_range,
    "mono2_16bit_signed_full_range": make_mono2_16bit_signed_full_range,
    "mono2_12bit_rescale_window": make_mono2_12bit_rescale_window,
    "mono2_12bit_voi_lut": make_mono2_12bit_voi_lut,
    "rgb_planar0": make_rgb_planar0,
    "rgb_planar1": make_rgb_planar1,
    "ybr_full_native": make_ybr_full_native,
    "ybr_full_planar1_native": make_ybr_full_planar1_native,
    "palette_8bit_entries": make_palette_8bit_entries,
    "palette_16bit_entries": make_palette_16bit_entries,
    # single-frame files (no NumberOfFrames)
    "single_frame_mono2_8bit": make_single_frame_mono2_8bit,
    "single_frame_implicit_mono1": make_single_frame_implicit_mono1,
    "single_frame_rgb": make_single_frame_rgb,
    "single_frame_16bit_signed_window": make_single_frame_mono2_16bit_signed_window,
}

TIMING_CASES: dict[str, Callable[[Path], Case]] = {
    name: _timing_maker(name) for name in TIMING_SPECS
}

ALL_CASES: dict[str, Callable[[Path], Case]] = {**FORMAT_CASES, **TIMING_CASES}


# ----------------------------------------------------------- byte-level helpers


def pixel_data_offset(data: bytes) -> int:
    """Offset of the (7FE0,0010) Pixel Data tag in an explicit VR little endian file."""
    for vr in (b"OB", b"OW"):
        offset = data.find(b"\xe0\x7f\x10\x00" + vr + b"\x00\x00")
        if offset >= 0:
            return offset
    raise ValueError("no explicit VR little endian Pixel Data element found")


def encapsulated_items(data: bytes) -> list[tuple[int, int]]:
    """``(offset of the item tag, item length)`` of every item in encapsulated Pixel
    Data (explicit VR little endian file), the Basic Offset Table item first."""
    offset = pixel_data_offset(data) + 12
    items = []
    while offset + 8 <= len(data):
        group, element, length = struct.unpack_from("<HHI", data, offset)
        if (group, element) != (0xFFFE, 0xE000):
            break
        items.append((offset, length))
        offset += 8 + length
    return items


def fragments_of(data: bytes) -> list[tuple[int, bytes]]:
    """``(offset of the item tag, fragment bytes)`` of every fragment item (the Basic
    Offset Table left out) of an explicit VR little endian file."""
    return [
        (offset, data[offset + 8 : offset + 8 + length])
        for offset, length in encapsulated_items(data)[1:]
    ]


def cut_short(source: Path, dest: Path, length: int) -> Path:
    """A copy of ``source`` holding only its first ``length`` bytes (a file cut short:
    an interrupted copy or download)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(source.read_bytes()[:length])
    return dest


def with_number_of_frames(source: Path, dest: Path, n_frames: int) -> Path:
    """A copy of ``source`` whose header declares ``n_frames`` frames, pixel data and
    offset tables unchanged."""
    ds = pydicom.dcmread(source)
    ds.NumberOfFrames = n_frames
    return write(ds, dest)


def ultrasound_region(
    bounds: tuple[int, int, int, int],
    *,
    mm_per_px: tuple[float, float] = (0.1, 0.1),
    reference_pixel: tuple[int, int] | None = (0, 0),
    units: tuple[int, int] = (3, 3),
    spatial_format: int = 1,
    data_type: int = 1,
) -> Dataset:
    """One SequenceOfUltrasoundRegions item as a scanner writes it: ``bounds`` are
    RegionLocationMinX0, MinY0, MaxX1, MaxY1 (inclusive pixel indices, written as given,
    even past the image), units 3 = cm, ``reference_pixel`` None leaves out
    ReferencePixelX0 / Y0."""
    item = Dataset()
    item.RegionSpatialFormat = spatial_format
    item.RegionDataType = data_type
    item.RegionFlags = 0
    (
        item.RegionLocationMinX0,
        item.RegionLocationMinY0,
        item.RegionLocationMaxX1,
        item.RegionLocationMaxY1,
    ) = bounds
    item.PhysicalUnitsXDirection, item.PhysicalUnitsYDirection = units
    item.PhysicalDeltaX = mm_per_px[0] / 10.0
    item.PhysicalDeltaY = mm_per_px[1] / 10.0
    if reference_pixel is not None:
        item.ReferencePixelX0, item.ReferencePixelY0 = reference_pixel
    return item


def with_regions(source: Path, dest: Path, regions: list[Dataset]) -> Path:
    """A copy of ``source`` whose SequenceOfUltrasoundRegions is ``regions``."""
    ds = pydicom.dcmread(source)
    ds.SequenceOfUltrasoundRegions = Sequence(regions)
    return write(ds, dest)


def build_all(folder: Path) -> dict[str, Case]:
    """Write every case into ``folder`` (for manual inspection and self-checks)."""
    return {name: make(folder) for name, make in ALL_CASES.items()}


# ------------------------------------------------------------- planted patient data

#: Made-up patient data a test plants in a file and then greps every message for.
PLANTED_PATIENT = {
    "PatientName": "ZZTESTPATIENT^ALICE",
    "PatientID": "PID-4242-SECRET",
    "PatientBirthDate": "19010203",
    "OtherPatientIDs": "OPID-9191-SECRET",
    "AccessionNumber": "ACC-7373-SECRET",
    "InstitutionName": "ZZSECRET HOSPITAL",
    "ReferringPhysicianName": "ZZDOCTOR^BOB",
    "StudyDescription": "ZZSECRET LEFT TAP BLOCK",
}
#: Pieces of the planted values: any one of them in a message is a leak. (No piece is
#: digits only: compressed files get random UIDs, whose digits may hold any number.)
PLANTED_PIECES = (
    "ZZTESTPATIENT",
    "ALICE",
    "PID-4242",
    "SECRET",
    "ZZDOCTOR",
    "OPID-9191",
    "ACC-7373",
)


def with_planted_patient(source: Path, dest: Path, *, trailing: bool = False) -> Path:
    """A copy of ``source`` carrying :data:`PLANTED_PATIENT` (and, with ``trailing``, the
    patient's name once more in a private element after Pixel Data, where a fragment
    length that lies would reach it)."""
    ds = pydicom.dcmread(source)
    if "Manufacturer" not in ds:  # a scanner detail just before the institution's name
        ds.Manufacturer = "usannotate factory"
    for keyword, value in PLANTED_PATIENT.items():
        setattr(ds, keyword, value)
    if trailing:
        ds.add_new(0x7FE10010, "LO", "ZZTEST PRIVATE")
        ds.add_new(0x7FE11001, "LO", PLANTED_PATIENT["PatientName"])
    return write(ds, dest)


# ------------------------------------------------- patient data planted everywhere

#: Made-up identifying strings planted all over a file's header (none may survive
#: de-identification, byte for byte). No piece is a plain number.
PLANTED_EVERYWHERE = {
    **PLANTED_PATIENT,
    "OperatorsName": "ZZOPERATOR^CAROL",
    "PerformingPhysicianName": "ZZPERFORMER^DAVE",
    "StationName": "ZZSTATION-77",
    "DeviceSerialNumber": "ZZSERIAL-5151",
    "InstitutionAddress": "ZZ 1 SECRET STREET",
    "PatientAddress": "ZZ 2 HIDDEN LANE",
    "ImageComments": "ZZCOMMENT PATIENT WAS ANXIOUS",
    "AdditionalPatientHistory": "ZZHISTORY DIABETES",
    "ProtocolName": "ZZPROTOCOL-ALICE",
    "SeriesDescription": "ZZSERIES-ALICE",
    "StudyID": "ZZSTUDYID-31",
    "RequestingPhysician": "ZZREQUESTER^EVE",
}
#: Dates planted (DA, and the date part of DT): no original may remain.
PLANTED_DATES = ("20240517", "20240518", "20240519", "19010203", "20240520", "20240521")
#: Times planted (TM): removed unless dates are shifted (then times are kept as they are).
PLANTED_TIMES = ("101530", "101545", "111213")
#: Text drawn into the banner's pixels (above the ultrasound region).
BANNER_TEXT = "ZZTESTPATIENT"


@dataclass(frozen=True)
class PlantedCase:
    """A loop carrying made-up patient data in its header, sequences, private elements,
    dates and burned-in banner, and what a de-identified copy must (not) show."""

    path: Path
    expected: np.ndarray  # (n, rows, columns, 3) display frames of the source
    region: tuple[int, int, int, int]  # inclusive bounds of the ultrasound region
    text_mask: np.ndarray  # (rows, columns) bool: the burned-in text's pixels
    strings: tuple[str, ...]  # every planted string, UIDs included
    dates: tuple[str, ...] = PLANTED_DATES
    times: tuple[str, ...] = PLANTED_TIMES


def _planted_pixels(
    n: int, rows: int, columns: int, region: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Frames with a banner of text above a region whose content changes on every pixel
    of every frame, and the text's pixel mask."""
    rng = np.random.default_rng(12)
    text = np.zeros((rows, columns), np.uint8)
    cv2.putText(text, BANNER_TEXT, (2, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1)
    cv2.putText(text, "ACC-7373", (columns - 60, rows - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.3, 255, 1)
    frames = np.zeros((n, rows, columns, 3), np.uint8)
    x0, y0, x1, y1 = region
    for k in range(n):
        tissue = rng.integers(40, 256, (y1 - y0 + 1, x1 - x0 + 1, 3), dtype=np.uint8)
        frames[k, y0 : y1 + 1, x0 : x1 + 1] = tissue
        frames[k][text > 0] = (255, 255, 200)
    return frames, text > 0


def make_planted_loop(
    folder: Path,
    name: str = "planted",
    *,
    n_frames: int = 6,
    rows: int = 96,
    columns: int = 128,
    whole_image_region: bool = False,
    jpeg: bool = False,
    study_uid: str | None = None,
    patient_id: str | None = None,
) -> PlantedCase:
    """Write a US multi-frame loop with :data:`PLANTED_EVERYWHERE`, dates, times and
    UIDs in the header, in nested sequences and in private elements (one inside the
    calibration region's item), and :data:`BANNER_TEXT` burned into the pixels above
    the region (``whole_image_region``: the region covers the whole image, the text
    lies over it). Native RGB, or JPEG baseline with ``jpeg``."""
    region = (
        (0, 0, columns - 1, rows - 1) if whole_image_region else (4, 20, columns - 5, rows - 12)
    )
    frames, text_mask = _planted_pixels(n_frames, rows, columns, region)
    ts = JPEGBaseline8Bit if jpeg else ExplicitVRLittleEndian
    photometric = "YBR_FULL_422" if jpeg else "RGB"
    ds = base_dataset(
        name,
        ts,
        rows=rows,
        columns=columns,
        n_frames=n_frames,
        photometric=photometric,
        samples=3,
        frame_time_ms=40.0,
    )
    if study_uid:
        ds.StudyInstanceUID = study_uid
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=["usannotate-for", name])
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.Manufacturer = "usannotate factory"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SeriesNumber = 3
    ds.InstanceNumber = 1
    for keyword, value in PLANTED_EVERYWHERE.items():
        setattr(ds, keyword, value)
    if patient_id:
        ds.PatientID = patient_id
    ds.StudyDate, ds.SeriesDate, ds.ContentDate = (
        PLANTED_DATES[0],
        PLANTED_DATES[1],
        PLANTED_DATES[2],
    )
    ds.PatientBirthDate = PLANTED_DATES[3]
    ds.AcquisitionDateTime = PLANTED_DATES[4] + PLANTED_TIMES[2] + ".000000"
    ds.InstanceCreationDate = PLANTED_DATES[2]
    ds.StudyTime, ds.SeriesTime, ds.ContentTime = (
        PLANTED_TIMES[0],
        PLANTED_TIMES[1],
        PLANTED_TIMES[0],
    )
    other = Dataset()
    other.PatientID = "OPID-9191-SECRET"
    other.IssuerOfPatientID = "ZZISSUER-SECRET"
    ds.OtherPatientIDsSequence = Sequence([other])
    request = Dataset()
    request.RequestedProcedureID = "ZZREQPROC-SECRET"
    request.ScheduledProcedureStepStartDate = PLANTED_DATES[5]
    step = Dataset()
    step.ScheduledPerformingPhysicianName = "ZZNESTED^FRANK"
    request.ScheduledProtocolCodeSequence = Sequence([step])
    ds.RequestAttributesSequence = Sequence([request])
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    referenced.ReferencedSOPInstanceUID = generate_uid(entropy_srcs=["usannotate-ref", name])
    ds.ReferencedStudySequence = Sequence([referenced])
    anatomy = Dataset()
    anatomy.CodeValue, anatomy.CodingSchemeDesignator = "T-D4000", "SRT"
    anatomy.CodeMeaning = "Abdomen"
    ds.AnatomicRegionSequence = Sequence([anatomy])
    ds.add_new(0x00090010, "LO", "ZZVENDOR PRIVATE")
    ds.add_new(0x00091001, "LO", "ZZPRIVATE-ALICE")
    private_item = Dataset()
    private_item.PatientName = "ZZPRIVSEQ^GRACE"
    ds.add_new(0x00091002, "SQ", Sequence([private_item]))
    item = ultrasound_region(region, mm_per_px=(0.2, 0.2), reference_pixel=(60, 0))
    item.add_new(0x00190010, "LO", "ZZREGION PRIVATE")
    item.add_new(0x00191001, "LO", "ZZREGION-ALICE")
    ds.SequenceOfUltrasoundRegions = Sequence([item])
    if jpeg:
        ds.LossyImageCompression = "01"
        codestreams = [
            jpeg_encode(f, quality=95, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422)
            for f in frames
        ]
        set_encapsulated_pixels(ds, encapsulate(codestreams))
    else:
        set_native_pixels(ds, native_pixel_bytes(frames, bits_allocated=8))
    path = write(ds, folder / f"{name}.dcm")
    expected = expected_from_pydicom(path, n_frames)[0] if jpeg else frames
    strings = (
        *PLANTED_EVERYWHERE.values(),
        "ZZISSUER-SECRET",
        "ZZREQPROC-SECRET",
        "ZZNESTED",
        "ZZPRIVATE-ALICE",
        "ZZPRIVSEQ",
        "ZZREGION-ALICE",
        "ZZVENDOR",
        str(ds.StudyInstanceUID),
        str(ds.SeriesInstanceUID),
        str(ds.SOPInstanceUID),
        str(ds.FrameOfReferenceUID),
        str(referenced.ReferencedSOPInstanceUID),
        *([patient_id] if patient_id else []),
    )
    return PlantedCase(path, expected, region, text_mask, tuple(strings))


# ------------------------------------------------------------------ worklist loops
def worklist_loop(
    path: Path,
    *,
    n_frames: int = 4,
    rows: int = 96,
    columns: int = 128,
    mm_per_px: float | None = None,
) -> Path:
    """A small grey loop (explicit little endian, 8-bit) named after ``path``, with its own
    SOP Instance UID; with ``mm_per_px`` one calibrated region (cm on both axes) covering
    the whole image, so every mark in it is measured in mm."""
    ds = base_dataset(
        path.stem,
        ExplicitVRLittleEndian,
        rows=rows,
        columns=columns,
        n_frames=n_frames,
        photometric="MONOCHROME2",
        frame_time_ms=40.0,
    )
    set_native_pixels(
        ds, native_pixel_bytes(grey_frames(n_frames, rows, columns), bits_allocated=8)
    )
    if mm_per_px is not None:
        region = ultrasound_region((0, 0, columns - 1, rows - 1), mm_per_px=(mm_per_px, mm_per_px))
        ds.SequenceOfUltrasoundRegions = Sequence([region])
    return write(ds, path)
