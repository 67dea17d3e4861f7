"""The worklist actions of the window: Mark done / reviewed, Reopen, Save and next unlabelled.

Thin: the status is set by an undoable core edit
(:class:`usannotate.team.status_edit.SetWorkStatus`) on the loop's one history; which loop
is next is the Loops list's answer (read from disk); saving is the session controller's.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction, QKeySequence

from usannotate.sidecar.document import WorkStatus
from usannotate.team.status_edit import SetWorkStatus, allowed_changes
from usannotate.team.worklist import STATUS_TEXT

# The window the actions act on (a MainWindow; not imported, so no import circle).
MainWindow = Any

#: The keys of the worklist actions (README's keyboard table lists them).
MARK_DONE_KEYS = "Ctrl+D"
MARK_REVIEWED_KEYS = "Ctrl+Alt+D"
REOPEN_KEYS = "Ctrl+Shift+D"
# Ctrl+Shift+S stays Save Annotations As (every program's key for it); Save and next
# gets Ctrl+Alt+S, and A as in SlicerUltrasound's AnnotateUltrasound.
SAVE_AND_NEXT_KEYS = "Ctrl+Alt+S"
SAVE_AND_NEXT_TOOL_FREE_KEY = "A"


class WorklistController(QObject):
    """Owns the worklist actions and keeps them enabled when they apply."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        state = window.state
        self.mark_done_action = self._action(
            "Mark &Done",
            MARK_DONE_KEYS,
            lambda: self.set_status(WorkStatus.DONE),
            "This loop is finished: its sidecar's status becomes done at the next save (undoable)",
        )
        self.mark_reviewed_action = self._action(
            "Mark &Reviewed",
            MARK_REVIEWED_KEYS,
            lambda: self.set_status(WorkStatus.REVIEWED),
            "You checked this loop: its status becomes reviewed at the next save (undoable)",
        )
        self.reopen_action = self._action(
            "Re&open",
            REOPEN_KEYS,
            lambda: self.set_status(WorkStatus.IN_PROGRESS),
            "Set a done or reviewed loop back to in progress (undoable)",
        )
        self.save_and_next_action = self._action(
            "&Save and Next Unlabelled",
            SAVE_AND_NEXT_KEYS,
            self.save_and_next,
            "Save the marks (the status stays as it is) and open the next loop in the list "
            "that has no sidecar of yours (also A when no drawing tool is active)",
        )
        # A only with no drawing tool, so it never ends a mark being drawn.
        self.save_and_next_key_action = self._action(
            "Save and Next Unlabelled (A)",
            SAVE_AND_NEXT_TOOL_FREE_KEY,
            self._save_and_next_if_no_tool,
            "",
        )
        for signal in (state.sessionChanged, state.marksChanged):
            signal.connect(self.update_actions)
        window.sessions.savedChanged.connect(self._on_saved)
        self.update_actions()

    def _action(self, text: str, keys: str, slot, tip: str) -> QAction:
        action = QAction(text, self._window)
        action.setShortcut(QKeySequence(keys))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self._window.addAction(action)
        return action

    def menu_actions(self) -> list[QAction | None]:
        """The Worklist menu's items (None: a separator)."""
        return [
            self.mark_done_action,
            self.mark_reviewed_action,
            self.reopen_action,
            None,
            self.save_and_next_action,
        ]

    # ----------------------------------------------------------------- status
    def status(self) -> WorkStatus | None:
        """The open loop's status (None: no loop)."""
        session = self._window.state.session
        return None if session is None else session.document.status

    def set_status(self, status: WorkStatus) -> bool:
        """Set the loop's status as one undoable edit; False when it does not apply."""
        state = self._window.state
        session = state.session
        if session is None or not state.editable:
            return False
        if not allowed_changes(session.document.status).get(status, False):
            return False
        session.history.push(SetWorkStatus(lambda: session.document, status))
        state.say(f"Status: {STATUS_TEXT[status]} (saved at the next save)", 4000)
        return True

    @Slot()
    def update_actions(self, *_args: object) -> None:
        state = self._window.state
        session = state.session
        editable = session is not None and state.editable
        allowed = allowed_changes(session.document.status) if session is not None else {}
        self.mark_done_action.setEnabled(editable and allowed.get(WorkStatus.DONE, False))
        self.mark_reviewed_action.setEnabled(editable and allowed.get(WorkStatus.REVIEWED, False))
        self.reopen_action.setEnabled(editable and allowed.get(WorkStatus.IN_PROGRESS, False))
        self.save_and_next_action.setEnabled(state.loop is not None)
        self.save_and_next_key_action.setEnabled(state.loop is not None)

    # ------------------------------------------------------- save and next
    def _save_and_next_if_no_tool(self) -> None:
        window = self._window
        if window.tools.mode != "select" or window.measure.line_tool.active:
            return
        self.save_and_next()

    def save_and_next(self) -> bool:
        """Save (when there is work to save, or no sidecar yet), then open the next loop
        with no sidecar of this rater. False when the save failed or was cancelled, or
        there is no such loop (the status bar says so)."""
        window = self._window
        state = window.state
        loop, session = state.loop, state.session
        if loop is None:
            return False
        unsaved = session is not None and (session.is_modified or not session.path.exists())
        if session is not None and state.editable and unsaved and not window.save():
            return False
        current = os.path.abspath(loop.path)
        rater = window.prefs.annotator or None
        path = window.loop_list.next_unlabelled(current, rater)
        if path is None:
            state.say("No other loop in this folder is waiting for your marks", 6000)
            return False
        return window.open_path(path)

    def _on_saved(self) -> None:
        self._window.loop_list.refresh_work()
        self.update_actions()
