"""Tracking's rules in the core: how far a mark is tracked, the jobs of a Track command,
and results merged so that keyframes are never overwritten and edits made meanwhile win."""

from __future__ import annotations

import numpy as np

from usannotate.annotations import (
    AnnotatedObject,
    Annotations,
    FrameSource,
    ShapeKind,
    default_label_set,
)
from usannotate.annotations.edits import EditHistory, SetPoints
from usannotate.cine.calibration import Region
from usannotate.tracking.jobs import plan_jobs, tracked_edit, tracking_range

NEEDLE = np.array([(10.0, 10.0), (40.0, 30.0)])


def needle_with(frames: dict[int, np.ndarray]) -> AnnotatedObject:
    obj = AnnotatedObject("needle", ShapeKind.NEEDLE)
    for frame, points in frames.items():
        obj.set_points(frame, points)
    return obj


def moved(points: np.ndarray, by: float) -> np.ndarray:
    return points + by


def test_tracking_range_stops_before_the_next_keyframe_or_gap():
    obj = needle_with({5: NEEDLE, 20: NEEDLE})
    assert tracking_range(obj, 5, 1, 60) == 19
    assert tracking_range(obj, 20, 1, 60) == 59
    assert tracking_range(obj, 20, -1, 60) == 6
    assert tracking_range(obj, 5, -1, 60) == 0
    obj.mark_absent(12)
    assert tracking_range(obj, 5, 1, 60) == 11
    obj.set_points(8, NEEDLE, FrameSource.TRACKED)  # tracked frames are tracked again
    assert tracking_range(obj, 5, 1, 60) == 11


def test_plan_jobs_skips_marks_not_on_the_frame_and_keeps_points_in_their_region():
    on, off = needle_with({5: NEEDLE}), needle_with({30: NEEDLE})
    region = Region((0, 0, 99, 79), "2d", "tissue", 0, "cm", "cm", 0.01, 0.01)
    jobs = plan_jobs([on, off], 5, 1, 60, {on.id: "Needle"}, lambda points: region, count=10)
    assert [(j.object_id, j.start, j.stop, j.name) for j in jobs] == [(on.id, 5, 15, "Needle")]
    assert jobs[0].bounds == (0.0, 0.0, 100.0, 80.0)
    far = {6: np.array([(-5.0, 3.0), (120.0, 90.0)])}
    assert np.array_equal(jobs[0].kept_within_bounds(far)[6], [(0.0, 3.0), (100.0, 80.0)])
    at_the_end = needle_with({59: NEEDLE})
    assert plan_jobs([at_the_end], 59, 1, 60, {}, lambda p: None) == []


def _track(annotations: Annotations, obj: AnnotatedObject, start: int, stop: int):
    """What tracking would return: the mark moved 1 px a frame."""
    [job] = plan_jobs([obj], start, 1, 60, {}, lambda p: None)
    assert job.stop == stop
    frames = {f: moved(job.points, f - start) for f in range(start + 1, stop + 1)}
    return job, frames


def test_results_become_one_undoable_edit_of_tracked_frames():
    obj = needle_with({5: NEEDLE})
    annotations = Annotations(default_label_set(), [obj])
    history = EditHistory(annotations)
    job, frames = _track(annotations, obj, 5, 59)
    outcome = tracked_edit(annotations, [(job, frames, None)], 60)
    assert outcome.tracked == 54
    history.push(outcome.edit)
    assert obj.source(30) is FrameSource.TRACKED
    assert np.allclose(obj.points(30), moved(NEEDLE, 25))
    history.undo()
    assert obj.points(30) is None  # one step back: the track is on frame 5 only again
    assert set(obj.frames) == {5}


def test_a_keyframe_placed_while_tracking_is_never_overwritten():
    obj = needle_with({5: NEEDLE})
    annotations = Annotations(default_label_set(), [obj])
    job, frames = _track(annotations, obj, 5, 59)
    EditHistory(annotations).push(SetPoints(obj.id, 20, moved(NEEDLE, 100)))  # meanwhile
    outcome = tracked_edit(annotations, [(job, frames, None)], 60)
    EditHistory(annotations).push(outcome.edit)
    assert outcome.tracked == 14  # frames 6..19 only
    assert np.allclose(obj.points(20), moved(NEEDLE, 100))
    assert obj.source(20) is FrameSource.KEYFRAME


def test_a_mark_moved_on_its_start_frame_meanwhile_keeps_nothing():
    obj = needle_with({5: NEEDLE})
    annotations = Annotations(default_label_set(), [obj])
    job, frames = _track(annotations, obj, 5, 59)
    EditHistory(annotations).push(SetPoints(obj.id, 5, moved(NEEDLE, 3)))
    outcome = tracked_edit(annotations, [(job, frames, "stopped: lost the shaft")], 60)
    assert outcome.edit is None
    assert "edited on frame 6" in outcome.notes[0]


def test_an_interpolated_start_frame_is_stored_first_and_notes_are_kept():
    obj = needle_with({0: NEEDLE, 20: moved(NEEDLE, 20)})
    annotations = Annotations(default_label_set(), [obj])
    assert obj.source(10) is FrameSource.INTERPOLATED
    [job] = plan_jobs([obj], 10, 1, 60, {}, lambda p: None, count=3)
    frames = {f: moved(job.points, 0.5) for f in (11, 12, 13)}
    outcome = tracked_edit(annotations, [(job, frames, "Needle: stopped early")], 60)
    EditHistory(annotations).push(outcome.edit)
    assert obj.source(10) is FrameSource.KEYFRAME
    assert outcome.notes == ["Needle: stopped early"]
    deleted = tracked_edit(Annotations(default_label_set(), []), [(job, frames, None)], 60)
    assert deleted.edit is None  # a mark deleted while it was tracked
