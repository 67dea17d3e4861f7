"""The timeline's geometry without a widget: columns, lanes, scrolling, cells."""

from __future__ import annotations

import pytest

from usannotate.ui.docks._timeline_layout import (
    LANE_HEIGHT,
    MIN_LANE_HEIGHT,
    TITLE_WIDTH,
    TimelineLayout,
)

RULER = 22


def layout(**changes) -> TimelineLayout:
    values = {"width": 1000, "height": 200, "ruler_height": RULER, "n_frames": 60, "n_lanes": 3}
    return TimelineLayout(**(values | changes))


@pytest.mark.parametrize("n_frames", [1, 7, 60, 601])
@pytest.mark.parametrize("scrollbar_px", [0, 15])
def test_each_frames_column_holds_its_centre(n_frames, scrollbar_px):
    at = layout(n_frames=n_frames, scrollbar_px=scrollbar_px)
    for frame in range(n_frames):
        x = at.x_of_frame(frame)
        assert at.frame_at(x) == frame
        cell = at.cell_at(x, RULER + 2)
        assert cell.left <= x < cell.left + cell.width
    # Outside the columns: the first or last frame, never beyond.
    assert at.frame_at(0) == 0
    assert at.frame_at(at.width + 500) == n_frames - 1
    # The columns stay right of the titles and left of the scroll bar.
    assert TITLE_WIDTH < at.frames_left < at.x_of_frame(0)
    assert at.x_of_frame(n_frames - 1) < at.frames_right <= at.width - scrollbar_px


def test_no_loop_has_frame_zero_everywhere():
    at = layout(n_frames=0)
    assert at.frame_at(TITLE_WIDTH + 300) == 0


def test_lanes_shrink_to_fit_then_scroll():
    room = 200 - RULER
    fits = layout(n_lanes=room // LANE_HEIGHT)
    assert fits.lane_height == LANE_HEIGHT
    assert not fits.needs_scroll
    assert fits.scroll_max == 0
    squeezed = layout(n_lanes=room // MIN_LANE_HEIGHT)
    assert MIN_LANE_HEIGHT <= squeezed.lane_height < LANE_HEIGHT
    assert not squeezed.needs_scroll
    many = layout(n_lanes=40)
    assert many.lane_height == MIN_LANE_HEIGHT
    assert many.needs_scroll
    assert many.scroll_max == 40 * MIN_LANE_HEIGHT - room


def test_scrolling_moves_the_lanes_under_the_ruler():
    top = layout(n_lanes=40)
    scrolled = layout(n_lanes=40, scroll_px=5 * MIN_LANE_HEIGHT + 3)
    assert scrolled.lane_top(7) == top.lane_top(7) - 5 * MIN_LANE_HEIGHT - 3
    assert top.lane_at(RULER + 1) == 0
    assert scrolled.lane_at(RULER + 1) == 5
    assert top.lane_at(RULER - 1) is None  # the ruler is no lane
    assert scrolled.visible_lanes()[0] == 5
    assert scrolled.visible_lanes()[-1] == scrolled.lane_at(199)
    # Below the last lane: none.
    assert layout(n_lanes=2).lane_at(RULER + 3 * LANE_HEIGHT) is None


def test_a_wheel_notch_scrolls_a_lane():
    at = layout(n_lanes=40, scroll_px=100)
    assert at.wheel_scroll_px(-120) == 100 + MIN_LANE_HEIGHT
    assert at.wheel_scroll_px(240) == 100 - 2 * MIN_LANE_HEIGHT


def test_cells_are_a_lanes_title_or_a_frames_column():
    at = layout()
    y = at.lane_top(1) + 3
    assert at.in_titles(TITLE_WIDTH - 1)
    assert not at.in_titles(TITLE_WIDTH)
    assert at.cell_at(20, y) == (0, at.lane_top(1), TITLE_WIDTH, LANE_HEIGHT)
    ruler_cell = at.cell_at(at.x_of_frame(10), 4)
    assert (ruler_cell.top, ruler_cell.height) == (0, RULER)
    assert ruler_cell.width >= at.column_width
