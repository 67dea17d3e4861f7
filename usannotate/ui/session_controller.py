"""The loop's annotation session in the window: open, save, autosave, lock, unsaved marks.

Opening it (the edit lock, recovered work), saving (signed, atomically, conflicts asked about),
Save As, autosave, the lock's heartbeat and taking a loop over, exporting the measurements, and
asking before unsaved marks are lost. Dialogs open over ``parent``; the state says what is open.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QWidget

from usannotate.annotations import LabelSet, LabelSetError
from usannotate.cine import CineLoop
from usannotate.export import loop_measurements, write_measurements
from usannotate.sidecar import (
    SIDECAR_SUFFIX,
    SidecarConflictError,
    SidecarError,
    discard_recovery,
)
from usannotate.sidecar.locks import REFRESH_EVERY_S, LockHeldError, LockOwner
from usannotate.sidecar.placement import set_annotation_folder
from usannotate.ui.dialogs.conflict import resolve_conflict
from usannotate.ui.dialogs.lock import LockBanner, claim_loop
from usannotate.ui.dialogs.preferences import Preferences, ask_annotator, warn_label_set
from usannotate.ui.session import AnnotationSession, session_sidecar_path
from usannotate.ui.state import ViewerState

__all__ = ["MEASUREMENTS_FILTER", "SessionController"]

MEASUREMENTS_FILTER = "CSV tables (*.csv);;JSON (*.json)"


class SessionController(QObject):
    """Opens, saves and closes the state's annotation session.

    Signals
    -------
    savedChanged()
        Saved or not changed without an edit (a save, a conflict resolved, a take-over):
        the title and the Save action follow.
    """

    savedChanged = Signal()

    def __init__(
        self, state: ViewerState, banner: LockBanner, prefs: Preferences, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._banner = banner
        self._parent = parent
        self.prefs = prefs
        set_annotation_folder(prefs.annotation_folder or None)
        banner.takeOverRequested.connect(self.take_over_loop)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(prefs.autosave_interval_s * 1000)
        self.autosave_timer.timeout.connect(self._autosave_due)
        self.autosave_timer.start()
        # Writing the recovery file of a busy loop takes a few hundred ms on this thread:
        # never in the middle of playback (a visible stall), but as soon as it stops.
        self._autosave_postponed = False
        state.playingChanged.connect(self._on_playing_changed)
        # Tells other windows and raters this one still has its loop open.
        self.heartbeat_timer = QTimer(self)
        self.heartbeat_timer.setInterval(int(REFRESH_EVERY_S * 1000))
        self.heartbeat_timer.timeout.connect(self.heartbeat)
        self.heartbeat_timer.start()

    @property
    def session(self) -> AnnotationSession | None:
        return self._state.session

    def error(self, title: str, message: str) -> None:
        """A dialog naming the problem; never one over another (then the status bar)."""
        if QApplication.activeModalWidget() is not None:
            self._state.say(f"{title}: {message}", 30_000)
            return
        QMessageBox.warning(self._parent, title, message)

    # ----------------------------------------------------------------- opening
    def start(self, loop: CineLoop, rater: str | None = None) -> None:
        """Open the loop's sidecar (or a new one): take its edit lock (or open it
        read-only when someone else has it), offering autosaved work back. ``rater``:
        whose file (default: the annotator's; ``adjudicated`` for adjudication)."""
        rater = self.prefs.annotator if rater is None else rater
        self.end()
        # A fresh layout: the project file and folder permissions read anew per loop.
        set_annotation_folder(self.prefs.annotation_folder or None)
        name = os.path.basename(loop.path)
        owner = LockOwner.current(self.prefs.annotator)
        try:
            path = session_sidecar_path(loop.path, rater)
        except SidecarError as exc:
            self._state.set_session(None)
            self.error("Annotations not opened", f"{exc}\n\nSet your name in Edit > Preferences.")
            return
        claim = claim_loop(self._parent, path, owner, name)
        offered = AnnotationSession.offered_recovery(loop, rater) if claim.holder is None else None
        use_recovery = False
        if offered is not None:
            answer = QMessageBox.question(
                self._parent,
                "Recover unsaved work?",
                f"{name}: marks from an earlier session were not "
                "saved (the program closed unexpectedly). Recover them?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            use_recovery = answer == QMessageBox.StandardButton.Yes
        session = None
        try:
            session = AnnotationSession(
                loop,
                recovery_file=offered if use_recovery else None,
                annotator=self.prefs.annotator,
                label_set=self._preferred_label_set(),
                owner=owner,
                lock=claim.lock,
                locked_by=claim.holder,
                rater=rater,
            )
        except (SidecarError, LabelSetError) as exc:
            if claim.lock is not None:
                claim.lock.release()
            self.error(
                "Annotations not opened",
                f"{exc}\n\nThe file was kept as it is; this loop can be viewed but not "
                "marked until the sidecar is fixed or moved away.",
            )
        else:
            if offered is not None and not use_recovery:
                discard_recovery(session.path, recovery_file=offered)  # declined
            if claim.note:
                self._state.say(claim.note, 15000)
            if session.document.read_only:
                self._state.say(
                    "This sidecar was written by a newer usannotate: opened read-only", 15000
                )
        self._attach(session)

    def _attach(self, session: AnnotationSession | None) -> None:
        """Show ``session``'s document (after opening, reloading or taking over)."""
        if session is not None and session.locked_by is not None:
            self._banner.show_read_only(session.locked_by)
        else:
            self._banner.clear()
        self._state.set_session(session)

    def end(self) -> None:
        """Let go of the loop's edit lock (the marks were saved or discarded first)."""
        session = self._state.session
        if session is not None:
            session.close()
            self._state.set_session(None)
        self._banner.clear()

    def _preferred_label_set(self) -> LabelSet | None:
        """The label set chosen in Preferences (None: the built-in one), or None after
        saying why a chosen file cannot be used."""
        if not self.prefs.label_set_path:
            return None
        try:
            return self.prefs.label_set()
        except LabelSetError as exc:
            warn_label_set(self._parent, exc)
            return None

    def take_over_loop(self) -> bool:
        """Edit a loop opened read-only: take the lock from whoever has it."""
        session = self._state.session
        if session is None or session.locked_by is None:
            return False
        try:
            previous = session.take_over(session.locked_by)
        except LockHeldError as held:
            session.locked_by = held.holder
            self._attach(session)
            return False
        except SidecarError as exc:
            self.error("Not taken over", str(exc))
            return False
        who = previous.describe() if previous is not None else "the other window"
        self._state.say(f"You took this loop over from {who}", 8000)
        self._attach(session)  # its history was read anew
        self.savedChanged.emit()
        return True

    def heartbeat(self) -> None:
        """Keep the edit lock fresh; say so once when someone took the loop over."""
        session = self._state.session
        if session is None or session.lock is None:
            return
        if not session.heartbeat():
            self._banner.show_taken_over(session.lock.holder())

    # ------------------------------------------------------------------ saving
    def save(self) -> bool:
        """Save the marks to the sidecar; on failure say why and keep them unsaved."""
        session = self._state.session
        if session is None or session.read_only:
            return False
        self._sign(session)
        try:
            path = session.save()
        except SidecarConflictError as conflict:
            return self._resolve_conflict(conflict)
        except SidecarError as exc:
            self.error("Not saved", f"{exc}\n\nYour marks are still here, unsaved.")
            return False
        self._state.say(f"Saved {path.name}", 4000)
        self.savedChanged.emit()
        return True

    def _resolve_conflict(self, conflict: SidecarConflictError) -> bool:
        """Someone else saved the sidecar: ask (reload / copy / overwrite / merge)."""
        session = self._state.session
        assert session is not None
        try:
            outcome = resolve_conflict(self._parent, session, conflict)
        except SidecarError as exc:
            self.error("Not saved", f"{exc}\n\nYour marks are still here, unsaved.")
            return False
        if outcome.reloaded:
            self._attach(session)  # a new document and history
        self._state.say(outcome.message, 10000)
        self.savedChanged.emit()
        return outcome.saved

    def _sign(self, session: AnnotationSession) -> None:
        """A sidecar nobody has signed yet gets the annotator's name (asked once)."""
        document = session.document
        if document.annotator:
            return
        self.prefs = ask_annotator(self._parent, self.prefs)
        document.annotator = self.prefs.annotator

    def save_as(self) -> bool:
        """Save the marks to a sidecar file the user names, and keep working on it."""
        session = self._state.session
        if session is None or session.read_only:
            return False
        path, _ = QFileDialog.getSaveFileName(
            self._parent,
            "Save annotations as",
            str(session.path),
            f"usannotate sidecars (*{SIDECAR_SUFFIX});;All files (*)",
        )
        if not path:
            return False
        if not path.endswith(SIDECAR_SUFFIX):
            path = path.removesuffix(".json") + SIDECAR_SUFFIX
        self._sign(session)
        try:
            # The file dialog asked before replacing a file already there.
            saved = session.save_as(Path(path), replace_existing=True)
        except SidecarConflictError as conflict:
            return self._resolve_conflict(conflict)
        except SidecarError as exc:
            self.error("Not saved", f"{exc}\n\nYour marks are still here, unsaved.")
            return False
        self._state.say(f"Saved {saved.name}; further saves go there", 6000)
        self.savedChanged.emit()
        return True

    def _autosave_due(self) -> None:
        if self._state.playing:
            self._autosave_postponed = True
            return
        self.autosave()

    def _on_playing_changed(self, playing: bool) -> None:
        if not playing and self._autosave_postponed:
            self._autosave_postponed = False
            self.autosave()

    def autosave(self) -> None:
        session = self._state.session
        if session is None:
            return
        try:
            if session.autosave():
                self._state.say("Unsaved marks kept in a recovery file", 3000)
        except SidecarError as exc:
            self._state.say(f"Autosave failed: {exc}", 10000)

    def maybe_keep_work(self) -> bool:
        """Before closing or switching loops: ask about unsaved marks. False = cancel."""
        session = self._state.session
        if session is None or not session.is_modified or session.read_only:
            return True
        answer = QMessageBox.question(
            self._parent,
            "Unsaved marks",
            f"{os.path.basename(session.loop.path)} has marks that are not saved. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            session.discard_recovery()
            session.history.mark_saved()
            self.savedChanged.emit()
            return True
        return False

    # ---------------------------------------------------------------- exports
    def export_measurements(self) -> bool:
        """Write every frame's measurements (the rows of `usannotate measure`) to a table."""
        loop, annotations = self._state.loop, self._state.annotations
        if loop is None or annotations is None:
            self._state.say("Open a loop with marks first", 4000)
            return False
        rows = loop_measurements(annotations, loop.n_frames, self._state.calibration_for())
        if not rows:
            self._state.say("Nothing to export: no marks on this loop yet", 4000)
            return False
        stem = Path(loop.path).with_suffix("")
        path, chosen = QFileDialog.getSaveFileName(
            self._parent, "Export measurements", f"{stem}.measurements.csv", MEASUREMENTS_FILTER
        )
        if not path:
            return False
        if Path(path).suffix.lower() not in (".csv", ".json"):
            path += ".json" if "JSON" in chosen else ".csv"
        try:
            written = write_measurements(rows, path)
        except OSError as exc:
            self.error(
                "Measurements not exported",
                f"{Path(path).name} could not be written ({exc.strerror or 'I/O error'}).",
            )
            return False
        self._state.say(f"Exported {len(rows)} measurements to {written.name}", 6000)
        return True

    def apply_preferences(self, prefs: Preferences) -> None:
        """The autosave clock follows at once; the annotator and label set apply to the
        next save of an unsigned sidecar and the next new sidecar."""
        self.prefs = prefs
        set_annotation_folder(prefs.annotation_folder or None)
        self.autosave_timer.setInterval(prefs.autosave_interval_s * 1000)
