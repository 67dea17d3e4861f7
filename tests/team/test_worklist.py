"""The worklist read from real sidecars: status, raters, tracks, frames, errors, counts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.team.sidecars import labelled_loop
from usannotate.sidecar import WorkStatus
from usannotate.sidecar.store import sidecar_path_for
from usannotate.team.worklist import count_line, folder_status, loop_status, summarise_sidecar


def test_rows_say_what_each_sidecar_holds(tmp_path: Path):
    labelled_loop(tmp_path, "loop_1.dcm", status=None)
    labelled_loop(tmp_path, "loop_2.dcm", status=WorkStatus.DONE, n_tracks=3, frames=(0, 2))
    labelled_loop(tmp_path, "loop_10.dcm", status=WorkStatus.REVIEWED, annotator="Bo")
    rows = folder_status(tmp_path)
    assert [row.file for row in rows] == ["loop_1.dcm", "loop_2.dcm", "loop_10.dcm"]
    assert [row.status for row in rows] == [None, "done", "reviewed"]
    done = rows[1].summary
    # Keyframes on 0 and 2, frame 1 interpolated: three annotated frames.
    assert (done.n_tracks, done.annotated_frames, done.raters) == (3, 3, ("Ann",))
    assert done.modified.endswith("Z")
    assert rows[2].summary.raters == ("Bo",)
    assert count_line(rows) == "2 of 3 done (1 reviewed, 1 unlabelled)"


def test_a_version_2_sidecar_reads_in_progress(tmp_path: Path):
    dicom = labelled_loop(tmp_path, "old.dcm", status=WorkStatus.DONE)
    sidecar = sidecar_path_for(dicom)
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    data["version"] = 2
    data["status"] = "whatever the pipeline said"  # its own key in version 2
    sidecar.write_text(json.dumps(data), encoding="utf-8")
    assert summarise_sidecar(sidecar).status == WorkStatus.IN_PROGRESS


def test_saved_by_is_a_rater_too_and_the_rater_filter_uses_them(tmp_path: Path):
    dicom = labelled_loop(tmp_path, "a.dcm", status=WorkStatus.IN_PROGRESS, annotator="Ann")
    sidecar = sidecar_path_for(dicom)
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    data["saved_by"] = "Bo"
    sidecar.write_text(json.dumps(data), encoding="utf-8")
    assert loop_status(dicom).summary.raters == ("Ann", "Bo")
    assert loop_status(dicom, rater="Bo").status == WorkStatus.IN_PROGRESS
    nobody = loop_status(dicom, rater="Cy")
    assert (nobody.status, nobody.sidecar) == (None, None)


def test_an_unreadable_sidecar_is_listed_with_the_reason(tmp_path: Path):
    dicom = labelled_loop(tmp_path, "cut.dcm", status=WorkStatus.DONE)
    sidecar = sidecar_path_for(dicom)
    sidecar.write_bytes(sidecar.read_bytes()[:100])
    row = loop_status(dicom)
    assert row.status is None
    assert row.labelled
    assert row.error.startswith("cut.usannotate.json: is not valid JSON")
    bad_status = labelled_loop(tmp_path, "bad.dcm", status=WorkStatus.DONE)
    path = sidecar_path_for(bad_status)
    path.write_text(path.read_text(encoding="utf-8").replace('"done"', '"finished"'), "utf-8")
    assert "status: must be in_progress, done or reviewed" in loop_status(bad_status).error


def _long_sidecar(tmp_path: Path, name: str) -> Path:
    """A sidecar over 64 KB (read by the fast path): 4 tracks, keyed every 5 of 200 frames,
    one of them out of view on frames 50 to 59."""
    dicom = labelled_loop(tmp_path, name, status=WorkStatus.DONE, n_frames=200, n_tracks=4,
                          frames=tuple(range(0, 200, 5)))  # fmt: skip
    from usannotate.sidecar import load_sidecar, save_sidecar

    sidecar = sidecar_path_for(dicom)
    doc = load_sidecar(sidecar)
    obj = doc.annotations.objects[0]
    for frame in range(50, 60):
        obj.frames.pop(frame, None)
        obj.absent.add(frame)
    save_sidecar(doc, sidecar)
    assert sidecar.stat().st_size > 64 * 1024
    return sidecar


def test_the_fast_reading_agrees_with_parsing_the_whole_file(tmp_path: Path):
    sidecar = _long_sidecar(tmp_path, "long.dcm")
    fast = summarise_sidecar(sidecar)
    assert (fast.n_tracks, fast.annotated_frames) == (4, 196)  # keyed 0..195, all interpolated
    # The same file as a script's json.dump writes it: another layout, parsed whole.
    data = json.loads(sidecar.read_text(encoding="utf-8"))
    data["objects"][1]["frames"] = [e for e in data["objects"][1]["frames"] if e["frame"] < 100]
    for obj in data["objects"][2:]:
        obj["frames"] = data["objects"][1]["frames"]
    data["objects"][0]["frames"] = [e for e in data["objects"][0]["frames"] if e["frame"] < 40]
    sidecar.write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert summarise_sidecar(sidecar).annotated_frames == 100  # frames 0..99
    sidecar.write_text(json.dumps(data, indent=2).replace("\n", " "), encoding="utf-8")
    assert summarise_sidecar(sidecar).annotated_frames == 100


def test_gaps_are_counted_as_the_model_reads_them(tmp_path: Path):
    """One track, out of view on frames 50 to 59 (absent entry at 50, next entry at 60):
    the fast reading counts the frames where the model says the track exists."""
    dicom = labelled_loop(tmp_path, "gap.dcm", status=WorkStatus.DONE, n_frames=200,
                          n_tracks=6, frames=tuple(range(0, 200, 5)))  # fmt: skip
    from usannotate.sidecar import load_sidecar, save_sidecar

    sidecar = sidecar_path_for(dicom)
    doc = load_sidecar(sidecar)
    for obj in doc.annotations.objects:
        for frame in range(50, 60):
            obj.frames.pop(frame, None)
        obj.absent.add(50)
    doc.annotations.objects[0].absent.add(120)  # one track only: others cover 120..124
    doc.annotations.objects[0].frames.pop(120)
    save_sidecar(doc, sidecar)
    assert sidecar.stat().st_size > 64 * 1024
    loaded = load_sidecar(sidecar)
    truth = {f for obj in loaded.annotations.objects for f in obj.frame_sources(200)}
    summary = summarise_sidecar(sidecar)
    # Frames 0..45, then 60..195: a track ends at its last keyframe before a gap.
    assert summary.annotated_frames == len(truth) == 46 + 136
    assert summary.n_tracks == 6
