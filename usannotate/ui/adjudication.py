"""Worklist > Adjudicate…: the loop's raters side by side, one result taken from them.

Thin: the result is the session of ``<loop>.adjudicated.usannotate.json`` (the session
controller opens it with rater ``adjudicated``); the raters' marks are read from their
files, drawn as the read-only layer of :class:`~usannotate.ui.team_views.TeamViews`, one
style each, and compared in its Agreement dock (worst frames first). The Adjudication
dock's buttons push :mod:`usannotate.team.adjudication`'s edits on the result's one
history, so every step is undoable; its provenance is recorded just before each save.
Nothing is ever written into a rater's file.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from usannotate.annotations import Annotations
from usannotate.sidecar.document import WorkStatus
from usannotate.sidecar.placement import ADJUDICATED, ProjectError, default_layout
from usannotate.team.adjudication import (
    AdjudicationError,
    TrackGroup,
    accept_edit,
    average_edit,
    group_tracks,
    raters_comments,
    record_provenance,
)
from usannotate.team.raters import read_rater_documents
from usannotate.team.status_edit import SetWorkStatus
from usannotate.ui.docks.adjudication import AdjudicationPanel

# The window (a MainWindow; not imported, so no import circle).
MainWindow = Any

__all__ = ["ADJUDICATE_KEYS", "AdjudicationController"]

#: Worklist > Adjudicate…
ADJUDICATE_KEYS = "Ctrl+Alt+J"
#: The agreement lists' name for the result.
RESULT = "result"


class AdjudicationController(QObject):
    """Owns the Adjudicate… action, the Adjudication dock, and the raters' marks while
    adjudicating (``sources``: rater -> annotations, read-only)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._state = window.state
        self.sources: dict[str, Annotations] = {}
        self.groups: list[TrackGroup] = []
        self.action = QAction("&Adjudicate…", window)
        self.action.setShortcut(QKeySequence(ADJUDICATE_KEYS))
        tip = (
            "Open this loop with every rater's marks side by side and make the adjudicated "
            "result (<loop>.adjudicated.usannotate.json, status reviewed)"
        )
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.action.triggered.connect(self.start)
        window.addAction(self.action)
        self.panel = AdjudicationPanel()
        self.dock = window._dock("Adjudication", self.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        self.dock.hide()
        self.panel.acceptRequested.connect(self.accept)
        self.panel.averageRequested.connect(self.average)
        self.panel.editRequested.connect(self.edit)
        self.panel.groupChosen.connect(self._on_group_chosen)
        self.panel.frameRequested.connect(window.jump)
        self._state.sessionChanged.connect(self._on_session_changed)
        self._state.marksChanged.connect(self._refresh)
        self._state.loopChanged.connect(self._update_action)
        self._update_action()

    @property
    def active(self) -> bool:
        """Whether the open session is the adjudicated result."""
        session = self._state.session
        return session is not None and session.rater == ADJUDICATED

    @Slot()
    def _update_action(self, *_args: object) -> None:
        self.action.setEnabled(self._multi_rater())

    def _multi_rater(self) -> bool:
        loop = self._state.loop
        try:
            return loop is not None and default_layout().multi_rater(loop.path)
        except ProjectError:  # opening the loop's marks said why
            return False

    # ----------------------------------------------------------------- start
    @Slot()
    def start(self) -> bool:
        """Open the loop's adjudicated result with every rater's marks (asks first about
        unsaved marks of the session open now)."""
        loop = self._state.loop
        if loop is None or not self._multi_rater():
            return False
        found = read_rater_documents(loop.path, dicom_uid=loop.identity.sop_instance_uid)
        if not found.documents:
            QMessageBox.information(
                self._window,
                "Nothing to adjudicate",
                "No rater has a sidecar of this loop yet."
                + (" Not read: " + "; ".join(found.problems) if found.problems else ""),
            )
            return False
        if self.active or not self._window.sessions.maybe_keep_work():
            return self.active
        self.sources = {name: doc.annotations for name, doc in found.documents.items()}
        self.groups = group_tracks(self.sources)
        self._window.sessions.start(loop, rater=ADJUDICATED)
        session = self._state.session
        if session is None or session.rater != ADJUDICATED:
            return False
        if found.problems:
            self._state.say("Not read: " + "; ".join(found.problems), 15000)
        return True

    @Slot()
    def _on_session_changed(self) -> None:
        team = self._window.team
        if not self.active:
            if team.fixed:
                team.release()
            self.dock.hide()
            return
        session = self._state.session
        if self._record not in session.before_save:
            session.before_save.append(self._record)
        if session.document.status != WorkStatus.REVIEWED and not session.read_only:
            session.history.push(SetWorkStatus(lambda: session.document, WorkStatus.REVIEWED))
        team.set_sources({**self.sources, RESULT: session.document.annotations}, drawn=self.sources)
        self.panel.set_raters(list(self.sources))
        self.dock.show()
        self.dock.raise_()
        self._refresh()
        self._on_group_chosen()

    def _record(self) -> None:
        """Before a save: each object's provenance (accepted / averaged / edited)."""
        session, loop = self._state.session, self._state.loop
        if session is not None and loop is not None and self.active:
            record_provenance(session.document.annotations, self.sources, loop.n_frames)

    @Slot()
    def _refresh(self) -> None:
        if not self.active or self._state.loop is None:
            return
        result = self._state.session.document.annotations
        self._window.team.sources[RESULT] = result
        self.panel.set_groups(self.groups, result, self._state.loop.n_frames)
        self.panel.update_buttons()

    @Slot()
    def _on_group_chosen(self) -> None:
        """The range follows the chosen track: every frame any rater marked it on."""
        group = self.panel.current_group()
        self.panel.update_buttons()
        self.panel.set_comments(raters_comments(self.sources, group))
        if group is None:
            return
        spans = [
            span
            for rater, object_id in group.members.items()
            if (obj := self.sources[rater].get(object_id)) is not None and (span := obj.span())
        ]
        if spans:
            self.panel.set_frame_range(min(s[0] for s in spans), max(s[1] for s in spans))

    # --------------------------------------------------------------- actions
    def _push(self, make) -> bool:
        group = self.panel.current_group()
        session = self._state.session
        if group is None or session is None or not self._state.editable:
            return False
        first, last = self.panel.frame_range()
        try:
            edit = make(session.document.annotations, group, first, last)
        except AdjudicationError as exc:
            self._state.say(str(exc), 8000)
            self.panel.note.setText(str(exc))
            return False
        self.panel.note.setText("")
        session.history.push(edit)
        return True

    @Slot(str)
    def accept(self, rater: str) -> bool:
        """Take ``rater``'s version of the chosen track on the range (one undo step)."""
        return self._push(lambda result, g, a, b: accept_edit(result, self.sources, g, rater, a, b))

    @Slot()
    def average(self) -> bool:
        """The raters' mean of the chosen track on the range (one undo step)."""
        return self._push(
            lambda result, g, a, b: average_edit(result, self.sources, g, list(g.members), a, b)
        )

    @Slot()
    def edit(self) -> None:
        """Select the result's track: the usual tools then change it (recorded as edited)."""
        group = self.panel.current_group()
        session = self._state.session
        if group is None or session is None:
            return
        if session.document.annotations.get(group.result_id) is None:
            self._state.say("Accept or average a version first, then edit it", 6000)
            return
        self._state.select(group.result_id)
        self._window.view.setFocus()
