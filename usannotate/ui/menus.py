"""The window's menus and every action with its shortcut, registered in one place.

The F1 list and the README's keyboard table are read from what is registered here (see
:mod:`usannotate.ui.dialogs.shortcuts`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QKeySequence

from usannotate.ui import help_menu
from usannotate.ui.dialogs.about import show_about
from usannotate.ui.pacs_actions import open_from_pacs

# The window the menus are built for (a MainWindow; not imported, so no import circle).
MainWindow = Any

__all__ = ["build_menus"]


def _action(
    window: MainWindow, text: str, keys: str | QKeySequence | list | None, slot, tip: str = ""
) -> QAction:
    action = QAction(text, window)
    if isinstance(keys, list):
        action.setShortcuts([QKeySequence(k) for k in keys])
    elif keys is not None:
        action.setShortcut(QKeySequence(keys))
    action.setToolTip(tip or text)
    action.setStatusTip(tip or text)
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts work even when menus are hidden
    return action


def build_menus(window: MainWindow) -> None:
    """The menu bar and every action (a shortcut works even while its menu is hidden)."""
    menu = window.menuBar().addMenu("&File")
    menu.addAction(
        _action(window, "&Open Loop…", QKeySequence.StandardKey.Open, window.choose_file)
    )
    window.save_action = _action(
        window,
        "&Save Annotations",
        QKeySequence.StandardKey.Save,
        window.save,
        "Save the marks to the JSON sidecar beside the DICOM",
    )
    menu.addAction(
        _action(
            window, "Open &Folder…", "Ctrl+Shift+O", window.choose_folder, "Open a folder of loops"
        )
    )
    window.open_pacs_action = _action(
        window,
        "Open from &PACS…",
        None,
        lambda: open_from_pacs(window),
        "Search a PACS (DICOMweb or DIMSE), pull a series into the local cache and open it",
    )
    menu.addAction(window.open_pacs_action)
    window.recent_menu = menu.addMenu("Open &Recent")
    window.rebuild_recent_menu()
    menu.addAction(window.save_action)
    window.save_as_action = _action(
        window,
        "Save Annotations &As…",
        "Ctrl+Shift+S",
        window.save_as,
        "Save the marks to another sidecar file, and keep working on that one",
    )
    menu.addAction(window.save_as_action)
    window.export_measurements_action = _action(
        window,
        "&Export Measurements…",
        "Ctrl+E",
        window.export_measurements,
        "Write every frame's measurements to a CSV (or JSON) table, the rows "
        "`usannotate measure` prints",
    )
    menu.addAction(window.export_measurements_action)
    window.export_marks_action = _action(
        window,
        "Export &Marks…",
        "Ctrl+Shift+E",
        window.export_marks,
        "Export the marks of this loop (or of its folder) as DICOM SR, CVAT XML, COCO, "
        "YOLO or index masks",
    )
    menu.addAction(window.export_marks_action)
    window.export_teaching_action = _action(
        window,
        "Export &Teaching Case…",
        None,
        lambda: window.export_media("teaching"),
        "A de-identified teaching case: the loop and its marks, an annotated video, key "
        "frames, curves and a page that shows them",
    )
    window.export_video_action = _action(
        window,
        "Export &Video…",
        None,
        lambda: window.export_media("video"),
        "An H.264 video of the loop with its marks and measurements drawn",
    )
    window.export_frames_action = _action(
        window,
        "Export F&rames…",
        None,
        lambda: window.export_media("frames"),
        "PNG pictures of the key frames (or chosen frames) with their marks",
    )
    for action in (
        window.export_teaching_action,
        window.export_video_action,
        window.export_frames_action,
    ):
        menu.addAction(action)
    menu.addSeparator()
    window.close_loop_action = _action(
        window, "&Close Loop", "Ctrl+W", window.close_loop, "Close this loop"
    )
    menu.addAction(window.close_loop_action)
    menu.addSeparator()
    menu.addAction(
        _action(window, "&Next Loop", "PgDown", window.next_loop, "Next loop in the folder")
    )
    menu.addAction(
        _action(
            window, "&Previous Loop", "PgUp", window.previous_loop, "Previous loop in the folder"
        )
    )
    menu.addSeparator()
    # Ctrl+Q itself, not the platform's Quit key: Windows and some platforms have none.
    menu.addAction(_action(window, "&Quit", "Ctrl+Q", window.close))

    menu = window.menuBar().addMenu("&Edit")
    window.undo_action = _action(window, "&Undo", QKeySequence.StandardKey.Undo, window.undo)
    window.redo_action = _action(window, "&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], window.redo)
    menu.addAction(window.undo_action)
    menu.addAction(window.redo_action)
    menu.addSeparator()
    menu.addAction(
        _action(
            window,
            "Copy Marks to &Next Frame",
            "C",
            lambda: window.copy_marks(1),
            "Copy this frame's marks to the next frame and go there",
        )
    )
    menu.addAction(
        _action(
            window,
            "Copy Marks to &Previous Frame",
            "Shift+C",
            lambda: window.copy_marks(-1),
            "Copy this frame's marks to the previous frame and go there",
        )
    )
    menu.addSeparator()
    menu.addAction(_action(window, "Add &Label…", None, window.add_label))
    for digit in "1234567890":
        action = _action(
            window, f"Label {digit}", digit, lambda _=False, d=digit: window.choose_label_key(d)
        )
        action.setObjectName(f"label_key_{digit}")
    menu.addSeparator()
    preferences = _action(
        window,
        "&Preferences…",
        "Ctrl+,",
        window.edit_preferences,
        "Annotator name, default label set, autosave, caption and handle size",
    )
    preferences.setMenuRole(QAction.MenuRole.PreferencesRole)
    menu.addAction(preferences)

    _build_worklist_menu(window)

    _build_measure_menu(window)

    _build_track_menu(window)

    _build_details_menu(window)

    menu = window.menuBar().addMenu("&Playback")
    menu.addAction(_action(window, "&Play / Pause", "Space", window.playback.toggle))
    menu.addAction(_action(window, "Next Frame", ["Right", "F"], lambda: window.step(1)))
    menu.addAction(_action(window, "Previous Frame", ["Left", "D"], lambda: window.step(-1)))
    menu.addAction(_action(window, "Forward 10 Frames", "Shift+Right", lambda: window.step(10)))
    menu.addAction(_action(window, "Back 10 Frames", "Shift+Left", lambda: window.step(-10)))
    menu.addAction(_action(window, "First Frame", "Home", window.jump_to_first))
    menu.addAction(_action(window, "Last Frame", "End", window.jump_to_last))
    menu.addSeparator()
    menu.addAction(_action(window, "Faster", "]", lambda: window.navigator.change_speed(1)))
    menu.addAction(_action(window, "Slower", "[", lambda: window.navigator.change_speed(-1)))
    window.loop_action = _action(window, "&Loop", "L", window.set_looping)
    window.loop_action.setCheckable(True)
    window.loop_action.setChecked(True)
    menu.addAction(window.loop_action)

    menu = window.menuBar().addMenu("&View")
    menu.addAction(_action(window, "&Fit to Window", "Ctrl+0", window.view.fit))
    menu.addAction(_action(window, "&Actual Size (1:1)", "Ctrl+1", window.view.zoom_actual_size))
    menu.addAction(
        _action(window, "Zoom &In", ["+", "=", "Ctrl++"], lambda: window.view.zoom_by(1.25))
    )
    menu.addAction(_action(window, "Zoom &Out", ["-", "Ctrl+-"], lambda: window.view.zoom_by(0.8)))
    menu.addSeparator()
    window.regions_action = _action(
        window,
        "Show Calibration &Regions",
        "R",
        window.set_calibration_visible,
        "Outline the ultrasound regions of the DICOM calibration (and a manual calibration's line)",
    )
    window.regions_action.setCheckable(True)
    window.regions_action.setChecked(True)
    menu.addAction(window.regions_action)
    window.ruler_action = _action(
        window,
        "Show Depth &Ruler",
        "M",
        window.view.set_ruler_visible,
        "Depth ruler in cm and a mm scale bar, from the calibration",
    )
    window.ruler_action.setCheckable(True)
    window.ruler_action.setChecked(True)
    menu.addAction(window.ruler_action)
    window.trajectory_action = _action(
        window,
        "Show Needle &Trajectory",
        "T",
        window.set_trajectory_visible,
        "Extend the needle beyond its tip as a dashed line",
    )
    window.trajectory_action.setCheckable(True)
    window.trajectory_action.setChecked(True)
    menu.addAction(window.trajectory_action)
    window.captions_action = _action(
        window,
        "Show Mark &Captions",
        "Shift+H",
        window.set_captions_visible,
        "Name each mark beside it (hide the names to see what is under them)",
    )
    window.captions_action.setCheckable(True)
    window.captions_action.setChecked(True)
    menu.addAction(window.captions_action)
    menu.addAction(window.team.others_action)
    menu.addAction(_action(window, "Reset Brightness / Contrast", "Ctrl+R", window.reset_display))
    menu.addSeparator()
    menu.addAction(window.loop_dock.toggleViewAction())
    menu.addAction(window.label_dock.toggleViewAction())
    menu.addAction(window.measurement_dock.toggleViewAction())
    menu.addAction(window.metadata_dock.toggleViewAction())
    menu.addAction(window.tracks.timeline_dock.toggleViewAction())
    menu.addAction(window.tracks.frame_list_dock.toggleViewAction())
    menu.addAction(window.tracks.curves_dock.toggleViewAction())
    menu.addAction(window.team.dock.toggleViewAction())
    menu.addAction(window.adjudication.dock.toggleViewAction())
    menu.addAction(window.details.case_dock.toggleViewAction())
    menu.addAction(window.details.comments_dock.toggleViewAction())
    menu.addAction(window.display_toolbar.toggleViewAction())

    menu = window.menuBar().addMenu("&Help")
    menu.addAction(
        _action(
            window,
            "&User Guide",
            None,
            lambda: help_menu.show_user_guide(window),
            "Marking, keyframes and tracking, saving, exports, de-identification, shortcuts",
        )
    )
    menu.addAction(_action(window, "&Keyboard Shortcuts", "F1", window.show_shortcuts))
    menu.addAction(
        _action(
            window,
            "Open &Sample Loop",
            None,
            lambda: help_menu.open_sample(window),
            "A synthetic hydrodissection loop to try the tools on",
        )
    )
    menu.addAction(_action(window, "&Welcome…", None, lambda: help_menu.show_welcome(window)))
    menu.addSeparator()
    menu.addAction(_action(window, "&About usannotate", None, lambda: show_about(window)))


def _build_details_menu(window: MainWindow) -> None:
    """Details: events at the playhead and stepping between them, the case details,
    comments, the selected mark's attribute (see usannotate.ui.details)."""
    from usannotate.ui.details import EVENT_KEYS

    details = window.details
    menu = window.menuBar().addMenu("&Details")
    for type_id, text, keys in EVENT_KEYS:
        menu.addAction(
            _action(
                window,
                text,
                keys,
                lambda _checked=False, t=type_id: details.add_event(t),
                f"{text} at the playhead",
            )
        )
    menu.addAction(
        _action(
            window,
            "Mark &Other Event…",
            "Ctrl+K",
            details.add_other_event,
            "An event of a type you name, at the playhead",
        )
    )
    menu.addAction(
        _action(window, "&Remove Events Here", "Shift+K", details.remove_events_here, "Undoable")
    )
    menu.addAction(
        _action(window, "Next E&vent", "Alt+Right", lambda: details.step_event(1), "Go to it")
    )
    menu.addAction(
        _action(window, "Previous Ev&ent", "Alt+Left", lambda: details.step_event(-1), "Go to it")
    )
    menu.addSeparator()
    menu.addAction(
        _action(
            window,
            "Toggle &Tip Visible",
            "V",
            details.toggle_attribute,
            "Flip the selected mark's yes/no attribute (the needle's tip visible) from this "
            "frame on",
        )
    )
    menu.addAction(
        _action(
            window,
            "&Case Details…",
            "Ctrl+I",
            details.focus_case,
            "Fill in the loop's case details (Tab to the next field)",
        )
    )
    menu.addAction(
        _action(
            window,
            "Co&mment…",
            "Ctrl+Alt+C",
            details.focus_comment,
            "Write a comment on this frame, the selected mark or the loop",
        )
    )


def _build_worklist_menu(window: MainWindow) -> None:
    """Worklist: the loop's status (Mark done / reviewed, Reopen), Save and next unlabelled."""
    menu = window.menuBar().addMenu("&Worklist")
    for action in window.worklist.menu_actions():
        if action is None:
            menu.addSeparator()
        else:
            menu.addAction(action)
    menu.addSeparator()
    menu.addAction(window.adjudication.action)


def _build_measure_menu(window: MainWindow) -> None:
    menu = window.menuBar().addMenu("&Measure")
    menu.addAction(
        _action(
            window,
            "&Caliper",
            "Ctrl+M",
            window.measure.start_caliper,
            "Measure a distance: drag from one end to the other (not saved as a mark)",
        )
    )
    menu.addAction(
        _action(
            window,
            "C&lear Caliper",
            "Ctrl+Shift+M",
            window.measure.clear_caliper,
            "Hide the caliper",
        )
    )
    menu.addSeparator()
    window.calibrate_action = _action(
        window,
        "Ca&librate…",
        "Ctrl+Alt+M",
        window.start_calibration,
        "Draw a line along the scale burned into the image and type its length: "
        "measurements of this loop in mm from it (saved in the sidecar, undoable)",
    )
    menu.addAction(window.calibrate_action)
    window.remove_calibration_action = _action(
        window,
        "&Remove Manual Calibration",
        None,
        window.remove_calibration,
        "Measure with the DICOM calibration again (or in px if the file has none)",
    )
    menu.addAction(window.remove_calibration_action)


def _build_track_menu(window: MainWindow) -> None:
    tracks = window.tracks
    menu = window.menuBar().addMenu("&Track")
    menu.addAction(
        _action(
            window,
            "Track &Forward",
            "Ctrl+T",
            lambda: tracks.track(1),
            "Follow the selected mark (or every mark on this frame) forward with optical "
            "flow, up to its next keyframe",
        )
    )
    menu.addAction(
        _action(
            window,
            "Track &Backward",
            "Ctrl+Shift+T",
            lambda: tracks.track(-1),
            "Follow the selected mark (or every mark on this frame) backward, down to its "
            "previous keyframe",
        )
    )
    menu.addAction(
        _action(window, "Track Forward &Over Frames…", "Ctrl+Alt+T", lambda: tracks.track_over(1))
    )
    menu.addAction(
        _action(
            window,
            "Track Backward Over F&rames…",
            "Ctrl+Alt+Shift+T",
            lambda: tracks.track_over(-1),
        )
    )
    window.cancel_tracking_action = _action(
        window,
        "&Cancel Tracking",
        "Shift+Esc",
        tracks.cancel,
        "Stop tracking; frames done are kept",
    )
    menu.addAction(window.cancel_tracking_action)
    menu.addSeparator()
    for action in window.suggestions.menu_actions():  # Find Needle, Accept, Dismiss
        menu.addAction(action)
    menu.addSeparator()
    menu.addAction(
        _action(
            window,
            "Con&firm Tracked Frames",
            ["Ctrl+Return", "Ctrl+Enter"],
            tracks.confirm_tracked,
            "Make the tracked frames of the selected mark (or of every mark) keyframes",
        )
    )
    menu.addAction(
        _action(
            window,
            "&End Track After This Frame",
            "E",
            tracks.end_track_here,
            "The selected structure leaves view after this frame, until its next keyframe",
        )
    )
    menu.addAction(
        _action(
            window,
            "&Delete Whole Track",
            "Shift+Del",
            tracks.delete_track,
            "Delete the selected mark on every frame",
        )
    )
    menu.addSeparator()
    menu.addAction(
        _action(
            window,
            "&Next Keyframe",
            ["Ctrl+Right", "."],
            lambda: tracks.step_keyframe(1),
            "Next keyframe or tracked frame of the selected mark (or of any mark)",
        )
    )
    menu.addAction(
        _action(
            window,
            "&Previous Keyframe",
            ["Ctrl+Left", ","],
            lambda: tracks.step_keyframe(-1),
            "Previous keyframe or tracked frame of the selected mark (or of any mark)",
        )
    )
