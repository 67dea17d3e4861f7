"""The OpenCV drawing of marks: dashes, halos, fills, markers, captions, compositing."""

from __future__ import annotations

import numpy as np
import pytest

from usannotate.annotations import FrameSource, ShapeKind
from usannotate.render import CaptionSprite, MarkDrawing, draw_marks
from usannotate.render.dashes import dash_segments, dashes_by_line
from usannotate.render.marks import composite_over
from usannotate.render.style import MarkStyle

ORANGE = (255, 160, 0)  # RGB
ORANGE_BGRA = (0, 160, 255, 255)


def _canvas(rows: int = 120, columns: int = 200) -> np.ndarray:
    return np.zeros((rows, columns, 4), np.uint8)


def test_dashes_follow_qts_pattern_in_line_widths():
    line = np.array([[0.0, 0.0], [100.0, 0.0]])
    dashes = dash_segments([line], (4, 2), 2.0)
    starts, ends = dashes[:, 0, 0], dashes[:, 1, 0]
    # Dash 8 px, gap 4 px (the pattern times the width), restarting at the line's start.
    assert starts[:3].tolist() == [0.0, 12.0, 24.0]
    assert (ends - starts)[:-1].tolist() == [8.0] * (len(dashes) - 1)
    assert ends[-1] <= 100.0
    assert np.all(dashes[:, :, 1] == 0.0)


def test_dashes_of_many_lines_say_whose_they_are():
    first = np.array([[0.0, 0.0], [60.0, 0.0]])
    second = np.array([[0.0, 10.0], [30.0, 10.0], [30.0, 40.0]])  # a corner: chords
    dashes, owner = dashes_by_line([first, second], (4, 2), 2.0)
    alone = [dash_segments([line], (4, 2), 2.0) for line in (first, second)]
    assert np.allclose(dashes[owner == 0], alone[0])
    assert np.allclose(dashes[owner == 1], alone[1])
    # No dash of one line reaches into the other.
    assert np.all(dashes[owner == 0][:, :, 1] == 0.0)
    assert np.all(dashes[owner == 1][:, :, 1] >= 10.0)


def test_caps_lengthen_or_shorten_every_dash():
    line = np.array([[0.0, 0.0], [100.0, 0.0]])
    plain = dash_segments([line], (4, 2), 2.0)
    shorter = dash_segments([line], (4, 2), 2.0, cap_px=-0.5)
    assert np.allclose(shorter[1:-1, 0, 0], plain[1:-1, 0, 0] + 0.5)
    assert np.allclose(shorter[1:-1, 1, 0], plain[1:-1, 1, 0] - 0.5)


def test_a_keyframe_plane_is_solid_on_a_dark_halo():
    canvas = _canvas()
    line = np.array([[10.0, 60.0], [190.0, 60.0]])
    draw_marks(canvas, [MarkDrawing(ShapeKind.POLYLINE, line, ORANGE)])
    for row in (60, 61):  # 2 px wide, solid, opaque, BGRA order
        assert np.all(canvas[row, 20:180] == ORANGE_BGRA)
    for row in (59, 62):  # the 4 px halo on either side
        halo = canvas[row, 20:180]
        assert np.all(halo[:, :3] == 0)
        assert np.all(halo[:, 3] == MarkStyle().halo_alpha)
    assert np.all(canvas[20] == 0)  # nothing far from it


@pytest.mark.parametrize(
    ("source", "short_dashes"), [(FrameSource.INTERPOLATED, False), (FrameSource.TRACKED, True)]
)
def test_computed_frames_are_broken_lines(source, short_dashes):
    canvas = _canvas()
    line = np.array([[10.0, 60.0], [190.0, 60.0]])
    draw_marks(canvas, [MarkDrawing(ShapeKind.POLYLINE, line, ORANGE, source)])
    on = np.all(canvas[60, 10:190] == ORANGE_BGRA, axis=1)
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, on.astype(int), 0])))[::2]
    assert on.any()  # dashes
    assert not on.all()  # with gaps between them
    gaps = canvas[60, 10:190][~on]
    assert np.all(gaps[:, 3] == MarkStyle().halo_alpha)  # the halo shows in the gaps
    # Dash 8 px (4 widths); dash-dot adds dots of 2 px (1 width).
    assert max(runs) >= 7
    assert (min(runs) <= 3) == short_dashes


def test_a_region_is_filled_at_the_fill_alpha_premultiplied():
    canvas = _canvas()
    square = np.array([[40.0, 20.0], [140.0, 20.0], [140.0, 100.0], [40.0, 100.0]])
    draw_marks(canvas, [MarkDrawing(ShapeKind.REGION, square, ORANGE)])
    alpha = MarkStyle().region_fill_alpha
    b, g, r = ORANGE[2], ORANGE[1], ORANGE[0]
    expected = [round(b * alpha / 255), round(g * alpha / 255), round(r * alpha / 255), alpha]
    assert canvas[60, 90].tolist() == expected
    assert canvas[20, 90].tolist() == list(ORANGE_BGRA)  # the outline on top
    assert canvas[60, 10].tolist() == [0, 0, 0, 0]


def test_a_needle_has_its_tip_ring_and_entry_square():
    canvas = _canvas()
    needle = np.array([[30.0, 30.0], [120.0, 80.0]])
    draw_marks(
        canvas, [MarkDrawing(ShapeKind.NEEDLE, needle, ORANGE, trajectory_end=(170.0, 108.0))]
    )
    ring = MarkStyle().tip_ring_px
    assert canvas[80, round(120 + ring)].tolist() == list(ORANGE_BGRA)  # on the ring
    assert canvas[80, 120].tolist() == list(ORANGE_BGRA)  # the tip's dot
    assert canvas[30, 30].tolist() == list(ORANGE_BGRA)  # the entry's square
    # The trajectory beyond the tip: thin dashes in the needle's colour.
    along = [canvas[round(80 + 28 * t), round(120 + 50 * t)] for t in np.linspace(0.35, 0.95, 40)]
    assert sum(np.array_equal(p, ORANGE_BGRA) for p in along) > 5


def test_points_and_selected_vertices_are_discs():
    canvas = _canvas()
    draw_marks(canvas, [MarkDrawing(ShapeKind.POINT, np.array([[50.0, 50.0]]), ORANGE)])
    assert canvas[50, 50].tolist() == list(ORANGE_BGRA)
    assert canvas[50, 56, 3] > 0  # the dark ring
    assert canvas[50, 56, :3].max() < 60
    selected = _canvas()
    line = np.array([[20.0, 40.0], [100.0, 40.0], [180.0, 90.0]])
    draw_marks(selected, [MarkDrawing(ShapeKind.POLYLINE, line, ORANGE, selected=True)])
    plain = _canvas()
    draw_marks(plain, [MarkDrawing(ShapeKind.POLYLINE, line, ORANGE)])
    # Wider line, and a dot on each vertex.
    assert np.count_nonzero(selected[..., 3]) > np.count_nonzero(plain[..., 3])
    # A vertex dot's dark ring reaches past the line's halo; the plain line has none.
    assert selected[45, 100, 3] > 0
    assert plain[45, 100, 3] == 0


def test_captions_go_above_every_mark():
    canvas = _canvas()
    sprite = np.zeros((10, 30, 4), np.uint8)
    sprite[...] = (20, 200, 40, 255)
    line = np.array([[10.0, 60.0], [190.0, 60.0]])
    later = MarkDrawing(ShapeKind.POLYLINE, line + np.array([0.0, 2.0]), (0, 0, 255))
    first = MarkDrawing(ShapeKind.POLYLINE, line, ORANGE)
    first.caption, first.caption_at = CaptionSprite(sprite), (50.0, 55.0)
    draw_marks(canvas, [first, later])
    assert np.all(canvas[55:65, 50:80] == (20, 200, 40, 255))


def test_translucent_captions_blend_over_what_is_under_them():
    canvas = _canvas()
    canvas[...] = (100, 100, 100, 255)
    sprite = np.zeros((4, 4, 4), np.uint8)
    sprite[...] = (0, 0, 0, 150)  # a dark plate, premultiplied
    mark = MarkDrawing(ShapeKind.POINT, np.array([[150.0, 100.0]]), ORANGE)
    mark.caption, mark.caption_at = CaptionSprite(sprite), (10.0, 10.0)
    draw_marks(canvas, [mark])
    assert canvas[11, 11].tolist() == [round(100 * 105 / 255)] * 3 + [255]


def test_composite_over_is_premultiplied_source_over():
    rgb = np.full((2, 2, 3), 200, np.uint8)
    overlay = np.zeros((2, 2, 4), np.uint8)
    overlay[0, 0] = (0, 0, 255, 255)  # opaque red (BGRA)
    overlay[0, 1] = (0, 0, 0, 170)  # the halo
    out = composite_over(rgb, overlay)
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[0, 1].tolist() == [round(200 * 85 / 255)] * 3
    assert out[1, 1].tolist() == [200, 200, 200]
    half = composite_over(rgb, overlay, opacity=0.5)
    assert half[0, 0].tolist() == [round(255 * 0.5 + 200 * 0.5), 100, 100]


def _busy_marks() -> list[MarkDrawing]:
    """A keyframe plane, an interpolated one, a needle with its trajectory, a point and
    a translucent caption: every layer an export draws but fills."""
    plane = np.array([[10.0, 30.0], [100.0, 36.0], [190.0, 28.0]])
    needle = MarkDrawing(
        ShapeKind.NEEDLE,
        np.array([[20.0, 10.0], [110.0, 70.0]]),
        (0, 200, 255),
        FrameSource.TRACKED,
        trajectory_end=(160.0, 103.0),
    )
    sprite = np.zeros((12, 40, 4), np.uint8)
    sprite[...] = (0, 0, 0, 150)  # a dark plate
    sprite[3:9, 4:36] = (40, 200, 20, 255)  # its text
    needle.caption, needle.caption_at = CaptionSprite(sprite), (120.0, 50.0)
    return [
        MarkDrawing(ShapeKind.POLYLINE, plane, ORANGE),
        MarkDrawing(
            ShapeKind.POLYLINE,
            plane + np.array([0.0, 40.0]),
            (90, 255, 90),
            FrameSource.INTERPOLATED,
        ),
        needle,
        MarkDrawing(ShapeKind.POINT, np.array([[60.0, 100.0]]), (255, 60, 200)),
    ]


def _speckle(rows: int = 120, columns: int = 200) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (rows, columns, 3), np.uint8)


def test_marks_drawn_straight_onto_a_frame_are_the_picture_laid_over_it():
    """An export draws onto its opaque frame what the app's transparent picture of the
    same marks shows laid over the frame: the same pixels, within 8-bit rounding."""
    from usannotate.render.marks import draw_marks_over

    canvas = _canvas()
    draw_marks(canvas, _busy_marks())
    expected = composite_over(_speckle(), canvas).astype(int)
    frame = _speckle()
    draw_marks_over(frame, _busy_marks())
    difference = np.abs(frame.astype(int) - expected)
    assert difference.max() <= 2
    assert (difference > 0).mean() < 0.05
    assert (frame != _speckle()).any(axis=2).mean() > 0.1  # the marks are there


def test_on_a_frame_a_selected_marks_vertex_dots_lie_over_its_line():
    from usannotate.render.marks import draw_marks_over

    line = np.array([[20.0, 40.0], [100.0, 40.0], [180.0, 90.0]])
    frame = np.full((120, 200, 3), 200, np.uint8)
    draw_marks_over(frame, [MarkDrawing(ShapeKind.POLYLINE, line, ORANGE, selected=True)])
    assert frame[40, 100].tolist() == list(ORANGE)  # the dot
    ring = frame[45, 100].astype(int)  # its dark ring, past the line's halo
    assert ring.max() < 200 * (1 - MarkStyle().halo_alpha / 255) + 30
    assert frame[70, 100].tolist() == [200, 200, 200]


def test_on_a_frame_a_region_fill_shows_through_its_halo():
    """Onto an opaque frame each layer is laid over the last: a region's fill blends at
    the fill alpha, and its halo darkens the filled frame (as in the app's scene) where
    the app's picture replaces the fill by the halo."""
    from usannotate.render.marks import draw_marks_over

    style = MarkStyle()
    square = np.array([[40.0, 20.0], [140.0, 20.0], [140.0, 100.0], [40.0, 100.0]])
    frame = np.full((120, 200, 3), 100, np.uint8)
    draw_marks_over(frame, [MarkDrawing(ShapeKind.REGION, square, ORANGE)])
    a = style.region_fill_alpha / 255
    filled = [round(c * a + 100 * (1 - a)) for c in ORANGE]
    assert np.abs(frame[60, 90].astype(int) - filled).max() <= 1
    assert frame[20, 90].tolist() == list(ORANGE)  # the outline on top
    assert frame[60, 10].tolist() == [100, 100, 100]
    halo = 1 - style.halo_alpha / 255
    inside_halo = frame[60, 42].astype(int)  # inside the square, under the halo only
    assert np.abs(inside_halo - [round(c * halo) for c in filled]).max() <= 1


def test_lay_over_cuts_a_patch_at_the_images_edges():
    from usannotate.render.marks import lay_over

    rgb = np.full((10, 10, 3), 200, np.uint8)
    patch = np.zeros((4, 4, 4), np.uint8)
    patch[...] = (255, 0, 0, 255)  # opaque blue (BGRA)
    lay_over(rgb, patch, (-2, 8))
    assert np.all(rgb[8:, :2] == (0, 0, 255))
    assert np.all(rgb[:8] == 200)
    assert np.all(rgb[8:, 2:] == 200)
    before = rgb.copy()
    lay_over(rgb, patch, (20, 20))  # off the image: nothing
    np.testing.assert_array_equal(rgb, before)
