"""The Case dock filled with the keyboard, events at the playhead (timeline, curves,
next / previous), the selected mark's attribute by key and from the Measurements dock,
the Comments dock: each change one undo step."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.ui.events import add_needle

CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def test_case_details_are_filled_with_the_keyboard_and_undone_one_step_each(opened, qtbot):
    window = opened
    details = window.session.document.annotations.details
    qtbot.keyClick(window, Qt.Key.Key_I, CTRL)  # Details > Case Details…
    form = window.details.case_form
    procedure = form.editor("procedure")
    assert procedure.hasFocus()
    qtbot.keyClick(procedure, Qt.Key.Key_Down)  # the first choice
    assert details.case == {"procedure": "hydrodissection"}
    volume = form.editor("injectate_volume_ml")
    volume.setFocus()
    qtbot.keyClicks(volume, "500")
    qtbot.keyClick(volume, Qt.Key.Key_Return)
    assert "injectate_volume_ml" not in details.case  # refused, said beside the form
    assert form.error.isVisible()
    assert "Injectate volume: '500' is not allowed (a number from 0 to 100 (ml))" in (
        form.error.text()
    )
    volume.clear()
    qtbot.keyClicks(volume, "4.5")
    qtbot.keyClick(volume, Qt.Key.Key_Return)
    assert details.case["injectate_volume_ml"] == 4.5
    assert not form.error.isVisible()
    target = form.editor("target")  # a choice that takes free text
    target.setFocus()
    qtbot.keyClicks(target.lineEdit(), "infraspinatus")
    qtbot.keyClick(target.lineEdit(), Qt.Key.Key_Return)
    assert details.case["target"] == "infraspinatus"
    assert window.session.history.undo_text == "Set Target"
    window.session.history.undo()
    assert "target" not in details.case
    assert form.editor("target").currentText() == ""  # the form follows the model
    assert window.windowTitle().startswith("*") or "*" in window.windowTitle()


def test_events_at_the_playhead_on_timeline_and_curves_and_their_keys(opened, qtbot):
    window = opened
    details = window.session.document.annotations.details
    window.navigator.jump(12)
    qtbot.keyClick(window, Qt.Key.Key_I)  # injection start
    window.navigator.jump(30)
    qtbot.keyClick(window, Qt.Key.Key_K)  # key image
    assert [(e.type, e.frame) for e in details.events_sorted()] == [
        ("injection_start", 12),
        ("key_image", 30),
    ]
    assert window.tracks.timeline.events() == [(12, "Injection start"), (30, "Key image")]
    assert window.tracks.curves.events() == [(12, "Injection start"), (30, "Key image")]
    view = window.tracks.curves._ensure_view()
    lines = [line for _, line in view._event_lines]
    assert lines  # down every panel, in the chart's event ink (no label's colour)
    assert {line.pen.color().name() for line in lines} == {view.ink.event.name()}
    # Curves read time from the injection start.
    assert window.tracks.curves._times[12] == 0.0
    assert window.tracks.curves._times[0] < 0
    window.navigator.jump(0)
    qtbot.keyClick(window, Qt.Key.Key_Right, ALT)
    assert window.index == 12
    qtbot.keyClick(window, Qt.Key.Key_Right, ALT)
    assert window.index == 30
    qtbot.keyClick(window, Qt.Key.Key_Left, ALT)
    assert window.index == 12
    qtbot.keyClick(window, Qt.Key.Key_K, SHIFT)  # remove the events here
    assert [e.type for e in details.events] == ["key_image"]
    window.session.history.undo()
    assert len(details.events) == 2


def test_tip_visible_by_key_and_from_the_measurements_dock(opened, qtbot):
    window = opened
    needle = add_needle(window, frame=5)
    window.navigator.jump(5)
    window.state.select(needle.id)
    form = window.details.attribute_form
    assert form.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_V)
    details = window.session.document.annotations.details
    assert details.attributes[needle.id]["tip_visible"] == {5: True}
    assert form.editor("tip_visible").currentText() == "yes"
    confidence = form.editor("confidence")
    confidence.setFocus()
    qtbot.keyClick(confidence, Qt.Key.Key_Down)
    qtbot.keyClick(confidence, Qt.Key.Key_Down)  # low, then medium
    assert details.attributes[needle.id]["confidence"] == "medium"
    window.session.history.undo()
    assert details.attributes[needle.id]["confidence"] == "low"
    # The hydrodissection measures are in the Measurements dock.
    titles = {
        window.measurement_panel.table.item(r, 1).text()
        for r in range(window.measurement_panel.table.rowCount())
    }
    assert "Insertion depth" in titles


def test_comments_dock_adds_lists_and_goes_there(opened, qtbot):
    window = opened
    window.navigator.jump(20)
    qtbot.keyClick(window, Qt.Key.Key_C, CTRL | ALT)
    panel = window.details.comments
    assert panel.text.hasFocus()
    qtbot.keyClicks(panel.text, "Spread looks pooled here")
    qtbot.keyClick(panel.text, Qt.Key.Key_Return)
    details = window.session.document.annotations.details
    [comment] = details.comments
    assert (comment.text, comment.frame, comment.author) == (
        "Spread looks pooled here",
        20,
        "Test Rater",
    )
    assert panel.text.text() == ""
    assert panel.list.count() == 1
    assert panel.list.item(0).text().startswith("Frame 21: Spread looks pooled here")
    window.navigator.jump(0)
    rect = panel.list.visualItemRect(panel.list.item(0))
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.index == 20
    window.session.history.undo()
    assert panel.list.count() == 0
