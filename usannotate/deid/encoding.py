"""Lossless re-encoding, one frame at a time, into an encapsulated Pixel Data stream.

JPEG-LS and RLE go through imagecodecs (:mod:`usannotate.deid._codecs`: CharLS and a C
PackBits that release the GIL, so frames are encoded on several threads), JPEG 2000
through pydicom's OpenJPEG encoder (and the other two too when imagecodecs is missing);
the fragments are written as they come, never the whole loop at once.
We do not use ``Dataset.compress()``: it needs the whole Pixel Data in memory and makes
a new SOP Instance UID unless told not to, where ours is the keyed one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydicom.pixels import get_encoder
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

from usannotate.deid import _codecs

if TYPE_CHECKING:
    from usannotate.cine import CineLoop

#: The ``--encoding`` names and their transfer syntaxes.
ENCODINGS = {"jpeg-ls": JPEGLSLossless, "rle": RLELossless, "jpeg2000": JPEG2000Lossless}
#: RLE by default: read by every DICOM viewer and PACS, and fast enough to de-identify an
#: archive at under twice the decoding time (benchmarks/bench_deidentify.py); JPEG-LS makes
#: files about half the size, but its encoder alone costs more than twice a frame's decode.
DEFAULT_ENCODING = "rle"

#: Transfer syntaxes whose pixels went through lossy compression (JPEG 2000 "lossy or
#: lossless" counts: the file does not say which).
LOSSY_TRANSFER_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.93",
        "1.2.840.10008.1.2.4.203",
        "1.2.840.10008.1.2.4.112",
        *(f"1.2.840.10008.1.2.4.{n}" for n in range(100, 109)),
    }
)
_ITEM = 0xE000FFFE  # (FFFE,E000) as a little-endian uint32 pair of uint16
_SEQUENCE_DELIMITER = 0xE0DDFFFE


@dataclass(frozen=True)
class PixelDescription:
    """The Image Pixel attributes of the frames written (8-bit, unsigned)."""

    rows: int
    columns: int
    samples_per_pixel: int  # 1: MONOCHROME2, 3: RGB (colour interleaved)

    @property
    def photometric_interpretation(self) -> str:
        return "RGB" if self.samples_per_pixel == 3 else "MONOCHROME2"

    def attributes(self) -> dict[str, object]:
        """keyword -> value of the Image Pixel module (without Pixel Data)."""
        values: dict[str, object] = {
            "SamplesPerPixel": self.samples_per_pixel,
            "PhotometricInterpretation": self.photometric_interpretation,
            "Rows": self.rows,
            "Columns": self.columns,
            "BitsAllocated": 8,
            "BitsStored": 8,
            "HighBit": 7,
            "PixelRepresentation": 0,
        }
        if self.samples_per_pixel == 3:
            values["PlanarConfiguration"] = 0
        return values


def source_is_lossy(loop: CineLoop) -> bool:
    """Whether the loop's pixels went through lossy compression (its encoding, or the
    header's LossyImageCompression)."""
    said = str(loop.header.get("LossyImageCompression", "") or "").strip()
    return loop.transfer_syntax_uid in LOSSY_TRANSFER_SYNTAXES or said == "01"


class FrameEncoder:
    """Encodes one frame ``(rows, columns)`` or ``(rows, columns, 3)`` uint8 at a time."""

    def __init__(self, encoding: str, pixels: PixelDescription) -> None:
        self.transfer_syntax = ENCODINGS[encoding]
        fast = {"jpeg-ls": _codecs.jpegls_frame, "rle": _codecs.rle_frame}
        self._fast = fast.get(encoding) if _codecs.available() else None
        #: Whether :meth:`encode` lets other threads run meanwhile (worth threads).
        self.releases_gil = self._fast is not None
        self._encoder = get_encoder(self.transfer_syntax)
        self._kwargs: dict[str, object] = {
            "rows": pixels.rows,
            "columns": pixels.columns,
            "samples_per_pixel": pixels.samples_per_pixel,
            "bits_allocated": 8,
            "bits_stored": 8,
            "pixel_representation": 0,
            "photometric_interpretation": pixels.photometric_interpretation,
            "number_of_frames": 1,
            "planar_configuration": 0,
        }
        if self.transfer_syntax == RLELossless and "pylibjpeg" in self._encoder.available_plugins:
            self._kwargs["encoding_plugin"] = "pylibjpeg"  # 20x pydicom's own RLE encoder
        if self.transfer_syntax == JPEG2000Lossless:
            # No colour transform: the file says RGB and holds RGB (not YBR_RCT).
            self._kwargs["use_mct"] = False

    def encode(self, frame: np.ndarray) -> bytes:
        """The compressed bytes of one frame."""
        if self._fast is not None:
            return self._fast(np.ascontiguousarray(frame))
        return self._encoder.encode(np.ascontiguousarray(frame), validate=False, **self._kwargs)


def encapsulated_pixel_data(fragments: Iterable[bytes]) -> Iterator[bytes]:
    """Pixel Data (7FE0,0010) as explicit VR little endian bytes: an empty Basic Offset
    Table, one fragment per frame (padded to even length), the sequence delimiter."""
    yield struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF)
    yield struct.pack("<II", _ITEM, 0)
    for fragment in fragments:
        if len(fragment) % 2:
            fragment += b"\x00"
        yield struct.pack("<II", _ITEM, len(fragment))
        yield fragment
    yield struct.pack("<II", _SEQUENCE_DELIMITER, 0)
