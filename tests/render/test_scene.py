"""A frame's marks as one picture: the geometry table, the view's transform, captions."""

from __future__ import annotations

import pickle

import numpy as np

from usannotate.annotations import AnnotatedObject, FrameSource, ShapeKind
from usannotate.render import CaptionSprite
from usannotate.render.placement import follow_captions, trajectory_end
from usannotate.render.scene import GeometryTable, Scene, TrackLook, render_frame

GREEN = (0, 200, 0)


def _plane() -> AnnotatedObject:
    plane = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE)
    plane.set_points(0, np.array([[10.0, 20.0], [90.0, 20.0]]))
    plane.set_points(10, np.array([[10.0, 40.0], [90.0, 40.0]]))
    return plane


def _scene(tracks, scale=1.0, offset=(0.0, 0.0), size=(400, 300), **options) -> Scene:
    return Scene(
        tuple(tracks),
        np.eye(2) * scale,
        np.asarray(offset, dtype=float),
        scale,
        size,
        **options,
    )


def test_the_table_packs_every_frame_and_survives_pickling():
    plane = _plane()
    geometry = plane.all_geometry(11)
    table = pickle.loads(pickle.dumps(GeometryTable.pack({plane.id: geometry})))
    for frame, (points, source) in geometry.items():
        got_points, got_source = table.get(plane.id, frame)
        assert np.allclose(got_points, points)
        assert got_source == source
    assert table.get(plane.id, 11) is None
    assert table.get("no such track", 0) is None
    assert table.get(plane.id, 5)[1] == FrameSource.INTERPOLATED


def test_the_picture_lies_where_the_view_puts_the_mark():
    plane = _plane()
    table = GeometryTable.pack({plane.id: plane.all_geometry(11)})
    look = TrackLook(plane.id, ShapeKind.POLYLINE, GREEN)
    picture = render_frame(_scene([look], scale=2.0, offset=(30.0, 5.0)), table, 10)
    x0, y0 = picture.origin
    # Image (10..90, 40) at 2x, shifted by (30, 5): viewport (50..210, 85).
    green = np.argwhere(np.all(picture.pixels == (0, 200, 0, 255), axis=2)) + np.array([y0, x0])
    assert green[:, 0].min() >= 84
    assert green[:, 0].max() <= 87
    assert abs(green[:, 1].min() - 50) <= 1
    assert abs(green[:, 1].max() - 210) <= 1
    assert render_frame(_scene([look]), table, 11) is None  # no mark on that frame


def test_a_picture_is_cut_to_the_view():
    plane = _plane()
    table = GeometryTable.pack({plane.id: plane.all_geometry(11)})
    look = TrackLook(plane.id, ShapeKind.POLYLINE, GREEN)
    picture = render_frame(_scene([look], size=(50, 300)), table, 0)
    assert picture.origin[0] + picture.pixels.shape[1] <= 50
    off_view = _scene([look], offset=(-500.0, 0.0))
    assert render_frame(off_view, table, 0) is None


def test_captions_follow_their_marks_and_stay_in_the_image():
    plane = _plane()
    table = GeometryTable.pack({plane.id: plane.all_geometry(11)})
    sprite = np.zeros((12, 40, 4), np.uint8)
    sprite[...] = (255, 255, 255, 255)
    captions = {source: CaptionSprite(sprite) for source in FrameSource}
    look = TrackLook(
        plane.id, ShapeKind.POLYLINE, GREEN, captions=captions, caption_offset_px=(5.0, -20.0)
    )
    scene = _scene([look], bounds=(0.0, 0.0, 100.0, 100.0))
    picture = render_frame(scene, table, 10)
    white = np.argwhere(np.all(picture.pixels == 255, axis=2)) + picture.origin[::-1]
    # The plane's first anchor is its right-hand end (90, 40); the caption 5 px right,
    # 20 px up, but kept inside the image: its 40 px do not fit right of x = 95.
    assert white[:, 1].min() == 60
    assert white[:, 0].min() == 20
    assert np.allclose(
        follow_captions(
            np.array([[90.0, 40.0]]),
            np.array([[5.0, -20.0]]),
            np.array([[40, 12]]),
            1.0,
            (0, 0, 100, 100),
        ),
        [[60.0, 20.0]],
    )


def test_the_needle_trajectory_stops_at_the_image_edge():
    assert trajectory_end((10.0, 10.0), (60.0, 50.0), (0.0, 0.0, 80.0, 60.0)) == (72.5, 60.0)
    assert trajectory_end((10.0, 10.0), (60.0, 50.0), None) == (110.0, 90.0)
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, np.array([[10.0, 10.0], [60.0, 50.0]]))
    table = GeometryTable.pack({needle.id: needle.all_geometry(1)})
    look = TrackLook(needle.id, ShapeKind.NEEDLE, GREEN)
    drawn = render_frame(_scene([look], bounds=(0.0, 0.0, 80.0, 60.0)), table, 0)
    hidden = render_frame(_scene([look], show_trajectory=False), table, 0)
    coloured = np.all(drawn.pixels == (0, 200, 0, 255), axis=2)
    beyond = np.argwhere(coloured) + drawn.origin[::-1]
    assert beyond[:, 1].max() >= 68  # the trajectory goes on past the tip (x 60)...
    assert beyond[:, 0].max() <= 62  # ...and stops at the image's bottom (y 60)
    plain = np.argwhere(np.all(hidden.pixels == (0, 200, 0, 255), axis=2)) + hidden.origin[::-1]
    assert plain[:, 1].max() < 70
