"""The cine loop: open a DICOM file in O(1) and serve display-ready frames by index."""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pydicom
import pydicom.config
from pydicom import filereader
from pydicom import uid as dicom_uid
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue
from pydicom.pixels import get_decoder
from pydicom.pixels.processing import convert_color_space

from usannotate.cine import _jpeg
from usannotate.cine._cache import FrameCache
from usannotate.cine._deflate import read_deflated
from usannotate.cine._display import DisplayMapper
from usannotate.cine._fileio import ClampedReader, FileClosedError, PositionalFile
from usannotate.cine._header_values import (
    MAX_CODE_CHARS,
    checked_code,
    checked_text,
    checked_uid,
    decoder_reason,
)
from usannotate.cine._pixel_data import FragmentIndex, read_pixel_data_header
from usannotate.cine.calibration import (
    REGION_OVERSHOOT_PX,
    Calibration,
    Region,
    calibration_for_points,
    parse_regions,
)
from usannotate.cine.errors import (
    CineError,
    CorruptDicomError,
    NoPixelDataError,
    NotDicomError,
    UnsupportedDicomError,
)
from usannotate.cine.timing import FrameTiming, read_frame_timing

# Values that break the DICOM rules are read as they are, silently: pydicom's validation
# messages quote the offending value, which may be a patient's name, and must not be logged.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

#: Default bound of the decoded-frame cache (bytes).
DEFAULT_CACHE_BYTES = 512 * 1024 * 1024
#: Default number of frames decoded ahead of the playhead on the worker thread.
DEFAULT_PREFETCH_FRAMES = 8
# Decoders release the GIL, so two workers keep two cores busy on a sequential pass
# while the UI thread, which mostly waits, stays responsive.
_PREFETCH_WORKERS = max(1, min(2, os.cpu_count() or 1))
# Anything larger than this per frame is a damaged header, not an ultrasound image.
_MAX_FRAME_SAMPLES = 1 << 28

_JPEG_8BIT_SYNTAXES = {dicom_uid.JPEGBaseline8Bit, dicom_uid.JPEGExtended12Bit}
_INTERLEAVED_CODECS = (
    set(dicom_uid.JPEGTransferSyntaxes)
    | set(dicom_uid.JPEGLSTransferSyntaxes)
    | set(dicom_uid.JPEG2000TransferSyntaxes)
)
_NATIVE_SYNTAXES = {
    dicom_uid.ImplicitVRLittleEndian,
    dicom_uid.ExplicitVRLittleEndian,
    dicom_uid.ExplicitVRBigEndian,
}


@dataclass(frozen=True)
class DicomIdentity:
    """The UIDs that tie annotations to this exact DICOM object."""

    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str


@dataclass(frozen=True)
class ScanInfo:
    """Non-identifying acquisition details, safe to show and to log."""

    modality: str = ""
    manufacturer: str = ""
    model: str = ""
    transducer: str = ""
    software_versions: str = ""


@dataclass(frozen=True, repr=False)
class PatientDetails:
    """Patient identifiers: shown only when the user asks, never logged or printed.

    ``repr`` and ``str`` hide every value so a stray log line or traceback cannot leak them.
    """

    name: str = field(default="")
    patient_id: str = field(default="")
    birth_date: str = field(default="")
    study_date: str = field(default="")
    accession_number: str = field(default="")

    def __repr__(self) -> str:
        return "PatientDetails(<hidden>)"

    __str__ = __repr__


def open_cine(
    path: str | os.PathLike[str],
    *,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    prefetch_frames: int = DEFAULT_PREFETCH_FRAMES,
) -> CineLoop:
    """Open an ultrasound DICOM loop (or single image) for display.

    Only the header and the frame offsets are read; frames decode on demand.

    Parameters
    ----------
    path
        The DICOM file.
    cache_bytes
        Upper bound of decoded frames kept in memory, in bytes (default 512 MiB).
    prefetch_frames
        How many frames ahead of the last requested one a worker thread decodes
        (in the direction of travel); 0 turns prefetch off.

    Returns
    -------
    CineLoop

    Raises
    ------
    NotDicomError, CorruptDicomError, UnsupportedDicomError, NoPixelDataError
        All subclasses of :class:`CineError`, with a message naming the file.
    """
    return CineLoop(path, cache_bytes=cache_bytes, prefetch_frames=prefetch_frames)


class _MemoryFile:
    """The ``PositionalFile`` interface over bytes already in memory (deflated files)."""

    def __init__(self, data: bytes | memoryview) -> None:
        self._data = memoryview(data)
        self.size = len(self._data)

    def read_at(self, offset: int, length: int) -> bytes | None:
        if offset < 0 or length < 0 or offset + length > self.size:
            return None
        return bytes(self._data[offset : offset + length])

    def close(self) -> None:
        self._data = memoryview(b"")
        self.size = 0


class CineLoop:
    """A DICOM cine loop whose frames decode lazily into display-ready RGB.

    Attributes
    ----------
    n_frames, rows, columns : int
        Frames really present, and the image size in pixels.
    frame_time_ms : float
        Nominal time between frames; ``frame_time_source`` says which tag gave it.
    regions : list[Region]
        Ultrasound calibration regions (may be empty).
    burned_in_annotation : bool or None
        Whether the pixels carry burned-in text (None when the file does not say).
    warnings : list[str]
        Problems found while opening that did not stop it (e.g. frames missing).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        prefetch_frames: int = DEFAULT_PREFETCH_FRAMES,
    ) -> None:
        self.path = os.fspath(path)
        self.warnings: list[str] = []
        self._file: PositionalFile | _MemoryFile | None = None
        self._cache = FrameCache(cache_bytes)
        self._prefetch_frames = max(0, int(prefetch_frames))
        # A one-item box, so the finalizer can shut the worker down without holding self.
        self._executor_box: list[ThreadPoolExecutor | None] = [None]
        self._pending: dict[int, Future[np.ndarray]] = {}
        self._pending_lock = threading.Lock()
        self._last_index: int | None = None
        self._mappers: dict[str, DisplayMapper] = {}
        self._deflated_pixels: memoryview | None = None
        self._closed = False
        try:
            with warnings.catch_warnings():
                # pydicom warns about odd values by quoting them, which may be patient data.
                warnings.simplefilter("ignore")
                self._open()
        except CineError:
            self._close_file()
            raise
        except Exception:
            # A value pydicom cannot parse (its message may quote patient data, so it is
            # not repeated here).
            self._close_file()
            raise CorruptDicomError(
                self.path, "the DICOM header holds values that cannot be read (damaged file)"
            ) from None
        # The last reference may drop on the worker thread itself, which cannot join itself.
        weakref.finalize(self, _release, self._file, self._pending, self._executor_box, False)

    # ----------------------------------------------------------------- opening
    def _open(self) -> None:
        ds, pixel_offset = self._read_header()
        self._header = ds
        self._setup_pixels(ds, pixel_offset)
        self.timing: FrameTiming = read_frame_timing(ds)
        # A region 1 px past the image (scanners write MaxX1 = columns) is clipped and
        # used; one clearly larger than the image is kept as it is and never used.
        self.regions: list[Region] = [
            region.clipped_to(self.columns, self.rows) for region in parse_regions(ds)
        ]
        for number, region in enumerate(self.regions, 1):
            if not region.fits_image(self.columns, self.rows):
                self.warnings.append(
                    f"ultrasound region {number} {list(region.bounds)} extends beyond the "
                    f"{self.columns} x {self.rows} image by more than {REGION_OVERSHOOT_PX} px "
                    "(resized or cropped after the scan?): its calibration is not used, "
                    "measurements there are in px"
                )
        bia = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
        self.burned_in_annotation: bool | None = {"YES": True, "NO": False}.get(bia)
        # Only values that are what they claim to be: a damaged length makes a value
        # swallow the elements after it, the patient's among them (see _header_values).
        self.identity = DicomIdentity(
            sop_instance_uid=_uid(ds, "SOPInstanceUID"),
            sop_class_uid=_uid(ds, "SOPClassUID"),
            study_instance_uid=_uid(ds, "StudyInstanceUID"),
            series_instance_uid=_uid(ds, "SeriesInstanceUID"),
        )
        self.scan_info = ScanInfo(
            modality=_checked(ds, "Modality", MAX_CODE_CHARS),
            manufacturer=_checked(ds, "Manufacturer"),
            model=_checked(ds, "ManufacturerModelName"),
            transducer=_checked(ds, "TransducerData")
            or _checked(ds, "TransducerType", MAX_CODE_CHARS),
            software_versions=_checked(ds, "SoftwareVersions"),
        )
        self.patient = PatientDetails(
            name=_text(ds, "PatientName"),
            patient_id=_text(ds, "PatientID"),
            birth_date=_text(ds, "PatientBirthDate"),
            study_date=_text(ds, "StudyDate"),
            accession_number=_text(ds, "AccessionNumber"),
        )

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _read_header(self) -> tuple[Dataset, int]:
        """Parse everything before Pixel Data; return it and Pixel Data's file offset."""
        try:
            reader = ClampedReader(self.path)
        except FileNotFoundError:
            raise CineError(self.path, "no such file") from None
        except IsADirectoryError:
            raise CineError(self.path, "is a folder, not a DICOM file") from None
        except OSError as exc:
            raise CineError(self.path, f"cannot be read ({exc.strerror or 'I/O error'})") from None
        with reader, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if reader.size == 0:
                raise NotDicomError(self.path, "the file is empty, not a DICOM file")
            try:
                filereader.read_preamble(reader, False)
                meta = filereader._read_file_meta_info(reader)
            except InvalidDicomError:
                # No "DICM" preamble: old files may still be raw DICOM datasets.
                return self._read_without_preamble(reader), reader.tell()
            except Exception:
                raise CorruptDicomError(
                    self.path, "the DICOM header is damaged or cut short"
                ) from None
            if meta.get("TransferSyntaxUID") == dicom_uid.DeflatedExplicitVRLittleEndian:
                ds, self._deflated_pixels = read_deflated(reader, meta, self.path)
                return ds, 0
            reader.seek(0)
            try:
                ds = pydicom.dcmread(reader, stop_before_pixels=True)
            except Exception:
                raise CorruptDicomError(
                    self.path, "the DICOM header is damaged or cut short"
                ) from None
            return ds, reader.tell()

    def _read_without_preamble(self, reader: ClampedReader) -> Dataset:
        reader.seek(0)
        try:
            ds = pydicom.dcmread(reader, stop_before_pixels=True, force=True)
            looks_like_image = "Rows" in ds and "Columns" in ds
        except Exception:
            looks_like_image = False
        if not looks_like_image:
            raise NotDicomError(self.path, "not a DICOM file")
        return ds

    def _setup_pixels(self, ds: Dataset, pixel_offset: int) -> None:
        meta = getattr(ds, "file_meta", None)
        ts = meta.get("TransferSyntaxUID") if meta is not None else None
        if ts is None:
            implicit, little = getattr(ds, "original_encoding", (True, True))
            ts = {
                (True, True): dicom_uid.ImplicitVRLittleEndian,
                (False, True): dicom_uid.ExplicitVRLittleEndian,
            }.get((implicit, little), dicom_uid.ExplicitVRBigEndian)
        checked = checked_uid(ts)
        if checked is None:  # never quoted: it may hold the bytes of the elements after it
            raise CorruptDicomError(
                self.path, "the transfer syntax UID of the file meta header is damaged"
            )
        self.transfer_syntax_uid = checked
        ts = dicom_uid.UID(self.transfer_syntax_uid)
        try:
            self._decoder = get_decoder(ts)
        except NotImplementedError:
            name = ts.name if ts.is_transfer_syntax else "unknown"
            raise UnsupportedDicomError(
                self.path, f"transfer syntax {self.transfer_syntax_uid} ({name}) cannot be decoded"
            ) from None
        if not self._decoder.is_available:
            raise UnsupportedDicomError(
                self.path,
                f"no decoder is installed for {ts.name} ({self.transfer_syntax_uid})",
            )
        self._ts = ts
        try:
            self.rows = int(ds.Rows)
            self.columns = int(ds.Columns)
            self.samples_per_pixel = int(ds.get("SamplesPerPixel", 1) or 1)
            self.bits_allocated = int(ds.BitsAllocated)
            self.bits_stored = int(ds.get("BitsStored", self.bits_allocated) or self.bits_allocated)
            self.pixel_representation = int(ds.get("PixelRepresentation", 0) or 0)
            self.planar_configuration = int(ds.get("PlanarConfiguration", 0) or 0)
            declared_frames = int(ds.get("NumberOfFrames", 1) or 1)
        except AttributeError as exc:
            sop_class = dicom_uid.UID(str(ds.get("SOPClassUID", "") or ""))
            if pixel_offset >= os.path.getsize(self.path) and "Image" in sop_class.name:
                raise CorruptDicomError(
                    self.path, "the file ends inside its header: it was cut short"
                ) from None
            raise NoPixelDataError(
                self.path, f"no image in this file (missing {exc.name or 'image attributes'})"
            ) from None
        except (TypeError, ValueError):
            raise CorruptDicomError(
                self.path, "the image size attributes are not numbers"
            ) from None
        photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "").strip("\0 ")
        if photometric and checked_code(photometric) is None:
            raise CorruptDicomError(
                self.path, "the photometric interpretation is damaged (not a DICOM code)"
            )
        self.photometric_interpretation = photometric
        if self.rows <= 0 or self.columns <= 0:
            raise CorruptDicomError(
                self.path, f"the image size is {self.columns} x {self.rows} pixels"
            )
        if self.samples_per_pixel not in (1, 3) or self.bits_allocated not in (1, 8, 16, 32):
            raise UnsupportedDicomError(
                self.path,
                f"{self.samples_per_pixel} samples of {self.bits_allocated} bits per pixel "
                "is not an image layout we can display",
            )
        if self.rows * self.columns * self.samples_per_pixel > _MAX_FRAME_SAMPLES:
            raise CorruptDicomError(
                self.path, f"the image size {self.columns} x {self.rows} is implausibly large"
            )
        if declared_frames < 1:
            declared_frames = 1
        self.declared_frames = declared_frames

        if self._deflated_pixels is not None:
            self._file = _MemoryFile(self._deflated_pixels)
            element_offset, element_length = 0, self._file.size
            self._encapsulated = False
            self._pixel_vr = "OB" if self.bits_allocated <= 8 else "OW"
            # Once inflated the data is plain explicit VR little endian.
            self._ts = dicom_uid.ExplicitVRLittleEndian
        else:
            self._file = PositionalFile(self.path)
            element = read_pixel_data_header(
                self._file,
                pixel_offset,
                little_endian=ts.is_little_endian,
                implicit_vr=ts.is_implicit_VR,
            )
            if element is None:
                raise NoPixelDataError(self.path, "no image in this file (no Pixel Data)")
            self._encapsulated = ts.is_encapsulated
            if self._encapsulated != (element.length is None):
                raise CorruptDicomError(
                    self.path,
                    f"the pixel data layout does not match the transfer syntax {ts.name}",
                )
            element_offset, element_length = element.value_offset, element.length
            self._pixel_vr = element.vr
        if self._encapsulated:
            # Every frame needs at least an item header and a few bytes: a header that
            # declares more frames than the file could hold is not believed (nothing is
            # sized by it); the frames really there are counted below.
            most = max(1, (self._file.size - element_offset) // 10)
            bound = min(declared_frames, most)
            self._fragments = FragmentIndex(
                self._file,  # type: ignore[arg-type]
                element_offset,
                bound,
                self.path,
                one_fragment_per_frame=ts == dicom_uid.RLELossless,
                extended_offsets=_extended_offsets(ds, bound),
            )
            present = self._fragments.n_frames
            if present == 0:
                cut = "cut short" in self._fragments.shortfall
                raise CorruptDicomError(
                    self.path,
                    "the pixel data is cut short: not even one whole frame is present"
                    if cut
                    else "the pixel data holds no whole frame (damaged or empty)",
                )
            if present < declared_frames:
                self.warnings.append(
                    f"the header declares {declared_frames} frames but only {present} are "
                    f"present ({self._fragments.shortfall}); showing those"
                )
            self.n_frames = present
        else:
            self._setup_native(element_offset, element_length)

    def _setup_native(self, value_offset: int, declared_length: int | None) -> None:
        assert self._file is not None
        pixels_per_frame = self.rows * self.columns
        if self.photometric_interpretation == "YBR_FULL_422":
            frame_bits = pixels_per_frame * 2 * self.bits_allocated
        else:
            frame_bits = pixels_per_frame * self.samples_per_pixel * self.bits_allocated
        self._frame_bits = frame_bits
        available = max(0, self._file.size - value_offset)
        length = available if declared_length is None else min(declared_length, available)
        if declared_length is not None and declared_length > available:
            self.warnings.append(
                f"the file is cut short: pixel data declares {declared_length} bytes, "
                f"{available} are present"
            )
        n_present = (length * 8) // frame_bits
        if n_present == 0:
            raise CorruptDicomError(
                self.path,
                "the pixel data is cut short: not even one whole frame is present",
            )
        if n_present < self.declared_frames:
            self.warnings.append(
                f"the header declares {self.declared_frames} frames but only {n_present} "
                "are present; showing those"
            )
        self.n_frames = min(n_present, self.declared_frames)
        self._value_offset = value_offset

    # ------------------------------------------------------------- properties
    @property
    def frame_time_ms(self) -> float:
        """Nominal time between frames, in milliseconds."""
        return self.timing.frame_time_ms

    @property
    def frame_time_source(self) -> str:
        """Which tag gave :attr:`frame_time_ms` (``"assumed"`` when none did)."""
        return self.timing.source

    @property
    def frame_rate_fps(self) -> float:
        return 1000.0 / self.frame_time_ms

    @property
    def duration_ms(self) -> float:
        return float(self.frame_start_times_ms()[-1] + self.frame_time_ms)

    def frame_start_times_ms(self) -> np.ndarray:
        """Start time of every frame in ms (frame 0 at 0), honouring FrameTimeVector."""
        return self.timing.start_times_ms(self.n_frames)

    @property
    def header(self) -> Dataset:
        """The parsed DICOM header (no Pixel Data). Holds patient data: never log it."""
        return self._header

    @property
    def cache(self) -> FrameCache:
        return self._cache

    def calibration_for_points(self, points: Iterable[Sequence[float]]) -> Calibration:
        """See :func:`usannotate.cine.calibration.calibration_for_points`; a region
        1 px past this loop's image is used clipped, one extending further never."""
        return calibration_for_points(self.regions, points, (self.columns, self.rows))

    # ----------------------------------------------------------------- frames
    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based) as ``(rows, columns, 3)`` uint8 RGB display pixels.

        The array is read-only (it is shared with the cache). Decoding happens here
        unless the frame is cached or already being decoded by the prefetch worker;
        afterwards the next frames in the direction of travel are queued for prefetch.

        Raises
        ------
        IndexError
            ``index`` outside ``0 .. n_frames - 1``.
        CineError
            The frame's data is damaged or missing.
        """
        index = self._check_index(index)
        frame = self._cache.get(index)
        if frame is None:
            with self._pending_lock:
                future = self._pending.get(index)
            try:
                frame = future.result() if future is not None else None
            except CancelledError:  # another caller moved the prefetch window away
                frame = None
            if frame is None:
                frame = self._decode_and_store(index)
        self._schedule_prefetch(index)
        return frame

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(f"frame index must be an int, not {type(index).__name__}")
        if not 0 <= index < self.n_frames:
            missing = (
                f"; its header declares {self.declared_frames} frames but only "
                f"{self.n_frames} are in the file"
                if self.n_frames < self.declared_frames
                else ""
            )
            raise IndexError(
                f"frame index {index} is out of range: this loop has frames 0 to "
                f"{self.n_frames - 1} (0-based){missing}"
            )
        return int(index)

    def prefetch(self, indices: Iterable[int]) -> None:
        """Queue frames for decoding on the worker thread (skips cached/queued ones)."""
        if self._closed:
            return
        wanted = [i for i in indices if 0 <= i < self.n_frames]
        with self._pending_lock:
            # Frames queued for an earlier playhead position are no longer urgent.
            for i, future in list(self._pending.items()):
                if i not in wanted and future.cancel():
                    del self._pending[i]
            for i in wanted:
                if i in self._pending or i in self._cache:
                    continue
                try:
                    self._pending[i] = self._worker().submit(self._prefetch_one, i)
                except RuntimeError:  # closed meanwhile by another thread
                    return

    def _prefetch_one(self, index: int) -> np.ndarray:
        try:
            return self._decode_and_store(index)
        finally:
            with self._pending_lock:
                self._pending.pop(index, None)

    def _schedule_prefetch(self, index: int) -> None:
        if self._prefetch_frames == 0 or self.n_frames == 1:
            self._last_index = index
            return
        step = -1 if self._last_index is not None and index < self._last_index else 1
        self._last_index = index
        count = min(self._prefetch_frames, self.n_frames - 1)
        # Wrap around: loops play looped.
        self.prefetch([(index + step * k) % self.n_frames for k in range(1, count + 1)])

    def _worker(self) -> ThreadPoolExecutor:
        if self._closed:
            raise RuntimeError("the loop is closed")
        if self._executor_box[0] is None:
            self._executor_box[0] = ThreadPoolExecutor(
                max_workers=_PREFETCH_WORKERS, thread_name_prefix="usannotate-prefetch"
            )
        return self._executor_box[0]

    def _decode_and_store(self, index: int) -> np.ndarray:
        frame = self.decode_frame(index)
        frame.flags.writeable = False
        self._cache.put(index, frame)
        return frame

    def decode_frame(self, index: int) -> np.ndarray:
        """Decode frame ``index`` now, bypassing the cache (for checks and benchmarks).

        Raises
        ------
        IndexError
            ``index`` outside ``0 .. n_frames - 1``.
        CineError
            The loop is closed, or the frame's data is damaged or missing. Nothing else:
            whatever a decoder raises on hostile data becomes a CorruptDicomError.
        """
        index = self._check_index(index)
        try:
            return self._decode(index)
        except CineError:
            raise
        except FileClosedError:
            raise CineError(self.path, "the loop has been closed") from None
        except Exception:
            raise CorruptDicomError(self.path, f"frame {index} could not be decoded") from None

    def _decode(self, index: int) -> np.ndarray:
        file = self._file
        if file is None:
            raise FileClosedError
        if self._encapsulated:
            data = self._fragments.frame_bytes(index)
            if not data:
                raise CorruptDicomError(self.path, f"frame {index} is empty")
            # Parsed once: the size check and the fast path both need it.
            jpeg_header = _jpeg.parse_header(data) if data[:2] == b"\xff\xd8" else None
            self._check_codestream_size(index, data, jpeg_header)
            samples, photometric = None, self.photometric_interpretation
            if self._jpeg_fast_path:
                samples = _jpeg.fast_decode(data, photometric, self.samples_per_pixel, jpeg_header)
                if samples is not None:
                    photometric = "RGB" if samples.ndim == 3 else photometric
            if samples is None:
                samples, photometric = self._decode_with_pydicom(index, data)
        else:
            samples, photometric = self._read_native(index)
        if samples.shape[:2] != (self.rows, self.columns):
            raise CorruptDicomError(
                self.path,
                f"frame {index} decodes to {samples.shape[1]} x {samples.shape[0]} pixels, "
                f"the header says {self.columns} x {self.rows}",
            )
        return self._mapper(photometric).to_rgb(samples)

    @property
    def _jpeg_fast_path(self) -> bool:
        """OpenCV reproduces pydicom only for unsigned samples using all 8 bits."""
        return (
            self._ts in _JPEG_8BIT_SYNTAXES
            and self.bits_allocated == 8
            and self.bits_stored == 8
            and self.pixel_representation == 0
        )

    def _check_codestream_size(
        self, index: int, data: bytes, jpeg_header: _jpeg.JpegHeader | None
    ) -> None:
        """Refuse a frame whose codestream claims another size than the header, before
        any decoder allocates what the codestream claims."""
        size = _jpeg.codestream_size(data, jpeg_header)
        if size is not None and size != (self.columns, self.rows):
            raise CorruptDicomError(
                self.path,
                f"frame {index}: the compressed image says {size[0]} x {size[1]} pixels, "
                f"the header says {self.columns} x {self.rows}",
            )

    def _mapper(self, photometric: str) -> DisplayMapper:
        mapper = self._mappers.get(photometric)
        if mapper is None:
            try:
                mapper = DisplayMapper(self._header, photometric)
            except Exception:
                which = checked_code(photometric) or "colour"
                raise CorruptDicomError(
                    self.path, f"the {which} colour or grey-scale tables are damaged"
                ) from None
            self._mappers[photometric] = mapper
        return mapper

    def _read_native(self, index: int) -> tuple[np.ndarray, str]:
        assert self._file is not None
        bit_start = index * self._frame_bits
        swapped_words = (
            not self._ts.is_little_endian and self.bits_allocated == 8 and self._pixel_vr == "OW"
        )
        if bit_start % 8 or self._frame_bits % 8 or swapped_words:
            # 1-bit frames need not start on a byte, and big endian OW swaps byte pairs
            # across frame boundaries: let pydicom unpack the whole (small) value.
            return self._decode_with_pydicom(index, None)
        start = self._value_offset + bit_start // 8
        data = self._file.read_at(start, self._frame_bits // 8)
        if data is None:
            raise CorruptDicomError(self.path, f"frame {index} is cut short")
        if self.bits_allocated not in (8, 16) or self.photometric_interpretation == "YBR_FULL_422":
            return self._decode_with_pydicom(index, data)
        kind = "i" if self.pixel_representation else "u"
        order = "<" if self._ts.is_little_endian else ">"
        dtype = np.dtype(f"{order}{kind}{self.bits_allocated // 8}")
        samples = np.frombuffer(data, dtype)
        if self.samples_per_pixel == 1:
            samples = samples.reshape(self.rows, self.columns)
        elif self.planar_configuration == 0:
            samples = samples.reshape(self.rows, self.columns, self.samples_per_pixel)
        else:
            samples = samples.reshape(self.samples_per_pixel, self.rows, self.columns)
            samples = samples.transpose(1, 2, 0)
        samples = _keep_stored_bits(samples, self.bits_stored, self.bits_allocated)
        if self.photometric_interpretation == "YBR_FULL" and self.samples_per_pixel == 3:
            return convert_color_space(samples, "YBR_FULL", "RGB"), "RGB"
        return samples, self.photometric_interpretation

    def _decode_with_pydicom(self, index: int, data: bytes | None) -> tuple[np.ndarray, str]:
        """One frame through pydicom's decoders (RLE, JPEG-LS, JPEG 2000, lossless JPEG...)."""
        options = dict(
            rows=self.rows,
            columns=self.columns,
            samples_per_pixel=self.samples_per_pixel,
            bits_allocated=self.bits_allocated,
            bits_stored=self.bits_stored,
            pixel_representation=self.pixel_representation,
            photometric_interpretation=self.photometric_interpretation,
            # JPEG-family codestreams are always interleaved, whatever the header says.
            planar_configuration=0
            if self._ts in _INTERLEAVED_CODECS
            else self.planar_configuration,
            transfer_syntax_uid=self._ts,
            pixel_keyword="PixelData",
            pixel_vr=self._pixel_vr,
        )
        if data is None:  # bit-packed native data: hand over the whole value
            assert self._file is not None
            whole = (self.n_frames * self._frame_bits + 7) // 8
            data = self._file.read_at(self._value_offset, whole + whole % 2)
            data = data or self._file.read_at(self._value_offset, whole)
            if data is None:
                raise CorruptDicomError(self.path, "the pixel data is cut short")
            options.update(number_of_frames=self.n_frames, index=index)
        else:
            options.update(number_of_frames=1)
            if self._encapsulated:
                data = encapsulate([data])
        plugins = [""]
        if self._ts in _JPEG_8BIT_SYNTAXES and "pillow" in self._decoder.available_plugins:
            # The same libjpeg-turbo as the fast path. For 8-bit data it is the only
            # one asked: the other JPEG plugins return a cut-short stream with its missing
            # part grey, where Pillow says the frame is damaged.
            plugins = ["pillow"] if self.bits_stored <= 8 else ["pillow", ""]
        if self._ts == dicom_uid.RLELossless:
            # pydicom's own RLE decoder: pylibjpeg-rle panics on some damaged runs and
            # prints the panic to stderr itself, which no exception handler can stop.
            plugins = ["pydicom"]
        problem = "could not be decoded"
        for plugin in plugins:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    samples, meta = self._decoder.as_array(data, decoding_plugin=plugin, **options)
                return samples, str(
                    meta.get("photometric_interpretation", self.photometric_interpretation)
                )
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                problem = f"could not be decoded ({decoder_reason(exc)})"
        raise CorruptDicomError(self.path, f"frame {index} {problem}")

    # -------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Stop the prefetch worker, close the file and drop cached frames."""
        self._closed = True
        _release(self._file, self._pending, self._executor_box)
        self._file = None
        self._cache.clear()

    def __enter__(self) -> CineLoop:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self.n_frames

    def __repr__(self) -> str:
        return (
            f"CineLoop({os.path.basename(self.path)!r}, {self.n_frames} frames, "
            f"{self.columns}x{self.rows}, {self.photometric_interpretation})"
        )


def _release(
    file: PositionalFile | _MemoryFile | None,
    pending: dict[int, Future[np.ndarray]],
    executor_box: list[ThreadPoolExecutor | None],
    wait: bool = True,
) -> None:
    executor = executor_box[0]
    if executor is not None:
        executor.shutdown(wait=wait, cancel_futures=True)
        executor_box[0] = None
    pending.clear()
    if file is not None:
        file.close()


def _extended_offsets(ds: Dataset, n_frames: int) -> tuple[list[int], list[int]] | None:
    """The Extended Offset Table and its lengths, when both are present and well formed."""
    offsets = ds.get("ExtendedOffsetTable")
    lengths = ds.get("ExtendedOffsetTableLengths")
    if not isinstance(offsets, bytes) or not isinstance(lengths, bytes):
        return None
    if len(offsets) != 8 * n_frames or len(lengths) != 8 * n_frames:
        return None
    return np.frombuffer(offsets, "<u8").tolist(), np.frombuffer(lengths, "<u8").tolist()


def _keep_stored_bits(samples: np.ndarray, bits_stored: int, bits_allocated: int) -> np.ndarray:
    """Clear unused high bits (or sign-extend), as pydicom does when BitsStored < BitsAllocated."""
    if bits_stored >= bits_allocated or bits_stored <= 0:
        return samples
    if samples.dtype.kind == "u":
        return samples & np.array((1 << bits_stored) - 1, dtype=samples.dtype)
    shift = bits_allocated - bits_stored
    return (samples.astype(samples.dtype.newbyteorder("=")) << shift) >> shift


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword, "")
    except Exception:  # an unreadable value is shown as missing
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return " / ".join(str(v).strip() for v in value if str(v).strip())
    return str(value or "").strip()


def _checked(ds: Dataset, keyword: str, max_chars: int = 64) -> str:
    """A scanner detail as :func:`_text` gives it, or ``""`` when any of its values is
    not a short printable text (a damaged length swallowed what follows)."""
    try:
        value = ds.get(keyword, "")
    except Exception:
        return ""
    values = value if isinstance(value, MultiValue | list | tuple) else [value]
    texts = [str(v or "").strip() for v in values]
    if any(checked_text(t, max_chars=max_chars) != t for t in texts):
        return ""
    return " / ".join(t for t in texts if t)


def _uid(ds: Dataset, keyword: str) -> str:
    """A UID of the header, or ``""`` when it is missing or not a UID (damaged)."""
    try:
        value = ds.get(keyword, "")
    except Exception:
        return ""
    return checked_uid(value or "") or ""
