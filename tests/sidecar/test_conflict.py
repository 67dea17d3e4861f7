"""No lost updates: a save never replaces a sidecar someone else saved since it was read.

Real processes (tests/sidecar/concurrent_saver.py) load and save one sidecar beside this
test's own saves; the merge keeps both sides' marks.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sidecar import concurrent_saver
from tests.sidecar.docs import LATER, NOW, empty_document, sample_document
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.sidecar import (
    SidecarConflictError,
    SidecarWriteError,
    load_recovery,
    load_sidecar,
    save_sidecar,
    write_recovery,
)
from usannotate.sidecar._conflict import rebase
from usannotate.sidecar.locks import LockOwner, save_guard, saving_path_for
from usannotate.sidecar.merge import merge_documents

NAME = "loop.usannotate.json"
TIME_LIMIT_S = 120


def _point(doc, mark_id: str, x: float = 50.0) -> AnnotatedObject:
    target = AnnotatedObject("target", ShapeKind.POINT, id=mark_id)
    target.set_points(0, [(x, 60.0)])
    doc.annotations.add(target)
    return target


def _ids(path: Path) -> set[str]:
    return {o.id for o in load_sidecar(path).annotations.objects}


def _start(mode: str, path: Path, log: Path, go: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, concurrent_saver.__file__, mode, str(path), str(log), str(go), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _wait(process: subprocess.Popen, log: Path, line: str) -> None:
    deadline = time.monotonic() + TIME_LIMIT_S
    while line not in _lines(log):
        if process.poll() is not None:
            pytest.fail(f"the saver stopped: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"the saver never logged {line!r}"
        time.sleep(0.01)


def test_second_process_gets_a_conflict_and_no_mark_is_lost(tmp_path: Path):
    path = tmp_path / NAME
    save_sidecar(empty_document(), path, now=NOW)
    log, go = tmp_path / "saver.log", tmp_path / "go"
    saver = _start("once", path, log, go, "their-mark")
    try:
        _wait(saver, log, "ready")  # it has read the sidecar
        mine = load_sidecar(path)
        mine.extra.top["saved_by"] = "A. First"
        _point(mine, "my-mark")
        save_sidecar(mine, path)  # the first save after both loaded: succeeds
        go.touch()
        _wait(saver, log, "done")
    finally:
        saver.wait(TIME_LIMIT_S)
        saver.stderr.close()  # type: ignore[union-attr]
    lines = _lines(log)
    assert "saved" not in lines  # the second save did not silently replace the first
    assert "conflict A. First" in lines  # it was told who saved in between
    assert "theirs my-mark" in lines  # and the error carried that version
    assert lines[-2:] == ["merged", "done"]
    assert _ids(path) == {"my-mark", "their-mark"}


def test_many_simultaneous_saves_every_success_is_in_the_file(tmp_path: Path):
    path = tmp_path / NAME
    save_sidecar(empty_document(), path, now=NOW)
    go = tmp_path / "go"
    count = 50
    savers = {
        name: (_start("many", path, tmp_path / f"{name}.log", go, name, str(count)))
        for name in ("a", "b")
    }
    try:
        for name, saver in savers.items():
            _wait(saver, tmp_path / f"{name}.log", "ready")
        go.touch()  # both start saving at once
        for name, saver in savers.items():
            _wait(saver, tmp_path / f"{name}.log", "done")
    finally:
        for saver in savers.values():
            saver.wait(TIME_LIMIT_S)
            saver.stderr.close()  # type: ignore[union-attr]
    saved = set()
    conflicts = 0
    for name in savers:
        lines = _lines(tmp_path / f"{name}.log")
        saved |= {line.split()[1] for line in lines if line.startswith("saved ")}
        conflicts += sum(line.startswith("conflict ") for line in lines)
    assert len(saved) == 2 * count  # every save returned once its mark was in
    assert _ids(path) == saved  # and every one of them is in the final file
    assert not saving_path_for(path).exists()  # no guard left behind
    print(f"{conflicts} conflicts reported and merged")


def test_conflict_carries_both_versions_and_the_base(tmp_path: Path):
    path = tmp_path / NAME
    save_sidecar(sample_document(n_frames=2), path, now=NOW)
    mine, theirs = load_sidecar(path), load_sidecar(path)
    _point(theirs, "theirs")
    theirs.extra.top["saved_by"] = "B. Second"
    save_sidecar(theirs, path, now=LATER)
    on_disk = path.read_bytes()
    _point(mine, "mine")
    with pytest.raises(SidecarConflictError) as caught:
        save_sidecar(mine, path)
    error = caught.value
    assert isinstance(error, SidecarWriteError)  # callers that only know write errors
    assert path.read_bytes() == on_disk
    assert error.saved_by == "B. Second"
    assert error.saved_at == LATER
    assert "B. Second" in str(error)
    assert error.mine is mine
    assert {o.id for o in error.theirs.annotations.objects} >= {"theirs"}
    assert {o.id for o in error.base.objects} == {"obj0", "obj1", "obj2", "obj3"}
    assert "mine" not in {o.id for o in error.base.objects}  # the base is what was read


def test_a_resolved_save_replaces_only_the_version_the_user_saw(tmp_path: Path):
    path = tmp_path / NAME
    save_sidecar(empty_document(), path, now=NOW)
    mine, second, third = (load_sidecar(path) for _ in range(3))
    save_sidecar(second, path, now=LATER)
    with pytest.raises(SidecarConflictError) as caught:
        save_sidecar(mine, path)
    _point(third, "third")
    rebase(third, load_sidecar(path).disk_stamp)
    save_sidecar(third, path)  # a third save while the user looked at the dialog
    rebase(mine, caught.value.theirs_version)  # "Overwrite" what the dialog showed
    with pytest.raises(SidecarConflictError):
        save_sidecar(mine, path)  # ...but never the newer version it did not show
    assert "third" in _ids(path)


def test_merge_keeps_both_marks_and_saves_over_theirs(tmp_path: Path):
    path = tmp_path / NAME
    save_sidecar(empty_document(), path, now=NOW)
    mine, theirs = load_sidecar(path), load_sidecar(path)
    _point(theirs, "theirs")
    save_sidecar(theirs, path, now=LATER)
    _point(mine, "mine")
    with pytest.raises(SidecarConflictError) as caught:
        save_sidecar(mine, path)
    merged, result = merge_documents(caught.value)
    assert result.added == ["theirs"]
    save_sidecar(merged, path)
    assert _ids(path) == {"mine", "theirs"}


def test_a_document_that_never_read_the_file_does_not_replace_it(tmp_path: Path):
    path = tmp_path / NAME
    first, second = empty_document(), empty_document()  # two windows, no sidecar yet
    _point(first, "first")
    save_sidecar(first, path, now=NOW)
    _point(second, "second")
    with pytest.raises(SidecarConflictError) as caught:
        save_sidecar(second, path)
    assert caught.value.base is None  # nothing was read: a two-way merge
    merged, result = merge_documents(caught.value)
    assert result.added == ["first"]
    save_sidecar(merged, path)
    assert _ids(path) == {"first", "second"}


def test_a_same_size_change_within_one_clock_tick_is_seen(tmp_path: Path):
    path = tmp_path / NAME
    doc = empty_document()
    _point(doc, "mark", x=50.0)
    save_sidecar(doc, path, now=NOW)
    before = path.stat()
    mine = load_sidecar(path)
    text = path.read_text(encoding="utf-8").replace("[50.0, 60.0]", "[51.0, 60.0]")
    path.write_text(text, encoding="utf-8")  # someone's script: same size, same inode
    import os

    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same time
    with pytest.raises(SidecarConflictError):
        save_sidecar(mine, path)


def test_recovered_work_saves_over_the_version_it_started_from_only(tmp_path: Path):
    path = tmp_path / NAME
    save_sidecar(empty_document(), path, now=NOW)
    doc = load_sidecar(path)
    _point(doc, "autosaved")
    owner = LockOwner.current("A. First")
    recovery = write_recovery(doc, path, now=LATER, owner=owner)
    recovered = load_recovery(path, recovery_file=recovery)
    assert recovered is not None
    assert "autosave" not in recovered.extra.top  # about the file, never saved with the work
    save_sidecar(recovered, path)  # the sidecar is still the version the work began on
    assert "autosaved" in _ids(path)

    again = load_recovery(path, recovery_file=recovery)
    other = load_sidecar(path)
    _point(other, "someone else")
    save_sidecar(other, path)
    with pytest.raises(SidecarConflictError):
        save_sidecar(again, path)  # changed since: never replaced unasked


def test_a_save_guard_left_by_a_dead_process_is_broken(tmp_path: Path):
    path = tmp_path / NAME
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    import json
    import socket

    guard = saving_path_for(path)
    record = {"annotator": "", "host": socket.gethostname(), "pid": int(dead.stdout)}
    record |= {"pid_started": 1.0, "session": "0" * 12, "since": "2025-03-14T09:00:00Z"}
    guard.write_text(json.dumps(record), encoding="utf-8")
    save_sidecar(empty_document(), path, now=NOW)  # not kept waiting
    assert path.exists()
    assert not guard.exists()


def test_a_save_waits_for_a_running_save_then_says_so(tmp_path: Path):
    path = tmp_path / NAME
    running = save_guard(path)  # a save in progress (this very process: alive)
    with (
        running,
        pytest.raises(SidecarWriteError, match="another save of this file has not finished"),
        save_guard(path, wait_s=0.2),
    ):
        pass
    assert not saving_path_for(path).exists()
