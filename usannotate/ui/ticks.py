"""The frame ruler's ticks and the frame / time labels of the timeline and its frame list.

Which frames get a number, which a small tick, and how a frame's time reads ("frame 23 (0.73 s)").
Qt-free.

Frame numbers are 0-based in code and 1-based on screen, as everywhere in the viewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: A loop's timing: the time between frames (ms), or each frame's start time (ms) when
#: the frames are unevenly spaced (FrameTimeVector), or None when unknown.
Timing = float | Sequence[float] | None


def nice_tick_step(pixels_per_frame: float, min_label_spacing_px: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 25, 50, 100, ... frames whose labels are at least
    ``min_label_spacing_px`` apart.

    Parameters
    ----------
    pixels_per_frame
        The width of one frame's column on screen (px); 0 or less gives 1.
    min_label_spacing_px
        The least distance between two labelled ticks (px).

    Returns
    -------
    int
        Frames between labelled ticks (at most 10**9).
    """
    if pixels_per_frame <= 0:
        return 1
    for magnitude in range(0, 9):
        for mantissa in (1, 2, 5) if magnitude == 0 else (1, 2, 2.5, 5):
            step = round(mantissa * 10**magnitude)
            if step * pixels_per_frame >= min_label_spacing_px:
                return step
    return 10**9


@dataclass(frozen=True)
class RulerTicks:
    """The ticks of a frame ruler.

    Attributes
    ----------
    numbers
        The labelled frames, 1-based as on screen, ascending: the multiples of ``step``
        and frame 1 when its label has room before the first multiple.
    step
        Frames between labelled ticks (see :func:`nice_tick_step`).
    minor
        Frames between the small unlabelled ticks, a divisor of ``step``; None when they
        would be closer than 5 px.
    """

    numbers: list[int]
    step: int
    minor: int | None


def ruler_ticks(n_frames: int, pixels_per_frame: float, label_width_px: float) -> RulerTicks:
    """The ticks of a ruler of ``n_frames`` columns ``pixels_per_frame`` wide whose widest
    label (the last frame's number) is ``label_width_px`` wide: labels at least 24 px
    (and 32 px centre to centre) apart, minor ticks at least 5 px apart."""
    step = nice_tick_step(pixels_per_frame, max(label_width_px + 24, 32))
    minor = next(
        (
            m
            for m in (step // 10, step // 5, step // 2)
            if m >= 1 and step % m == 0 and m * pixels_per_frame >= 5
        ),
        None,
    )
    # Frame numbers are 1-based on screen: ticks at 1 and at multiples of the step.
    numbers = list(range(step, n_frames + 1, step))
    if not numbers or (numbers[0] - 1) * pixels_per_frame >= label_width_px + 12:
        numbers.insert(0, 1)
    return RulerTicks(numbers, step, minor)


def format_time(frame: int, frame_time_ms: Timing) -> str:
    """The start time of 0-based ``frame`` as ``'0.73 s'``; ``''`` when the timing is
    unknown or (uneven timing) has no entry for the frame."""
    if frame_time_ms is None:
        return ""
    if isinstance(frame_time_ms, int | float):
        return f"{frame * frame_time_ms / 1000:.2f} s"
    if not 0 <= frame < len(frame_time_ms):
        return ""
    return f"{frame_time_ms[frame] / 1000:.2f} s"


def frame_and_time(frame: int, frame_time_ms: Timing) -> str:
    """``'frame 23 (0.73 s)'`` for 0-based frame 22 (1-based on screen); ``'frame 23'``
    when its time is unknown."""
    time = format_time(frame, frame_time_ms)
    return f"frame {frame + 1}" + (f" ({time})" if time else "")
