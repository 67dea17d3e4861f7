"""Caption plates and text for exported media, drawn with Pillow (no Qt).

The app draws its captions with Qt; exports run headless, so their
:class:`~usannotate.render.marks.CaptionSprite` pictures are made here: a dark plate
(black at alpha 150) with the text in the label's colour, as premultiplied BGRA.
Pillow's default font is a scalable FreeType font from Pillow 10.1 on; an older Pillow
gives its small bitmap font (still legible).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from usannotate.export._glyphs import line_box, line_coverage
from usannotate.render.marks import CaptionSprite

__all__ = ["PLATE_ALPHA", "caption_sprite", "font", "text_rgba"]

#: The plate under a caption's text: black at this alpha (the app's captions).
PLATE_ALPHA = 150
_PAD_PX = 4


@functools.lru_cache(maxsize=16)
def font(size_px: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's default font at ``size_px`` (pixels)."""
    try:
        return ImageFont.load_default(size_px)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


@functools.lru_cache(maxsize=256)
def _line_mask(line: str, size_px: int, bold: bool) -> np.ndarray:
    """One line's coverage, ``(h, w)`` uint8 (cached: captions repeat their names)."""
    face = font(size_px)
    box = line_box(face, line or " ")
    width = box[2] - box[0] + (2 if bold else 1)
    height = max(int(size_px * 1.25), box[3] - box[1])
    xy = (-box[0], (height - (box[3] - box[1])) // 2 - box[1])
    drawn = line_coverage(face, line, (width, height), xy)  # Pillow's pixels, ~5x faster
    if drawn is None:
        image = Image.new("L", (width, height), 0)
        ImageDraw.Draw(image).text(xy, line, font=face, fill=255)
        drawn = np.asarray(image)
    coverage = drawn.astype(np.uint16)
    if bold:
        # The line laid over itself one pixel right (as drawing it twice would, at half
        # Pillow's cost; its stroke draws every glyph's outline as well): a bolder
        # default font. Source-over of white: c + (255 - c) * shifted / 255.
        shifted = np.zeros_like(coverage)
        shifted[:, 1:] = coverage[:, :-1]
        coverage = coverage + ((255 - coverage) * shifted + 127) // 255
    return coverage.astype(np.uint8)


def text_rgba(
    lines: Sequence[str],
    colour: tuple[int, int, int],
    size_px: int,
    *,
    plate_alpha: int = PLATE_ALPHA,
    bold: bool = True,
) -> np.ndarray:
    """``lines`` of text in ``colour`` (RGB) on a black plate of ``plate_alpha``:
    ``(h, w, 4)`` uint8 straight (not premultiplied) RGBA."""
    masks = [_line_mask(line, size_px, bold and size_px >= 12) for line in lines]
    width = max(m.shape[1] for m in masks) + 2 * _PAD_PX
    height = sum(m.shape[0] for m in masks) + 2 * _PAD_PX
    coverage = np.zeros((height, width), np.float32)
    y = _PAD_PX
    for m in masks:
        coverage[y : y + m.shape[0], _PAD_PX : _PAD_PX + m.shape[1]] = m
        y += m.shape[0]
    coverage /= 255.0
    # Text over the plate (source-over in straight alpha).
    plate = plate_alpha / 255.0
    alpha = coverage + plate * (1.0 - coverage)
    out = np.zeros((height, width, 4), np.uint8)
    safe = np.maximum(alpha, 1e-6)[..., None]
    out[..., :3] = np.clip(
        np.asarray(colour, np.float32) * coverage[..., None] / safe + 0.5, 0, 255
    )
    out[..., 3] = np.clip(alpha * 255.0 + 0.5, 0, 255)
    return out


def premultiplied_bgra(rgba: np.ndarray) -> np.ndarray:
    """Straight RGBA ``(h, w, 4)`` uint8 -> premultiplied BGRA (the renderer's canvas)."""
    alpha = rgba[..., 3:4].astype(np.uint16)
    rgb = (rgba[..., :3].astype(np.uint16) * alpha + 127) // 255
    return np.concatenate([rgb[..., ::-1], alpha], axis=2).astype(np.uint8)


# Small caches: names repeat on every frame, live measurements rarely (a long loop would
# otherwise keep a picture per frame per mark).
@functools.lru_cache(maxsize=128)
def caption_sprite(
    lines: tuple[str, ...], colour: tuple[int, int, int], size_px: int
) -> CaptionSprite:
    """A mark's caption picture: ``lines`` in the label's ``colour`` on the dark plate."""
    return CaptionSprite(_premultiplied_text(lines, colour, size_px))


def _premultiplied_text(
    lines: Sequence[str], colour: tuple[int, int, int], size_px: int
) -> np.ndarray:
    """:func:`text_rgba` made premultiplied BGRA in one step of integer arithmetic (a
    caption with a live measurement is new on every frame of a video): premultiplied,
    the text is ``colour * coverage`` and the alpha ``coverage + plate * (1 -
    coverage)``; within 1 of the two steps in floating point."""
    masks = [_line_mask(line, size_px, size_px >= 12) for line in lines]
    width = max(m.shape[1] for m in masks) + 2 * _PAD_PX
    height = sum(m.shape[0] for m in masks) + 2 * _PAD_PX
    coverage = np.zeros((height, width), np.uint16)
    y = _PAD_PX
    for m in masks:
        coverage[y : y + m.shape[0], _PAD_PX : _PAD_PX + m.shape[1]] = m
        y += m.shape[0]
    out = np.empty((height, width, 4), np.uint8)
    for channel, value in zip((2, 1, 0), colour, strict=True):  # BGR
        out[..., channel] = (coverage * value + 127) // 255
    out[..., 3] = coverage + (PLATE_ALPHA * (255 - coverage) + 127) // 255
    return out
