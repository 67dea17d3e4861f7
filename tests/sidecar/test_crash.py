"""A writer killed (SIGKILL) in the middle of saving leaves the previous sidecar intact:
the file always loads and is either the old or the new complete version.

Half the kills land at a random moment of the save cycle, half as soon as a temporary
file appears (so at least some certainly hit a save between writing and renaming).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sidecar import crash_writer
from usannotate._atomic import is_temporary_for
from usannotate.sidecar import is_sidecar_path, load_sidecar, save_sidecar
from usannotate.sidecar.locks import saving_path_for

NAME = "long_loop.usannotate.json"
KILLS = 4
TIME_LIMIT_S = 60


def _log_lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_killing_the_writer_mid_save_never_damages_the_sidecar(tmp_path: Path):
    path = tmp_path / NAME
    save_sidecar(crash_writer.build(0), path, now=crash_writer.NOW)
    last = 0
    chance = random.Random(20250314)
    deadline = time.monotonic() + TIME_LIMIT_S
    for kill in range(KILLS):
        log = tmp_path / f"writer-{kill}.log"
        writer = subprocess.Popen(
            [sys.executable, crash_writer.__file__, str(path), str(log), str(last + 1)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            while "ready" not in _log_lines(log):
                assert writer.poll() is None, writer.stderr.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the writer did not start in time"
                time.sleep(0.01)
            if kill % 2:
                time.sleep(chance.uniform(0.05, 0.7))  # lands anywhere in a save cycle
            else:  # as soon as a temporary file exists: between its creation and the rename
                while not any(is_temporary_for(p.name, path) for p in tmp_path.iterdir()):
                    assert time.monotonic() < deadline, "the writer never saved"
            assert writer.poll() is None, writer.stderr.read().decode()  # type: ignore[union-attr]
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()
            writer.stderr.close()  # type: ignore[union-attr]
        saved = [int(g) for g in _log_lines(log)[1:]]
        completed = saved[-1] if saved else last

        doc = load_sidecar(path)  # always loads: complete, valid
        generation = doc.extra.top["generation"]
        assert generation in (completed, completed + 1)  # the old or the new version
        assert doc.to_json() == crash_writer.build(generation).to_json()
        last = generation

    guard = saving_path_for(path)  # a killed save leaves its guard: the next save breaks it
    for leftover in tmp_path.iterdir():
        if leftover.name == NAME or leftover.suffix == ".log":
            continue
        assert (
            leftover == guard
            or is_temporary_for(leftover.name, path)
            or is_temporary_for(leftover.name, guard)
        ), leftover.name
        assert not is_sidecar_path(leftover)
        os.unlink(leftover)
