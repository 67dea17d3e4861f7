"""A line of caption text from glyphs drawn once: Pillow's own pixels at a fraction of its cost.

A video's captions carry live measurements ("angle 32.1° · tip 12.3 mm deep"), a new
line on almost every frame, and Pillow's FreeType rendering of one line costs about 1 ms
at caption sizes, most of the Python time of a frame. Pillow's basic layout (the default
font's) places each glyph at the pen position its advances and kerning give, and an
overlap is laid over the coverage already there; where every pen position is a whole pixel (the
hinted default font at whole pixel sizes) laying the glyphs drawn once at those
positions gives Pillow's picture byte for byte (tests/export/test_media_text.py checks
it). Anything else (a fractional pen position, a line break, another font class) is
left to Pillow itself: :func:`line_coverage` returns None.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["line_box", "line_coverage"]

#: Where glyphs overlap, Pillow lays a glyph's coverage ``g`` over the coverage ``c``
#: there (source-over of white, rounded): ``_OVER[c, g] = c + g * (255 - c) / 255``.
_c, _g = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
_OVER = (_c + (_g * (255 - _c) + 127) // 255).astype(np.uint8)
del _c, _g
#: Pixels around a glyph's box when it is drawn (antialiasing may step past the box).
_MARGIN_PX = 2


@functools.lru_cache(maxsize=1024)
def _glyph(face: ImageFont.FreeTypeFont, char: str) -> tuple[np.ndarray, int, int] | None:
    """``char``'s coverage as Pillow draws it with its origin at (0, 0), and where the
    picture's top-left corner lies from that origin; None for a blank glyph."""
    x0, y0, x1, y1 = face.getbbox(char)
    if x1 <= x0 or y1 <= y0:
        return None
    m = _MARGIN_PX
    image = Image.new("L", (x1 - x0 + 2 * m, y1 - y0 + 2 * m), 0)
    ImageDraw.Draw(image).text((m - x0, m - y0), char, font=face, fill=255)
    pixels = np.asarray(image, dtype=np.uint8)
    if not pixels.any():
        return None
    return pixels, x0 - m, y0 - m


@functools.lru_cache(maxsize=4096)
def _step(face: ImageFont.FreeTypeFont, previous: str, char: str) -> float:
    """How far the pen moves over ``char`` after ``previous`` (its advance and the pair's
    kerning): the length of the pair less the length of ``previous``."""
    if not previous:
        return face.getlength(char)
    return face.getlength(previous + char) - face.getlength(previous)


@functools.lru_cache(maxsize=1024)
def _char_box(face: ImageFont.FreeTypeFont, char: str) -> tuple[int, int, int, int]:
    return face.getbbox(char)


def _pens(face: ImageFont.FreeTypeFont, line: str) -> list[int] | None:
    """Each glyph's pen position: the length of the line up to and including it less
    the glyph's own advance (kerning moves the glyph, not the one before it); None when
    one is not a whole pixel."""
    pens = []
    length, previous = 0.0, ""
    for char in line:
        length += _step(face, previous, char)
        pen = length - _step(face, "", char)
        previous = char
        if pen != int(pen):
            return None
        pens.append(int(pen))
    return pens


def _exact(face: ImageFont.ImageFont | ImageFont.FreeTypeFont, line: str) -> bool:
    return (
        isinstance(face, ImageFont.FreeTypeFont)
        and face.layout_engine == ImageFont.Layout.BASIC
        and "\n" not in line
        and "\r" not in line
    )


def line_box(
    face: ImageFont.ImageFont | ImageFont.FreeTypeFont, line: str
) -> tuple[int, int, int, int]:
    """``face.getbbox(line)`` from the boxes of its characters (cached) where the pen
    stays on whole pixels: the union of each glyph's box at its pen position."""
    pens = _pens(face, line) if _exact(face, line) and line else None
    if pens is None:
        return face.getbbox(line)
    boxes = [_char_box(face, char) for char in line]
    return (
        min(pen + box[0] for pen, box in zip(pens, boxes, strict=True)),
        min(box[1] for box in boxes),
        max(pen + box[2] for pen, box in zip(pens, boxes, strict=True)),
        max(box[3] for box in boxes),
    )


def line_coverage(
    face: ImageFont.ImageFont | ImageFont.FreeTypeFont, line: str, size: tuple[int, int], xy
) -> np.ndarray | None:
    """What ``ImageDraw.text(xy, line, font=face, fill=255)`` draws on a black ``"L"``
    image of ``size`` (width, height), as ``(height, width)`` uint8; None where it cannot
    be made from glyphs exactly (see the module's docstring)."""
    pens = _pens(face, line) if _exact(face, line) else None
    if pens is None:
        return None
    width, height = size
    out = np.zeros((height, width), np.uint8)
    x, y = xy
    for char, pen in zip(line, pens, strict=True):
        glyph = _glyph(face, char)
        if glyph is None:
            continue
        pixels, dx, dy = glyph
        gx, gy = x + pen + dx, y + dy
        ox0, oy0 = max(gx, 0), max(gy, 0)
        ox1, oy1 = min(gx + pixels.shape[1], width), min(gy + pixels.shape[0], height)
        if ox0 >= ox1 or oy0 >= oy1:
            continue
        target = out[oy0:oy1, ox0:ox1]
        target[...] = _OVER[target, pixels[oy0 - gy : oy1 - gy, ox0 - gx : ox1 - gx]]
    return out
