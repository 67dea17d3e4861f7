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
    face = font(size_px)
    # A stroke of the text's own colour is Pillow's way to a bolder default font.
    stroke = 1 if bold and size_px >= 12 else 0
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    boxes = [probe.textbbox((0, 0), line or " ", font=face, stroke_width=stroke) for line in lines]
    line_h = max(int(size_px * 1.25), max(b[3] - b[1] for b in boxes))
    width = max(b[2] - b[0] for b in boxes) + 2 * _PAD_PX
    height = line_h * len(lines) + 2 * _PAD_PX
    image = Image.new("RGBA", (width, height), (0, 0, 0, plate_alpha))
    draw = ImageDraw.Draw(image)
    for k, (line, box) in enumerate(zip(lines, boxes, strict=True)):
        xy = (_PAD_PX - box[0], _PAD_PX + k * line_h - box[1] + (line_h - (box[3] - box[1])) // 2)
        draw.text(
            xy,
            line,
            font=face,
            fill=(*colour, 255),
            stroke_width=stroke,
            stroke_fill=(*colour, 255),
        )
    return np.asarray(image, dtype=np.uint8)


def premultiplied_bgra(rgba: np.ndarray) -> np.ndarray:
    """Straight RGBA ``(h, w, 4)`` uint8 -> premultiplied BGRA (the renderer's canvas)."""
    alpha = rgba[..., 3:4].astype(np.uint16)
    rgb = (rgba[..., :3].astype(np.uint16) * alpha + 127) // 255
    return np.concatenate([rgb[..., ::-1], alpha], axis=2).astype(np.uint8)


@functools.lru_cache(maxsize=4096)
def caption_sprite(
    lines: tuple[str, ...], colour: tuple[int, int, int], size_px: int
) -> CaptionSprite:
    """A mark's caption picture: ``lines`` in the label's ``colour`` on the dark plate."""
    return CaptionSprite(premultiplied_bgra(text_rgba(lines, colour, size_px)))
