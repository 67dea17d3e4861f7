"""Every track of a loop propagated from its keyframes, headless (``usannotate track``; no Qt).

The same engine and rules as the app's Track command: optical flow for planes, needles
and points (the needle re-found when the flow loses it), injected fluid followed by its
image; results stored as tracked frames; keyframes never touched. Used to propagate the
keyframes of an archive overnight and review them the next day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from usannotate.annotations.edits import Compound, Edit
from usannotate.annotations.model import AnnotatedObject, Annotations
from usannotate.cine.calibration import Region
from usannotate.tracking.jobs import TrackingJob, follows_image, plan_jobs, tracked_edit
from usannotate.tracking.propagate import propagate

__all__ = ["ArchiveTracking", "plan_archive_jobs", "track_loop"]


@dataclass
class ArchiveTracking:
    """What :func:`track_loop` did: the edit (None when nothing changed), frames made
    tracked, tracks considered, and one note per track that stopped early."""

    edit: Edit | None = None
    tracked: int = 0
    tracks: int = 0
    notes: list[str] = field(default_factory=list)


def _keyframes(obj: AnnotatedObject) -> list[int]:
    return sorted(f for f in obj.frames if f not in obj.tracked)


def plan_archive_jobs(
    annotations: Annotations,
    n_frames: int,
    titles: dict[str, str],
    region_of: Callable[[np.ndarray], Region | None],
    *,
    label_id: str | None = None,
    frames: tuple[int, int] | None = None,
) -> list[TrackingJob]:
    """The jobs of propagating every track (or those of ``label_id``).

    Without ``frames``: from each keyframe forward over the frames up to the next
    keyframe (or gap), so only the frames between a track's keyframes are filled. With
    ``frames = (first, last)`` (0-based, inclusive): from each keyframe within it
    forward up to the next keyframe or ``last``, and from the first keyframe within it
    backward to ``first``.
    """
    chosen = [o for o in annotations.objects if label_id is None or o.label_id == label_id]
    jobs: list[TrackingJob] = []

    def image(obj: AnnotatedObject) -> bool:
        return follows_image(annotations, obj)

    for obj in chosen:
        keys = _keyframes(obj)
        if frames is not None:
            first, last = frames
            keys = [k for k in keys if first <= k <= last]
        for i, key in enumerate(keys):
            if frames is None and i == len(keys) - 1:
                break  # after the last keyframe: nothing is between keyframes
            planned = plan_jobs([obj], key, 1, n_frames, titles, region_of, None, image)
            for job in planned:
                stop = job.stop if frames is None else min(job.stop, frames[1])
                if stop > job.start:
                    jobs.append(_with_stop(job, stop))
        if frames is not None and keys and frames[0] < keys[0]:
            planned = plan_jobs([obj], keys[0], -1, n_frames, titles, region_of, None, image)
            for job in planned:
                stop = max(job.stop, frames[0])
                if stop < job.start:
                    jobs.append(_with_stop(job, stop))
    return jobs


def _with_stop(job: TrackingJob, stop: int) -> TrackingJob:
    return TrackingJob(
        job.object_id, job.name, job.kind, job.points, job.start, stop, job.bounds, job.follow
    )


def track_loop(
    annotations: Annotations,
    frame_at: Callable[[int], np.ndarray],
    n_frames: int,
    titles: dict[str, str],
    region_of: Callable[[np.ndarray], Region | None],
    *,
    label_id: str | None = None,
    frames: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ArchiveTracking:
    """Propagate the loop's tracks (see :func:`plan_archive_jobs`) and apply the result
    to ``annotations`` as one edit (returned, so a caller with a history can undo it).

    Parameters
    ----------
    annotations
        The loop's annotations (changed in place).
    frame_at
        Frame by 0-based index (``CineLoop.frame``).
    n_frames
        Frames of the loop.
    titles
        Track id -> name for the notes (``annotations.marking.track_titles``).
    region_of
        The calibrated region a mark lies in (the tracked points are kept within it).
    label_id, frames
        See :func:`plan_archive_jobs`.
    progress
        Called with (frames done, frames to do) after each frame.
    """
    jobs = plan_archive_jobs(
        annotations, n_frames, titles, region_of, label_id=label_id, frames=frames
    )
    outcome = ArchiveTracking(tracks=len({job.object_id for job in jobs}))
    total = sum(job.frames for job in jobs)
    done_before = 0
    edits: list[Edit] = []
    for job in jobs:

        def step(done: int, _total: int, base: int = done_before) -> None:
            if progress is not None:
                progress(base + done, total)

        try:
            result = propagate(
                frame_at,
                job.points,
                job.kind,
                job.start,
                job.stop,
                progress=step,
                follow=job.follow,
            )
        except ValueError as exc:  # a mark the engine cannot follow: say so, go on
            outcome.notes.append(
                f"{job.name}: could not be tracked from frame {job.start + 1} ({exc})"
            )
            done_before += job.frames
            continue
        note = f"{job.name}: {result.stopped}" if result.stopped else None
        way = "forward" if job.direction > 0 else "backward"
        piece = tracked_edit(
            annotations, [(job, job.kept_within_bounds(result.frames), note)], n_frames, way
        )
        if piece.edit is not None:
            piece.edit.apply(annotations)
            edits.append(piece.edit)
            outcome.tracked += piece.tracked
        outcome.notes.extend(piece.notes)
        done_before += job.frames
    if edits:
        outcome.edit = Compound(edits, text=f"Track the loop ({outcome.tracked} frames)")
    return outcome
