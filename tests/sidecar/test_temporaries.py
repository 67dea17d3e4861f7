"""Issue 10, item 4: temporary files of killed saves never pile up.

Killed saves left a temporary file each (308 MB in 7 minutes), removed only by a later
save of the same sidecar, and only once ten minutes old. A writer now holds a lock on its
temporary file; one nobody holds is a dead save's, removed before every save and when the
loop is opened (tests/sidecar/test_crash.py kills real writers)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from tests.sidecar.docs import LATER, NOW, sample_document
from usannotate._atomic import remove_stale_temporaries
from usannotate.sidecar import recovery_path_for, save_sidecar, write_recovery

NAME = "loop.usannotate.json"


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_dead_temporaries_go_at_the_next_save_at_once_live_ones_stay(tmp_path: Path):
    path = tmp_path / NAME
    doc = sample_document(n_frames=2)
    save_sidecar(doc, path, now=NOW)
    dead_young = tmp_path / f".{NAME}.0badcafe.tmp"
    dead_old = tmp_path / f".{NAME}.deadbeef.tmp"
    live = tmp_path / f".{NAME}.1234abcd.tmp"
    unrelated = tmp_path / ".other.usannotate.json.deadbeef.tmp"
    for p in (dead_young, dead_old, live, unrelated):
        p.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(dead_old, (an_hour_ago, an_hour_ago))
    writer = os.open(live, os.O_WRONLY)  # a save still running holds its lock
    fcntl.flock(writer, fcntl.LOCK_EX)
    try:
        save_sidecar(doc, path, now=LATER)
        assert _names(tmp_path) == sorted([NAME, live.name, unrelated.name])
    finally:
        os.close(writer)  # the writer dies: its lock goes with it
    save_sidecar(doc, path, now=LATER)
    assert _names(tmp_path) == sorted([NAME, unrelated.name])


def test_autosave_cleans_its_own_dead_temporaries(tmp_path: Path):
    path = tmp_path / NAME
    recovery = recovery_path_for(path)
    dead = tmp_path / f".{recovery.name}.0badcafe.tmp"
    dead.write_bytes(b"partial")
    write_recovery(sample_document(n_frames=1), path, now=NOW)
    assert _names(tmp_path) == [recovery.name]


def test_cleaning_leaves_a_temporary_file_a_writer_holds(tmp_path: Path):
    path = tmp_path / NAME
    live = tmp_path / f".{NAME}.1234abcd.tmp"
    live.write_bytes(b"partial")
    writer = os.open(live, os.O_WRONLY)
    fcntl.flock(writer, fcntl.LOCK_EX)
    try:
        remove_stale_temporaries(path, older_than_s=0)
        assert live.exists()
    finally:
        os.close(writer)
    remove_stale_temporaries(path)
    assert not live.exists()


def test_locks_are_what_tell_a_live_save(tmp_path: Path):
    """The writer's own temporary file is locked while it writes: a cleaner running in
    the middle of the save (another process opening the loop) leaves it."""
    from usannotate import _atomic

    path = tmp_path / NAME
    seen: list[list[str]] = []

    def chunks():
        yield b"{}"
        remove_stale_temporaries(path)  # as another process would, mid-save
        seen.append([p.name for p in tmp_path.iterdir()])
        yield b"\n"

    _atomic.write_atomically(path, chunks())
    assert len(seen[0]) == 1  # the temporary file survived the cleaning
    assert path.read_bytes() == b"{}\n"
    assert _names(tmp_path) == [NAME]
