"""Where a loop's frames are and how they are coded, read from its header and Pixel Data.

:class:`PixelLayout` checks the transfer syntax and the image attributes, opens the
file for positional reads and finds every frame: the fragment index of encapsulated
data (walking the 8-byte item headers, never the fragments), or the byte offset and
size of native frames. Frames the header declares but the file does not hold are
counted and reported, never allocated.
"""

from __future__ import annotations

import os

import numpy as np
from pydicom import uid as dicom_uid
from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder

from usannotate.cine._fileio import PositionalFile
from usannotate.cine._header_values import checked_code, checked_uid
from usannotate.cine._pixel_data import FragmentIndex, read_pixel_data_header
from usannotate.cine.errors import CorruptDicomError, NoPixelDataError, UnsupportedDicomError

__all__ = ["MemoryFile", "PixelLayout"]

# Anything larger than this per frame is a damaged header, not an ultrasound image.
_MAX_FRAME_SAMPLES = 1 << 28


class MemoryFile:
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


class PixelLayout:
    """The pixel data of one file: its coding, its image attributes, where each frame is.

    Attributes
    ----------
    transfer_syntax_uid : str
        As checked to be a UID; ``ts`` the same as a pydicom ``UID`` (for a deflated
        file: explicit VR little endian, what the inflated data is), ``decoder`` its
        pydicom decoder.
    rows, columns, samples_per_pixel, bits_allocated, bits_stored, pixel_representation, \
planar_configuration, photometric_interpretation
        The image attributes of the header.
    declared_frames, n_frames : int
        The frames the header declares, and those really in the file.
    file
        The open file (positional reads; None once closed).
    encapsulated : bool
        Compressed frames, found through ``fragments``; else native frames of
        ``frame_bits`` bits each from ``value_offset`` on.
    """

    def __init__(
        self,
        path: str,
        ds: Dataset,
        pixel_offset: int,
        deflated_pixels: memoryview | None,
        warnings: list[str],
    ) -> None:
        """Read the layout of ``path`` (header ``ds``, Pixel Data at ``pixel_offset``);
        problems that do not stop the loop are appended to ``warnings``.

        Raises
        ------
        CorruptDicomError, UnsupportedDicomError, NoPixelDataError
            With a message naming the file; the file is then closed again.
        """
        self.path = path
        self.warnings = warnings
        self.file: PositionalFile | MemoryFile | None = None
        try:
            self._read(ds, pixel_offset, deflated_pixels)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def _read(self, ds: Dataset, pixel_offset: int, deflated_pixels: memoryview | None) -> None:
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
            self.decoder = get_decoder(ts)
        except NotImplementedError:
            name = ts.name if ts.is_transfer_syntax else "unknown"
            raise UnsupportedDicomError(
                self.path, f"transfer syntax {self.transfer_syntax_uid} ({name}) cannot be decoded"
            ) from None
        if not self.decoder.is_available:
            raise UnsupportedDicomError(
                self.path,
                f"no decoder is installed for {ts.name} ({self.transfer_syntax_uid})",
            )
        self.ts = ts
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

        if deflated_pixels is not None:
            self.file = MemoryFile(deflated_pixels)
            element_offset, element_length = 0, self.file.size
            self.encapsulated = False
            self.pixel_vr = "OB" if self.bits_allocated <= 8 else "OW"
            # Once inflated the data is plain explicit VR little endian.
            self.ts = dicom_uid.ExplicitVRLittleEndian
        else:
            self.file = PositionalFile(self.path)
            element = read_pixel_data_header(
                self.file,
                pixel_offset,
                little_endian=ts.is_little_endian,
                implicit_vr=ts.is_implicit_VR,
            )
            if element is None:
                raise NoPixelDataError(self.path, "no image in this file (no Pixel Data)")
            self.encapsulated = ts.is_encapsulated
            if self.encapsulated != (element.length is None):
                raise CorruptDicomError(
                    self.path,
                    f"the pixel data layout does not match the transfer syntax {ts.name}",
                )
            element_offset, element_length = element.value_offset, element.length
            self.pixel_vr = element.vr
        if self.encapsulated:
            # Every frame needs at least an item header and a few bytes: a header that
            # declares more frames than the file could hold is not believed (nothing is
            # sized by it); the frames really there are counted below.
            most = max(1, (self.file.size - element_offset) // 10)
            bound = min(declared_frames, most)
            self.fragments = FragmentIndex(
                self.file,  # type: ignore[arg-type]
                element_offset,
                bound,
                self.path,
                one_fragment_per_frame=ts == dicom_uid.RLELossless,
                extended_offsets=_extended_offsets(ds, bound),
            )
            present = self.fragments.n_frames
            if present == 0:
                cut = "cut short" in self.fragments.shortfall
                raise CorruptDicomError(
                    self.path,
                    "the pixel data is cut short: not even one whole frame is present"
                    if cut
                    else "the pixel data holds no whole frame (damaged or empty)",
                )
            if present < declared_frames:
                self.warnings.append(
                    f"the header declares {declared_frames} frames but only {present} are "
                    f"present ({self.fragments.shortfall}); showing those"
                )
            self.n_frames = present
        else:
            self._read_native(element_offset, element_length)

    def _read_native(self, value_offset: int, declared_length: int | None) -> None:
        assert self.file is not None
        pixels_per_frame = self.rows * self.columns
        if self.photometric_interpretation == "YBR_FULL_422":
            frame_bits = pixels_per_frame * 2 * self.bits_allocated
        else:
            frame_bits = pixels_per_frame * self.samples_per_pixel * self.bits_allocated
        self.frame_bits = frame_bits
        available = max(0, self.file.size - value_offset)
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
        self.value_offset = value_offset


def _extended_offsets(ds: Dataset, n_frames: int) -> tuple[list[int], list[int]] | None:
    """The Extended Offset Table and its lengths, when both are present and well formed."""
    offsets = ds.get("ExtendedOffsetTable")
    lengths = ds.get("ExtendedOffsetTableLengths")
    if not isinstance(offsets, bytes) or not isinstance(lengths, bytes):
        return None
    if len(offsets) != 8 * n_frames or len(lengths) != 8 * n_frames:
        return None
    return np.frombuffer(offsets, "<u8").tolist(), np.frombuffer(lengths, "<u8").tolist()
