"""`usannotate track`: a loop's keyframes propagated headless, keyframes untouched (issue 15)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import usannotate
from tests.test_cli import run_cli
from tests.tracking.loops import area
from usannotate.annotations import AnnotatedObject, FrameSource, default_label_set
from usannotate.sidecar import load_sidecar, new_document, save_sidecar, sidecar_path_for

SAMPLES = Path(__file__).resolve().parents[1] / "sample_dicoms"


def _keyframed(folder: Path, name: str = "loop_b.dcm") -> tuple[Path, dict, dict[str, list[int]]]:
    """Sample loop b copied to ``folder`` (as ``name``) with the needle, the deep fascia
    and the fluid keyframed from the truth on a few frames; (dicom, truth, keyframes per
    label)."""
    folder.mkdir(parents=True, exist_ok=True)
    dicom = folder / name
    shutil.copy(SAMPLES / "hydrodissection_linear_b.dcm", dicom)
    truth = json.loads((SAMPLES / "hydrodissection_linear_b.truth.json").read_text())
    frames = truth["frames"]
    labels = default_label_set()
    with usannotate.open_cine(dicom) as loop:
        doc = new_document(loop, labels, "test annotator")
    keys = {"needle": [10, 20], "fascia.deep": [0, 12], "fluid.injectate": [26, 36]}
    for label, keyframes in keys.items():
        obj = doc.annotations.add(AnnotatedObject(label, labels[label].kind))
        for k in keyframes:
            frame = frames[k]
            if label == "needle":
                points = [frame["needle"]["entry"], frame["needle"]["tip"]]
            elif label == "fluid.injectate":
                outline = frame["fluid"]["outline"]
                points = [outline[i] for i in range(0, len(outline), 6)]
            else:
                points = frame["fascial_planes"][1]["points"]
            obj.set_points(k, points)
    save_sidecar(doc, sidecar_path_for(dicom))
    return dicom, truth, keys


def _by_label(path: Path):
    doc = load_sidecar(path)
    return doc, {o.label_id: o for o in doc.annotations.objects}


def test_track_fills_the_frames_between_keyframes_and_keeps_the_keyframes(tmp_path: Path):
    dicom, truth, keys = _keyframed(tmp_path)
    sidecar = sidecar_path_for(dicom)
    _before, objects_before = _by_label(sidecar)
    result = run_cli("track", str(dicom))
    assert result.returncode == 0, result.stderr
    assert "usannotate: track:" in result.stderr  # progress on stderr
    assert "%" not in result.stdout
    assert result.stdout == ""
    _, objects = _by_label(sidecar)
    mm = truth["mm_per_px_x"]
    for label, keyframes in keys.items():
        obj, old = objects[label], objects_before[label]
        first, last = keyframes
        assert obj.tracked == set(range(first + 1, last)), label
        for k in keyframes:  # keyframes untouched
            assert obj.source(k) is FrameSource.KEYFRAME
            assert np.array_equal(obj.points(k), old.points(k))
        assert not any(f > last for f in obj.frames)  # nothing after the last keyframe
    needle = objects["needle"]
    tips = [
        np.linalg.norm(needle.points(f)[1] - truth["frames"][f]["needle"]["tip"]) * mm
        for f in needle.tracked
    ]
    assert max(tips) < 1.0
    fluid = objects["fluid.injectate"]
    last_tracked = max(fluid.tracked)
    ratio = area(fluid.points(last_tracked)) / area(
        np.array(truth["frames"][last_tracked]["fluid"]["outline"])
    )
    assert 0.9 < ratio < 1.1  # followed by its image, not by flow


def test_track_one_label_over_a_range_to_another_file(tmp_path: Path):
    dicom, _, _keys = _keyframed(tmp_path)
    sidecar = sidecar_path_for(dicom)
    original = sidecar.read_bytes()
    out = tmp_path / "tracked.usannotate.json"
    result = run_cli(
        "track", str(dicom), "--label", "needle", "--frames", "5:25", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert sidecar.read_bytes() == original  # the input is not touched
    _, objects = _by_label(out)
    assert objects["needle"].tracked == set(range(5, 10)) | set(range(11, 20)) | set(range(21, 26))
    assert objects["fascia.deep"].tracked == set()
    assert objects["fluid.injectate"].tracked == set()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--frames", "30:10"], "--frames must be A:B"),
        (["--frames", "x"], "--frames must be A:B"),
        (["--label", "nope"], "no label 'nope'"),
    ],
)
def test_track_bad_input_is_one_line_and_exit_2(tmp_path: Path, arguments, message):
    dicom, _, _ = _keyframed(tmp_path)
    original = sidecar_path_for(dicom).read_bytes()
    result = run_cli("track", str(dicom), *arguments)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert str(tmp_path) not in result.stderr  # file names only, never folders
    assert sidecar_path_for(dicom).read_bytes() == original


def test_track_without_a_sidecar_says_so(tmp_path: Path):
    dicom = tmp_path / "bare.dcm"
    shutil.copy(SAMPLES / "hydrodissection_linear_b.dcm", dicom)
    result = run_cli("track", str(dicom))
    assert result.returncode == 2
    assert "no such sidecar" in result.stderr
