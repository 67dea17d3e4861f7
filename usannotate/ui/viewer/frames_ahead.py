"""The frames after the one shown, scaled to the screen on a thread while the loop plays.

A zoomed-out frame is drawn while playing from a copy scaled by OpenCV to the screen's own
pixels (see :class:`~usannotate.ui.viewer.view.FrameItem`). Scaling it, and converting it
to Qt's 32-bit layout, on the GUI thread cost that thread about 2 ms of every frame's
16.7 ms at 60 fps (py-spy: a quarter of its busy time with 50 marks on the loop). OpenCV
releases the GIL, so a thread does both for the frames ahead while the GUI thread shows
the current one; the GUI thread then only wraps the ready pixels in a ``QImage``.
The frames are drawn ahead by the same :class:`~usannotate.render.ahead.RenderAhead` that
has the marks drawn ahead, so they follow the playhead in the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import NamedTuple

import cv2
import numpy as np

from usannotate.render.ahead import RenderAhead

__all__ = ["FramesAhead", "ScaleKey"]

#: Frames asked for ahead of the playhead. Decoding and the marks' worker keep their own
#: lead; these only have to be ready a few frames before they are due.
_FRAMES_AHEAD = 3


class ScaleKey(NamedTuple):
    """How a frame is drawn on the screen: its scale in device pixels per image pixel
    (x, y) and the screen's device pixel ratio."""

    scale_x: float
    scale_y: float
    dpr: float


def scaled_display_pixels(rgb: np.ndarray, scale_x: float, scale_y: float) -> np.ndarray:
    """``rgb`` ``(rows, columns, 3)`` scaled by ``scale_x`` x ``scale_y`` (bilinear) in
    Qt's Format_RGB32 memory layout (B, G, R, 255): the same pixels as converting first
    and scaling after, for less work (checked in the tests)."""
    rows, columns = rgb.shape[:2]
    size = (max(1, round(columns * scale_x)), max(1, round(rows * scale_y)))
    return cv2.cvtColor(cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_RGB2BGRA)


class FramesAhead:
    """Scales the frames after the one shown for the screen on a thread of its own.

    ``source(index)`` gives a frame's display pixels (the loop's ``frame``, thread-safe)
    and ``adjust(rgb)`` applies the display adjustment; :meth:`take` hands out a frame
    scaled for a :class:`ScaleKey` once it is ready and asks for the next ones.
    """

    def __init__(self) -> None:
        self._ahead: RenderAhead[np.ndarray] = RenderAhead(_FRAMES_AHEAD, keep=_FRAMES_AHEAD + 4)
        self._pool: ThreadPoolExecutor | None = None
        self._source: Callable[[int], np.ndarray] | None = None
        self._n_frames = 0
        self._wanted: tuple[ScaleKey, object] | None = None

    def set_source(self, source: Callable[[int], np.ndarray] | None, n_frames: int) -> None:
        """The loop the frames come from (None: no loop); forgets what was scaled."""
        self._source, self._n_frames = source, n_frames if source is not None else 0
        self.stop()

    def take(
        self,
        index: int,
        key: ScaleKey,
        adjustment: object,
        adjust: Callable[[np.ndarray], np.ndarray],
    ) -> np.ndarray | None:
        """Frame ``index`` scaled for ``key`` with ``adjustment`` (applied by ``adjust``)
        if it is ready (None: the caller scales it), and the frames after it asked for."""
        source, n_frames = self._source, self._n_frames
        if source is None or n_frames < 2:
            return None
        if self._wanted != (key, adjustment):
            self._wanted = (key, adjustment)
            pool = self._executor()

            def prepare(frame: int) -> np.ndarray:
                return scaled_display_pixels(adjust(source(frame)), key.scale_x, key.scale_y)

            def submit(frame: int) -> Future:
                return pool.submit(prepare, frame)

            self._ahead.reset(submit)
        drawn, pixels = self._ahead.ready(index)
        self._ahead.follow(index, n_frames)
        return pixels if drawn else None

    def stop(self) -> None:
        """Playback stopped (or the view changed): forget the frames scaled ahead."""
        self._wanted = None
        self._ahead.reset(None)

    def shutdown(self) -> None:
        """Stop the thread (the window closes)."""
        self.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="usannotate-frames-ahead")
        return self._pool
