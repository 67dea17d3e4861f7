"""Other raters in the window: their marks as a read-only layer, and the Agreement dock.

Blind rating: the other raters' marks are hidden each time a loop opens; View > Other
Raters' Marks (Ctrl+Shift+R) shows them, dashed, one style per rater, the rater's name
in each caption. They are read from the raters' own sidecars (never written) and are not
part of this rater's session, so they are never saved into this rater's file. The
Agreement dock compares this rater's marks (as they are now, saved or not) with another
rater's, with the numbers of ``usannotate agreement``, worst frames first.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence

from usannotate.annotations import Annotations
from usannotate.team.agreement import AgreementError, compare
from usannotate.team.raters import read_rater_documents
from usannotate.ui.docks.agreement import AgreementPanel
from usannotate.ui.viewer.rater_layer import RaterLayer

# The window (a MainWindow; not imported, so no import circle).
MainWindow = Any

__all__ = ["OTHER_RATERS_KEYS", "YOU", "TeamViews"]

#: View > Other Raters' Marks.
OTHER_RATERS_KEYS = "Ctrl+Shift+R"
#: The agreement lists' name for this rater's own marks (the open session's).
YOU = "\x00you"
#: How long after an edit the agreement is worked out again.
_AGREEMENT_DELAY_MS = 300


class TeamViews(QObject):
    """Owns the other raters' layer, its View action and the Agreement dock.

    ``sources`` maps a name to the annotations compared and drawn: :data:`YOU` for the
    session's, each other rater's from their file. Adjudication
    (:mod:`usannotate.ui.adjudication`) hands its own sources through :meth:`set_sources`.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._state = window.state
        self.layer = RaterLayer(window.view.scene())
        self.sources: dict[str, Annotations] = {}
        self.problems: list[str] = []
        self.fixed = False  # adjudication sets its sources itself
        self.others_action = QAction("Other &Raters' Marks", window)
        self.others_action.setCheckable(True)
        self.others_action.setShortcut(QKeySequence(OTHER_RATERS_KEYS))
        tip = (
            "Show the other raters' marks of this loop, read-only and dashed (hidden each "
            "time a loop opens: blind rating)"
        )
        self.others_action.setToolTip(tip)
        self.others_action.setStatusTip(tip)
        self.others_action.toggled.connect(self._on_toggled)
        window.addAction(self.others_action)
        self.panel = AgreementPanel()
        self.dock = window._dock("Agreement", self.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        window.tabifyDockWidget(window.tracks.curves_dock, self.dock)  # room for the table
        self.dock.hide()
        self.dock.visibilityChanged.connect(lambda _v: self.update_agreement())
        # Shown from the View menu: in front of the Curves it shares a tab with.
        self.dock.toggleViewAction().toggled.connect(lambda on: on and self.dock.raise_())
        self.panel.frameRequested.connect(self._go_to)
        self.panel.pairChanged.connect(self.update_agreement)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_AGREEMENT_DELAY_MS)
        self._timer.timeout.connect(self.update_agreement)
        self._state.sessionChanged.connect(self.reload)
        self._state.frameChanged.connect(self._on_frame)
        self._state.marksChanged.connect(self._on_marks_changed)
        self.reload()

    # ----------------------------------------------------------- the raters
    @Slot()
    def reload(self) -> None:
        """Read the other raters' files of the open loop; hide their marks (blind)."""
        if self.fixed:
            return
        session, loop = self._state.session, self._state.loop
        others: dict[str, Annotations] = {}
        self.problems = []
        if session is not None and loop is not None and session.multi_rater:
            found = read_rater_documents(
                loop.path, dicom_uid=loop.identity.sop_instance_uid, exclude=(session.rater,)
            )
            others = {name: doc.annotations for name, doc in found.documents.items()}
            self.problems = found.problems
            if self.problems:
                self._state.say("Not read: " + "; ".join(self.problems), 15000)
        self.others_action.blockSignals(True)
        self.others_action.setChecked(False)
        self.others_action.blockSignals(False)
        self.others_action.setEnabled(bool(others))
        self.layer.visible = False
        self.layer.set_raters(others)
        self.sources = {YOU: session.document.annotations} if session is not None else {}
        self.sources.update(others)
        you = f"You ({session.rater})" if session is not None and session.rater else "You"
        self.panel.set_raters([(you, YOU)], [(name, name) for name in others])
        self.layer.show(self._state.frame)
        self.update_agreement()

    def set_sources(self, sources: dict[str, Annotations], drawn: dict[str, Annotations]) -> None:
        """Compare ``sources`` (name -> annotations) and draw ``drawn`` as the read-only
        layer, always shown (adjudication); :meth:`release` goes back to normal."""
        self.fixed = True
        self.sources = dict(sources)
        self.layer.set_raters(drawn)
        self.layer.visible = True
        names = [(name, name) for name in sources]
        self.panel.set_raters(names, names)
        self.dock.show()
        self.dock.raise_()
        self.layer.show(self._state.frame)
        self.update_agreement()

    def release(self) -> None:
        """Leave the sources adjudication set; read the open loop's raters again."""
        self.fixed = False
        self.reload()

    @Slot(bool)
    def _on_toggled(self, shown: bool) -> None:
        self.layer.visible = shown
        self.layer.show(self._state.frame)

    @Slot(int)
    def _on_frame(self, frame: int) -> None:
        if self.layer.visible:
            self.layer.show(frame)

    @Slot()
    def _on_marks_changed(self) -> None:
        if self.layer.visible and self.fixed:
            self.layer.show(self._state.frame)
        if self.dock.isVisible():
            self._timer.start()

    # ------------------------------------------------------------ agreement
    def report(self):
        """The agreement of the two raters chosen in the dock (None: nothing to compare)."""
        loop = self._state.loop
        a, b = self.panel.pair()
        if loop is None or a is None or b is None or a == b:
            return None
        if self._state.session is not None and not self.fixed:
            self.sources[YOU] = self._state.session.document.annotations  # after a reload
        first, second = self.sources.get(a), self.sources.get(b)
        if first is None or second is None:
            return None
        return compare(
            first,
            second,
            n_frames=loop.n_frames,
            image_size=(loop.columns, loop.rows),
            regions=loop.regions,
        )

    @Slot()
    def update_agreement(self) -> None:
        """Work the dock's figures out again (only while it is shown)."""
        if not self.dock.isVisible():
            return
        try:
            report = self.report()
        except AgreementError as exc:
            self.panel.show_report(None, str(exc))
            return
        if report is None:
            note = "No other rater's sidecar of this loop to compare with."
            if self._state.loop is None:
                note = "Open a loop with another rater's sidecar to compare."
            self.panel.show_report(None, note)
            return
        self.panel.show_report(report)

    @Slot(int)
    def _go_to(self, frame: int) -> None:
        self._window.show_index(frame)
