"""The one viewer state: an edit (by real mouse and key events) rebuilds the marks layer,
the timeline and the curves exactly once; the state drives the views and the views write
back through it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.events import click

CTRL = Qt.KeyboardModifier.ControlModifier


class Counts:
    """How often each view rebuilt itself since the last :meth:`reset`."""

    def __init__(self, window, monkeypatch) -> None:
        self.window = window
        self.lanes = 0
        self.panels = 0
        timeline, curves = window.tracks.timeline, window.tracks.curves
        set_lanes, set_panels = timeline.set_lanes, curves.set_panels

        def counted_lanes(*args, **kwargs):
            self.lanes += 1
            return set_lanes(*args, **kwargs)

        def counted_panels(*args, **kwargs):
            self.panels += 1
            return set_panels(*args, **kwargs)

        monkeypatch.setattr(timeline, "set_lanes", counted_lanes)
        monkeypatch.setattr(curves, "set_panels", counted_panels)
        self.reset()

    def reset(self) -> None:
        self.lanes = self.panels = 0
        self._redraws = self.window.marks_view.redraws

    @property
    def marks(self) -> int:
        return self.window.marks_view.redraws - self._redraws


def target_key(window) -> Qt.Key:
    label = window.session.document.annotations.label_set["target"]
    return getattr(Qt.Key, f"Key_{label.shortcut}")


def test_one_edit_rebuilds_each_view_once(opened, qtbot, monkeypatch):
    counts = Counts(opened, monkeypatch)
    qtbot.keyClick(opened, target_key(opened))  # choose the label: nothing is rebuilt
    assert (counts.marks, counts.lanes, counts.panels) == (0, 0, 0)
    click(opened.view, 320.0, 250.0)  # one point: one edit
    assert len(opened.session.document.annotations.objects) == 1
    assert (counts.marks, counts.lanes, counts.panels) == (1, 1, 1)
    counts.reset()
    qtbot.keyClick(opened, Qt.Key.Key_Z, CTRL)  # undo: one change
    assert opened.session.document.annotations.objects == []
    assert (counts.marks, counts.lanes, counts.panels) == (1, 1, 1)


def test_a_new_frame_redraws_the_marks_but_not_the_timeline(opened, qtbot, monkeypatch):
    counts = Counts(opened, monkeypatch)
    qtbot.keyClick(opened, Qt.Key.Key_Right)
    assert opened.state.frame == 1
    assert (counts.marks, counts.lanes, counts.panels) == (1, 0, 0)
    assert opened.tracks.timeline.current_frame() == 1


def test_selection_goes_both_ways(opened, qtbot):
    qtbot.keyClick(opened, target_key(opened))
    click(opened.view, 320.0, 250.0)
    obj = opened.session.document.annotations.objects[0]
    qtbot.keyClick(opened.view, Qt.Key.Key_Escape)  # back to selecting, deselected
    qtbot.keyClick(opened.view, Qt.Key.Key_Escape)
    assert opened.state.selected is None
    click(opened.view, 320.0, 250.0)  # view -> state
    assert opened.state.selected == obj.id
    assert opened.layer.items[obj.id].isSelected()
    opened.state.select(None)  # state -> view
    assert not opened.layer.items[obj.id].isSelected()
    assert opened.tools.selected is None
    assert opened.tracks.timeline.selected_track() is None


def test_frame_requests_go_through_the_navigator(opened):
    opened.state.request_frame(12)
    assert opened.state.frame == 12
    assert opened.index == 12
    assert opened.windowTitle().startswith("case.dcm — frame 13 / 60")
    assert opened.transport.slider.value() == 12


def test_a_drag_is_measured_live_from_its_preview_and_is_one_edit(opened, qtbot):
    from PySide6.QtCore import QEvent

    from tests.ui.events import LEFT, NO_BUTTON, mouse
    from usannotate.annotations import AnnotatedObject, ShapeKind
    from usannotate.annotations.edits import AddObject

    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [(200.0, 150.0), (300.0, 250.0)])
    opened.session.history.push(AddObject(needle))
    table = opened.measurement_panel.table

    def length() -> float:
        for row in range(table.rowCount()):
            if table.item(row, 1).text() == "Length":
                return float(table.item(row, 2).text())
        raise AssertionError("no length row")

    before = length()
    steps = opened.session.history.revision
    click(opened.view, 250.0, 200.0)  # select the needle
    view = opened.view
    mouse(view, QEvent.Type.MouseButtonPress, 300.0, 250.0)  # its tip
    for y in (260.0, 280.0, 300.0):
        mouse(view, QEvent.Type.MouseMove, 300.0, y, NO_BUTTON, LEFT)
    assert length() > before + 3  # the dock follows the preview
    assert needle.frames[0][1][1] == 250.0  # the model waits for the release
    assert opened.session.history.revision == steps
    mouse(view, QEvent.Type.MouseButtonRelease, 300.0, 300.0, LEFT, NO_BUTTON)
    assert opened.session.history.revision == steps + 1
    assert abs(needle.frames[0][1][1] - 300.0) < 1.5
