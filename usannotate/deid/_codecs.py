"""Fast lossless frame codecs for the de-identified copy: JPEG-LS and RLE through imagecodecs.

Why not pydicom's encoders alone: pyjpegls (CharLS) and pylibjpeg-rle hold the GIL while
they encode, so frames cannot be encoded on several threads, and pylibjpeg-rle takes ~15
ms for a 1024x768 grey frame. imagecodecs (a well-kept binding of the same CharLS, and a
C PackBits) releases the GIL, and its PackBits is ~8x faster than pylibjpeg-rle's RLE.
The bytes are checked against pydicom's decoders in tests/deid/test_codecs.py: the
JPEG-LS stream is byte-identical to pydicom's encoder once CharLS's SPIFF header (which
DICOM streams do not carry) is cut off; the RLE decodes to the same pixels.
"""

from __future__ import annotations

import struct

import numpy as np

try:  # a dependency, but a broken wheel must not stop de-identification
    import imagecodecs
except ImportError:  # pragma: no cover - the package is in pyproject's dependencies
    imagecodecs = None

_SOI = b"\xff\xd8"
_APP8 = b"\xff\xe8"
_SOF55 = b"\xff\xf7"  # JPEG-LS start of frame


def available() -> bool:
    """Whether imagecodecs' JPEG-LS and PackBits codecs can be used here."""
    return imagecodecs is not None and bool(
        imagecodecs.JPEGLS.available and imagecodecs.PACKBITS.available
    )


def jpegls_frame(frame: np.ndarray) -> bytes:
    """One frame ``(rows, columns)`` or ``(rows, columns, 3)`` uint8 as a lossless JPEG-LS
    stream (interleaved by sample for colour, as pydicom's encoder writes it)."""
    try:
        stream = imagecodecs.jpegls_encode(frame)
    except imagecodecs.JpeglsError:
        # imagecodecs sizes its buffer for compressible images; pure noise can come out
        # larger than the frame itself (CharLS's worst case is well under twice).
        stream = imagecodecs.jpegls_encode(frame, out=2 * frame.nbytes + 4096)
    # CharLS writes a SPIFF header (APP8 segments, the last one ending in a second SOI);
    # pydicom's encoder does not write one, and DICOM decoders need not expect it.
    pos = 2
    while stream[pos : pos + 2] == _APP8:
        pos += 2 + int.from_bytes(stream[pos + 2 : pos + 4], "big")
    if stream[pos : pos + 2] != _SOF55:
        raise ValueError("unexpected JPEG-LS stream from imagecodecs")
    return _SOI + stream[pos:]


def rle_frame(frame: np.ndarray) -> bytes:
    """One 8-bit frame ``(rows, columns)`` or ``(rows, columns, 3)`` as DICOM RLE Lossless
    (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits segment per
    sample plane (R, G, B), each row packed on its own, each segment padded to even."""
    planes = [frame] if frame.ndim == 2 else [frame[..., c] for c in range(frame.shape[2])]
    segments = []
    for plane in planes:
        # A 2-D array is packed row by row (runs never cross a row, as Annex G asks).
        packed = imagecodecs.packbits_encode(np.ascontiguousarray(plane))
        if len(packed) % 2:
            packed += b"\x00"
        segments.append(packed)
    offsets = []
    at = 64
    for segment in segments:
        offsets.append(at)
        at += len(segment)
    header = struct.pack("<16I", len(segments), *offsets, *([0] * (15 - len(offsets))))
    return header + b"".join(segments)
