"""Frames of the open loop that cannot be shown: which ones, and the one message about them.

A frame can fail to decode even in a loop that opened (a damaged fragment in the middle,
a fragment that lies about its size, a file cut short). The window must then stay usable:
playback stops at the first such frame, one status-bar message names the missing frames
(1-based, as the window's frame label counts), stepping goes over them, and a frame
already reported is never reported again (no message per frame during play or scrub).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

import numpy as np

from usannotate.cine import CineError

#: How long one look for the extent of a run of missing frames may take (the GUI waits).
PROBE_BUDGET_S = 0.3


def frame_ranges(frames: Iterable[int]) -> str:
    """1-based ranges of 0-based ``frames``: ``{3, 4, 5, 9}`` -> ``"4–6, 10"``."""
    numbers = sorted({f + 1 for f in frames})
    parts: list[str] = []
    start = previous = None
    for number in [*numbers, None]:
        if previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(f"{start}" if start == previous else f"{start}–{previous}")
        start = previous = number
    return ", ".join(parts)


def frame_problem(exc: CineError, index: int) -> str:
    """What is wrong with 0-based frame ``index``, worded with the 1-based number the
    window shows: the engine's message counts from 0 ("frame 39 is cut short")."""
    problem = exc.problem.strip()
    # Decoder internals after the plain words help nobody at the scanner.
    problem = re.sub(r"\s*\(.*\)$", "", problem)
    prefix = re.match(rf"frame {index}\b(:?)\s*", problem)
    if prefix is None:  # about the data as a whole ("the pixel data is cut short")
        return f"frame {index + 1}: {problem}" if problem else f"frame {index + 1}"
    rest = problem[prefix.end() :]
    return f"frame {index + 1}{prefix.group(1)} {rest}".rstrip()


class MissingFrames:
    """The frames of one loop that could not be shown, and what was said about them.

    ``read(index)`` is the loop's frame reader (``CineLoop.frame``); it raises
    :class:`~usannotate.cine.CineError` for a frame that cannot be shown.
    """

    def __init__(self) -> None:
        self.n_frames = 0
        self.missing: dict[int, str] = {}  # 0-based frame -> its problem (1-based words)
        self._reported: set[int] = set()

    def reset(self, n_frames: int) -> None:
        """A new loop: nothing is known missing yet."""
        self.n_frames = int(n_frames)
        self.missing.clear()
        self._reported.clear()

    def is_missing(self, index: int) -> bool:
        return index in self.missing

    def record(self, index: int, exc: CineError) -> None:
        self.missing[index] = frame_problem(exc, index)

    def probe(
        self,
        read: Callable[[int], np.ndarray],
        index: int,
        direction: int,
        *,
        budget_s: float = PROBE_BUDGET_S,
    ) -> tuple[int, np.ndarray] | None:
        """From missing frame ``index``, read on in ``direction`` (+1 / -1) while frames
        fail, recording them, until one reads (returned with its pixels), the loop ends
        (None) or the time budget is spent (None). Known-missing frames are skipped
        without reading them again."""
        deadline = time.monotonic() + budget_s
        step = 1 if direction >= 0 else -1
        frame = index + step
        while 0 <= frame < self.n_frames and time.monotonic() < deadline:
            if frame not in self.missing:
                try:
                    return frame, read(frame)
                except CineError as exc:
                    self.record(frame, exc)
            frame += step
        return None

    def failed(
        self,
        read: Callable[[int], np.ndarray],
        index: int,
        exc: CineError,
        direction: int = 0,
        *,
        stopped_at: int | None = None,
    ) -> tuple[tuple[int, np.ndarray] | None, str]:
        """Frame ``index`` could not be shown (``exc``): record it and learn how far the
        damage goes (once). A step in ``direction`` (+1 / -1) reads on to the next frame
        that can be shown that way. Returns that ``(frame, pixels)`` (or None) and the
        message to show ("" when already said): see :meth:`message`."""
        known = self.is_missing(index)
        self.record(index, exc)
        found = None
        if direction:
            found = self.probe(read, index, direction)
        elif not known:
            self.probe(read, index, 1)  # only to name the whole run
        text = self.message(index, stopped_at=stopped_at, shown=found[0] if found else None)
        return found, text

    def run_around(self, index: int) -> tuple[int, int]:
        """The first and last frame of the run of missing frames holding ``index``."""
        first = last = index
        while first - 1 in self.missing:
            first -= 1
        while last + 1 in self.missing:
            last += 1
        return first, last

    def message(
        self, index: int, *, stopped_at: int | None = None, shown: int | None = None
    ) -> str:
        """The one message about the run of missing frames holding ``index``, or "" when
        that run was already reported. ``stopped_at``: playback stopped on that frame;
        ``shown``: the frame shown instead (stepping over the run)."""
        first, last = self.run_around(index)
        run = set(range(first, last + 1))
        if run <= self._reported:
            return ""
        self._reported |= run
        if first == last:
            text = f"Frame {first + 1} of {self.n_frames} cannot be shown"
        else:
            text = f"Frames {first + 1}–{last + 1} of {self.n_frames} cannot be shown"
        text += f" ({self.missing[first]})"
        if stopped_at is not None:
            text += f"; playback stopped at frame {stopped_at + 1}"
        elif shown is not None:
            text += f"; showing frame {shown + 1}"
        others = sorted(set(self.missing) - run)
        if others:
            text += f". Also missing: {frame_ranges(others)}"
        return text + "."
