"""Caption text made from glyphs drawn once is Pillow's own rendering, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from usannotate.export import media_text
from usannotate.export._glyphs import line_box, line_coverage

LINES = [
    "angle 32.1° · tip 12.3 mm deep",
    "angle 3.0° · tip 7.9 mm deep",
    "area 1234 mm2",
    "Needle · interpolated",
    "Superficial fascia · keyframe",
    "AV Wa To Ty fi fl ff 'quoted' (x) [y] {z} 10 mm",  # kerning pairs, ligature letters
    "Ägypten ñ ü ß é",
    "",
    " ",
    " leading and trailing spaces  ",
]


def _pillow(line, size_px, width, height, xy):
    image = Image.new("L", (width, height), 0)
    ImageDraw.Draw(image).text(xy, line, font=media_text.font(size_px), fill=255)
    return np.asarray(image)


@pytest.mark.parametrize("size_px", [12, 13, 16, 17, 20, 24])
def test_a_line_from_glyphs_is_what_pillow_draws(size_px):
    face = media_text.font(size_px)
    rng = np.random.default_rng(size_px)
    numbers = [f"angle {v:.1f}° · tip {d:.1f} mm deep" for v, d in rng.uniform(0, 90, (20, 2))]
    for line in LINES + numbers:
        box = face.getbbox(line or " ")
        assert line_box(face, line or " ") == box, line
        width, height = box[2] - box[0] + 2, max(int(size_px * 1.25), box[3] - box[1])
        xy = (-box[0], (height - (box[3] - box[1])) // 2 - box[1])
        made = line_coverage(face, line, (width, height), xy)
        assert made is not None, line  # the default font's pen stays on whole pixels
        np.testing.assert_array_equal(made, _pillow(line, size_px, width, height, xy), line)
        # Cut by the picture's edges as Pillow cuts it.
        np.testing.assert_array_equal(
            line_coverage(face, line, (width // 2, height - 3), (xy[0] - 3, xy[1] - 2)),
            _pillow(line, size_px, width // 2, height - 3, (xy[0] - 3, xy[1] - 2)),
            line,
        )


def test_what_glyphs_cannot_make_exactly_is_left_to_pillow():
    face = media_text.font(17)
    assert line_coverage(face, "two\nlines", (80, 40), (0, 0)) is None
    from PIL import ImageFont

    assert line_coverage(ImageFont.load_default_imagefont(), "bitmap", (80, 20), (0, 0)) is None
    # The caption made either way is the same picture.
    media_text._line_mask.cache_clear()
    assert media_text._line_mask("two\nlines", 17, True).shape[1] > 0


def test_where_two_words_would_overlap_the_line_is_drawn_glyph_by_glyph(monkeypatch):
    """Words are laid as pictures drawn once only where their pixels fall apart; a
    word laid on pixels already drawn gives way to the glyph-by-glyph drawing, which
    is Pillow's (its order of laying overlapping glyphs)."""
    from usannotate.export import _glyphs

    face = media_text.font(17)
    line = "tip 12.3 mm"
    box = face.getbbox(line)
    size, xy = (box[2] - box[0] + 2, 24), (-box[0], 2)
    expected = _pillow(line, 17, *size, xy)
    glyph_by_glyph = []
    real = _glyphs._glyph_by_glyph
    monkeypatch.setattr(
        _glyphs,
        "_glyph_by_glyph",
        lambda *args: glyph_by_glyph.append(args) or real(*args),
    )
    np.testing.assert_array_equal(line_coverage(face, line, size, xy), expected)
    assert not glyph_by_glyph  # apart: laid as words
    # Every word's picture made 8 px wider to the left, solid: it now covers its left
    # neighbour's last column, so the words "overlap" and the line is drawn by glyphs.
    real_word = _glyphs._word.__wrapped__

    def widened(face, word):
        pixels, x, y = real_word(face, word)
        wide = np.pad(pixels, ((0, 0), (8, 0)), constant_values=255)
        return wide, x - 8, y

    monkeypatch.setattr(_glyphs, "_word", widened)
    np.testing.assert_array_equal(line_coverage(face, line, size, xy), expected)
    assert glyph_by_glyph
