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


@functools.lru_cache(maxsize=64)  # a caption's line is measured, then drawn
def _pens(face: ImageFont.FreeTypeFont, line: str) -> tuple[int, ...] | None:
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
    return tuple(pens)


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
    be made from glyphs exactly (see the module's docstring).

    Word by word: each word (the line cut at its spaces) is drawn once from its glyphs
    and kept, and laid at its first glyph's pen. A caption's live measurement is a new
    line on almost every frame of a video, but its words ("angle", "tip", "mm deep")
    and many of its numbers repeat. Where two words' pixels would overlap (never at a
    caption's sizes) the line is drawn glyph by glyph, Pillow's order."""
    pens = _pens(face, line) if _exact(face, line) else None
    if pens is None:
        return None
    width, height = size
    out = np.zeros((height, width), np.uint8)
    x, y = xy
    start = 0
    for word in line.split(" "):
        drawn = _word(face, word) if word else None
        if drawn is _INEXACT:
            return _glyph_by_glyph(face, line, pens, size, xy)
        if drawn is not None:
            pixels, dx, dy = drawn
            if not _lay(out, pixels, x + pens[start] + dx, y + dy, overlap_ok=False):
                return _glyph_by_glyph(face, line, pens, size, xy)
        start += len(word) + 1
    return out


def _lay(out: np.ndarray, pixels: np.ndarray, gx: int, gy: int, *, overlap_ok: bool) -> bool:
    """Lay ``pixels`` over ``out`` with its top-left at ``(gx, gy)`` (cut by the edges):
    Pillow's source-over where ``overlap_ok``, else a plain copy of the nonzero pixels,
    refused (False, ``out`` untouched) where they would fall on nonzero ones."""
    height, width = out.shape
    ox0, oy0 = max(gx, 0), max(gy, 0)
    ox1, oy1 = min(gx + pixels.shape[1], width), min(gy + pixels.shape[0], height)
    if ox0 >= ox1 or oy0 >= oy1:
        return True
    target = out[oy0:oy1, ox0:ox1]
    source = pixels[oy0 - gy : oy1 - gy, ox0 - gx : ox1 - gx]
    if overlap_ok:
        target[...] = _OVER[target, source]
    elif np.minimum(target, source).any():
        return False
    else:
        np.maximum(target, source, out=target)  # one of the two is 0: source-over
    return True


def _glyph_by_glyph(face, line: str, pens, size: tuple[int, int], xy) -> np.ndarray:
    width, height = size
    out = np.zeros((height, width), np.uint8)
    x, y = xy
    for char, pen in zip(line, pens, strict=True):
        glyph = _glyph(face, char)
        if glyph is not None:
            pixels, dx, dy = glyph
            _lay(out, pixels, x + pen + dx, y + dy, overlap_ok=True)
    return out


#: What :func:`_word` says of a word whose pens are not all whole pixels.
_INEXACT = object()


@functools.lru_cache(maxsize=2048)
def _word(face: ImageFont.FreeTypeFont, word: str):
    """A word's coverage drawn glyph by glyph with its first pen at 0, and where the
    picture's top-left corner lies from that pen (``(pixels, x, y)``); None for a blank
    word, :data:`_INEXACT` where a pen is not a whole pixel. Its pens are the line's
    less the first one's: what lies between two glyphs (their advances and kerning) is
    the same in the word and in the line."""
    pens = _pens(face, word)
    if pens is None:
        return _INEXACT
    glyphs = [(pen, _glyph(face, char)) for char, pen in zip(word, pens, strict=True)]
    glyphs = [(pen, glyph) for pen, glyph in glyphs if glyph is not None]
    if not glyphs:
        return None
    x0 = min(pen + dx for pen, (_, dx, _) in glyphs)
    y0 = min(dy for _, (_, _, dy) in glyphs)
    x1 = max(pen + dx + pixels.shape[1] for pen, (pixels, dx, _) in glyphs)
    y1 = max(dy + pixels.shape[0] for _, (pixels, _, dy) in glyphs)
    out = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for pen, (pixels, dx, dy) in glyphs:
        _lay(out, pixels, pen + dx - x0, dy - y0, overlap_ok=True)
    out.flags.writeable = False  # kept and shared
    return out, x0, y0
