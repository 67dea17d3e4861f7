"""The curves plot (pyqtgraph): time axis from frame times, seeking by click and drag,
markers, gaps, the playhead, hover, export."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QHelpEvent, QImage, QMouseEvent, QPalette
from PySide6.QtWidgets import QApplication, QToolTip

from tests.ui.themes import dark_palette
from usannotate.ui.docks.curves import Curve, CurvePanel, CurvePlot, CurveSample

# Uneven frame times (a FrameTimeVector): frame 3 -> 4 takes five times longer than 0 -> 1.
TIMES = [0.0, 0.02, 0.05, 0.07, 0.17, 0.19, 0.24, 0.26, 0.30, 0.31, 0.36, 0.40]
FLUID = "#d62728"
NEEDLE = "#2ca02c"


def _fluid_samples() -> list[CurveSample]:
    """A flat line at 12 mm² on frames 0-3 and 7-11: a gap over frames 4-6.

    The axis runs from 0 to 15, so the line runs inside the plot, clear of its frame.
    """
    sources = {0: "keyframe", 1: "interpolated", 2: "interpolated", 3: "keyframe"}
    samples = [CurveSample(f, 12.0, sources[f]) for f in range(4)]
    samples += [CurveSample(f, 12.0, "keyframe" if f == 7 else "tracked") for f in range(7, 12)]
    return samples


def _panels(fluid: list[CurveSample] | None = None, empty_text: str = "") -> list[CurvePanel]:
    needle = [
        CurveSample(f, 2.0 + f, "keyframe" if f in (0, 5) else "interpolated") for f in range(6)
    ]
    return [
        CurvePanel(
            "Fluid area",
            "mm²",
            [Curve("Injected fluid", FLUID, _fluid_samples() if fluid is None else fluid)],
            empty_text=empty_text,
        ),
        CurvePanel("Needle tip depth", "mm", [Curve("Needle", NEEDLE, needle)], invert_y=True),
    ]


@pytest.fixture
def plot(qtbot):
    widget = CurvePlot()
    qtbot.addWidget(widget)
    widget.set_frame_times(TIMES)
    widget.set_panels(_panels())
    widget.resize(480, 360)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(widget.viewport().isVisible)  # pyqtgraph's view, made once shown
    return widget


def _image(widget: CurvePlot) -> QImage:
    image = widget.grab().toImage()
    assert image.width() == widget.width()  # one pixel per widget unit offscreen
    return image


def _near(image: QImage, x: int, y: int, colour: str | QColor, tolerance: int = 40) -> bool:
    pixel, want = image.pixelColor(x, y), QColor(colour)
    return (
        abs(pixel.red() - want.red())
        + abs(pixel.green() - want.green())
        + abs(pixel.blue() - want.blue())
        <= tolerance
    )


def _column_run(image: QImage, x: int, top: int, bottom: int, colour: str) -> int:
    """The longest vertical run of ``colour`` pixels in column ``x`` between two rows."""
    best = run = 0
    for y in range(top, bottom):
        run = run + 1 if _near(image, x, y, colour) else 0
        best = max(best, run)
    return best


def _rows(widget: CurvePlot, panel: int) -> tuple[int, int]:
    rect = widget.panel_rect(panel)
    return math.ceil(rect.top()) + 1, math.floor(rect.bottom()) - 1


def _mouse(widget: CurvePlot, kind: QEvent.Type, x: float, y: float, held: bool) -> None:
    """A real mouse event where the mouse lands: on pyqtgraph's view over the plot."""
    target = widget.viewport()
    local = QPointF(x, y)
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    buttons = Qt.MouseButton.LeftButton if held else Qt.MouseButton.NoButton
    event = QMouseEvent(
        kind,
        local,
        QPointF(target.mapToGlobal(local)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, event)


# ------------------------------------------------------------------ coordinates and seeking
def test_x_follows_the_frame_times_not_the_frame_numbers(plot):
    xs = [plot.x_of_frame(k) for k in range(len(TIMES))]
    assert xs == sorted(xs)
    span = xs[-1] - xs[0]
    for x, t in zip(xs, TIMES, strict=True):
        assert (x - xs[0]) / span == pytest.approx(t / TIMES[-1], abs=1e-9)
    # The long frame interval 3 -> 4 is five times as wide as 0 -> 1 on screen.
    assert xs[4] - xs[3] == pytest.approx(5 * (xs[1] - xs[0]))


def test_frame_at_inverts_x_of_frame_and_clamps(plot):
    for k in range(len(TIMES)):
        assert plot.frame_at(plot.x_of_frame(k)) == k
        assert plot.frame_at(plot.x_of_frame(k) + 0.4) == k
    assert plot.frame_at(-1000) == 0
    assert plot.frame_at(10_000) == len(TIMES) - 1
    # Between frames 3 (0.07 s) and 4 (0.17 s): nearest in time, not in frame count.
    x3, x4 = plot.x_of_frame(3), plot.x_of_frame(4)
    assert plot.frame_at(x3 + 0.4 * (x4 - x3)) == 3
    assert plot.frame_at(x3 + 0.6 * (x4 - x3)) == 4


def test_click_requests_the_frame_under_the_mouse(plot, qtbot):
    top, bottom = _rows(plot, 0)
    for k in (0, 3, 4, 6, 11):
        with qtbot.waitSignal(plot.frameRequested, timeout=1000) as blocker:
            qtbot.mouseClick(
                plot.viewport(),
                Qt.MouseButton.LeftButton,
                pos=QPoint(round(plot.x_of_frame(k)), (top + bottom) // 2),
            )
        assert blocker.args == [k]
    # The second panel seeks too.
    top, bottom = _rows(plot, 1)
    with qtbot.waitSignal(plot.frameRequested, timeout=1000) as blocker:
        qtbot.mouseClick(
            plot.viewport(),
            Qt.MouseButton.LeftButton,
            pos=QPoint(round(plot.x_of_frame(8)), bottom - 2),
        )
    assert blocker.args == [8]


def test_click_on_a_panel_title_does_not_seek(plot, qtbot):
    requested: list[int] = []
    plot.frameRequested.connect(requested.append)
    title_y = round(plot.panel_rect(0).top()) - 8
    qtbot.mouseClick(
        plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(plot.x_of_frame(5)), title_y)
    )
    assert requested == []


def test_drag_requests_each_frame_passed_once(plot):
    requested: list[int] = []
    plot.frameRequested.connect(requested.append)
    top, bottom = _rows(plot, 1)
    y = (top + bottom) / 2
    _mouse(plot, QEvent.Type.MouseButtonPress, plot.x_of_frame(1), y, held=True)
    for k in range(1, 7):
        x0, x1 = plot.x_of_frame(k), plot.x_of_frame(k + 1)
        for step in range(4):  # several moves per frame: each frame is asked for once
            _mouse(plot, QEvent.Type.MouseMove, x0 + step * (x1 - x0) / 4, y, held=True)
    # Dragging on past the bottom of the widget keeps scrubbing.
    _mouse(plot, QEvent.Type.MouseMove, plot.x_of_frame(7), plot.height() + 50, held=True)
    _mouse(plot, QEvent.Type.MouseButtonRelease, plot.x_of_frame(7), y, held=False)
    assert requested == [1, 2, 3, 4, 5, 6, 7]
    # Moving with no button held only hovers.
    _mouse(plot, QEvent.Type.MouseMove, plot.x_of_frame(2), y, held=False)
    assert requested == [1, 2, 3, 4, 5, 6, 7]
    assert plot.viewport().cursor().shape() == Qt.CursorShape.CrossCursor


def test_the_plot_never_takes_the_keyboard_focus(plot):
    assert plot.focusPolicy() == Qt.FocusPolicy.NoFocus


# ------------------------------------------------------------------ what is drawn
def test_playhead_is_drawn_at_the_current_frame(plot):
    highlight = plot.palette().color(QPalette.ColorRole.Highlight)
    _, bottom = _rows(plot, 0)
    y = bottom - 3  # below the flat fluid line

    def playhead_at(image: QImage, frame: int) -> bool:
        x = round(plot.x_of_frame(frame))
        return any(_near(image, x + dx, y, highlight, 90) for dx in (-1, 0, 1))

    image = _image(plot)
    assert not playhead_at(image, 5)
    plot.set_current_frame(5)
    image = _image(plot)
    assert playhead_at(image, 5)
    assert not playhead_at(image, 9)
    plot.set_current_frame(9)
    image = _image(plot)
    assert playhead_at(image, 9)
    assert not playhead_at(image, 5)
    # One line across every panel.
    top1, bottom1 = _rows(plot, 1)
    x = round(plot.x_of_frame(9))
    assert any(_near(image, x + dx, (top1 + bottom1) // 2, highlight, 90) for dx in (-1, 0, 1))


def test_keyframes_get_a_round_marker_and_interpolated_frames_a_line(plot):
    image = _image(plot)
    top, bottom = _rows(plot, 0)
    # The line is flat: a 2 px stroke crossing a column is short, a keyframe disc is tall.
    keyframe_run = _column_run(image, round(plot.x_of_frame(3)), top, bottom, FLUID)
    # A dashed line may have a gap in any one column: the tallest run of a few columns.
    x2 = round(plot.x_of_frame(2))
    interpolated_run = max(_column_run(image, x, top, bottom, FLUID) for x in range(x2 - 4, x2 + 5))
    assert keyframe_run >= 6
    assert 1 <= interpolated_run <= 3


def test_tracked_samples_get_a_hollow_marker(plot):
    image = _image(plot)
    top, bottom = _rows(plot, 0)
    x = round(plot.x_of_frame(9))  # tracked
    rows = [y for y in range(top, bottom) if _near(image, x, y, FLUID)]
    assert rows, "no marker on the tracked sample"
    # The square's outline, the line through it hidden by its hollow (background) centre.
    centre = (rows[0] + rows[-1]) // 2
    assert rows[-1] - rows[0] >= 4
    assert not _near(image, x, centre, FLUID)


def test_a_gap_in_frames_is_a_gap_in_the_line(plot):
    image = _image(plot)
    top, bottom = _rows(plot, 0)
    # Frames 4-6 have no sample: nothing drawn between frame 3 and frame 7.
    for frame in (4, 5, 6):
        assert _column_run(image, round(plot.x_of_frame(frame)), top, bottom, FLUID) == 0
    x = round((plot.x_of_frame(3) + plot.x_of_frame(7)) / 2)
    assert _column_run(image, x, top, bottom, FLUID) == 0
    # Joined frames are joined (dashed lines may miss a column: look at a few).
    x1, x2 = plot.x_of_frame(1), plot.x_of_frame(2)
    columns = range(round(x1) + 5, round(x2) - 4)
    assert any(_column_run(image, x, top, bottom, FLUID) for x in columns)
    x8, x9 = plot.x_of_frame(8), plot.x_of_frame(9)
    assert _column_run(image, round((x8 + x9) / 2), top, bottom, FLUID) >= 1


def test_empty_panel_shows_its_text(plot):
    rect = plot.panel_rect(0).toRect().adjusted(30, 10, -30, -10)

    def ink(text: str) -> int:
        plot.set_panels(_panels(fluid=[], empty_text=text))
        image = _image(plot)
        dark = 0
        for y in range(rect.top(), rect.bottom(), 1):
            for x in range(rect.left(), rect.right(), 2):
                if image.pixelColor(x, y).lightness() < 180:
                    dark += 1
        return dark

    assert ink("") == 0
    assert ink("No injected fluid marked yet") > 30


def test_tooltip_names_the_nearest_sample(plot):
    top, bottom = _rows(plot, 0)
    pos = QPoint(round(plot.x_of_frame(9)) + 1, (top + bottom) // 2)
    viewport = plot.viewport()
    QApplication.sendEvent(
        viewport, QHelpEvent(QEvent.Type.ToolTip, pos, viewport.mapToGlobal(pos))
    )
    seconds = f"{TIMES[9]:.2f} s"
    # Frame numbers on screen are 1-based, like the rest of the window.
    assert QToolTip.text() == f"Injected fluid · frame 10 · {seconds} · 12.00 mm² (tracked)"
    QToolTip.hideText()


def test_no_frame_times_places_samples_by_frame(qtbot):
    widget = CurvePlot()
    qtbot.addWidget(widget)
    widget.set_panels(_panels())
    widget.resize(400, 300)
    assert widget.frame_at(widget.x_of_frame(7)) == 7
    widget.set_current_frame(7)
    _image(widget)  # paints without frame times


def test_without_panels_or_frames_nothing_breaks(qtbot):
    widget = CurvePlot()
    qtbot.addWidget(widget)
    widget.resize(300, 200)
    assert widget.frame_at(100) == -1
    _image(widget)
    widget.set_frame_times(TIMES)
    widget.set_panels([])
    widget.set_current_frame(3)
    _image(widget)


# ------------------------------------------------------------------ export
def test_export_csv_has_every_plotted_sample(plot):
    rows = list(csv.DictReader(io.StringIO(plot.export_csv())))
    assert list(rows[0]) == ["time_s", "frame", "panel", "curve", "value", "unit", "source"]
    assert len(rows) == len(_fluid_samples()) + 6
    third = rows[2]
    assert third == {
        "time_s": "0.050000",
        "frame": "2",
        "panel": "Fluid area",
        "curve": "Injected fluid",
        "value": "12",
        "unit": "mm²",
        "source": "interpolated",
    }
    needle = [r for r in rows if r["curve"] == "Needle"]
    assert [r["frame"] for r in needle] == ["0", "1", "2", "3", "4", "5"]
    assert needle[5]["value"] == "7"
    assert needle[5]["source"] == "keyframe"
    assert needle[5]["unit"] == "mm"


def test_a_sample_from_an_unknown_source_is_refused():
    with pytest.raises(ValueError, match="keyframe, interpolated, tracked, not 'interpolation'"):
        CurveSample(3, 1.0, "interpolation")


# ------------------------------------------------------------------ legend, tab, theme
def test_the_legend_reads_the_values_at_the_playhead(plot):
    plot.set_current_frame(2)
    assert "Injected fluid 12.0 mm²" in plot.legend_text(0)
    assert "Needle 4.00 mm" in plot.legend_text(1)
    plot.set_current_frame(5)  # in the fluid's gap; the needle's keyframe
    assert "Injected fluid –" in plot.legend_text(0)
    assert "Needle 7.00 mm" in plot.legend_text(1)
    assert plot.legend_text(2) == ""


def test_while_playing_the_legend_follows_at_most_twenty_times_a_second(plot, monkeypatch):
    from usannotate.ui.docks import _curve_view

    still = {}
    for frame in (2, 4, 5):
        plot.set_current_frame(frame)
        still[frame] = (plot.legend_text(0), plot.legend_text(1))
    assert len(set(still.values())) == 3  # three frames that read out differently
    now = [50.0]
    monkeypatch.setattr(_curve_view.time, "monotonic", lambda: now[0])
    plot.set_current_frame(1)
    plot.set_playing(True)
    plot.set_current_frame(2)  # the first frame played: read out
    assert (plot.legend_text(0), plot.legend_text(1)) == still[2]
    now[0] += 0.016
    plot.set_current_frame(5)  # a frame later: the playhead moves, the values wait
    assert plot.playhead_text() == "0.19 s"
    assert (plot.legend_text(0), plot.legend_text(1)) == still[2]
    now[0] += 0.05  # 20 a second: now they follow
    plot.set_current_frame(4)
    assert (plot.legend_text(0), plot.legend_text(1)) == still[4]
    now[0] += 0.016
    plot.set_current_frame(5)
    assert (plot.legend_text(0), plot.legend_text(1)) == still[4]
    plot.set_playing(False)  # stopped: the values of the frame on screen
    assert (plot.legend_text(0), plot.legend_text(1)) == still[5]


def test_the_playhead_tab_says_the_time(plot, qtbot):
    assert plot.playhead_text() == ""  # no frame shown yet
    plot.set_current_frame(4)
    assert plot.playhead_text() == "0.17 s"
    widget = CurvePlot()
    qtbot.addWidget(widget)
    widget.set_panels(_panels())
    widget.set_current_frame(7)
    assert widget.playhead_text() == "frame 8"  # no timing: 1-based frame numbers


def _disc_centre(image: QImage, x: int, top: int, bottom: int, colour: str) -> float:
    rows = [y for y in range(top, bottom) if _near(image, x, y, colour)]
    assert rows, "no marker there"
    return (rows[0] + rows[-1]) / 2


def test_depth_grows_downward_and_area_upward(plot, qtbot):
    image = _image(plot)
    # Needle tip depth (inverted): 2 mm at frame 0, 7 mm at frame 5, lower on screen.
    top, bottom = _rows(plot, 1)
    shallow = _disc_centre(image, round(plot.x_of_frame(0)), top, bottom, NEEDLE)
    deep = _disc_centre(image, round(plot.x_of_frame(5)), top, bottom, NEEDLE)
    assert deep > shallow + 20
    # The same values as an area (not inverted): the larger one is higher.
    samples = [CurveSample(0, 2.0, "keyframe"), CurveSample(5, 7.0, "keyframe")]
    plot.set_panels([CurvePanel("Area", "mm²", [Curve("Vessel", NEEDLE, samples)])])
    image = _image(plot)
    top, bottom = _rows(plot, 0)
    small = _disc_centre(image, round(plot.x_of_frame(0)), top, bottom, NEEDLE)
    large = _disc_centre(image, round(plot.x_of_frame(5)), top, bottom, NEEDLE)
    assert large < small - 20


def test_colours_follow_the_palette_dark_and_light(plot):
    def colours() -> tuple[QColor, QColor, int]:
        """Inside a plot box, around the plots, and the lightest pixel of the title."""
        image = _image(plot)
        box = plot.panel_rect(1).toRect()
        title = plot.panel_rect(0).toRect()
        lightness = [
            image.pixelColor(x, y).lightness()
            for y in range(max(0, title.top() - 20), title.top() - 2)
            for x in range(title.left(), title.left() + 100)
        ]
        return (
            image.pixelColor(box.right() - 4, box.top() + 4),
            image.pixelColor(1, 1),
            (
                min(lightness)
                if plot.palette().window().color().lightness() > 128
                else max(lightness)
            ),
        )

    inside, around, title = colours()
    assert _near_colour(inside, plot.palette().color(QPalette.ColorRole.Base))
    assert _near_colour(around, plot.palette().color(QPalette.ColorRole.Window))
    assert title < 80  # dark text on a light window
    plot.setPalette(dark_palette())
    inside, around, title = colours()
    assert _near_colour(inside, QColor("#1e1e1e"))
    assert _near_colour(around, QColor("#2b2b2b"))
    assert title > 170  # light text on a dark window
    assert plot.legend_text(0)  # rebuilt, not emptied


def _near_colour(a: QColor, b: QColor) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) <= 12


def test_a_click_leaves_the_keyboard_where_it_was(qtbot):
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    host = QWidget()
    qtbot.addWidget(host)
    editor = QLineEdit()
    plot = CurvePlot()
    layout = QVBoxLayout(host)
    layout.addWidget(editor)
    layout.addWidget(plot)
    plot.set_frame_times(TIMES)
    plot.set_panels(_panels())
    host.resize(480, 420)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    top, _ = _rows(plot, 0)
    qtbot.mouseClick(
        plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(round(plot.x_of_frame(3)), top + 5)
    )
    assert editor.hasFocus()
    focusable = [plot, plot.viewport(), *plot.findChildren(QWidget)]
    assert all(w.focusPolicy() == Qt.FocusPolicy.NoFocus for w in focusable)


def test_pyqtgraph_waits_until_the_plot_is_shown_and_uses_pyside6(tmp_path):
    """Making the window does not pay for importing pyqtgraph; the plot's first paint
    does, after it, on PySide6 whatever binding the environment names."""
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from usannotate.ui.main_window import MainWindow\n"
        "window = MainWindow()\n"
        "print('before show', 'pyqtgraph' in sys.modules)\n"
        "window.show()\n"
        "import time\n"
        "end = time.monotonic() + 20\n"
        "while window.tracks.curves._view is None and time.monotonic() < end:\n"
        "    app.processEvents()\n"
        "import pyqtgraph\n"
        "print('after show', window.tracks.curves._view is not None, pyqtgraph.Qt.QT_LIB)\n"
        "window.close()\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYQTGRAPH_QT_LIB="PyQt5")
    env["XDG_CONFIG_HOME"] = str(tmp_path)  # no settings of the user's
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "before show False" in out.stdout
    assert "after show True PySide6" in out.stdout


def test_legend_names_give_way_to_values_when_narrow(plot, qtbot):
    plot.set_current_frame(2)
    assert "Injected fluid 12.0 mm²" in plot.legend_text(0)
    plot.resize(230, 360)
    qtbot.waitUntil(lambda: "Injected fluid" not in plot.legend_text(0))
    assert "12.0 mm²" in plot.legend_text(0)
    plot.resize(480, 360)
    qtbot.waitUntil(lambda: "Injected fluid 12.0 mm²" in plot.legend_text(0))


def test_new_values_for_the_same_curves_redraw_the_lines_not_the_plots(plot):
    """An edit (new values, the same panels and curves) keeps the pyqtgraph plots and
    draws the new values; a new curve builds the plots again."""
    view = plot._view
    plots_before = [panel.plot for panel in view._panels]
    plot.set_current_frame(2)
    assert "12" in plot.legend_text(0)
    moved = [CurveSample(s.frame, 7.5, s.source) for s in _fluid_samples()]
    plot.set_panels(_panels(moved))
    assert [panel.plot for panel in view._panels] == plots_before
    assert "7.5" in plot.legend_text(0)
    lines = [item for item in view._panels[0].plot.listDataItems() if hasattr(item, "yData")]
    assert any(7.5 in set(item.yData[~np.isnan(item.yData)]) for item in lines)
    panels = _panels(moved)
    panels[0] = CurvePanel(
        "Fluid area",
        "mm²",
        [*panels[0].curves, Curve("Vessel", "#1f77b4", [CurveSample(1, 3.0, "keyframe")])],
    )
    plot.set_panels(panels)
    assert view._panels[0].plot is not plots_before[0]
