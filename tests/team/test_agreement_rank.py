"""Frames worst first: the key length of each frame of each pair of tracks, largest first,
the frame's other figures kept beside it."""

from __future__ import annotations

import numpy as np

from usannotate.annotations import AnnotatedObject, Annotations, ShapeKind, default_label_set
from usannotate.team.agreement import compare
from usannotate.team.agreement_rank import worst_frames


def _needle(shifts: dict[int, float]) -> AnnotatedObject:
    obj = AnnotatedObject("needle", ShapeKind.NEEDLE)
    for frame, dx in shifts.items():
        obj.set_points(frame, np.array([[10.0, 10.0], [50.0 + dx, 40.0]]))
    return obj


def test_worst_frames_first_in_px_without_calibration():
    labels = default_label_set()
    a = Annotations(labels, [_needle({0: 0.0, 1: 0.0, 2: 0.0})])
    b = Annotations(labels, [_needle({0: 3.0, 1: 8.0, 2: 1.0})])
    report = compare(a, b, n_frames=3, image_size=(100, 80))
    frames = worst_frames(report)
    assert [d.frame for d in frames] == [1, 0, 2]
    assert [round(d.value, 6) for d in frames] == [8.0, 3.0, 1.0]
    assert {d.measurement for d in frames} == {"tip_error"}
    assert frames[0].unit == "px"
    assert "angle_difference" in frames[0].others
