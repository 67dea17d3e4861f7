"""Playback's marks come from a table a worker computes: the same points as the model's,
never stale after an edit, and the fast polygon build gives the points it was given."""

from __future__ import annotations

import numpy as np
import pytest

from usannotate.annotations import AnnotatedObject, FrameSource, ShapeKind
from usannotate.annotations.edits import AddObject, SetPoints
from usannotate.ui.viewer.marks import _polygon


def _fluid(n_frames: int) -> AnnotatedObject:
    fluid = AnnotatedObject("fluid.injectate", ShapeKind.REGION)
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    for frame in (0, n_frames // 2, n_frames - 1):
        r = 10 + 20 * frame / n_frames
        fluid.set_points(frame, np.c_[200 + r * np.cos(angles), 150 + 0.5 * r * np.sin(angles)])
    return fluid


def _built(window, qtbot):
    """Playing, with the items' table built (the window builds it when the worker process
    drawing the marks cannot keep up, or when there is none)."""
    cache = window.marks_view.geometry
    window.state.set_playing(True)
    cache.build()
    qtbot.waitUntil(lambda: cache.is_ready, timeout=10_000)
    return cache


def test_the_table_holds_the_models_geometry_on_every_frame(opened, qtbot):
    window = opened
    n = window.loop.n_frames
    fluid = _fluid(n)
    window.session.history.push(AddObject(fluid))
    cache = _built(window, qtbot)
    for frame in range(n):
        expected = fluid.geometry(frame)
        found = cache.geometry(fluid, frame)
        assert (found is None) == (expected is None)
        if expected is not None:
            np.testing.assert_allclose(found[0], expected[0])
            assert found[1] == expected[1]
    assert cache.geometry(fluid, n // 4)[1] == FrameSource.INTERPOLATED
    window.state.set_playing(False)


def test_an_edit_while_playing_is_drawn_at_once_not_the_old_table(opened, qtbot):
    window = opened
    n = window.loop.n_frames
    fluid = _fluid(n)
    window.session.history.push(AddObject(fluid))
    cache = _built(window, qtbot)
    frame = n // 4
    moved = fluid.points(frame) + 30.0
    window.session.history.push(SetPoints(fluid.id, frame, moved))
    moved = fluid.points(frame)  # as the model keeps them (rounded)
    assert not cache.is_ready  # the table was dropped with the edit
    np.testing.assert_allclose(cache.geometry(fluid, frame)[0], moved)
    window.navigator.show_index(frame)
    item = window.layer.items[fluid.id]
    np.testing.assert_allclose(item.points, moved)
    cache.build()  # built again (as the window does when the items draw the marks)
    qtbot.waitUntil(lambda: cache.is_ready, timeout=10_000)
    np.testing.assert_allclose(cache.geometry(fluid, frame)[0], moved)
    window.state.set_playing(False)


def test_playback_draws_the_tables_points(opened, qtbot):
    window = opened
    n = window.loop.n_frames
    fluid = _fluid(n)
    window.session.history.push(AddObject(fluid))
    _built(window, qtbot)
    for frame in (1, n // 3, n - 2):
        window.navigator.show_index(frame)
        np.testing.assert_allclose(window.layer.items[fluid.id].points, fluid.points(frame))
    window.state.set_playing(False)


@pytest.mark.parametrize("n_points", [0, 1, 2, 40])
def test_the_fast_polygon_holds_the_points_given(n_points):
    points = np.random.default_rng(n_points).uniform(0, 500, size=(n_points, 2))
    polygon = _polygon(points)
    assert polygon.size() == n_points
    got = np.array([polygon.at(i).toTuple() for i in range(polygon.size())]).reshape(-1, 2)
    np.testing.assert_array_equal(got, points)
