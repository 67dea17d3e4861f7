"""The frames ahead of the playhead scaled for the screen on a thread while playing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

import usannotate
from tests.ui.paths import SAMPLE_A
from tests.ui.test_viewer import _pixels, wheel
from usannotate.ui.viewer.frames_ahead import FramesAhead, ScaleKey, scaled_display_pixels
from usannotate.ui.viewer.view import DisplayAdjustment


def _frames(n: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (96, 128, 3), dtype=np.uint8) for _ in range(n)]


@pytest.mark.parametrize("scale", [0.31, 0.5, 0.78, 0.913])
def test_scaling_first_gives_the_pixels_of_converting_first(scale):
    rgb = _frames(1)[0]
    size = (round(128 * scale), round(96 * scale))
    expected = cv2.resize(
        cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA), size, interpolation=cv2.INTER_LINEAR
    )
    assert np.array_equal(scaled_display_pixels(rgb, scale, scale), expected)


def test_the_frames_after_the_one_shown_are_scaled_ahead():
    frames = _frames()
    asked: list[int] = []

    def source(index: int) -> np.ndarray:
        asked.append(index)
        return frames[index]

    ahead = FramesAhead()
    ahead.set_source(source, len(frames))
    key = ScaleKey(0.5, 0.5, 1.0)
    plain = DisplayAdjustment()
    try:
        assert ahead.take(0, key, plain, plain.apply) is None  # nothing asked for yet
        assert ahead._ahead.wait(5)
        assert {1, 2, 3} <= set(asked)
        for index in (1, 2, 3):
            pixels = ahead.take(index, key, plain, plain.apply)
            assert pixels is not None
            assert np.array_equal(pixels, scaled_display_pixels(frames[index], 0.5, 0.5))
            assert ahead._ahead.wait(5)
        # Another zoom or display adjustment: what was scaled before is not handed out.
        brighter = DisplayAdjustment(brightness=40.0)
        assert ahead.take(4, key, brighter, brighter.apply) is None
        assert ahead._ahead.wait(5)
        pixels = ahead.take(5, key, brighter, brighter.apply)
        assert pixels is not None
        assert np.array_equal(pixels, scaled_display_pixels(brighter.apply(frames[5]), 0.5, 0.5))
        assert ahead.take(6, ScaleKey(0.25, 0.25, 1.0), brighter, brighter.apply) is None
    finally:
        ahead.shutdown()


def test_a_playing_view_draws_the_frames_scaled_ahead_as_it_would_scale_them(cine_view):
    view = cine_view
    loop = usannotate.open_cine(SAMPLE_A)
    try:
        view.set_frame_source(loop.frame, loop.n_frames)
        view.show_frame(loop.frame(0), 0)
        view.fit()
        dpr = view.viewport().devicePixelRatioF()
        while view.transform().m11() * dpr >= 0.9:
            wheel(view, view.viewport().rect().center(), -1)
        view.set_playing(True)
        view.show_frame(loop.frame(1), 1)
        assert view._frames_ahead._ahead.wait(5)
        view.show_frame(loop.frame(2), 2)
        assert view.frame_item._full is None  # the full frame was never converted
        ahead = view.frame_item._scaled
        assert ahead is not None  # set with the frame, before any paint
        QApplication.processEvents()
        playing = _pixels(view.viewport())
        # The same picture as the view scaling the frame on the GUI thread itself.
        view.frame_item._scaled = None
        view.frame_item.update()
        assert np.array_equal(_pixels(view.viewport()), playing)
        assert np.array_equal(view.frame_item._scaled[1], ahead[1])
        view.set_playing(False)
        QApplication.processEvents()
        assert view.frame_item._full is not None  # a still frame from its full pixels
    finally:
        view.shutdown()
        loop.close()
