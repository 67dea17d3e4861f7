"""Deflated Explicit VR Little Endian files, inflated with a cap instead of blindly.

pydicom inflates a deflated dataset in one call, whatever it grows to: a 400 KB file can
claim gigabytes. Here the header is inflated first, the size the image really needs is
computed from it, and inflation stops with an error past that size.
"""

from __future__ import annotations

import io
import zlib

from pydicom import filereader
from pydicom.dataset import Dataset, FileMetaDataset

from usannotate.cine._fileio import ClampedReader
from usannotate.cine.errors import CorruptDicomError, NoPixelDataError

_HEADER_BUDGET = 16 * 1024 * 1024  # inflated bytes allowed before the Pixel Data element
_CHUNK = 1024 * 1024
_SLACK = 1024 * 1024  # trailing elements after Pixel Data


class _Inflater:
    def __init__(self, compressed: bytes) -> None:
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self._pending = compressed
        self.data = bytearray()
        self.done = False

    def grow_to(self, limit: int) -> None:
        """Inflate until ``limit`` bytes are out or the stream ends."""
        while not self.done and len(self.data) < limit:
            chunk = self._inflater.decompress(self._pending, min(_CHUNK, limit - len(self.data)))
            self._pending = self._inflater.unconsumed_tail
            self.data += chunk
            if self._inflater.eof or (not chunk and not self._pending):
                self.data += self._inflater.flush()
                self.done = True


def read_deflated(
    reader: ClampedReader, meta: FileMetaDataset, path: str
) -> tuple[Dataset, memoryview]:
    """Inflate the dataset after the file meta group (``reader`` is positioned there).

    Returns the header (Pixel Data excluded, ``file_meta`` attached) and the Pixel Data
    value. Raises CorruptDicomError when the data is damaged or inflates beyond what
    Rows x Columns x frames need, NoPixelDataError when there is no image.
    """
    try:
        inflater = _Inflater(reader.read())
        inflater.grow_to(_HEADER_BUDGET)
        stream = io.BytesIO(inflater.data)
        ds = filereader.read_dataset(
            stream, is_implicit_VR=False, is_little_endian=True, stop_when=filereader._at_pixel_data
        )
        element_offset = stream.tell()
    except zlib.error:
        raise CorruptDicomError(path, "the deflated (compressed) data is damaged") from None
    ds.file_meta = meta
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        bits = int(ds.BitsAllocated)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        raise NoPixelDataError(path, "no image in this file (missing image attributes)") from None
    needed = element_offset + 12 + (rows * columns * samples * bits * max(1, frames) + 7) // 8
    try:
        inflater.grow_to(needed + _SLACK + 1)
    except zlib.error:
        raise CorruptDicomError(path, "the deflated (compressed) data is damaged") from None
    if not inflater.done:
        raise CorruptDicomError(
            path,
            f"the compressed data inflates far beyond what {max(1, frames)} frame(s) of "
            f"{columns} x {rows} pixels need",
        )
    data = memoryview(inflater.data)
    header = bytes(data[element_offset : element_offset + 12])
    if header[:4] != b"\xe0\x7f\x10\x00":
        raise NoPixelDataError(path, "no image in this file (no Pixel Data)")
    length = int.from_bytes(header[8:12], "little")
    start = element_offset + 12
    return ds, data[start : min(len(data), start + length)]
