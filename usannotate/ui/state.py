"""The one viewer state every widget follows: loop, frame, session, selected mark, label.

The loop, the frame on screen, the annotation session, the selected mark and the label to mark with,
each with a signal of its own.

As napari's ``ViewerModel``: widgets and controllers subscribe to the fields they show and
write back through the setters; no widget pushes changes to another. The state also
listens to the session's edit history, so one edit (or undo, redo, reload) is one
``marksChanged`` and each view refreshes once.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from usannotate.annotations import Annotations, CalibrationFor, calibration_lookup
from usannotate.annotations.edits import EditHistory
from usannotate.cine import CineLoop
from usannotate.ui.session import AnnotationSession

__all__ = ["ViewerState"]


class ViewerState(QObject):
    """What the window shows and edits now.

    Signals
    -------
    loopClosing(object)
        The loop on screen is about to be replaced (stop whatever reads its frames: the
        caller closes it after :meth:`set_loop`).
    loopChanged(object)
        The loop opened (a :class:`~usannotate.cine.CineLoop`) or None when closed; the
        frame goes back to -1 and the selection to None first.
    frameChanged(int)
        The frame now on screen (0-based).
    sessionChanged(object)
        The loop's :class:`~usannotate.ui.session.AnnotationSession` (or None): opened,
        reloaded, taken over, closed.
    marksChanged()
        The annotations changed: an edit, undo or redo on the session's history.
    selectionChanged(object)
        The selected mark's object id, or None.
    labelChanged(object)
        The label the next mark gets (a label id), or None.
    playingChanged(bool)
        Playback started or stopped (views skip costly work while playing).
    displayChanged()
        How marks are drawn changed, not the marks (opacity, hidden labels, trajectory):
        the marks are redrawn, nothing else.
    frameRequested(int)
        Someone asks to go to a frame (a click on the timeline, a keyframe key): the
        navigator decodes it and sets :attr:`frame` once it is on screen.
    message(str, int)
        A status-bar message and how long to show it (ms; 0 = until the next).
    """

    loopClosing = Signal(object)
    loopChanged = Signal(object)
    frameChanged = Signal(int)
    sessionChanged = Signal(object)
    marksChanged = Signal()
    selectionChanged = Signal(object)
    labelChanged = Signal(object)
    playingChanged = Signal(bool)
    displayChanged = Signal()
    frameRequested = Signal(int)
    message = Signal(str, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loop: CineLoop | None = None
        self._frame = -1
        self._session: AnnotationSession | None = None
        self._history: EditHistory | None = None
        self._selected: str | None = None
        self._label_id: str | None = None
        self._playing = False

    # ------------------------------------------------------------------- fields
    @property
    def loop(self) -> CineLoop | None:
        return self._loop

    @property
    def frame(self) -> int:
        """The frame on screen, 0-based; -1 before the first is shown."""
        return self._frame

    @property
    def session(self) -> AnnotationSession | None:
        return self._session

    @property
    def selected(self) -> str | None:
        """The selected mark's object id."""
        return self._selected

    @property
    def label_id(self) -> str | None:
        return self._label_id

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def annotations(self) -> Annotations | None:
        return self._session.document.annotations if self._session is not None else None

    @property
    def history(self) -> EditHistory | None:
        return self._session.history if self._session is not None else None

    @property
    def editable(self) -> bool:
        """A session is open and may be changed (not read-only, not someone else's)."""
        return self._session is not None and not self._session.read_only

    def calibration_for(self) -> CalibrationFor:
        """What measures points now: the session's manual calibration, else the loop's
        DICOM regions (see :func:`usannotate.annotations.calibration_lookup`)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("no loop is open")
        annotations = self.annotations
        if annotations is None:
            return loop.calibration_for_points
        return calibration_lookup(annotations, loop.regions, (loop.columns, loop.rows))

    # ------------------------------------------------------------------ setters
    def set_loop(self, loop: CineLoop | None) -> None:
        """A new loop (or none): the frame and the selection are reset first."""
        if self._loop is not None and self._loop is not loop:
            self.loopClosing.emit(self._loop)
        self._frame = -1
        self.select(None)
        self._loop = loop
        self.loopChanged.emit(loop)

    def set_frame(self, frame: int) -> None:
        """The frame now on screen (emitted even when unchanged: it was drawn anew)."""
        self._frame = int(frame)
        self.frameChanged.emit(self._frame)

    def set_session(self, session: AnnotationSession | None) -> None:
        """Edit ``session`` (or nothing); its history's changes become ``marksChanged``."""
        if self._history is not None:
            self._history.remove_listener(self._on_history_changed)
        self._session = session
        self._history = session.history if session is not None else None
        if self._history is not None:
            self._history.add_listener(self._on_history_changed)
        if self._selected is not None and (
            self.annotations is None or self.annotations.get(self._selected) is None
        ):
            self.select(None)
        self.sessionChanged.emit(session)

    def refresh_session(self) -> None:
        """The session's document or history was replaced in place (reload, take over):
        listen to the new history and tell the views."""
        self.set_session(self._session)

    def select(self, object_id: str | None) -> None:
        if object_id != self._selected:
            self._selected = object_id
            self.selectionChanged.emit(object_id)

    def set_label(self, label_id: str | None) -> None:
        if label_id != self._label_id:
            self._label_id = label_id
            self.labelChanged.emit(label_id)

    def set_playing(self, playing: bool) -> None:
        if playing != self._playing:
            self._playing = playing
            self.playingChanged.emit(playing)

    def request_frame(self, frame: int) -> None:
        """Ask the navigator to show ``frame`` (it may refuse: no loop, a missing frame)."""
        self.frameRequested.emit(int(frame))

    def say(self, text: str, timeout_ms: int = 5000) -> None:
        """A status-bar message from anywhere (controllers have no window to write to)."""
        self.message.emit(text, timeout_ms)

    # ----------------------------------------------------------------- history
    def _on_history_changed(self) -> None:
        if self._selected is not None and (
            self.annotations is None or self.annotations.get(self._selected) is None
        ):
            self.select(None)  # the selected mark was deleted (or undone away)
        self.marksChanged.emit()
