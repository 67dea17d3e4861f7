"""`usannotate validate SIDECAR... [--dicom PATH]`: OK lines, one line per problem naming
the file, exit 0 only when every file is valid, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sidecar.docs import LOOP_A, LOOP_B, NOW, good_json, sample_document, write_json
from usannotate.cli import main
from usannotate.sidecar import save_sidecar


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "hydrodissection_linear_a.usannotate.json"
    save_sidecar(sample_document(), path, now=NOW)
    return path


def _bad(tmp_path: Path) -> Path:
    data = good_json()
    data["objects"][1]["frames"][0]["points"].append([1.0, 1.0])
    data["objects"][2]["label"] = "vessel"
    return write_json(tmp_path / "bad.usannotate.json", data)


def test_a_valid_sidecar_is_ok(good: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["validate", str(good)]) == 0
    out, err = capsys.readouterr()
    assert out == f"OK {good.name}\n"
    assert err == ""


def test_each_problem_is_one_line_naming_the_file(tmp_path: Path, capsys):
    bad = _bad(tmp_path)
    assert main(["validate", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "usannotate: bad.usannotate.json: objects[1].frames[0].points: a needle needs exactly "
        "two (x, y) points: entry, then tip, got 3",
        'usannotate: bad.usannotate.json: objects[2].label: no label "vessel" in the label set '
        '"Hydrodissection — test" (labels: fascia.superficial, needle, fluid, target)',
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b'{"format": "usannotate-sidecar", "objects": [', "is cut short"),
        (b"<html>", "is not valid JSON (line 1, column 1"),
        (b'{"format": "usannotate-sidecar", "version": 1}', "(top level): the key"),
    ],
)
def test_unreadable_files_exit_2(tmp_path: Path, capsys, content: bytes, problem: str):
    path = tmp_path / "x.usannotate.json"
    path.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    _, err = capsys.readouterr()
    assert err.startswith(f"usannotate: x.usannotate.json: {problem}")


def test_several_files_report_each_and_fail_if_any_fails(good: Path, tmp_path: Path, capsys):
    missing = tmp_path / "missing.usannotate.json"
    assert main(["validate", str(good), str(missing), str(good)]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"OK {good.name}", f"OK {good.name}"]
    assert err == "usannotate: missing.usannotate.json: no such file\n"


def test_dicom_check(good: Path, tmp_path: Path, capsys):
    assert main(["validate", str(good), "--dicom", str(LOOP_A)]) == 0
    assert capsys.readouterr().out == f"OK {good.name}\n"

    assert main(["validate", str(good), "--dicom", str(LOOP_B)]) == 2
    _, err = capsys.readouterr()
    [line] = err.splitlines()
    assert line.startswith(f"usannotate: {good.name}: belongs to another DICOM file: it was ")
    assert LOOP_A.name in line
    assert LOOP_B.name in line

    not_dicom = tmp_path / "scan.dcm"
    not_dicom.write_bytes(b"hello")
    assert main(["validate", str(good), "--dicom", str(not_dicom)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "usannotate: scan.dcm: not a DICOM file\n"


def test_same_dicom_but_other_frame_count(good: Path, tmp_path: Path, capsys):
    data = json.loads(good.read_text(encoding="utf-8"))
    data["dicom"]["n_frames"] = 61
    changed = write_json(tmp_path / "changed.usannotate.json", data)
    assert main(["validate", str(changed), "--dicom", str(LOOP_A)]) == 2
    assert capsys.readouterr().err == (
        "usannotate: changed.usannotate.json: dicom.n_frames: made for 61 frames, but "
        '"hydrodissection_linear_a.dcm" has 60\n'
    )


def test_newer_version_is_ok_and_says_so(good: Path, tmp_path: Path, capsys):
    data = json.loads(good.read_text(encoding="utf-8"))
    data["version"] = 4
    newer = write_json(tmp_path / "newer.usannotate.json", data)
    assert main(["validate", str(newer)]) == 0
    assert capsys.readouterr().out == (
        "OK newer.usannotate.json (format version 4, newer than this usannotate reads: "
        "checked as far as version 3 goes)\n"
    )


def test_real_command_never_prints_a_traceback(good: Path, tmp_path: Path):
    bad = _bad(tmp_path)
    junk = tmp_path / "junk.usannotate.json"
    junk.write_bytes(b"\x00\xff" * 10)
    result = subprocess.run(
        [sys.executable, "-m", "usannotate.cli", "validate", str(good), str(bad), str(junk)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == f"OK {good.name}\n"
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(("usannotate: bad.", "usannotate: junk.")) for line in lines)
