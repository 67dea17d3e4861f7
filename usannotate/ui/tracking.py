"""Tracks in the window: the timeline and curves docks, keyframe navigation, and optical
flow tracking in the background with progress and cancel.

The controller reads the model and pushes edits on the loop's one history, like the
drawing tools; tracking runs :func:`usannotate.tracking.propagate` on a worker thread
(it only reads frames) and its result comes back to the GUI thread as one undoable edit.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QProgressBar,
    QToolButton,
)

from usannotate.annotations import AnnotatedObject, Annotations, FrameSource
from usannotate.annotations.edits import (
    Compound,
    Edit,
    RemoveObject,
    SetPoints,
    confirm_tracked,
    end_track_after,
    store_tracked,
)
from usannotate.annotations.series import SeriesSource
from usannotate.ui.docks.curves_pane import CurvesPane
from usannotate.ui.docks.palette import chart_colour
from usannotate.ui.docks.timeline import AnnotatedFrameList, TimelineWidget, TrackLane

if TYPE_CHECKING:
    from usannotate.ui.main_window import MainWindow


@dataclass(frozen=True)
class TrackingJob:
    """One mark to follow: from ``start`` (where its points are) to ``stop`` inclusive."""

    object_id: str
    name: str
    kind: str
    points: np.ndarray
    start: int
    stop: int
    #: ``(x_min, y_min, x_max, y_max)`` px the tracked points are kept within: the
    #: calibrated region the mark starts in (nothing beyond it is tissue to follow, and
    #: a point drifting out of it would turn its measurements from mm into px).
    bounds: tuple[float, float, float, float] | None = None

    @property
    def frames(self) -> int:
        return abs(self.stop - self.start)

    def kept_within_bounds(self, frames: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        if self.bounds is None:
            return frames
        x0, y0, x1, y1 = self.bounds
        return {f: np.clip(p, (x0, y0), (x1, y1)) for f, p in frames.items()}


def tracking_range(obj: AnnotatedObject, frame: int, direction: int, n_frames: int) -> int:
    """The last frame tracking ``obj`` from ``frame`` in ``direction`` (+1 / -1) may reach:
    the frame before its next keyframe or gap that way, else the loop's first or last
    frame. Tracked frames on the way are tracked again."""
    ahead = [
        f
        for f in (*(k for k in obj.frames if k not in obj.tracked), *obj.absent)
        if (f - frame) * direction > 0
    ]
    if not ahead:
        return n_frames - 1 if direction > 0 else 0
    nearest = min(ahead, key=lambda f: abs(f - frame))
    return nearest - direction


class _Bridge(QObject):
    """Carries the worker thread's news to the GUI thread (queued signals)."""

    progress = Signal(int, int, str)
    finished = Signal(object)


class TrackController(QObject):
    """The window's track features. Call :meth:`loop_changed`, :meth:`marks_changed`,
    :meth:`frame_shown` and :meth:`selection_changed` when those happen."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
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

        self._bridge = _Bridge()
        self._bridge.progress.connect(self._on_progress)
        self._bridge.finished.connect(self._on_finished)
        self._cancel = threading.Event()
        self._worker: threading.Thread | None = None
        self._generation = 0  # bumped when the loop changes: late results are dropped

        self.timeline.frameRequested.connect(self._go_to)
        self.timeline.trackSelected.connect(self._select)
        self.frame_list.frameRequested.connect(self._go_to)
        self.curves.frameRequested.connect(self._go_to)

    # ------------------------------------------------------------ window events
    @property
    def _annotations(self) -> Annotations | None:
        session = self.window.session
        return session.document.annotations if session is not None else None

    @property
    def _editable(self) -> bool:
        session = self.window.session
        return session is not None and not session.read_only

    def loop_changed(self) -> None:
        """A loop was opened (or closed): cancel tracking, show the new loop's tracks."""
        if self.is_tracking:
            self.window.statusBar().showMessage(
                "Tracking stopped: another loop was opened (nothing was tracked)", 8000
            )
        self.cancel()
        self._generation += 1
        loop = self.window.loop
        if loop is None:
            self.timeline.set_frame_count(0)
            self.curves.set_frame_times([])
        else:
            self.timeline.set_frame_count(loop.n_frames, self._frame_times_ms())
            self.curves.set_frame_times((loop.frame_start_times_ms() / 1000.0).tolist())
        self.marks_changed()

    def _frame_times_ms(self) -> list[float] | None:
        loop = self.window.loop
        return None if loop is None else loop.frame_start_times_ms().tolist()

    def marks_changed(self) -> None:
        """Rebuild lanes, the annotated-frame list and the curves from the model."""
        annotations = self._annotations
        loop = self.window.loop
        lanes = self.lanes() if annotations is not None and loop is not None else []
        self.timeline.set_lanes(lanes)
        self.frame_list.set_lanes(lanes, self._frame_times_ms())
        source = None
        if annotations is not None and loop is not None:
            source = SeriesSource.of_loop(annotations, loop)
        self.curves_pane.set_series_source(source)
        self.frame_shown(self.window.index)

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
        """A title per object: its name, or its label's, numbered when labels repeat."""
        annotations = self._annotations
        if annotations is None:
            return {}
        per_label = Counter(o.label_id for o in annotations.objects)
        counts: Counter[str] = Counter()
        titles = {}
        for obj in annotations.objects:
            label = annotations.label_set.get(obj.label_id)
            title = obj.name or (label.name if label else obj.label_id)
            if not obj.name and per_label[obj.label_id] > 1:
                counts[obj.label_id] += 1
                title += f" {counts[obj.label_id]}"
            titles[obj.id] = title
        return titles

    def lanes(self) -> list[TrackLane]:
        annotations = self._annotations
        loop = self.window.loop
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
        self.window.jump(frame)

    def _select(self, object_id: str) -> None:
        self.window.tools.select(object_id)

    def _selected_or_all(self) -> list[AnnotatedObject]:
        """The selected track, or every track when none is selected."""
        annotations = self._annotations
        if annotations is None:
            return []
        selected = annotations.get(self.window.tools.selected or "")
        return [selected] if selected is not None else list(annotations.objects)

    def step_keyframe(self, direction: int) -> None:
        """Go to the next (+1) or previous (-1) keyframe or tracked frame: of the selected
        track, or of any track when none is selected."""
        index = self.window.index
        frames = {f for obj in self._selected_or_all() for f in obj.frames}
        ahead = [f for f in frames if (f - index) * direction > 0]
        if not ahead:
            self.window.statusBar().showMessage(
                "No " + ("later" if direction > 0 else "earlier") + " keyframe", 3000
            )
            return
        self.window.jump(min(ahead, key=lambda f: abs(f - index)))

    # ------------------------------------------------------------------ edits
    def _push(self, edit: Edit, message: str) -> None:
        session = self.window.session
        if session is None or session.read_only:
            return
        if isinstance(edit, Compound) and not edit.edits:
            self.window.statusBar().showMessage(message or "Nothing to change", 4000)
            return
        session.history.push(edit)
        self.window.statusBar().showMessage(message, 5000)

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
        index = self.window.index
        if obj.geometry(index) is None:
            self.window.statusBar().showMessage("The selected mark is not on this frame", 4000)
            return
        assert self.window.loop is not None
        self._push(
            end_track_after(obj, index, self.window.loop.n_frames),
            f"Track ends after frame {index + 1} (until its next keyframe)",
        )

    def delete_track(self) -> None:
        obj = self._selected_object()
        if obj is None:
            return
        self.window.tools.select(None)
        self._push(RemoveObject(obj.id, text="Delete track"), "Track deleted on every frame")

    def _selected_object(self) -> AnnotatedObject | None:
        annotations = self._annotations
        obj = annotations.get(self.window.tools.selected or "") if annotations else None
        if obj is None:
            self.window.statusBar().showMessage("Select a mark first (click it)", 4000)
        return obj

    # --------------------------------------------------------------- tracking
    @property
    def is_tracking(self) -> bool:
        return self._worker is not None

    def track_over(self, direction: int) -> None:
        """Ask how many frames, then track that way (stopping at a keyframe or gap)."""
        loop = self.window.loop
        if loop is None:
            return
        room = loop.n_frames - 1 - self.window.index if direction > 0 else self.window.index
        if room <= 0:
            return
        count, ok = QInputDialog.getInt(
            self.window,
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
        loop = self.window.loop
        if annotations is None or loop is None:
            return []
        index = self.window.index
        titles = self._titles()
        jobs = []
        for obj in self._selected_or_all():
            points = obj.points(index)
            if points is None:
                continue
            stop = tracking_range(obj, index, direction, loop.n_frames)
            if count is not None:
                stop = index + direction * min(count, abs(stop - index))
            if stop != index:
                region = loop.calibration_for_points(points).region
                bounds = None
                if region is not None:
                    x0, y0, x1, y1 = region.bounds
                    bounds = (float(x0), float(y0), float(x1 + 1), float(y1 + 1))
                jobs.append(
                    TrackingJob(obj.id, titles[obj.id], obj.kind.value, points, index, stop, bounds)
                )
        return jobs

    def track(self, direction: int, count: int | None = None) -> None:
        """Track forward (+1) or backward (-1) in the background."""
        if self.is_tracking:
            self.window.statusBar().showMessage(
                "Tracking is running: wait for it, or cancel it (Shift+Esc)", 4000
            )
            return
        if not self._editable or self.window.loop is None:
            if self.window.session is not None and self.window.session.read_only:
                self.window.statusBar().showMessage(
                    "This sidecar is read-only (written by a newer usannotate)", 4000
                )
            return
        jobs = self.jobs(direction, count)
        if not jobs:
            self.window.statusBar().showMessage(
                "Nothing to track: select a mark on this frame (or mark one); tracking stops "
                "at the next keyframe",
                6000,
            )
            return
        self.window.playback.stop()
        loop = self.window.loop
        self._cancel.clear()
        total = sum(job.frames for job in jobs)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.cancel_button.show()
        generation = self._generation
        way = "forward" if direction > 0 else "backward"
        self._worker = threading.Thread(
            target=self._run,
            args=(jobs, loop.frame, generation, way),
            name="usannotate-tracking",
            daemon=True,
        )
        self._worker.start()

    def _run(
        self,
        jobs: list[TrackingJob],
        frame_at: Callable[[int], np.ndarray],
        generation: int,
        way: str,
    ) -> None:
        """The worker thread: follow each mark in turn; never touches the model."""
        from usannotate.tracking import propagate

        results = []
        done_before = 0
        total = sum(job.frames for job in jobs)
        for job in jobs:
            if self._cancel.is_set():
                break
            text = f"Tracking {job.name} {way}"

            def progress(done: int, _total: int, base=done_before, text=text) -> None:
                self._bridge.progress.emit(base + done, total, text)

            try:
                result = propagate(
                    frame_at,
                    job.points,
                    job.kind,
                    job.start,
                    job.stop,
                    cancelled=self._cancel.is_set,
                    progress=progress,
                )
            except Exception as exc:  # a bad frame or mark: say so, keep the rest
                results.append((job, None, f"{job.name}: could not be tracked ({exc})"))
            else:
                stopped = f"{job.name}: {result.stopped}" if result.stopped else None
                results.append((job, job.kept_within_bounds(result.frames), stopped))
            done_before += job.frames
        self._bridge.finished.emit((generation, way, results))

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress_bar.setMaximum(total)
        self.progress_bar.setValue(done)
        self.window.statusBar().showMessage(f"{text}: {done} of {total} frames…")

    def _on_finished(self, payload: object) -> None:
        generation, way, results = payload  # type: ignore[misc]
        self._worker = None
        self.progress_bar.hide()
        self.cancel_button.hide()
        annotations = self._annotations
        if generation != self._generation or annotations is None or not self._editable:
            return  # the loop changed meanwhile
        edits: list[Edit] = []
        tracked = 0
        notes = []
        loop = self.window.loop
        for job, frames, stopped in results:
            obj = annotations.get(job.object_id)
            if obj is None or loop is None:
                continue  # deleted while it was being tracked
            start_points = obj.points(job.start)
            if start_points is None or not np.allclose(start_points, job.points, atol=1e-6):
                notes.append(
                    f"{job.name}: edited on frame {job.start + 1} while it was "
                    "tracked from there, so nothing was kept: track it again"
                )
                continue
            # The user may have placed a keyframe or ended the track meanwhile: the range
            # is what it would be now, and keyframes are never overwritten.
            direction = 1 if job.stop > job.start else -1
            limit = tracking_range(obj, job.start, direction, loop.n_frames)
            kept = {
                f: p
                for f, p in (frames or {}).items()
                if (f - job.start) * direction <= (limit - job.start) * direction
            }
            if kept:
                if obj.source(job.start) is FrameSource.INTERPOLATED:
                    # Tracking starts from what this frame showed; stored, it no longer
                    # changes when the frames after it become tracked.
                    edits.append(SetPoints(obj.id, job.start, job.points.copy()))
                edits.append(store_tracked(obj.id, kept, f"Track {job.name}"))
                tracked += len(kept)
            if stopped:
                notes.append(stopped)
        names = ", ".join(job.name for job, _, _ in results)
        message = f"Tracked {names} {way}: {tracked} frame(s) marked tracked"
        if notes:
            message += " — " + "; ".join(notes)
        if edits:
            self.window.session.history.push(  # type: ignore[union-attr]
                Compound(edits, text=f"Track {way} ({tracked} frames)")
            )
        self.window.statusBar().showMessage(message, 12000)

    def cancel(self) -> None:
        """Stop tracking; the frames already done are kept (as tracked)."""
        if self._worker is not None:
            self._cancel.set()

    def wait(self, timeout_s: float = 10.0) -> None:
        """Block until the worker ends (closing the window, tests)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout_s)
