"""The track timeline and the annotated-frame list: real mouse events, pixels drawn."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage, QMouseEvent, QPalette
from PySide6.QtWidgets import QApplication, QToolTip

from usannotate.ui.docks.timeline import AnnotatedFrameList, TimelineWidget, TrackLane

LEFT = Qt.MouseButton.LeftButton
NO_BUTTON = Qt.MouseButton.NoButton
FRAME_TIME_MS = 100 / 3  # 30 fps
PLAYHEAD = QColor(255, 214, 0)


def interpolated_between(keys: list[int]) -> dict[int, str]:
    """Keyframes at ``keys``, interpolated frames between consecutive ones."""
    sources = {f: "interpolated" for a, b in itertools.pairwise(keys) for f in range(a, b)}
    sources.update(dict.fromkeys(keys, "keyframe"))
    return sources


NEEDLE = TrackLane(
    "needle-1",
    "Needle",
    "#ff0000",
    interpolated_between([4, 14, 27]) | dict.fromkeys(range(28, 41), "tracked"),
)
FASCIA = TrackLane("fascia-1", "Superficial fascia", "#0000ff", interpolated_between([0, 10, 20]))
FLUID = TrackLane("fluid-1", "Injected fluid", "#00c000", interpolated_between([30, 40, 50, 59]))
LANES = [NEEDLE, FASCIA, FLUID]


@pytest.fixture
def timeline(qtbot):
    widget = TimelineWidget()
    widget.set_frame_count(60, FRAME_TIME_MS)
    widget.set_lanes(LANES)
    widget.resize(1200, 140)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@pytest.fixture
def emitted(timeline):
    """What the timeline emitted, in order."""
    seen: dict[str, list] = {"frames": [], "tracks": []}
    timeline.frameRequested.connect(seen["frames"].append)
    timeline.trackSelected.connect(seen["tracks"].append)
    return seen


def mouse(widget, kind: QEvent.Type, at: QPointF, button, buttons) -> None:
    """A real mouse event with button state (qtbot.mouseMove carries none)."""
    global_at = QPointF(widget.mapToGlobal(at.toPoint()))
    event = QMouseEvent(kind, at, global_at, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def lane_centre_y(timeline: TimelineWidget, object_id: str) -> int:
    return timeline.lane_rect(object_id).center().y()


def image_of(widget) -> QImage:
    image = widget.grab().toImage()
    assert image.devicePixelRatio() == 1.0  # offscreen: widget pixels are image pixels
    return image


def is_colour(actual: QColor, expected: QColor, tolerance: int = 12) -> bool:
    return all(
        abs(a - b) <= tolerance
        for a, b in zip(actual.getRgb()[:3], expected.getRgb()[:3], strict=True)
    )


# ---------------------------------------------------------------- mouse


def test_click_in_a_lane_selects_the_track_and_requests_the_frame(qtbot, timeline, emitted):
    at = QPoint(round(timeline.x_of_frame(22)), lane_centre_y(timeline, "needle-1"))
    qtbot.mouseClick(timeline, LEFT, pos=at)
    assert emitted["tracks"] == ["needle-1"]
    assert emitted["frames"] == [22]

    at = QPoint(round(timeline.x_of_frame(45)), lane_centre_y(timeline, "fluid-1"))
    qtbot.mouseClick(timeline, LEFT, pos=at)
    assert emitted["tracks"] == ["needle-1", "fluid-1"]
    assert emitted["frames"] == [22, 45]


def test_a_click_in_a_gap_of_the_lane_still_selects_it(qtbot, timeline, emitted):
    """Frame 50 has no needle mark: the lane is selected all the same, and the frame shown."""
    qtbot.mouseClick(
        timeline,
        LEFT,
        pos=QPoint(round(timeline.x_of_frame(50)), lane_centre_y(timeline, "needle-1")),
    )
    assert emitted == {"frames": [50], "tracks": ["needle-1"]}


def test_click_on_a_title_selects_without_moving(qtbot, timeline, emitted):
    qtbot.mouseClick(timeline, LEFT, pos=QPoint(40, lane_centre_y(timeline, "fascia-1")))
    assert emitted == {"frames": [], "tracks": ["fascia-1"]}


def test_click_on_the_ruler_moves_without_selecting(qtbot, timeline, emitted):
    qtbot.mouseClick(timeline, LEFT, pos=QPoint(round(timeline.x_of_frame(7)), 5))
    assert emitted == {"frames": [7], "tracks": []}


def test_right_click_does_nothing(qtbot, timeline, emitted):
    at = QPoint(round(timeline.x_of_frame(22)), lane_centre_y(timeline, "needle-1"))
    qtbot.mouseClick(timeline, Qt.MouseButton.RightButton, pos=at)
    assert emitted == {"frames": [], "tracks": []}


def test_drag_scrubs_through_frames_and_clamps(timeline, emitted):
    y = lane_centre_y(timeline, "fascia-1")
    mouse(timeline, QEvent.Type.MouseButtonPress, QPointF(timeline.x_of_frame(5), y), LEFT, LEFT)
    # Small steps: several moves land in the same frame, which is requested once.
    x = timeline.x_of_frame(5)
    while x < timeline.width() + 50:  # past the right end of the loop
        x += 3.0
        mouse(timeline, QEvent.Type.MouseMove, QPointF(x, y + 30), NO_BUTTON, LEFT)
    mouse(timeline, QEvent.Type.MouseButtonRelease, QPointF(x, y), LEFT, NO_BUTTON)
    frames = emitted["frames"]
    assert frames[0] == 5
    assert frames[-1] == 59  # clamped to the last frame
    assert frames == sorted(set(frames))  # increasing, each frame once
    assert len(frames) > 40  # it scrubbed through, not jumped
    assert emitted["tracks"] == ["fascia-1"]  # the press selects; the drag does not

    # Moving with no button held after the release requests nothing.
    mouse(
        timeline, QEvent.Type.MouseMove, QPointF(timeline.x_of_frame(10), y), NO_BUTTON, NO_BUTTON
    )
    assert emitted["frames"] == frames


def test_drag_backwards_and_before_the_start(timeline, emitted):
    y = 5  # on the ruler
    mouse(timeline, QEvent.Type.MouseButtonPress, QPointF(timeline.x_of_frame(8), y), LEFT, LEFT)
    for frame in (7, 6, 3):
        mouse(
            timeline, QEvent.Type.MouseMove, QPointF(timeline.x_of_frame(frame), y), NO_BUTTON, LEFT
        )
    mouse(timeline, QEvent.Type.MouseMove, QPointF(0, y), NO_BUTTON, LEFT)  # over the titles
    mouse(timeline, QEvent.Type.MouseButtonRelease, QPointF(0, y), LEFT, NO_BUTTON)
    assert emitted["frames"] == [8, 7, 6, 3, 0]


def test_the_cursor_points_over_lanes_and_the_widget_takes_no_focus(timeline):
    assert timeline.focusPolicy() == Qt.FocusPolicy.NoFocus
    y = lane_centre_y(timeline, "needle-1")
    mouse(timeline, QEvent.Type.MouseMove, QPointF(timeline.x_of_frame(3), y), NO_BUTTON, NO_BUTTON)
    assert timeline.cursor().shape() == Qt.CursorShape.PointingHandCursor
    mouse(timeline, QEvent.Type.MouseMove, QPointF(40, 135), NO_BUTTON, NO_BUTTON)  # below titles
    assert timeline.cursor().shape() == Qt.CursorShape.ArrowCursor


# ---------------------------------------------------------------- geometry


@pytest.mark.parametrize("width", [300, 481, 777, 1200, 2003])
@pytest.mark.parametrize("n_frames", [1, 7, 60, 600])
def test_frame_at_inverts_x_of_frame(qtbot, width, n_frames):
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(width, 120)
    widget.set_frame_count(n_frames)
    xs = [widget.x_of_frame(k) for k in range(n_frames)]
    assert [widget.frame_at(x) for x in xs] == list(range(n_frames))
    assert xs == sorted(xs)
    assert widget.frame_at(-1000) == 0
    assert widget.frame_at(10 * width) == n_frames - 1
    # The columns fill the area right of the titles.
    assert widget.TITLE_WIDTH < xs[0] <= xs[-1] < width


def test_many_lanes_shrink_then_scroll(qtbot):
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.set_frame_count(60)
    lanes = [TrackLane(f"o{i}", f"Track {i}", "#336699", {i: "keyframe"}) for i in range(15)]
    widget.set_lanes(lanes)
    widget.resize(800, 140)
    widget.show()
    qtbot.waitExposed(widget)
    first, second = widget.lane_rect("o0"), widget.lane_rect("o1")
    assert second.top() - first.top() == TimelineWidget.MIN_LANE_HEIGHT
    scrollbar = widget._scrollbar
    assert scrollbar.isVisible()
    # The last column stays left of the scroll bar.
    assert widget.x_of_frame(59) < scrollbar.geometry().left()
    scrollbar.setValue(scrollbar.maximum())
    last = widget.lane_rect("o14")
    assert last.bottom() <= widget.height()
    emitted: list[str] = []
    widget.trackSelected.connect(emitted.append)
    qtbot.mouseClick(widget, LEFT, pos=QPoint(40, last.center().y()))
    assert emitted == ["o14"]


def test_few_lanes_keep_their_height_and_no_scroll_bar(timeline):
    needle, fascia = timeline.lane_rect("needle-1"), timeline.lane_rect("fascia-1")
    assert fascia.top() - needle.top() == TimelineWidget.LANE_HEIGHT
    assert not timeline._scrollbar.isVisible()
    assert timeline.sizeHint().height() >= fascia.top() + 2 * TimelineWidget.LANE_HEIGHT


# ---------------------------------------------------------------- what it draws


def test_the_current_frame_line_moves(timeline):
    y = 130  # below the lanes: nothing else drawn there
    image = image_of(timeline)
    assert is_colour(image.pixelColor(round(timeline.x_of_frame(0)), y), PLAYHEAD)
    assert not is_colour(image.pixelColor(round(timeline.x_of_frame(33)), y), PLAYHEAD)

    timeline.set_current_frame(33)
    image = image_of(timeline)
    assert is_colour(image.pixelColor(round(timeline.x_of_frame(33)), y), PLAYHEAD)
    assert not is_colour(image.pixelColor(round(timeline.x_of_frame(0)), y), PLAYHEAD)
    # It crosses the lanes too, over the bars.
    assert is_colour(
        image.pixelColor(round(timeline.x_of_frame(33)), lane_centre_y(timeline, "needle-1")),
        PLAYHEAD,
    )


def test_keyframes_are_diamonds_at_their_frames(qtbot):
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.set_frame_count(40)
    red = QColor("#ff0000")
    widget.set_lanes([TrackLane("n", "Needle", red.name(), {4: "keyframe", 14: "keyframe"})])
    widget.set_current_frame(30)
    widget.resize(900, 100)
    image = image_of(widget)
    rect = widget.lane_rect("n")
    cy = rect.center().y()
    base = widget.palette().color(QPalette.ColorRole.Base)
    for frame in (4, 14):
        x = round(widget.x_of_frame(frame))
        assert is_colour(image.pixelColor(x, cy), red)
        # Taller than the bar would be: a diamond reaches most of the lane's height ...
        assert is_colour(image.pixelColor(x, rect.top() + 4), red, tolerance=60)
        # ... and narrows: its corners are empty.
        assert is_colour(image.pixelColor(x - 5, rect.top() + 2), base)
    # No track between two lone keyframes (nothing interpolated): empty.
    assert not is_colour(image.pixelColor(round(widget.x_of_frame(9)), cy), red, tolerance=60)


def test_runs_are_drawn_by_source(timeline):
    """Keyframe cells solid, interpolated lighter, tracked hatched, gaps empty."""
    timeline.set_current_frame(59)
    image = image_of(timeline)
    cy = lane_centre_y(timeline, "needle-1")
    red = QColor("#ff0000")
    base = timeline.palette().color(QPalette.ColorRole.Base)

    def colours(first: int, last: int) -> set[tuple[int, int, int]]:
        x0, x1 = round(timeline.x_of_frame(first)), round(timeline.x_of_frame(last))
        return {
            image.pixelColor(x, y).getRgb()[:3]
            for x in range(x0, x1)
            for y in range(cy - 2, cy + 3)
        }

    interpolated = colours(5, 8)  # between the faint grid lines at frames 5 and 10
    assert len(interpolated) == 1  # one flat tone, lighter than the label colour
    (tone,) = interpolated
    assert tone != red.getRgb()[:3]
    assert QColor(*tone).lightness() > red.lightness()
    assert len(colours(30, 38)) >= 2  # hatched: at least two tones
    assert colours(45, 48) == {base.getRgb()[:3]}  # no needle after frame 40


def test_the_selected_lane_is_highlighted(timeline):
    x = round(timeline.x_of_frame(55))  # no needle, no fascia there
    before = image_of(timeline)
    timeline.set_selected_track("fascia-1")
    after = image_of(timeline)
    fascia_y, needle_y = lane_centre_y(timeline, "fascia-1"), lane_centre_y(timeline, "needle-1")
    assert after.pixelColor(x, fascia_y) != before.pixelColor(x, fascia_y)
    assert after.pixelColor(x, needle_y) == before.pixelColor(x, needle_y)
    timeline.set_selected_track(None)
    assert image_of(timeline).pixelColor(x, fascia_y) == before.pixelColor(x, fascia_y)


def test_empty_state(qtbot, timeline):
    """No lanes: a grey hint in the middle; a click still moves, selects nothing."""

    def dark_pixels(image: QImage) -> int:
        middle_y = range(timeline.height() // 2 - 10, timeline.height() // 2 + 10)
        middle_x = range(timeline.width() // 2 - 150, timeline.width() // 2 + 150)
        return sum(
            1 for x in middle_x for y in middle_y if image.pixelColor(x, y).lightness() < 200
        )

    timeline.set_current_frame(59)  # the line out of the way
    timeline.set_lanes([TrackLane("n", "Needle", "#ff0000", {0: "keyframe", 1: "tracked"})])
    assert dark_pixels(image_of(timeline)) == 0  # a lane, but nothing in the middle
    timeline.set_lanes([])
    assert dark_pixels(image_of(timeline)) > 50  # the hint's text
    seen: list = []
    timeline.frameRequested.connect(seen.append)
    timeline.trackSelected.connect(seen.append)
    qtbot.mouseClick(timeline, LEFT, pos=QPoint(round(timeline.x_of_frame(12)), 60))
    assert seen == [12]


def test_tooltips_name_track_frame_time_and_source(timeline):
    y = lane_centre_y(timeline, "needle-1")
    at = QPointF(timeline.x_of_frame(33), y)
    assert timeline.tooltip_at(at) == "Needle — frame 34 (1.10 s): tracked"
    at = QPointF(timeline.x_of_frame(14), y)
    assert timeline.tooltip_at(at) == "Needle — frame 15 (0.47 s): keyframe"
    at = QPointF(timeline.x_of_frame(50), y)
    assert timeline.tooltip_at(at) == "Needle — frame 51 (1.67 s): not marked"
    assert timeline.tooltip_at(QPointF(timeline.x_of_frame(9), 5)) == "Frame 10 (0.30 s)"
    timeline.set_frame_count(60)  # no frame time known: no seconds
    at = QPointF(timeline.x_of_frame(5), y)
    assert timeline.tooltip_at(at) == "Needle — frame 6: interpolated"


def test_hovering_shows_the_tooltip(timeline):
    at = QPoint(round(timeline.x_of_frame(33)), lane_centre_y(timeline, "needle-1"))
    QApplication.sendEvent(timeline, QHelpEvent(QEvent.Type.ToolTip, at, timeline.mapToGlobal(at)))
    assert QToolTip.text() == "Needle — frame 34 (1.10 s): tracked"
    QToolTip.hideText()


def test_being_told_emits_nothing(timeline, emitted):
    timeline.set_current_frame(12)
    timeline.set_selected_track("fluid-1")
    timeline.set_lanes(LANES[:2])
    timeline.set_frame_count(30, FRAME_TIME_MS)
    assert emitted == {"frames": [], "tracks": []}
    assert timeline.current_frame() == 12
    assert timeline.selected_track() == "fluid-1"


def test_a_lane_with_a_bad_source_is_refused():
    with pytest.raises(ValueError, match=r"'guessed'.*keyframe, interpolated, tracked"):
        TrackLane("x", "X", "#ffffff", {3: "guessed"})
    with pytest.raises(ValueError, match="0-based"):
        TrackLane("x", "X", "#ffffff", {-1: "keyframe"})


# ---------------------------------------------------------------- annotated-frame list


@pytest.fixture
def frame_list(qtbot):
    widget = AnnotatedFrameList()
    lanes = [
        TrackLane("n", "Needle", "#ff0000", {10: "keyframe", 11: "interpolated", 12: "tracked"}),
        TrackLane("f", "Fascia", "#0000ff", {10: "keyframe", 12: "keyframe", 20: "interpolated"}),
        TrackLane("w", "Fluid", "#00ff00", {10: "tracked", 30: "tracked"}),
    ]
    widget.set_lanes(lanes, FRAME_TIME_MS)
    widget.resize(320, 200)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_frame_list_rows(frame_list):
    assert frame_list.frames() == [10, 12, 30]  # interpolated-only frames are not listed
    texts = [frame_list.item(i).text() for i in range(frame_list.count())]
    assert texts == [
        "Frame 11  0.33 s  ·  2 keyframes, 1 tracked",
        "Frame 13  0.40 s  ·  1 keyframe, 1 tracked",
        "Frame 31  1.00 s  ·  1 tracked",
    ]
    tip = frame_list.item(0).toolTip()
    assert "Needle: keyframe" in tip
    assert "Fascia: keyframe" in tip
    assert "Fluid: tracked" in tip


def test_frame_list_without_frame_time(frame_list):
    frame_list.set_lanes([TrackLane("n", "Needle", "#ff0000", {0: "keyframe"})])
    assert frame_list.item(0).text() == "Frame 1  ·  1 keyframe"


def test_clicking_a_row_requests_its_frame(qtbot, frame_list):
    seen: list[int] = []
    frame_list.frameRequested.connect(seen.append)
    rect = frame_list.visualItemRect(frame_list.item(1))
    qtbot.mouseClick(frame_list.viewport(), LEFT, pos=rect.center())
    assert seen == [12]
    rect = frame_list.visualItemRect(frame_list.item(2))
    qtbot.mouseClick(frame_list.viewport(), LEFT, pos=rect.center())
    assert seen == [12, 30]


def test_current_frame_highlights_its_row_silently(frame_list):
    seen: list[int] = []
    frame_list.frameRequested.connect(seen.append)
    frame_list.set_current_frame(12)
    assert frame_list.currentRow() == 1
    assert frame_list.item(1).isSelected()
    frame_list.set_current_frame(15)  # no row: nothing highlighted
    assert frame_list.selectedItems() == []
    frame_list.set_current_frame(30)
    assert frame_list.currentRow() == 2
    assert seen == []


def test_frame_list_keeps_the_highlight_when_rebuilt(frame_list):
    frame_list.set_current_frame(30)
    frame_list.set_lanes(
        [TrackLane("w", "Fluid", "#00ff00", {5: "keyframe", 30: "keyframe"})], FRAME_TIME_MS
    )
    assert frame_list.frames() == [5, 30]
    assert frame_list.currentRow() == 1


def on_screen(qtbot, widget) -> QImage:
    """What the window system holds for ``widget`` once its updates are painted (not a
    fresh render, as ``grab()`` would be)."""
    qtbot.wait(20)
    QApplication.processEvents()
    screen = widget.screen().grabWindow(widget.winId())
    return screen.toImage().convertToFormat(QImage.Format.Format_RGB32)


@pytest.mark.parametrize("lanes", [LANES, [*LANES] * 12], ids=["few lanes", "scrolling"])
def test_moving_the_current_frame_repaints_what_a_whole_repaint_would(qtbot, lanes):
    """The playhead moves with a partial repaint (old and new column, corner readout):
    the screen then holds exactly the picture of a repaint from scratch, no trail of the
    old playhead, the corner readout up to date."""
    widget = TimelineWidget()
    widget.set_frame_count(60, FRAME_TIME_MS)
    widget.set_lanes(lanes)
    widget.set_events([(20, "Injection start")])
    widget.resize(900, 160)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    before = on_screen(qtbot, widget)
    for frame in (5, 19, 20, 21, 59, 0, 33):
        widget.set_current_frame(frame)
        shown = on_screen(qtbot, widget)
        assert shown == widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert shown != before  # the playhead did move on screen


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_events_are_drawn_in_the_palettes_event_ink_not_a_label_colour(qtbot, theme):
    """An event's triangle on the ruler is in the chart's event ink (near the text
    colour, light on a dark theme): not orange, which is the superficial fascia's."""
    from tests.ui.themes import dark_palette
    from usannotate.annotations import default_label_set
    from usannotate.ui.docks.palette import ChartInk

    widget = TimelineWidget()
    if theme == "dark":
        widget.setPalette(dark_palette(widget.palette()))
    qtbot.addWidget(widget)
    widget.set_frame_count(60, FRAME_TIME_MS)
    widget.set_lanes(LANES)
    widget.set_events([(20, "Injection start")])
    widget.resize(900, 160)
    image = image_of(widget)
    ink = ChartInk.of(widget.palette()).event
    x = round(widget.x_of_frame(20))
    assert is_colour(image.pixelColor(x, 3), ink, tolerance=20)  # the triangle's wide top
    assert (ink.lightnessF() > 0.5) == (theme == "dark")
    for label in default_label_set():
        assert not is_colour(ink, QColor(label.colour), tolerance=40), label.name
