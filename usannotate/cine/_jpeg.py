"""JPEG fast path: decode baseline frames with OpenCV's libjpeg-turbo, exactly as pydicom.

pydicom (through Pillow, which also wraps libjpeg-turbo) decodes JPEG baseline frames
with these colour rules: with an Adobe APP14 marker the marker decides; without one the
components are returned untransformed and pydicom converts YBR to RGB itself. OpenCV
always lets libjpeg guess the colour space (JFIF marker or component ids 1-2-3 mean
YCbCr). Where the two agree the pixels are identical, so we take OpenCV's fast path;
where libjpeg would guess YCbCr for data the DICOM header calls RGB, we relabel the
component ids so libjpeg leaves the samples alone; anything else goes to pydicom.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SOF_BASELINE_OR_EXTENDED = (0xC0, 0xC1)
_SOF_ANY = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_RGB_IDS = (0x52, 0x47, 0x42)  # 'R', 'G', 'B'


@dataclass(frozen=True)
class JpegHeader:
    """What libjpeg will decide about a JPEG stream, read from its markers."""

    sof_marker: int
    precision: int
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


def parse_header(data: bytes | memoryview) -> JpegHeader | None:
    """Read the markers before the first scan; None when this is not a usable JPEG."""
    buf = bytes(data[:65536]) if len(data) > 65536 else bytes(data)
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
            n_components = segment[5]
            ids = tuple(segment[6 + 3 * k] for k in range(n_components) if 6 + 3 * k < len(segment))
            if len(ids) != n_components:
                return None
            return JpegHeader(marker, segment[0], ids, has_jfif, adobe, pos + 10)
        elif marker == 0xDA:
            return None  # a scan before any frame header
        pos += 2 + length
    return None


def _relabel_as_rgb(data: bytes, header: JpegHeader) -> bytes:
    """Give the components the ids 'R', 'G', 'B' (in SOF and every SOS) and hide JFIF.

    libjpeg then returns the samples untransformed, as pydicom does for RGB data.
    """
    buf = bytearray(data)
    id_map = {}
    for k, old in enumerate(header.component_ids):
        buf[header.sof_offset + 3 * k] = _RGB_IDS[k]
        id_map[old] = _RGB_IDS[k]
    # An APP0 "JFIF" segment forces YCbCr; turn it into an APP15 segment libjpeg ignores.
    app0 = bytes(buf[:256]).find(b"\xff\xe0\x00\x10JFIF\x00")
    if app0 >= 0:
        buf[app0 + 1] = 0xEF
    # Scan headers name components by id; byte stuffing guarantees FFDA is a marker.
    pos = bytes(buf).find(b"\xff\xda")
    while pos >= 0 and pos + 5 < len(buf):
        n = buf[pos + 4]
        for k in range(n):
            sel = pos + 5 + 2 * k
            if sel < len(buf):
                buf[sel] = id_map.get(buf[sel], buf[sel])
        pos = buf.find(b"\xff\xda", pos + 2)
    return bytes(buf)


def fast_decode(data: bytes, photometric: str, samples_per_pixel: int) -> np.ndarray | None:
    """Decode one JPEG baseline/extended 8-bit frame with OpenCV, or return None.

    Returns ``(rows, columns)`` uint8 for one sample, ``(rows, columns, 3)`` uint8 RGB
    for three, identical to pydicom's Pillow decoding followed by its YBR->RGB
    conversion. None means "not a case the fast path reproduces exactly: use pydicom".
    """
    header = parse_header(data)
    if (
        header is None
        or header.sof_marker not in _SOF_BASELINE_OR_EXTENDED
        or header.precision != 8
        or len(header.component_ids) != samples_per_pixel
    ):
        return None
    buffer = data
    if samples_per_pixel == 1:
        flag = cv2.IMREAD_GRAYSCALE
    elif samples_per_pixel == 3 and header.adobe_transform is None:
        flag = cv2.IMREAD_COLOR_RGB
        if photometric in ("YBR_FULL", "YBR_FULL_422"):
            if not header.libjpeg_transforms:
                return None
        elif photometric == "RGB":
            if header.libjpeg_transforms:
                buffer = _relabel_as_rgb(data, header)
        else:
            return None
    else:
        return None
    image = cv2.imdecode(np.frombuffer(buffer, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        return None
    return image
