"""JPEG fast path: baseline frames decoded by libjpeg-turbo exactly as pydicom decodes them.

libjpeg-turbo through simplejpeg (its TurboJPEG API), or OpenCV's where simplejpeg is missing.

pydicom decodes JPEG baseline through Pillow (libjpeg-turbo too) and conforms the colour
space to the codestream: component ids 'RGB' / 'rgb' mean the samples are RGB; otherwise
a JFIF marker, or a YBR photometric interpretation, means YCbCr, which it converts to
RGB. OpenCV always lets libjpeg guess (JFIF, or ids other than 'R','G','B', mean YCbCr).
Where both decide the same, OpenCV's output is pydicom's; where libjpeg alone would
convert RGB samples, we relabel the component ids to 'R','G','B' so it leaves them alone;
every other case (Adobe markers, precision > 8, signed or masked samples, a cut-short
stream) goes to pydicom.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

try:
    # libjpeg-turbo through its TurboJPEG API: the same pixels as OpenCV's imdecode (the
    # same library and colour rules), a quarter to a third faster on a 1024 x 768 colour
    # frame, which at 60 frames a second is a millisecond a frame of the cores' time.
    import simplejpeg
except ImportError:  # no wheel for this platform: OpenCV decodes
    simplejpeg = None

_SOF_BASELINE_OR_EXTENDED = (0xC0, 0xC1)
# Every start-of-frame marker, lossless and JPEG-LS (SOF55 = F7) included.
_SOF_ANY = (frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}) | {0xF7}
_RGB_IDS = (0x52, 0x47, 0x42)  # 'R', 'G', 'B'
_RGB_IDS_LOWER = (0x72, 0x67, 0x62)  # 'r', 'g', 'b'
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


@dataclass(frozen=True)
class JpegHeader:
    """What a JPEG (or JPEG-LS) stream says before its first scan."""

    sof_marker: int
    precision: int
    rows: int
    columns: int
    component_ids: tuple[int, ...]
    has_jfif: bool
    adobe_transform: int | None
    sof_offset: int  # offset of the SOF marker's first component-spec byte

    @property
    def libjpeg_transforms(self) -> bool:
        """Whether libjpeg will convert 3 components from YCbCr to RGB (jdapimin.c rules)."""
        if self.has_jfif:
            return True
        if self.adobe_transform is not None:
            return self.adobe_transform != 0
        return self.component_ids != _RGB_IDS

    @property
    def has_rgb_ids(self) -> bool:
        return self.component_ids in (_RGB_IDS, _RGB_IDS_LOWER)


def parse_header(data: bytes | memoryview) -> JpegHeader | None:
    """Read the markers before the first scan; None when this is not a usable JPEG."""
    buf = bytes(data[:65536])
    if len(buf) < 4 or buf[0] != 0xFF or buf[1] != 0xD8:
        return None
    pos = 2
    has_jfif = False
    adobe: int | None = None
    while pos + 4 <= len(buf):
        if buf[pos] != 0xFF:
            return None
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        segment = buf[pos + 4 : pos + 2 + length]
        if marker == 0xE0 and segment[:5] == b"JFIF\x00":
            has_jfif = True
        elif marker == 0xEE and segment[:5] == b"Adobe" and len(segment) >= 12:
            adobe = segment[11]
        elif marker in _SOF_ANY:
            if len(segment) < 6:
                return None
            precision, rows, columns, n_components = struct.unpack(">BHHB", segment[:6])
            ids = tuple(segment[6 + 3 * k] for k in range(n_components) if 6 + 3 * k < len(segment))
            if len(ids) != n_components:
                return None
            return JpegHeader(marker, precision, rows, columns, ids, has_jfif, adobe, pos + 10)
        elif marker == 0xDA:
            return None  # a scan before any frame header
        pos += 2 + length
    return None


def ends_with_eoi(data: bytes) -> bool:
    """Whether the stream ends with an end-of-image marker (FF D9), padding allowed.

    A frame cut short still decodes in libjpeg (the rest comes out grey); pydicom
    refuses it, and so must we.
    """
    return data.rstrip(b"\x00")[-2:] == b"\xff\xd9"


def codestream_size(data: bytes, header: JpegHeader | None = None) -> tuple[int, int] | None:
    """``(columns, rows)`` a JPEG, JPEG-LS or JPEG 2000 codestream declares, if readable.

    Checked against the DICOM header before any decoder runs, so a 6 KB frame that
    claims 30000 x 30000 pixels is refused instead of allocated. ``header`` is the
    already parsed JPEG header, when the caller has it.
    """
    if data[:2] == b"\xff\xd8":
        header = header or parse_header(data)
        return (header.columns, header.rows) if header is not None else None
    start = 0
    if data[:12] == _JP2_SIGNATURE:
        box = data.find(b"jp2c", 0, 65536)
        if box < 0:
            return None
        start = box + 4
    if data[start : start + 4] == b"\xff\x4f\xff\x51" and len(data) >= start + 24:
        x_size, y_size, x_offset, y_offset = struct.unpack(">IIII", data[start + 8 : start + 24])
        return (x_size - x_offset, y_size - y_offset)
    return None


def _relabel_as_rgb(data: bytes, header: JpegHeader) -> bytes:
    """Give the components the ids 'R', 'G', 'B' in the frame header and every scan
    header, so libjpeg returns the samples untransformed (only used without JFIF)."""
    buf = bytearray(data)
    id_map = {}
    for k, old in enumerate(header.component_ids):
        buf[header.sof_offset + 3 * k] = _RGB_IDS[k]
        id_map[old] = _RGB_IDS[k]
    # Scan headers name components by id; byte stuffing guarantees FFDA is a marker.
    pos = buf.find(b"\xff\xda")
    while pos >= 0 and pos + 5 < len(buf):
        for k in range(buf[pos + 4]):
            selector = pos + 5 + 2 * k
            if selector < len(buf):
                buf[selector] = id_map.get(buf[selector], buf[selector])
        pos = buf.find(b"\xff\xda", pos + 2)
    return bytes(buf)


def fast_decode(
    data: bytes,
    photometric: str,
    samples_per_pixel: int,
    header: JpegHeader | None = None,
    out: np.ndarray | None = None,
    fast_chroma: bool = False,
) -> np.ndarray | None:
    """Decode one 8-bit JPEG baseline / extended frame with OpenCV, or return None.

    Returns ``(rows, columns)`` uint8 for one sample, ``(rows, columns, 3)`` uint8 RGB
    for three, identical to pydicom's Pillow decoding followed by its colour handling.
    None means "not a case the fast path reproduces exactly: use pydicom". The caller
    checks signedness and BitsStored (the fast path knows only unsigned 8-bit).

    ``out``: a C-contiguous ``(rows, columns, 3)`` uint8 array three-sample frames may be
    decoded into (simplejpeg's, a new array otherwise), sparing a stream of frames the
    page faults of a new one each time.

    ``fast_chroma``: subsampled colour replicated rather than interpolated
    (libjpeg-turbo's merged upsampling, ~6% faster; simplejpeg only): for a consumer
    that subsamples the colour again and encodes it lossily (an H.264 video's 4:2:0).
    Not exact: see :meth:`usannotate.cine.CineLoop.decode_frame`.
    """
    header = header or parse_header(data)
    if (
        header is None
        or header.sof_marker not in _SOF_BASELINE_OR_EXTENDED
        or header.precision != 8
        or len(header.component_ids) != samples_per_pixel
        or not ends_with_eoi(data)
    ):
        return None
    buffer = data
    if samples_per_pixel == 1:
        flag = cv2.IMREAD_GRAYSCALE
    elif samples_per_pixel == 3 and header.adobe_transform is None:
        if photometric not in ("RGB", "YBR_FULL", "YBR_FULL_422"):
            return None
        flag = cv2.IMREAD_COLOR_RGB
        wanted = not header.has_rgb_ids and (header.has_jfif or photometric.startswith("YBR"))
        if wanted != header.libjpeg_transforms:
            if wanted or header.has_jfif:
                return None  # rare: let pydicom sort it out
            buffer = _relabel_as_rgb(data, header)
    else:
        return None
    if simplejpeg is not None:
        try:
            into = out if samples_per_pixel == 3 and _fits(out, header) else None
            image = simplejpeg.decode_jpeg(
                buffer,
                "GRAY" if samples_per_pixel == 1 else "RGB",
                strict=False,
                buffer=into,
                fastupsample=fast_chroma,
            )
        except ValueError:  # libjpeg gave up on the stream: pydicom says why
            return None
        return image[..., 0] if samples_per_pixel == 1 else image
    image = cv2.imdecode(np.frombuffer(buffer, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    return image


def _fits(out: np.ndarray | None, header: JpegHeader) -> bool:
    """Whether ``out`` can take the frame's RGB pixels exactly."""
    return (
        out is not None
        and out.dtype == np.uint8
        and out.flags.c_contiguous
        and out.flags.writeable
        and out.shape == (header.rows, header.columns, 3)
    )
