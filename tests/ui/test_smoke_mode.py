"""`usannotate --smoke-test LOOP`, the check packaging/smoke.sh runs on the built bundle."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.ui.paths import SAMPLE_A
from usannotate.sidecar import sidecar_path_for


def _run(tmp_path, *arguments: str) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    environment = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }
    command = [sys.executable, "-m", "usannotate", *arguments]
    return subprocess.run(
        command,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_the_smoke_test_marks_saves_and_quits_cleanly(tmp_path):
    loop = tmp_path / "loop.dcm"
    shutil.copy(SAMPLE_A, loop)
    result = _run(tmp_path, "--smoke-test", str(loop))
    assert result.returncode == 0, result.stderr
    assert "smoke test passed: 60 frames" in result.stdout
    sidecar = json.loads(sidecar_path_for(loop).read_text(encoding="utf-8"))
    assert sidecar["annotator"] == "smoke test"
    assert [obj["label"] for obj in sidecar["objects"]] == ["needle"]
    assert "Traceback" not in result.stderr


def test_a_loop_that_does_not_open_fails_with_one_line(tmp_path):
    broken = tmp_path / "broken.dcm"
    broken.write_bytes(b"not a dicom file at all")
    result = _run(tmp_path, "--smoke-test", str(broken))
    assert result.returncode == 1
    assert "usannotate smoke test failed: the loop did not open" in result.stderr
    assert "Traceback" not in result.stderr
