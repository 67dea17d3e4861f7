"""What tracking does around the optical flow: range, jobs, results back in the model.

How far a mark may be tracked, the jobs of one Track command, and how their results come
back into the model (no Qt).

The rule for results: keyframes are never overwritten, and edits made while tracking
ran win (a mark moved on the start frame keeps nothing; a keyframe placed ahead stops
the kept frames before it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from usannotate.annotations.edits import Compound, Edit, SetPoints, store_tracked
from usannotate.annotations.kinds import FrameSource
from usannotate.annotations.model import AnnotatedObject, Annotations
from usannotate.cine.calibration import Region

__all__ = [
    "FLUID_GROUP",
    "TrackingJob",
    "TrackingOutcome",
    "follows_image",
    "plan_jobs",
    "tracked_edit",
    "tracking_range",
]

#: The label group whose regions are followed by their image (injected fluid).
FLUID_GROUP = "fluid"


def follows_image(annotations: Annotations, obj: AnnotatedObject) -> bool:
    """Whether ``obj`` is tracked by segmenting its image rather than by optical flow:
    a region whose label is in the fluid group (injected fluid grows over tissue that
    does not move, so flow under-follows it)."""
    if obj.kind.value != "region":
        return False
    label = annotations.label_set.get(obj.label_id)
    return label is not None and label.group == FLUID_GROUP


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
    #: ``"flow"`` (optical flow) or ``"image"`` (a fluid region segmented frame by frame).
    follow: str = "flow"

    @property
    def frames(self) -> int:
        return abs(self.stop - self.start)

    @property
    def direction(self) -> int:
        return 1 if self.stop > self.start else -1

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


def plan_jobs(
    tracks: Iterable[AnnotatedObject],
    frame: int,
    direction: int,
    n_frames: int,
    titles: dict[str, str],
    region_of: Callable[[np.ndarray], Region | None],
    count: int | None = None,
    follow_image: Callable[[AnnotatedObject], bool] | None = None,
) -> list[TrackingJob]:
    """The jobs of tracking ``tracks`` from ``frame``: each mark on that frame, up to its
    next keyframe or gap (and at most ``count`` frames); none for a mark not on the frame
    or with nowhere to go. ``region_of(points)`` is the calibrated region the mark lies
    in, whose bounds the tracked points are kept within (None: the image);
    ``follow_image(obj)`` says which marks are followed by their image (see
    :func:`follows_image`; None: none)."""
    jobs = []
    for obj in tracks:
        points = obj.points(frame)
        if points is None:
            continue
        stop = tracking_range(obj, frame, direction, n_frames)
        if count is not None:
            stop = frame + direction * min(count, abs(stop - frame))
        if stop == frame:
            continue
        region = region_of(points)
        bounds = None
        if region is not None:
            x0, y0, x1, y1 = region.bounds
            bounds = (float(x0), float(y0), float(x1 + 1), float(y1 + 1))
        name = titles.get(obj.id, obj.label_id)
        follow = "image" if follow_image is not None and follow_image(obj) else "flow"
        jobs.append(TrackingJob(obj.id, name, obj.kind.value, points, frame, stop, bounds, follow))
    return jobs


@dataclass
class TrackingOutcome:
    """What the results of one Track command do: ``edit`` (one undoable step, None when
    nothing is kept), how many frames became tracked, and notes for the user."""

    edit: Edit | None = None
    tracked: int = 0
    notes: list[str] = field(default_factory=list)


def tracked_edit(
    annotations: Annotations,
    results: Sequence[tuple[TrackingJob, dict[int, np.ndarray] | None, str | None]],
    n_frames: int,
    way: str = "forward",
) -> TrackingOutcome:
    """Turn tracking results ``(job, frames or None, note or None)`` into one edit, by the
    rule that keyframes are never overwritten and edits made meanwhile win.

    A mark deleted while it was tracked is skipped; one moved on its start frame keeps
    nothing (it says so); frames beyond a keyframe or gap placed meanwhile are dropped;
    an interpolated start frame is stored first (what tracking started from no longer
    changes when the frames after it become tracked). ``way`` ("forward" / "backward")
    names the edit.
    """
    outcome = TrackingOutcome()
    edits: list[Edit] = []
    for job, frames, note in results:
        obj = annotations.get(job.object_id)
        if obj is None:
            continue  # deleted while it was being tracked
        start_points = obj.points(job.start)
        if start_points is None or not np.allclose(start_points, job.points, atol=1e-6):
            outcome.notes.append(
                f"{job.name}: edited on frame {job.start + 1} while it was "
                "tracked from there, so nothing was kept: track it again"
            )
            continue
        direction = job.direction
        limit = tracking_range(obj, job.start, direction, n_frames)
        kept = {
            f: p
            for f, p in (frames or {}).items()
            if (f - job.start) * direction <= (limit - job.start) * direction
        }
        if kept:
            if obj.source(job.start) is FrameSource.INTERPOLATED:
                edits.append(SetPoints(obj.id, job.start, job.points.copy()))
            edits.append(store_tracked(obj.id, kept, f"Track {job.name}"))
            outcome.tracked += len(kept)
        if note:
            outcome.notes.append(note)
    if edits:
        outcome.edit = Compound(edits, text=f"Track {way} ({outcome.tracked} frames)")
    return outcome
