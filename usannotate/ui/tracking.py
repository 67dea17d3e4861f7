"""Tracks in the window: their docks, keyframe navigation, and optical flow tracking.

The timeline and curves docks, keyframe navigation, and optical flow tracking in the background with
progress and cancel.

The controller reads the model and pushes edits on the loop's one history, like the
drawing tools; tracking runs :func:`usannotate.tracking.propagate` on a worker thread
(it only reads frames) and its result comes back to the GUI thread as one undoable edit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QProgressBar,
    QToolButton,
    QWidget,
)

from usannotate.annotations import AnnotatedObject, Annotations
from usannotate.annotations.edits import (
    Compound,
    Edit,
    RemoveObject,
    confirm_tracked,
    end_track_after,
)
from usannotate.annotations.marking import track_titles
from usannotate.annotations.series import SeriesSource
from usannotate.tracking.jobs import TrackingJob, follows_image, plan_jobs, tracked_edit
from usannotate.ui.docks.curves_pane import CurvesPane
from usannotate.ui.docks.palette import chart_colour
from usannotate.ui.docks.timeline import AnnotatedFrameList, TimelineWidget, TrackLane
from usannotate.ui.playback import PlaybackController
from usannotate.ui.state import ViewerState
from usannotate.ui.workers import BackgroundJob, JobContext


class TrackController(QObject):
    """Tracks over the loop: the timeline, the annotated-frame list and the curves, and
    tracking marks in the background. Follows the viewer state (loop, marks, frame,
    selection); ``playback`` is stopped when tracking starts; ``parent`` is the widget its
    docks and dialogs belong to."""

    def __init__(self, state: ViewerState, playback: PlaybackController, parent: QWidget) -> None:
        super().__init__(parent)
        self._state = state
        self._playback = playback
        self._parent = parent
        window = parent
        self.timeline = TimelineWidget()
        self.frame_list = AnnotatedFrameList()
        self.frame_list.setToolTip("Frames with keyframes or tracked frames: click to go there")
        self.frame_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.frame_list_dock = QDockWidget("Annotated frames", window)
        self.frame_list_dock.setObjectName("Annotated_frames")
        self.frame_list_dock.setWidget(self.frame_list)
        self.timeline_dock = QDockWidget("Timeline", window)
        self.timeline_dock.setObjectName("Timeline")
        self.timeline_dock.setWidget(self.timeline)
        self.curves_pane = CurvesPane()  # what is plotted (a picker), and the plot
        self.curves = self.curves_pane.plot
        self.curves_dock = QDockWidget("Curves", window)
        self.curves_dock.setObjectName("Curves")
        self.curves_dock.setWidget(self.curves_pane)

        self.progress_bar = QProgressBar()
        self.progress_bar.setMaximumWidth(160)
        self.progress_bar.setFormat("Tracking %p%")
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop tracking (Shift+Esc); the frames done are kept")
        self.cancel_button.clicked.connect(self.cancel)
        for widget in (self.progress_bar, self.cancel_button):
            widget.hide()

        # Results of a loop that has since closed are discarded, never delivered.
        self._job = BackgroundJob("tracking", self)
        self._job.progressed.connect(self._on_progress)
        self._job.finished.connect(self._on_finished)
        self._job.failed.connect(self._on_failed)

        self.timeline.frameRequested.connect(self._go_to)
        self.timeline.trackSelected.connect(self._select)
        self.frame_list.frameRequested.connect(self._go_to)
        self.curves.frameRequested.connect(self._go_to)
        state.loopClosing.connect(self._on_loop_closing)
        state.loopChanged.connect(lambda _loop: self.loop_changed())
        state.sessionChanged.connect(lambda _session: self.marks_changed())
        state.marksChanged.connect(self.marks_changed)
        state.frameChanged.connect(self.frame_shown)
        state.playingChanged.connect(self.curves.set_playing)
        state.selectionChanged.connect(self.selection_changed)

    # ------------------------------------------------------------ window events
    @property
    def _annotations(self) -> Annotations | None:
        return self._state.annotations

    @property
    def _editable(self) -> bool:
        return self._state.editable

    def _on_loop_closing(self, _loop: object) -> None:
        """The loop is about to close: drop tracking's result and wait for its worker,
        which reads the loop's frames."""
        if self.is_tracking:
            self._state.say("Tracking stopped: another loop was opened (nothing was tracked)", 8000)
        self._job.discard()
        self._job.wait()
        self._hide_progress()

    def loop_changed(self) -> None:
        """A loop was opened (or closed): show its tracks."""
        loop = self._state.loop
        if loop is None:
            self.timeline.set_frame_count(0)
            self.curves.set_frame_times([])
        else:
            self.timeline.set_frame_count(loop.n_frames, self._frame_times_ms())
            self.curves.set_frame_times((loop.frame_start_times_ms() / 1000.0).tolist())
        self.marks_changed()

    def _frame_times_ms(self) -> list[float] | None:
        loop = self._state.loop
        return None if loop is None else loop.frame_start_times_ms().tolist()

    def marks_changed(self) -> None:
        """Rebuild lanes, the annotated-frame list and the curves from the model."""
        annotations = self._annotations
        loop = self._state.loop
        lanes = self.lanes() if annotations is not None and loop is not None else []
        self.timeline.set_lanes(lanes)
        self.frame_list.set_lanes(lanes, self._frame_times_ms())
        source = None
        if annotations is not None and loop is not None:
            source = SeriesSource.of_loop(annotations, loop)
        self.curves_pane.set_series_source(source)
        self.frame_shown(self._state.frame)

    def frame_shown(self, index: int) -> None:
        if index < 0:
            return
        self.timeline.set_current_frame(index)
        self.frame_list.set_current_frame(index)
        self.curves.set_current_frame(index)

    def selection_changed(self, object_id: str | None) -> None:
        self.timeline.set_selected_track(object_id)

    # ---------------------------------------------------------------- the views
    def _titles(self) -> dict[str, str]:
        """A title per track (see :func:`usannotate.annotations.marking.track_titles`)."""
        annotations = self._annotations
        return track_titles(annotations) if annotations is not None else {}

    def lanes(self) -> list[TrackLane]:
        annotations = self._annotations
        loop = self._state.loop
        if annotations is None or loop is None:
            return []
        titles = self._titles()
        background = self.timeline.palette().color(QPalette.ColorRole.Base)
        lanes = []
        for obj in annotations.objects:
            label = annotations.label_set.get(obj.label_id)
            sources = obj.frame_sources(loop.n_frames)
            lanes.append(
                TrackLane(
                    obj.id,
                    titles[obj.id],
                    chart_colour(label.colour if label else "#999999", background),
                    {f: s.value for f, s in sources.items()},
                )
            )
        return lanes

    # ------------------------------------------------------------- navigation
    def _go_to(self, frame: int) -> None:
        self._state.request_frame(frame)

    def _select(self, object_id: str) -> None:
        self._state.select(object_id)

    def _selected_or_all(self) -> list[AnnotatedObject]:
        """The selected track, or every track when none is selected."""
        annotations = self._annotations
        if annotations is None:
            return []
        selected = annotations.get(self._state.selected or "")
        return [selected] if selected is not None else list(annotations.objects)

    def step_keyframe(self, direction: int) -> None:
        """Go to the next (+1) or previous (-1) keyframe or tracked frame: of the selected
        track, or of any track when none is selected."""
        index = self._state.frame
        frames = {f for obj in self._selected_or_all() for f in obj.frames}
        ahead = [f for f in frames if (f - index) * direction > 0]
        if not ahead:
            self._state.say("No " + ("later" if direction > 0 else "earlier") + " keyframe", 3000)
            return
        self._state.request_frame(min(ahead, key=lambda f: abs(f - index)))

    # ------------------------------------------------------------------ edits
    def _push(self, edit: Edit, message: str) -> None:
        session = self._state.session
        if session is None or session.read_only:
            return
        if isinstance(edit, Compound) and not edit.edits:
            self._state.say(message or "Nothing to change", 4000)
            return
        session.history.push(edit)
        self._state.say(message, 5000)

    def confirm_tracked(self) -> None:
        """Tracked frames become keyframes: of the selected track if it has any, else of
        every track (a plane selected after a correction must not swallow the key)."""
        tracks = [obj for obj in self._selected_or_all() if obj.tracked]
        annotations = self._annotations
        if not tracks and annotations is not None:
            tracks = [obj for obj in annotations.objects if obj.tracked]
        edits: list[Edit] = [confirm_tracked(obj) for obj in tracks if obj.tracked]
        count = sum(len(obj.tracked) for obj in tracks)
        self._push(
            Compound(edits, text=f"Confirm {count} tracked frame(s)"),
            f"{count} tracked frame(s) confirmed as keyframes" if count else "",
        )

    def end_track_here(self) -> None:
        """The selected track leaves view after this frame (until its next stored frame)."""
        obj = self._selected_object()
        if obj is None:
            return
        index = self._state.frame
        if obj.geometry(index) is None:
            self._state.say("The selected mark is not on this frame", 4000)
            return
        assert self._state.loop is not None
        self._push(
            end_track_after(obj, index, self._state.loop.n_frames),
            f"Track ends after frame {index + 1} (until its next keyframe)",
        )

    def delete_track(self) -> None:
        obj = self._selected_object()
        if obj is None:
            return
        self._state.select(None)
        self._push(RemoveObject(obj.id, text="Delete track"), "Track deleted on every frame")

    def _selected_object(self) -> AnnotatedObject | None:
        annotations = self._annotations
        obj = annotations.get(self._state.selected or "") if annotations else None
        if obj is None:
            self._state.say("Select a mark first (click it)", 4000)
        return obj

    # --------------------------------------------------------------- tracking
    @property
    def is_tracking(self) -> bool:
        return self._job.is_running

    def track_over(self, direction: int) -> None:
        """Ask how many frames, then track that way (stopping at a keyframe or gap)."""
        loop = self._state.loop
        if loop is None:
            return
        room = loop.n_frames - 1 - self._state.frame if direction > 0 else self._state.frame
        if room <= 0:
            return
        count, ok = QInputDialog.getInt(
            self._parent,
            "Track over frames",
            "Frames to track " + ("forward" if direction > 0 else "backward") + ":",
            min(10, room),
            1,
            room,
        )
        if ok:
            self.track(direction, count)

    def jobs(self, direction: int, count: int | None = None) -> list[TrackingJob]:
        """What tracking from the current frame would do: the selected mark, or every
        mark on this frame, each up to its next keyframe or gap (and ``count`` frames)."""
        annotations = self._annotations
        loop = self._state.loop
        if annotations is None or loop is None:
            return []
        return plan_jobs(
            self._selected_or_all(),
            self._state.frame,
            direction,
            loop.n_frames,
            track_titles(annotations),
            lambda points: loop.calibration_for_points(points).region,
            count,
            lambda obj: follows_image(annotations, obj),
        )

    def track(self, direction: int, count: int | None = None) -> None:
        """Track forward (+1) or backward (-1) in the background."""
        if self.is_tracking:
            self._state.say("Tracking is running: wait for it, or cancel it (Shift+Esc)", 4000)
            return
        if not self._editable or self._state.loop is None:
            if self._state.session is not None and self._state.session.read_only:
                self._state.say("This sidecar is read-only (written by a newer usannotate)", 4000)
            return
        jobs = self.jobs(direction, count)
        if not jobs:
            self._state.say(
                "Nothing to track: select a mark on this frame (or mark one); tracking stops "
                "at the next keyframe",
                6000,
            )
            return
        self._playback.stop()
        loop = self._state.loop
        total = sum(job.frames for job in jobs)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.cancel_button.show()
        way = "forward" if direction > 0 else "backward"
        self._job.start(_track_jobs, jobs, loop.frame, way)

    def _on_progress(self, news: object) -> None:
        done, total, text = news  # type: ignore[misc]
        self.progress_bar.setMaximum(total)
        self.progress_bar.setValue(done)
        self._state.say(f"{text}: {done} of {total} frames…", 0)

    def _on_failed(self, exc: object) -> None:
        self._hide_progress()
        self._state.say(f"Tracking failed: {exc}", 12000)

    def _hide_progress(self) -> None:
        self.progress_bar.hide()
        self.cancel_button.hide()

    def _on_finished(self, payload: object) -> None:
        way, results = payload  # type: ignore[misc]
        self._hide_progress()
        annotations = self._annotations
        if annotations is None or not self._editable:
            return  # the session closed meanwhile
        loop = self._state.loop
        if loop is None:
            return
        outcome = tracked_edit(annotations, results, loop.n_frames, way)
        names = ", ".join(job.name for job, _, _ in results)
        message = f"Tracked {names} {way}: {outcome.tracked} frame(s) marked tracked"
        if outcome.notes:
            message += " — " + "; ".join(outcome.notes)
        if outcome.edit is not None:
            self._state.history.push(outcome.edit)  # type: ignore[union-attr]
        self._state.say(message, 12000)

    def cancel(self) -> None:
        """Stop tracking; the frames already done are kept (as tracked)."""
        if self._job.is_running:
            self._job.cancel()

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Block until the worker ends (closing the window, tests); False on timeout."""
        return self._job.wait(timeout_s)


def _track_jobs(
    context: JobContext,
    jobs: list[TrackingJob],
    frame_at: Callable[[int], np.ndarray],
    way: str,
) -> tuple[str, list]:
    """The worker: follow each mark in turn (never touches the model); returns ``(way,
    [(job, frames or None, note or None), ...])``, what was done when cancelled."""
    from usannotate.tracking import propagate

    results = []
    done_before = 0
    total = sum(job.frames for job in jobs)
    for job in jobs:
        if context.cancelled.is_set():
            break
        text = f"Tracking {job.name} {way}"

        def progress(done: int, _total: int, base=done_before, text=text) -> None:
            context.report((base + done, total, text))

        try:
            result = propagate(
                frame_at,
                job.points,
                job.kind,
                job.start,
                job.stop,
                cancelled=context.cancelled.is_set,
                progress=progress,
                follow=job.follow,
            )
        except Exception as exc:  # a bad frame or mark: say so, keep the rest
            results.append((job, None, f"{job.name}: could not be tracked ({exc})"))
        else:
            stopped = f"{job.name}: {result.stopped}" if result.stopped else None
            results.append((job, job.kept_within_bounds(result.frames), stopped))
        done_before += job.frames
    return way, results
