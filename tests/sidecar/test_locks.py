"""The edit lock beside a sidecar: who has the loop open, stale locks, take-over; and the
per-session recovery files it lets a session tell apart from a crashed one's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sidecar.docs import LATER, NOW, empty_document
from usannotate.cine import list_loop_files
from usannotate.cli import main as cli
from usannotate.sidecar import (
    discard_recovery,
    is_sidecar_path,
    load_recovery,
    offered_recovery,
    recovery_path_for,
    save_sidecar,
    write_recovery,
)
from usannotate.sidecar.locks import (
    STALE_AFTER_S,
    EditLock,
    LockHeldError,
    LockOwner,
    hold_session,
    lock_path_for,
    read_lock,
    release_session,
    saving_path_for,
)
from usannotate.sidecar.recovery import recovery_files

NAME = "DOE_JANE_0001.usannotate.json"


def _dead_pid() -> int:
    """The pid of a process that has ended (this host)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    return int(done.stdout)


def _write_lock(path: Path, **changes) -> None:
    record = LockOwner.current("C. Old").to_json() | changes
    lock_path_for(path).write_text(json.dumps(record), encoding="utf-8")


def test_lock_names_come_from_the_sidecar_name_only(tmp_path: Path):
    path = tmp_path / NAME
    owner = LockOwner.current("A. First")
    lock, previous = EditLock.acquire(path, owner)
    assert previous is None
    assert lock.path == tmp_path / ".DOE_JANE_0001.usannotate.lock"
    assert saving_path_for(path) == tmp_path / ".DOE_JANE_0001.usannotate.saving"
    assert recovery_path_for(path, owner.session) == (
        tmp_path / f".DOE_JANE_0001.{owner.session}.usannotate.recovery.json"
    )
    for name in (lock.path, saving_path_for(path), recovery_path_for(path, owner.session)):
        assert not is_sidecar_path(name)  # validate and folder listings skip them
    (tmp_path / "DOE_JANE_0001.dcm").write_bytes(b"")
    assert [Path(p).name for p in list_loop_files(tmp_path)] == ["DOE_JANE_0001.dcm"]
    record = json.loads(lock.path.read_text(encoding="utf-8"))
    assert record["annotator"] == "A. First"
    assert record["host"] == socket.gethostname()
    assert record["pid"] == os.getpid()
    assert "DOE" not in json.dumps(record)  # nothing of the file's name inside either
    lock.release()
    assert not lock.path.exists()


def test_validate_is_not_bothered_by_lock_files(tmp_path: Path, capsys):
    path = tmp_path / NAME
    save_sidecar(empty_document(), path, now=NOW)
    EditLock.acquire(path, LockOwner.current("A. First"))
    sidecars = sorted(str(p) for p in tmp_path.glob("*.usannotate.json"))
    assert sidecars == [str(path)]  # the documented glob finds the sidecar only
    assert cli(["validate", *sidecars]) == 0


def test_a_second_session_is_told_who_has_it_and_may_take_over(tmp_path: Path):
    path = tmp_path / NAME
    first = LockOwner.current("A. First")
    lock, _ = EditLock.acquire(path, first)
    second = LockOwner.current("B. Second")  # another window of this very process
    with pytest.raises(LockHeldError) as caught:
        EditLock.acquire(path, second)
    assert caught.value.holder == first
    assert "A. First" in str(caught.value)
    assert "DOE" not in str(caught.value).split(":", 1)[1]
    assert read_lock(path).owner == first
    assert not read_lock(path).stale

    taken, previous = EditLock.acquire(path, second, take_over=caught.value.holder)
    assert previous == first
    assert taken.held()
    assert not lock.held()
    assert not lock.refresh()  # the first session learns it lost the lock
    lock.release()  # and never removes the new holder's
    assert taken.held()
    taken.release()
    assert read_lock(path) is None


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over(tmp_path: Path):
    path = tmp_path / NAME
    _write_lock(path, pid=_dead_pid())
    lock, previous = EditLock.acquire(path, LockOwner.current("A. First"))
    assert previous is not None
    assert previous.annotator == "C. Old"
    assert lock.held()


def test_a_reused_pid_is_not_taken_for_the_holder(tmp_path: Path):
    path = tmp_path / NAME
    _write_lock(path, pid_started=1.0)  # our pid, but a process started in 1970
    assert read_lock(path).stale


def test_another_hosts_lock_is_stale_only_after_the_timeout(tmp_path: Path):
    path = tmp_path / NAME
    _write_lock(path, host="another-workstation", pid=1)
    with pytest.raises(LockHeldError):  # refreshed just now: its owner is at work
        EditLock.acquire(path, LockOwner.current("A. First"))
    old = time.time() - STALE_AFTER_S - 60
    os.utime(lock_path_for(path), (old, old))
    _lock, previous = EditLock.acquire(path, LockOwner.current("A. First"))
    assert previous is not None
    assert previous.host == "another-workstation"


def test_a_damaged_lock_is_replaced(tmp_path: Path):
    path = tmp_path / NAME
    lock_path_for(path).write_bytes(b"\x00garbage")
    old = time.time() - 60
    os.utime(lock_path_for(path), (old, old))
    lock, previous = EditLock.acquire(path, LockOwner.current("A. First"))
    assert previous is None
    assert lock.held()


# ------------------------------------------------------- per-session recovery
def test_one_sessions_save_never_deletes_another_sessions_recovery(tmp_path: Path):
    path = tmp_path / NAME
    first, second = LockOwner.current("A. First"), LockOwner.current("B. Second")
    hold_session(second.session)  # the second window is still open
    doc = empty_document()
    save_sidecar(doc, path, now=NOW)
    write_recovery(doc, path, now=LATER, owner=first)
    mine = write_recovery(doc, path, now=LATER, owner=second)
    save_sidecar(doc, path)  # the first session saves, and cleans up its own autosave
    discard_recovery(path, first.session)
    assert mine.exists()
    assert offered_recovery(path) is None  # a running session's file is never offered
    release_session(second.session)  # closed (crashed) without saving: now an orphan
    assert offered_recovery(path) is None  # ...older than the save, so not offered
    assert recovery_files(path) == [mine]  # but never deleted by another session


def test_a_crashed_sessions_recovery_is_offered_and_loaded(tmp_path: Path):
    path = tmp_path / NAME
    save_sidecar(empty_document(), path, now=NOW)
    crashed = LockOwner("A. First", socket.gethostname(), _dead_pid(), None, "0123456789ab", NOW)
    recovery = write_recovery(empty_document(), path, now=LATER, owner=crashed)
    assert offered_recovery(path) == recovery
    assert load_recovery(path) is not None
    other_host = LockOwner("B. Far", "elsewhere", 1, None, "ba9876543210", NOW)
    far = write_recovery(empty_document(), path, now=LATER, owner=other_host)
    assert offered_recovery(path) == recovery  # the other host's is fresh: alive
    old = time.time() - STALE_AFTER_S - 60
    os.utime(far, (old, old))
    assert offered_recovery(path) in (recovery, far)  # both orphans now; same moment


def test_the_recovery_file_of_older_versions_is_still_offered(tmp_path: Path):
    path = tmp_path / NAME
    legacy = write_recovery(empty_document(), path, now=LATER)
    assert legacy == tmp_path / ".DOE_JANE_0001.usannotate.recovery.json"
    assert offered_recovery(path) == legacy
