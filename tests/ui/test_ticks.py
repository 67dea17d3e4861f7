"""The frame ruler's ticks and the frame / time labels (usannotate.ui.ticks): Qt-free."""

from __future__ import annotations

import itertools

import pytest

from usannotate.ui.ticks import format_time, frame_and_time, nice_tick_step, ruler_ticks


def nice_steps() -> list[int]:
    """1, 2, 5, then 1, 2, 2.5, 5 times each power of ten, ascending."""
    steps = [1, 2, 5]
    for magnitude in range(1, 9):
        steps += [round(m * 10**magnitude) for m in (1, 2, 2.5, 5)]
    return steps


PIXELS_PER_FRAME = [0.001, 0.018, 0.05, 0.3, 1.0, 1.7, 1.8, 4.0, 9.5, 25.0, 60.0, 400.0]
SPACINGS = [5, 32, 44, 80, 300]


@pytest.mark.parametrize(
    ("pixels_per_frame", "spacing"), list(itertools.product(PIXELS_PER_FRAME, SPACINGS))
)
def test_the_step_is_the_smallest_nice_step_that_leaves_room(pixels_per_frame, spacing):
    step = nice_tick_step(pixels_per_frame, spacing)
    steps = nice_steps()
    assert step in steps
    assert step * pixels_per_frame >= spacing
    smaller = steps[: steps.index(step)]
    assert all(s * pixels_per_frame < spacing for s in smaller)


def test_every_nice_step_is_reached_and_none_skipped():
    steps = nice_steps()
    for step, following in itertools.pairwise(steps[:16]):
        # One pixel a frame: a spacing of exactly ``step`` px needs ``step`` frames,
        # a little more needs the next nice step.
        assert nice_tick_step(1.0, step) == step
        assert nice_tick_step(1.0, step + 0.5) == following


def test_steps_grow_as_columns_narrow():
    steps = [nice_tick_step(ppf, 44) for ppf in sorted(PIXELS_PER_FRAME, reverse=True)]
    assert steps == sorted(steps)
    assert steps[0] == 1
    assert steps[-1] > 10_000


@pytest.mark.parametrize("pixels_per_frame", [0.0, -3.0])
def test_no_width_gives_a_step_of_one(pixels_per_frame):
    assert nice_tick_step(pixels_per_frame, 40) == 1


def test_the_step_is_capped():
    assert nice_tick_step(1e-12, 40) == 10**9


@pytest.mark.parametrize("n_frames", [1, 7, 60, 600, 4000])
@pytest.mark.parametrize("pixels_per_frame", [0.05, 0.9, 3.0, 12.0, 25.0, 80.0])
@pytest.mark.parametrize("label_width", [6, 20, 34])
def test_ruler_ticks_label_frames_far_enough_apart(n_frames, pixels_per_frame, label_width):
    ticks = ruler_ticks(n_frames, pixels_per_frame, label_width)
    assert ticks.step == nice_tick_step(pixels_per_frame, max(label_width + 24, 32))
    numbers = ticks.numbers
    assert numbers, "frame 1 at least is labelled"
    assert numbers == sorted(set(numbers))  # ascending, each once
    assert numbers[0] >= 1
    assert numbers[-1] <= n_frames
    # Every multiple of the step in the loop, and frame 1 only besides them.
    multiples = list(range(ticks.step, n_frames + 1, ticks.step))
    assert [n for n in numbers if n % ticks.step == 0] == multiples
    assert set(numbers) - set(multiples) <= {1}
    for a, b in itertools.pairwise(numbers):
        gap_px = (b - a) * pixels_per_frame
        # Frame 1 squeezes in before the first multiple only with room for its label.
        assert gap_px >= (label_width + 12 if a == 1 and b == ticks.step else label_width + 24)
    if ticks.minor is not None:
        assert ticks.step % ticks.minor == 0
        assert ticks.minor < ticks.step
        assert ticks.minor * pixels_per_frame >= 5


def test_frame_one_is_labelled_when_there_is_room_before_the_first_step():
    # 50-frame steps 1 px apart: frame 1's label fits 49 px before frame 50's.
    ticks = ruler_ticks(600, 1.0, 20)
    assert ticks.step == 50
    assert ticks.numbers[:3] == [1, 50, 100]
    # 2-frame steps 25 px apart: frame 1 would touch frame 2's label.
    ticks = ruler_ticks(60, 25.0, 20)
    assert ticks.step == 2
    assert ticks.numbers[:2] == [2, 4]


def test_minor_ticks_divide_the_step_and_vanish_when_too_dense():
    assert ruler_ticks(600, 1.0, 20).minor == 5  # 50 / 10, 5 px apart
    assert ruler_ticks(60, 25.0, 20).minor == 1  # 2 / 2
    # Step 1: nothing smaller than a frame.
    assert ruler_ticks(20, 60.0, 20).minor is None


def test_a_loop_shorter_than_the_step_still_labels_frame_one():
    ticks = ruler_ticks(3, 1.0, 10)
    assert ticks.step > 3
    assert ticks.numbers == [1]


# ------------------------------------------------------------------- frame / time labels


def test_even_timing_gives_the_frame_start_time():
    assert format_time(0, 100 / 3) == "0.00 s"
    assert format_time(22, 100 / 3) == "0.73 s"
    assert format_time(30, 40) == "1.20 s"


def test_uneven_timing_reads_each_frames_start():
    starts_ms = [0.0, 30.0, 70.0, 100.0, 1234.0]
    assert [format_time(f, starts_ms) for f in range(5)] == [
        "0.00 s",
        "0.03 s",
        "0.07 s",
        "0.10 s",
        "1.23 s",
    ]
    # A frame the vector does not reach has no time, rather than a wrong one.
    assert format_time(5, starts_ms) == ""
    assert format_time(-1, starts_ms) == ""


def test_unknown_timing_has_no_time():
    assert format_time(12, None) == ""
    assert frame_and_time(12, None) == "frame 13"


def test_frame_and_time_is_one_based_on_screen():
    assert frame_and_time(22, 100 / 3) == "frame 23 (0.73 s)"
    assert frame_and_time(0, (0.0, 33.0)) == "frame 1 (0.00 s)"
    assert frame_and_time(2, (0.0, 33.0)) == "frame 3"
