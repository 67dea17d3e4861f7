"""Agreement of two raters' sidecars, checked with known offsets on real files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.cine.dicom_factory import worklist_loop
from tests.team.sidecars import document_for
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.cli import main
from usannotate.sidecar import save_sidecar
from usannotate.team.agreement import overlap
from usannotate.team.agreement_files import compare_files

MM_PER_PX = 0.1
ROWS, COLUMNS = 120, 160


def _sidecar(dicom: Path, name: str, tracks: list[AnnotatedObject]) -> Path:
    doc = document_for(dicom, name)
    for obj in tracks:
        doc.annotations.add(obj)
    path = dicom.with_name(f"{dicom.stem}.{name}.usannotate.json")
    save_sidecar(doc, path)
    return path


def _track(label: str, kind: ShapeKind, frames: dict[int, list], object_id: str) -> AnnotatedObject:
    obj = AnnotatedObject(label, kind, id=object_id)
    for frame, points in frames.items():
        obj.set_points(frame, np.asarray(points, dtype=float))
    return obj


def _square(x: float, y: float, side: float) -> list[list[float]]:
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side]]


@pytest.fixture
def calibrated(tmp_path: Path) -> Path:
    return worklist_loop(tmp_path / "loop.dcm", n_frames=6, rows=ROWS, columns=COLUMNS,
                         mm_per_px=MM_PER_PX)  # fmt: skip


def _summary(report, measurement: str, label: str | None = None):
    found = [
        s
        for s in report.summary
        if s.measurement == measurement and (label is None or s.label_id == label)
    ]
    assert len(found) == 1, found
    return found[0]


def test_known_offsets_give_known_values_in_mm(calibrated: Path):
    needle = [[20.0, 10.0], [80.0, 60.0]]
    plane = [[10.0, 40.0], [60.0, 40.0], [110.0, 40.0]]
    a = _sidecar(calibrated, "ann", [
        _track("needle", ShapeKind.NEEDLE, {0: needle, 3: needle}, "n"),
        _track("fascia.superficial", ShapeKind.POLYLINE, {0: plane}, "p"),
        _track("fluid.injectate", ShapeKind.REGION, {0: _square(40, 70, 20)}, "f"),
        _track("target", ShapeKind.POINT, {0: [[50.0, 50.0]]}, "t"),
    ])  # fmt: skip
    shifted_needle = [[30.0, 10.0], [90.0, 60.0]]  # 10 px to the right
    lower_plane = [[10.0, 45.0], [110.0, 45.0]]  # 5 px deeper, other vertices
    b = _sidecar(calibrated, "bo", [
        _track("needle", ShapeKind.NEEDLE, {0: shifted_needle, 1: shifted_needle}, "n2"),
        _track("fascia.superficial", ShapeKind.POLYLINE, {0: lower_plane}, "p2"),
        _track("fluid.injectate", ShapeKind.REGION, {0: _square(50, 70, 20)}, "f2"),  # half a side
        _track("target", ShapeKind.POINT, {0: [[53.0, 54.0]]}, "t2"),
    ])  # fmt: skip
    report = compare_files(a, b, dicom=calibrated)
    assert report.length_unit == "mm"
    tip = _summary(report, "tip_error")
    assert tip.mean == pytest.approx(10 * MM_PER_PX)
    assert (tip.object_a, tip.object_b, tip.unit) == ("n", "n2", "mm")
    # A's needle exists on frames 0-3, B's on 0-1: two frames only A marked.
    assert (tip.n_frames, tip.frames_only_a, tip.frames_only_b) == (2, 2, 0)
    assert _summary(report, "tip_error_lateral").max == pytest.approx(10 * MM_PER_PX)
    assert _summary(report, "tip_error_axial").max == pytest.approx(0.0, abs=1e-9)
    assert _summary(report, "angle_difference").max == pytest.approx(0.0, abs=1e-9)
    assert _summary(report, "hausdorff_95").mean == pytest.approx(5 * MM_PER_PX)
    assert _summary(report, "mean_distance", "fascia.superficial").mean == pytest.approx(
        5 * MM_PER_PX
    )
    # Squares of side 20 px overlapping by half: Dice 2*200/800, IoU 200/600.
    assert _summary(report, "dice").mean == pytest.approx(0.5)
    assert _summary(report, "iou").mean == pytest.approx(1 / 3)
    # Boundary to boundary, worked out on paper: 400 px over the 80 px perimeter, both ways.
    assert _summary(report, "mean_distance", "fluid.injectate").mean == pytest.approx(
        5 * MM_PER_PX, abs=0.02
    )
    assert _summary(report, "distance").mean == pytest.approx(5 * MM_PER_PX)  # (3, 4) px
    units = {row.measurement: row.unit for row in report.rows}
    assert units["dice"] == "ratio"
    assert units["angle_difference"] == "deg"
    assert {u for m, u in units.items() if m not in ("dice", "iou", "angle_difference")} == {"mm"}


def test_angle_and_depth_parts(calibrated: Path):
    entry, length = np.array([20.0, 20.0]), 60.0
    tip_a = entry + length * np.array([math.cos(math.radians(30)), math.sin(math.radians(30))])
    tip_b = entry + length * np.array([math.cos(math.radians(45)), math.sin(math.radians(45))])
    a = _sidecar(calibrated, "ann", [_track("needle", ShapeKind.NEEDLE, {0: [entry, tip_a]}, "a")])
    b = _sidecar(calibrated, "bo", [_track("needle", ShapeKind.NEEDLE, {0: [entry, tip_b]}, "b")])
    report = compare_files(a, b, dicom=calibrated)
    assert _summary(report, "angle_difference").mean == pytest.approx(15.0, abs=0.01)
    d = (tip_b - tip_a) * MM_PER_PX
    assert _summary(report, "tip_error_axial").mean == pytest.approx(abs(d[1]), abs=1e-3)
    assert _summary(report, "tip_error").mean == pytest.approx(math.hypot(*d), abs=1e-3)


def test_without_calibration_every_length_is_in_px(tmp_path: Path):
    dicom = worklist_loop(tmp_path / "plain.dcm", n_frames=3, rows=ROWS, columns=COLUMNS)
    a = _sidecar(dicom, "ann", [_track("needle", ShapeKind.NEEDLE, {0: [[20, 10], [80, 60]]}, "a")])
    b = _sidecar(dicom, "bo", [_track("needle", ShapeKind.NEEDLE, {0: [[20, 10], [80, 70]]}, "b")])
    report = compare_files(a, b, dicom=dicom)
    assert report.length_unit == "px"
    assert report.unit_reason
    assert _summary(report, "tip_error").mean == pytest.approx(10.0)
    assert {row.unit for row in report.rows if row.measurement.startswith("tip")} == {"px"}


def test_tracks_of_one_label_are_paired_by_best_overlap(calibrated: Path):
    left, right = _square(10, 10, 30), _square(100, 60, 30)
    a = _sidecar(calibrated, "ann", [
        _track("fluid.injectate", ShapeKind.REGION, {0: left}, "left"),
        _track("fluid.injectate", ShapeKind.REGION, {0: right}, "right"),
    ])  # fmt: skip
    b = _sidecar(calibrated, "bo", [  # listed the other way round, slightly moved
        _track("fluid.injectate", ShapeKind.REGION, {0: _square(101, 60, 30)}, "b_right"),
        _track("fluid.injectate", ShapeKind.REGION, {0: _square(10, 11, 30)}, "b_left"),
        _track("target", ShapeKind.POINT, {0: [[5.0, 5.0]]}, "only_b"),
    ])  # fmt: skip
    report = compare_files(a, b, dicom=calibrated)
    pairs = {(s.object_a, s.object_b) for s in report.summary if s.measurement == "dice"}
    assert pairs == {("left", "b_left"), ("right", "b_right")}
    alone = [s for s in report.summary if s.object_b == "only_b"]
    assert alone[0].object_a is None
    assert alone[0].frames_only_b == 1


def test_self_agreement_is_perfect(calibrated: Path):
    tracks = [
        _track(
            "fluid.injectate",
            ShapeKind.REGION,
            {0: _square(30, 30, 25), 4: _square(35, 30, 30)},
            "f",
        )
    ]
    a = _sidecar(calibrated, "ann", tracks)
    report = compare_files(a, a, dicom=calibrated)
    assert _summary(report, "dice").n_frames == 5  # 0 and 4, 1-3 interpolated
    assert _summary(report, "dice").mean == pytest.approx(1.0)
    assert _summary(report, "mean_distance").max == pytest.approx(0.0, abs=1e-9)


def test_overlap_counts_pixels_whose_centre_is_inside():
    # A 3 x 2 px rectangle on pixel edges covers exactly 6 pixels: against itself
    # shifted by one column, 4 of 8 shared.
    a = np.array([[2.0, 2.0], [5.0, 2.0], [5.0, 4.0], [2.0, 4.0]])
    dice, iou = overlap(a, a + np.array([1.0, 0.0]), (10, 10))
    assert dice == pytest.approx(2 * 4 / 12)
    assert iou == pytest.approx(4 / 8)


def test_cli_json_and_csv(capsys, calibrated: Path):
    needle = [[20.0, 10.0], [80.0, 60.0]]
    a = _sidecar(calibrated, "ann", [_track("needle", ShapeKind.NEEDLE, {0: needle}, "a")])
    b = _sidecar(
        calibrated, "bo", [_track("needle", ShapeKind.NEEDLE, {0: [[20, 10], [90, 60]]}, "b")]
    )
    assert main(["agreement", str(a), str(b), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    first = data["rows"][0]
    assert list(first)[:5] == ["frame", "label_id", "measurement", "value", "unit"]
    assert (first["frame"], first["label_id"], first["measurement"]) == (0, "needle", "tip_error")
    assert first["value"] == pytest.approx(1.0)
    assert first["unit"] == "mm"
    assert data["summary"][0]["mean"] == pytest.approx(1.0)
    assert main(["agreement", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "frame,label_id,measurement,value,unit,object_a,object_b"
    assert lines[1] == "0,needle,tip_error,1,mm,a,b"


def test_cli_bad_input_is_one_line_and_exit_2(capsys, tmp_path: Path, calibrated: Path):
    other = worklist_loop(tmp_path / "SMITH^JOHN" / "other.dcm", n_frames=2)
    a = _sidecar(calibrated, "ann", [])
    b = _sidecar(other, "bo", [])
    assert main(["agreement", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "different DICOM files" in err
    assert "SMITH" not in err
    assert "Traceback" not in err
    assert main(["agreement", str(a), str(tmp_path / "SMITH^JOHN" / "none.json")]) == 2
    assert capsys.readouterr().err == "usannotate: none.json: no such file\n"
    assert main(["agreement", str(a), str(a), "--dicom", str(other)]) == 2
    assert "belongs to another DICOM file" in capsys.readouterr().err


def test_fill_outline_takes_the_pixels_whose_centre_is_inside():
    from usannotate.team.agreement import fill_outline

    # A triangle (0,0)-(4,0)-(0,4): centres (c+.5, r+.5) with c + r + 1 < 4 are inside.
    mask = fill_outline(np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]]), (5, 5))
    expected = np.array([[c + r + 1 < 4 for c in range(5)] for r in range(5)])
    assert (mask == expected).all()
    # Two squares tiling side by side share no pixel and leave none out.
    left = fill_outline(np.array(_square(0, 0, 3)), (6, 3))
    right = fill_outline(np.array(_square(3, 0, 3)), (6, 3))
    assert not (left & right).any()
    assert (left | right).all()


def _random_outline(rng: np.random.Generator, n: int) -> np.ndarray:
    if rng.random() < 0.5:  # a star-shaped outline, partly outside the image at times
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radius = rng.uniform(2, 40)
        centre = rng.uniform(-10, 70, 2)
        points = centre + radius * np.c_[np.cos(angles), np.sin(angles)]
    else:  # vertices anywhere: self-intersecting, several runs per scanline
        points = rng.uniform(-8, 70, (n, 2))
    if rng.random() < 0.4:  # vertices on pixel edges and centres
        points = np.round(points * 2) / 2
    return points


def test_overlap_counts_exactly_the_pixels_of_the_filled_masks():
    """Dice and IoU are counted from scanline runs without drawing (many frames at once):
    the same to the last bit as from the two masks :func:`fill_outline` draws over the
    whole image, on random outlines (self-intersecting, beyond the image's edges,
    vertices on pixel edges, of different counts)."""
    from usannotate.team.agreement import fill_outline
    from usannotate.team.region_overlap import overlap_batch

    rng = np.random.default_rng(21)
    size = (64, 48)
    outlines_a, outlines_b = [], []
    for _ in range(300):
        a = _random_outline(rng, int(rng.integers(3, 25)))
        b = _random_outline(rng, int(rng.integers(3, 25))) if rng.random() < 0.7 else a + 0.5
        outlines_a.append(a)
        outlines_b.append(b)
    outlines_a.append(np.array(_square(100, 100, 5)))  # both outside: nothing covered
    outlines_b.append(np.array(_square(110, 100, 5)))
    dice, iou = overlap_batch(outlines_a, outlines_b, size)
    for index, (a, b) in enumerate(zip(outlines_a, outlines_b, strict=True)):
        mask_a, mask_b = fill_outline(a, size), fill_outline(b, size)
        inter = int(np.count_nonzero(mask_a & mask_b))
        sizes = int(np.count_nonzero(mask_a)) + int(np.count_nonzero(mask_b))
        expected = (2.0 * inter / sizes, inter / (sizes - inter)) if sizes else (0.0, 0.0)
        assert (dice[index], iou[index]) == expected
        assert overlap(a, b, size) == expected
    assert (dice[-1], iou[-1]) == (0.0, 0.0)


def test_point_to_curve_computed_in_place_gives_the_plain_formula_exactly():
    """The distances, computed in place in small batches, are those of the formula
    written plainly (projection on each segment, clipped, nearest), to the last bit."""
    from usannotate.team.agreement import point_to_curve

    rng = np.random.default_rng(8)
    points = rng.uniform(0, 600, (70, 64, 2))
    curve = rng.uniform(0, 600, (70, 21, 2))
    curve[5, 3] = curve[5, 4]  # a segment of no length
    a, ab = curve[:, None, :-1], np.diff(curve, axis=1)[:, None]
    length2 = ab[..., 0] * ab[..., 0] + ab[..., 1] * ab[..., 1]
    inverse = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 0)
    rel = points[:, :, None] - a
    t = np.clip((rel[..., 0] * ab[..., 0] + rel[..., 1] * ab[..., 1]) * inverse, 0.0, 1.0)
    rx, ry = rel[..., 0] - t * ab[..., 0], rel[..., 1] - t * ab[..., 1]
    plain = np.sqrt(np.min(rx * rx + ry * ry, axis=-1))
    np.testing.assert_array_equal(point_to_curve(points, curve), plain)


def test_batched_resampling_matches_one_curve_at_a_time():
    from usannotate.team.agreement import resample_batch, resample_by_arc_length

    rng = np.random.default_rng(5)
    curves = rng.uniform(0, 100, (7, 12, 2))
    curves[3] = curves[3][0]  # a curve of zero length
    for closed in (False, True):
        batch = resample_batch(curves, 50, closed=closed)
        for curve, got in zip(curves, batch, strict=True):
            np.testing.assert_allclose(got, resample_by_arc_length(curve, 50, closed=closed))
