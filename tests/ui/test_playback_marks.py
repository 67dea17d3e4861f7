"""While a loop plays, its marks come as pictures drawn ahead by a worker process."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject, Compound, SetPoints
from usannotate.ui.viewer.playback_marks import MIN_TRACKS


def _plane(window) -> AnnotatedObject:
    """A deep fascia plane across the image, and enough targets in a corner for a busy
    loop (pictures are drawn ahead for :data:`MIN_TRACKS` tracks or more)."""
    loop = window.loop
    plane = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE)
    for frame in (0, loop.n_frames - 1):
        y = 0.3 * loop.rows + 0.2 * loop.rows * frame / (loop.n_frames - 1)
        plane.set_points(frame, np.array([[0.1 * loop.columns, y], [0.9 * loop.columns, y]]))
    others = []
    for k in range(MIN_TRACKS - 1):
        target = AnnotatedObject("target", ShapeKind.POINT)
        target.set_points(0, np.array([[0.05 * loop.columns + 6 * k, 0.9 * loop.rows]]))
        others.append(AddObject(target))
    window.session.history.push(Compound([AddObject(plane), *others], text="Marks"))
    return plane


def test_a_loop_with_few_marks_plays_them_with_the_scene_items(opened, qtbot):
    window = opened
    loop = window.loop
    plane = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE)
    for frame in (0, 10):
        plane.set_points(frame, np.array([[0.1 * loop.columns, 50.0], [0.9 * loop.columns, 50.0]]))
    window.session.history.push(AddObject(plane))
    window.state.set_playing(True)
    for frame in range(6):
        window.state.set_frame(frame)
    playback = window.marks_view.playback
    assert playback.frames_from_pictures == 0
    assert playback._marks_sent is None  # the worker was not even given the marks
    assert window.layer.items[plane.id].isVisible()
    window.state.set_playing(False)


def _play_until_pictures(qtbot, window, frame: int) -> None:
    """Playing (the state, not the clock: frames are stepped by hand), until ``frame``'s
    marks are shown from a picture."""
    marks = window.marks_view
    window.state.set_playing(True)

    def shown() -> bool:
        window.state.set_frame(frame)
        marks.refresh()
        marks.playback.wait(5)
        marks.refresh()
        return marks.playback.showing

    qtbot.waitUntil(shown, timeout=30000)


def _colour_at(window, image_xy: tuple[float, float]) -> tuple[int, int, int]:
    view = window.view
    point = view.mapFromScene(QPointF(*image_xy))
    image = view.viewport().grab().toImage()
    colour = image.pixelColor(point)
    return colour.red(), colour.green(), colour.blue()


def _label_rgb(window, label_id: str) -> tuple[int, int, int]:
    from PySide6.QtGui import QColor

    colour = QColor(window.session.document.annotations.label_set.get(label_id).colour)
    return colour.red(), colour.green(), colour.blue()


def test_playing_shows_the_marks_as_a_picture_in_place_of_the_items(opened, qtbot):
    window = opened
    plane = _plane(window)
    _play_until_pictures(qtbot, window, 0)
    layer, playback = window.layer, window.marks_view.playback
    assert playback.item.isVisible()
    assert not layer.items[plane.id].isVisible()  # the scene item is hidden...
    assert not layer.items[plane.id].caption.isVisible()
    y = 0.3 * window.loop.rows
    # ...and the plane is on screen where it is, in its label's colour, from the picture.
    assert _colour_at(window, (0.5 * window.loop.columns, y)) == _label_rgb(window, "fascia.deep")
    assert playback.frames_from_pictures >= 1
    window.state.set_playing(False)
    assert not playback.item.isVisible()
    assert layer.items[plane.id].isVisible()
    assert _colour_at(window, (0.5 * window.loop.columns, y)) == _label_rgb(window, "fascia.deep")


def test_an_edit_while_playing_is_what_the_next_pictures_show(opened, qtbot):
    window = opened
    plane = _plane(window)
    _play_until_pictures(qtbot, window, 0)
    rows, columns = window.loop.rows, window.loop.columns
    moved = np.array([[0.1 * columns, 0.7 * rows], [0.9 * columns, 0.7 * rows]])
    window.session.history.push(SetPoints(plane.id, 0, moved))
    # Right after the edit the picture drawn before it is not shown (the items or a
    # picture drawn since show the plane where it is now).
    assert _colour_at(window, (0.5 * columns, 0.3 * rows)) != _label_rgb(window, "fascia.deep")
    _play_until_pictures(qtbot, window, 0)
    assert _colour_at(window, (0.5 * columns, 0.7 * rows)) == _label_rgb(window, "fascia.deep")
    assert _colour_at(window, (0.5 * columns, 0.3 * rows)) != _label_rgb(window, "fascia.deep")
    window.state.set_playing(False)


def test_hidden_labels_and_selection_are_drawn_as_on_a_still_frame(opened, qtbot):
    window = opened
    plane = _plane(window)
    window.state.select(plane.id)
    _play_until_pictures(qtbot, window, 0)
    playback = window.marks_view.playback
    picture_pixels = playback.item._buffer
    assert picture_pixels is not None
    lit_selected = np.count_nonzero(picture_pixels[..., 3])
    window.state.select(None)
    _play_until_pictures(qtbot, window, 0)
    assert np.count_nonzero(playback.item._buffer[..., 3]) < lit_selected  # thinner, no dots
    window.layer.hidden_labels.add("fascia.deep")
    window.marks_view.refresh()
    playback.wait(5)
    window.marks_view.refresh()
    y = 0.3 * window.loop.rows
    assert _colour_at(window, (0.5 * window.loop.columns, y)) != _label_rgb(window, "fascia.deep")
    window.state.set_playing(False)


def test_closing_the_window_stops_the_worker_and_frees_its_memory(opened, qtbot):
    window = opened
    _plane(window)
    _play_until_pictures(qtbot, window, 0)
    playback = window.marks_view.playback
    names = playback._slots.names()
    assert names
    window.state.set_playing(False)
    window.session.history.mark_saved()
    window.close()
    assert playback._pool is None
    from multiprocessing import shared_memory

    for name in names:
        try:
            shared_memory.SharedMemory(name=name).close()
        except FileNotFoundError:
            continue
        raise AssertionError(f"shared memory {name} still exists")


def test_a_worker_that_dies_is_replaced_and_playback_goes_on(opened, qtbot):
    import os
    import signal

    window = opened
    _plane(window)
    _play_until_pictures(qtbot, window, 0)
    playback = window.marks_view.playback
    pool = playback._pool
    (pid,) = list(pool._processes)
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: bool(pool._broken), timeout=10000)
    # The next frames are drawn by the scene items, then by a new worker.
    for frame in (1, 2, 3):
        window.state.set_frame(frame)
        window.marks_view.refresh()
    _play_until_pictures(qtbot, window, 4)
    assert playback._pool is not pool
    window.state.set_playing(False)


def test_a_still_loop_gets_its_pictures_ready_before_it_plays(opened, qtbot):
    window = opened
    _plane(window)
    window.state.set_frame(5)
    playback = window.marks_view.playback
    # A moment after the last change the worker has the marks and the frames after this one.
    qtbot.waitUntil(
        lambda: all(playback._ahead.ready(frame)[0] for frame in range(5, 12)), timeout=30000
    )
    assert not playback.item.isVisible()  # still: the items show the marks
    window.state.set_playing(True)
    window.state.set_frame(6)
    assert playback.item.isVisible()  # the first frame played is a picture at once
    assert playback.frames_from_items == 0
    # The items' own table was built while the loop was still, for frames the worker
    # would not draw in time.
    assert window.marks_view.geometry.is_ready
    window.state.set_playing(False)


def test_a_worker_that_cannot_keep_up_leaves_the_marks_to_the_window(opened, qtbot, monkeypatch):
    window = opened
    plane = _plane(window)
    playback = window.marks_view.playback
    asked = []
    # A machine with no core to spare: no picture is ever ready in time.
    monkeypatch.setattr(playback._ahead, "wait_for", lambda frame, timeout, **_: (False, None))
    monkeypatch.setattr(playback._ahead, "follow", lambda frame, n: asked.append(frame))
    now = [100.0]
    monkeypatch.setattr(playback, "clock", lambda: now[0])
    window.state.set_playing(True)
    for frame in range(40):
        window.state.set_frame(frame % window.loop.n_frames)
    assert playback.given_up
    assert len(asked) == 30  # no more pictures asked for once it gave up
    assert window.layer.items[plane.id].isVisible()  # the items draw the marks
    assert window.marks_view.geometry.is_ready or window.marks_view.geometry._job.is_running
    # A few seconds later the worker is tried again (it may only have lacked CPU then).
    now[0] += 2.0
    window.state.set_frame(3)
    assert playback.given_up
    assert len(asked) == 30
    now[0] += 1.5
    window.state.set_frame(4)
    assert not playback.given_up
    assert len(asked) == 31
    for frame in range(5, 40):
        window.state.set_frame(frame % window.loop.n_frames)
    assert playback.given_up  # and given up again, as it still does not keep up
    window.state.set_playing(False)
    assert not playback.given_up  # the next playback tries again
