"""The cine loop: open a DICOM file in O(1) and serve display-ready frames by index.

:class:`CineLoop` ties together the jobs of small modules: :mod:`.header` reads the
header before Pixel Data and what it says of the scan, :mod:`._layout` finds every frame
(the fragment index, or native byte offsets), :mod:`._frames` decodes one frame to RGB,
:mod:`._prefetch` decodes ahead of the playhead on worker threads, and
:mod:`._cache` keeps decoded frames within a byte budget.
"""

from __future__ import annotations

import os
import warnings
import weakref
from collections.abc import Iterable, Sequence

import numpy as np
from pydicom.dataset import Dataset

from usannotate.cine._cache import FrameCache
from usannotate.cine._fileio import FileClosedError
from usannotate.cine._frames import FrameDecoder
from usannotate.cine._layout import PixelLayout
from usannotate.cine._prefetch import Prefetcher
from usannotate.cine.calibration import (
    REGION_OVERSHOOT_PX,
    Calibration,
    Region,
    calibration_for_points,
    parse_regions,
)
from usannotate.cine.errors import CineError, CorruptDicomError
from usannotate.cine.header import (
    DicomIdentity,
    PatientDetails,
    ScanInfo,
    burned_in_annotation_of,
    identity_of,
    patient_of,
    read_header,
    scan_info_of,
)
from usannotate.cine.timing import FrameTiming, read_frame_timing

__all__ = ["DEFAULT_CACHE_BYTES", "DEFAULT_PREFETCH_FRAMES", "CineLoop", "open_cine"]

#: Default bound of the decoded-frame cache (bytes).
DEFAULT_CACHE_BYTES = 512 * 1024 * 1024
#: Default number of frames decoded ahead of the playhead on the worker thread.
DEFAULT_PREFETCH_FRAMES = 8


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
        self._cache = FrameCache(cache_bytes)
        self._prefetcher = Prefetcher(prefetch_frames)
        self._closed = False
        try:
            with warnings.catch_warnings():
                # pydicom warns about odd values by quoting them, which may be patient data.
                warnings.simplefilter("ignore")
                self._open()
        except CineError:
            raise
        except Exception:
            # A value pydicom cannot parse (its message may quote patient data, so it is
            # not repeated here).
            raise CorruptDicomError(
                self.path, "the DICOM header holds values that cannot be read (damaged file)"
            ) from None
        # The last reference may drop on the worker thread itself, which cannot join itself.
        weakref.finalize(self, _release, self._layout, self._prefetcher, False)

    # ----------------------------------------------------------------- opening
    def _open(self) -> None:
        ds, pixel_offset, deflated_pixels = read_header(self.path)
        self._header = ds
        # Opens the file (and closes it again if it raises).
        self._layout = PixelLayout(self.path, ds, pixel_offset, deflated_pixels, self.warnings)
        try:
            self._describe(ds)
        except BaseException:
            self._layout.close()
            raise
        self._decoder = FrameDecoder(self.path, self._layout, ds)

    def _describe(self, ds: Dataset) -> None:
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
        self.burned_in_annotation: bool | None = burned_in_annotation_of(ds)
        # Only values that are what they claim to be: a damaged length makes a value
        # swallow the elements after it, the patient's among them (see _header_values).
        self.identity: DicomIdentity = identity_of(ds)
        self.scan_info: ScanInfo = scan_info_of(ds)
        self.patient: PatientDetails = patient_of(ds)

    # ------------------------------------------------------ the pixel layout
    @property
    def n_frames(self) -> int:
        """Frames really in the file (:attr:`declared_frames`: what the header says)."""
        return self._layout.n_frames

    @property
    def declared_frames(self) -> int:
        return self._layout.declared_frames

    @property
    def rows(self) -> int:
        return self._layout.rows

    @property
    def columns(self) -> int:
        return self._layout.columns

    @property
    def transfer_syntax_uid(self) -> str:
        return self._layout.transfer_syntax_uid

    @property
    def photometric_interpretation(self) -> str:
        return self._layout.photometric_interpretation

    @property
    def samples_per_pixel(self) -> int:
        return self._layout.samples_per_pixel

    @property
    def bits_allocated(self) -> int:
        return self._layout.bits_allocated

    @property
    def bits_stored(self) -> int:
        return self._layout.bits_stored

    @property
    def pixel_representation(self) -> int:
        return self._layout.pixel_representation

    @property
    def planar_configuration(self) -> int:
        return self._layout.planar_configuration

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
            frame = self._prefetcher.result(index)
            if frame is None:
                frame = self._decode_and_store(index)
        self._prefetcher.follow(
            index, self.n_frames, self._cache.__contains__, self._decode_and_store
        )
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
        self._prefetcher.queue(
            indices, self.n_frames, self._cache.__contains__, self._decode_and_store
        )

    def _decode_and_store(self, index: int) -> np.ndarray:
        frame = self.decode_frame(index)
        frame.flags.writeable = False
        self._cache.put(index, frame)
        return frame

    def decode_frame(
        self, index: int, out: np.ndarray | None = None, *, fast_chroma: bool = False
    ) -> np.ndarray:
        """Decode frame ``index`` now, bypassing the cache (for checks, benchmarks and
        exports that read each frame once).

        ``out``: a ``(rows, columns, 3)`` uint8 C-contiguous array JPEG frames may be
        decoded into (a stream of frames then spares the page faults of a new array
        each time); the frame returned is then a view of it (``np.shares_memory``
        says), else a new array.

        ``fast_chroma``: a JPEG frame's subsampled colour is replicated, not interpolated
        (~6% faster): for a caller that subsamples the colour again and encodes it lossily,
        as an H.264 video does (the colour then differs about as much as the encoding
        itself changes it, more on a sharp colour edge; the luma by at most a level).
        Other syntaxes ignore it.

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
            return self._decoder.decode(index, out, fast_chroma=fast_chroma)
        except CineError:
            raise
        except FileClosedError:
            raise CineError(self.path, "the loop has been closed") from None
        except Exception:
            raise CorruptDicomError(self.path, f"frame {index} could not be decoded") from None

    # -------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Stop the prefetch worker, close the file and drop cached frames."""
        self._closed = True
        _release(self._layout, self._prefetcher)
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


def _release(layout: PixelLayout, prefetcher: Prefetcher, wait: bool = True) -> None:
    prefetcher.shutdown(wait=wait)
    layout.close()
