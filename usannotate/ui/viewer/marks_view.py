"""The marks on screen, kept in step with the viewer state: one redraw per change.

One redraw per frame shown, per edit, per session change, and once more when playback stops (to
build the still frame's caches). While the loop plays, the marks' geometry comes from a table a
worker computes (:class:`~usannotate.ui.viewer.geometry_cache.GeometryCache`), and the marks
themselves are shown as pictures drawn ahead on workers
(:class:`~usannotate.ui.viewer.playback_marks.PlaybackMarks`) once that table is ready.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRectF, QTimer

from usannotate.cine import CineLoop
from usannotate.ui.state import ViewerState
from usannotate.ui.viewer.geometry_cache import GeometryCache
from usannotate.ui.viewer.marking_tools import ToolController
from usannotate.ui.viewer.marks import AnnotationLayer
from usannotate.ui.viewer.playback_marks import PlaybackMarks
from usannotate.ui.viewer.view import CineView

__all__ = ["MarksView"]

#: Frames drawn by the scene items during playback before the items' geometry table is
#: built on a thread (see :meth:`MarksView.refresh`).
_ITEM_FRAMES_BEFORE_TABLE = 10
#: How long after the last change (an edit, a step, a zoom...) the worker is given the marks.
PREPARE_DELAY_MS = 400


class MarksView(QObject):
    """Keeps ``layer`` (and the marking ``tools``' frame and document) in step with
    ``state``. :attr:`redraws` counts the layer's rebuilds (tests check one per edit)."""

    def __init__(
        self, state: ViewerState, view: CineView, layer: AnnotationLayer, tools: ToolController
    ) -> None:
        super().__init__(state)
        self._state = state
        self._view = view
        self.layer = layer
        self.tools = tools
        # The tools' edits redraw the marks through the state, not by themselves.
        tools.redraws_after_edits = False
        self.redraws = 0
        #: Every track's geometry on every frame, built on a worker while playing.
        self.geometry = GeometryCache(self)
        layer.geometry_for = self.geometry.geometry
        #: While playing: the marks of the frames ahead, drawn by a worker process.
        self.playback = PlaybackMarks(view, layer)
        # A moment after the marks, the frame or the view last changed, the worker gets
        # the marks and draws the frames after this one: playing starts with pictures.
        self._prepare = QTimer(self)
        self._prepare.setSingleShot(True)
        self._prepare.setInterval(PREPARE_DELAY_MS)
        self._prepare.timeout.connect(self._prepare_playback)
        state.loopChanged.connect(self._on_loop_changed)
        state.frameChanged.connect(self._on_frame_changed)
        state.marksChanged.connect(self._on_marks_changed)
        state.displayChanged.connect(self.refresh)
        state.sessionChanged.connect(self._on_session_changed)
        state.playingChanged.connect(self._on_playing_changed)
        state.selectionChanged.connect(self._on_selection_changed)
        tools.selectionChanged.connect(self._on_tools_selection)
        # Captions keep their size on screen: what lies clear of the marks changes with zoom.
        view.zoomChanged.connect(lambda _zoom: layer.layout_captions())
        view.zoomChanged.connect(lambda _zoom: self._prepare.start())

    def refresh(self) -> None:
        """Draw the marks of the frame on screen (the one rebuild of the layer)."""
        state = self._state
        if state.frame < 0:
            self.playback.hide()
            self.layer.show(None, 0)
            return
        if state.playing and state.loop is not None:
            shown = self.playback.show(
                state.annotations, state.frame, state.loop.n_frames, state.selected
            )
            if shown:
                self.redraws += 1
                return
            if self.playback.frames_from_items > _ITEM_FRAMES_BEFORE_TABLE:
                # The worker does not keep up (or there is none): the items at least
                # look their geometry up rather than work it out on every frame.
                self.geometry.build()
        else:
            self.playback.hide()
        self.layer.show(state.annotations, state.frame, cache=not state.playing)
        self.redraws += 1
        self.tools.layer_rebuilt()

    def _prepare_playback(self) -> None:
        state = self._state
        if state.playing or state.loop is None or state.frame < 0:
            return
        self.playback.prepare_playback(
            state.annotations, state.frame, state.loop.n_frames, state.selected
        )
        # The items' own table too, for the frames the worker does not draw in time: built
        # while the loop is still, it costs playback nothing (frames drawn by the items
        # without it work every mark's geometry out, which made them slower still).
        self.geometry.build()

    def _forget_geometry(self) -> None:
        self.playback.marks_changed()
        self._prepare.start()
        state = self._state
        n_frames = state.loop.n_frames if state.loop is not None else 0
        self.geometry.reset(state.annotations if n_frames else None, n_frames)
        if state.playing:
            self.geometry.build()

    def _on_marks_changed(self) -> None:
        self._forget_geometry()
        self.refresh()

    def _on_loop_changed(self, loop: CineLoop | None) -> None:
        self._forget_geometry()
        self.layer.keep_clear = None
        self.layer.bounds = QRectF(0, 0, loop.columns, loop.rows) if loop is not None else None
        if loop is None:
            self.tools.set_snap_regions([])
            self.layer.show(None, 0)
            return
        self.tools.set_snap_regions(
            [
                (x0, y0, x1 + 1, y1 + 1)
                for x0, y0, x1, y1 in (
                    r.bounds
                    for r in loop.regions
                    if r.is_spatial_cm and r.fits_image(loop.columns, loop.rows)
                )
            ]
        )

    def _on_frame_changed(self, frame: int) -> None:
        if self.layer.keep_clear is None and self._state.loop is not None:
            # Known once a frame is shown: where the scanner burned text in.
            self.layer.keep_clear = self._view.burned_in_mask()
        self.refresh()
        self.tools.set_frame(frame)
        if not self._state.playing:
            self._prepare.start()

    def _on_session_changed(self, _session: object) -> None:
        self._forget_geometry()
        history = self._state.history if self._state.editable else None
        self.tools.set_document(history)
        self.refresh()

    def _on_playing_changed(self, playing: bool) -> None:
        self._view.set_playing(playing)
        state = self._state
        ready = state.loop is not None and self.playback.prepared(state.frame, state.loop.n_frames)
        if playing and not ready:
            # Building the table takes the GIL from the GUI thread for a while: only when
            # the worker process (which has its own) has not drawn the frames ahead yet.
            self.geometry.build()
        if not playing:
            self.playback.stop()
        if not playing and self._state.frame >= 0:
            self.refresh()  # the still frame's caches and caption layout

    def _on_selection_changed(self, object_id: object) -> None:
        self._prepare.start()
        if self.tools.selected != object_id:
            self.tools.select(object_id if isinstance(object_id, str) else None)

    def _on_tools_selection(self, object_id: object) -> None:
        self._state.select(object_id if isinstance(object_id, str) else None)
