"""`usannotate track` on folders and several loops with --jobs (issue 18): one progress
line, failures listed at the end (exit 2), the same sidecars on 1 and 2 processes."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

from tests.test_cli import run_cli
from tests.test_cli_track import SAMPLES, _keyframed
from usannotate.sidecar import load_sidecar, sidecar_path_for
from usannotate.sidecar.placement import SidecarLayout, sidecar_location

BROKEN = b'{"format_version": 3, "objects": [ cut short'


def _archive(folder: Path) -> Path:
    """Two keyframed loops, one whose sidecar is damaged, one never annotated."""
    _keyframed(folder, "loop_1.dcm")
    _keyframed(folder, "loop_2.dcm")
    broken = folder / "loop_3.dcm"
    shutil.copy(SAMPLES / "hydrodissection_linear_b.dcm", broken)
    sidecar_path_for(broken).write_bytes(BROKEN)
    shutil.copy(SAMPLES / "hydrodissection_linear_b.dcm", folder / "loop_4.dcm")
    return folder


def _marks(path: Path) -> dict:
    """A sidecar's JSON without its save times (what tracking wrote, nothing else)."""
    data = json.loads(path.read_text())
    data.pop("modified")
    data.pop("created")
    return data


def test_a_folder_on_one_and_on_two_processes_gives_the_same_sidecars(tmp_path: Path):
    results = {}
    original = _archive(tmp_path / "original")
    for jobs in (1, 2):
        folder = tmp_path / f"SMITH^JOHN jobs{jobs}"
        shutil.copytree(original, folder)  # the same loops and marks for both runs
        run = run_cli("track", str(folder), "--jobs", str(jobs))
        assert run.returncode == 2, run.stderr  # the damaged sidecar
        lines = run.stderr.strip().splitlines()
        assert "Traceback" not in run.stderr
        assert "SMITH" not in run.stderr  # file names only, never folders
        progress = [line for line in lines if line.endswith(" loops")]
        assert progress[-1] == "usannotate: track: 3/3 loops"  # loop_4 has no sidecar
        # The failure comes after the work, with its file, then the count.
        assert lines[-2].startswith("usannotate: loop_3.usannotate.json")
        assert lines[-1] == (
            "usannotate: track: 2 loop(s) tracked, 0 with nothing to track, 1 failed"
        )
        assert sidecar_path_for(folder / "loop_3.dcm").read_bytes() == BROKEN  # kept
        assert not sidecar_path_for(folder / "loop_4.dcm").exists()
        for name in ("loop_1", "loop_2"):
            doc = load_sidecar(sidecar_path_for(folder / f"{name}.dcm"))
            assert all(obj.tracked for obj in doc.annotations.objects), name
        results[jobs] = [_marks(sidecar_path_for(folder / f"loop_{i}.dcm")) for i in (1, 2)]
    assert results[1] == results[2]


def test_several_loops_of_a_read_only_archive_with_the_annotation_folder(tmp_path: Path):
    archive = tmp_path / "archive"
    first, _, _ = _keyframed(archive, "loop_1.dcm")
    second, _, _ = _keyframed(archive, "loop_2.dcm")
    notes = tmp_path / "notes"
    layout = SidecarLayout(notes)
    moved = {}
    for dicom in (first, second):  # the sidecars kept in the annotation folder
        beside = sidecar_path_for(dicom)
        archive.chmod(stat.S_IRUSR | stat.S_IXUSR)
        moved[dicom] = sidecar_location(dicom, layout=layout)  # read-only: the notes
        archive.chmod(stat.S_IRWXU)
        moved[dicom].parent.mkdir(parents=True, exist_ok=True)
        shutil.move(beside, moved[dicom])
    archive.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        run = run_cli("track", str(archive), "--label", "needle")
        assert run.returncode == 2  # not told where the sidecars are: none found
        assert "no loop in this folder has a sidecar" in run.stderr
        run = run_cli(
            "track", str(first), str(second), "--label", "needle", "--annotations", str(notes),
            "--jobs", "2",
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert "loop_1.dcm: " in run.stderr
        assert "loop_2.dcm: " in run.stderr
    finally:
        archive.chmod(stat.S_IRWXU)
    for dicom in (first, second):
        doc = load_sidecar(moved[dicom])
        needle = next(o for o in doc.annotations.objects if o.label_id == "needle")
        assert needle.tracked == set(range(11, 20))
    assert sorted(p.name for p in archive.iterdir()) == ["loop_1.dcm", "loop_2.dcm"]


def test_sidecar_and_output_name_one_loop(tmp_path: Path):
    first, _, _ = _keyframed(tmp_path, "loop_1.dcm")
    second, _, _ = _keyframed(tmp_path, "loop_2.dcm")
    run = run_cli("track", str(first), str(second), "--output", str(tmp_path / "x.json"))
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "usannotate: track: --sidecar and --output name one loop's sidecar: give one DICOM"
    ]
