"""The Curves dock's picker: any measurement of any track can be plotted and removed, with
real clicks on the button and its menu; the defaults stay as before; each loop keeps its
own choice while the window is open."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu

from tests.ui.paths import SAMPLE_A, SAMPLE_B
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject

TRUTH = json.loads(SAMPLE_A.with_name("hydrodissection_linear_a.truth.json").read_text())
FRAMES = TRUTH["frames"]


@pytest.fixture
def marked(window, tmp_path):
    """Sample A (a copy) with fluid, a needle, a vessel and the deep fascia marked."""
    path = tmp_path / "case_01.dcm"
    shutil.copy(SAMPLE_A, path)
    assert window.open_path(str(path))

    def add(label_id: str, kind: ShapeKind, frames: dict) -> AnnotatedObject:
        obj = AnnotatedObject(label_id, kind)
        for frame, points in frames.items():
            obj.set_points(frame, np.asarray(points, dtype=float))
        window.session.history.push(AddObject(obj))
        return obj

    def outline(frame: int) -> np.ndarray:
        points = np.array(FRAMES[frame]["fluid"]["outline"])
        return points[np.linspace(0, len(points), 12, endpoint=False).astype(int)]

    def plane(frame: int) -> np.ndarray:
        points = np.array(FRAMES[frame]["fascial_planes"][1]["points"])
        return points[np.linspace(0, len(points) - 1, 8).astype(int)]

    add("fluid.injectate", ShapeKind.REGION, {f: outline(f) for f in (30, 40)})
    needle = {f: [FRAMES[f]["needle"]["entry"], FRAMES[f]["needle"]["tip"]] for f in (10, 20)}
    add("needle", ShapeKind.NEEDLE, needle)
    vessel = [(300.0, 380.0), (340.0, 380.0), (320.0, 410.0)]
    add("avoid.vessel", ShapeKind.REGION, {5: vessel, 25: np.add(vessel, 6.0)})
    add("fascia.deep", ShapeKind.POLYLINE, {f: plane(f) for f in (0, 59)})
    window.tracks.curves_dock.show()
    window.tracks.curves_dock.raise_()
    qtbot_wait_plot(window)
    window.loop_path = path
    return window


def qtbot_wait_plot(window) -> None:
    window.tracks.curves.viewport()  # pyqtgraph's view, made on first use


def open_menu(qtbot, window) -> QMenu:
    pane = window.tracks.curves_pane
    qtbot.waitExposed(pane.picker)
    qtbot.mouseClick(pane.picker, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(pane.menu.isVisible)
    return pane.menu


def click_entry(qtbot, menu: QMenu, text: str) -> None:
    [action] = [a for a in menu.actions() if a.text() == text]
    assert action.isEnabled(), text
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    qtbot.waitUntil(lambda: not menu.isVisible())


def titles(window) -> list[str]:
    return [panel.title for panel in window.tracks.curves.panels()]


def ticked(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if a.isCheckable() and a.isChecked()]


def test_the_picker_lists_every_measurement_of_every_track(marked, qtbot):
    menu = open_menu(qtbot, marked)
    entries = [a.text() for a in menu.actions() if a.isCheckable()]
    assert entries == [
        "Injected fluid · Area",
        "Injected fluid · Extent along plane",
        "Injected fluid · Thickness",
        "Injected fluid · Plane separation",
        "Injected fluid · Spread rate",
        "Injected fluid · Area rate",
        "Needle · Length",
        "Needle · Insertion angle",
        "Needle · Tip depth",
        "Needle · Tip to nearest plane",
        "Needle · Insertion depth",
        "Needle · Plane separation at tip",
        "Needle · Advance per second",
        "Vessel · Area",
        "Vessel · Area rate",
        "Deep fascia · Length",
    ]
    # The defaults are ticked, and plotted as before.
    assert ticked(menu) == ["Injected fluid · Area", "Needle · Tip depth"]
    assert titles(marked) == ["Fluid area", "Needle tip depth"]
    menu.close()


def test_picking_adds_a_curve_and_picking_it_again_removes_it(marked, qtbot):
    click_entry(qtbot, open_menu(qtbot, marked), "Vessel · Area")
    panels = marked.tracks.curves.panels()
    assert [p.title for p in panels] == ["Area", "Needle tip depth"]
    area = panels[0]
    assert area.unit == "mm²"
    assert [c.name for c in area.curves] == ["Injected fluid", "Vessel"]
    assert [s.frame for s in area.curves[1].samples] == list(range(5, 26))
    marked.jump(10)  # the vessel's value in the legend, beside the fluid's (none there)
    assert marked.tracks.curves.legend_text(0).count("━━") == 2
    assert "mm²" in marked.tracks.curves.legend_text(0)

    click_entry(qtbot, open_menu(qtbot, marked), "Deep fascia · Length")
    assert titles(marked) == ["Area", "Needle tip depth", "Plane length"]
    [length] = marked.tracks.curves.panels()[2].curves
    assert marked.tracks.curves.panels()[2].unit == "mm"
    # Every frame, but those where an interpolated point leaves the region (px: gaps).
    assert len(length.samples) >= 0.9 * marked.loop.n_frames
    assert length.samples[0].value == pytest.approx(38, abs=4)  # the plane, about 38 mm

    # Removing: a default and the vessel, each with a click on its ticked entry.
    click_entry(qtbot, open_menu(qtbot, marked), "Needle · Tip depth")
    click_entry(qtbot, open_menu(qtbot, marked), "Injected fluid · Area")
    assert titles(marked) == ["Vessel area", "Plane length"]
    menu = open_menu(qtbot, marked)
    assert ticked(menu) == ["Vessel · Area", "Deep fascia · Length"]
    # Back to the defaults.
    click_entry(qtbot, menu, "Default curves (fluid area, needle tip depth)")
    assert titles(marked) == ["Fluid area", "Needle tip depth"]


def test_a_plotted_curve_follows_edits_and_undo(marked, qtbot):
    click_entry(qtbot, open_menu(qtbot, marked), "Needle · Insertion angle")
    [angle] = marked.tracks.curves.panels()[2].curves
    assert marked.tracks.curves.panels()[2].unit == "deg"
    assert angle.samples[0].value == pytest.approx(TRUTH["needle_angle_deg"], abs=1.5)
    marked.undo()  # the deep fascia's mark: the vessel and the needle stay
    assert titles(marked) == ["Fluid area", "Needle tip depth", "Needle insertion angle"]
    marked.undo()
    marked.undo()
    marked.undo()  # the needle goes: its curves go, the default panel says so
    panels = marked.tracks.curves.panels()
    assert [p.title for p in panels] == ["Fluid area", "Needle tip depth"]
    assert panels[1].curves == []
    assert panels[1].empty_text == "No needle marked"


def test_each_loop_keeps_its_own_choice(marked, qtbot, tmp_path):
    click_entry(qtbot, open_menu(qtbot, marked), "Vessel · Area")
    assert marked.save()
    other = tmp_path / "case_02.dcm"
    shutil.copy(SAMPLE_B, other)
    assert marked.open_path(str(other))
    assert titles(marked) == ["Fluid area", "Needle tip depth"]  # nothing marked there
    menu = open_menu(qtbot, marked)
    [empty] = menu.actions()
    assert not empty.isEnabled()
    assert empty.text() == "Mark something to plot its measurements"
    menu.close()
    assert marked.open_path(str(marked.loop_path))  # back: its marks and its choice
    assert titles(marked) == ["Area", "Needle tip depth"]


def test_the_picker_never_takes_the_keyboard(marked, qtbot):
    pane = marked.tracks.curves_pane
    assert pane.picker.focusPolicy() == Qt.FocusPolicy.NoFocus
    click_entry(qtbot, open_menu(qtbot, marked), "Vessel · Area")
    index = marked.index
    qtbot.keyClick(marked, Qt.Key.Key_Right)
    assert marked.index == index + 1


def test_the_rates_are_plotted_per_second(marked, qtbot):
    """Advance per second and the fluid's spread rate: curves in mm/s, the needle's
    values those of its insertion depth's change over time."""
    click_entry(qtbot, open_menu(qtbot, marked), "Needle · Advance per second")
    click_entry(qtbot, open_menu(qtbot, marked), "Injected fluid · Spread rate")
    panels = {p.title: p for p in marked.tracks.curves.panels()}
    advance = panels["Needle advance per second"]
    assert advance.unit == "mm/s"
    [needle] = advance.curves
    assert [s.frame for s in needle.samples] == list(range(10, 21))
    # The needle goes in between frames 10 and 20 (interpolated): a steady rate > 0.
    values = [s.value for s in needle.samples]
    assert min(values) > 0
    assert max(values) - min(values) < 1e-6 * max(values) + 1e-9
    assert panels["Fluid spread rate"].unit == "mm/s"
