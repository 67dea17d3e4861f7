"""A second process saving the same sidecar, for the lost-update tests.

python concurrent_saver.py once SIDECAR LOG GO MARK
    Load SIDECAR, write "ready" to LOG, wait for the file GO, add the mark MARK and
    save. On a conflict, log "conflict <who saved>" and "theirs <their mark ids>",
    then merge and save again ("merged"); otherwise "saved".
python concurrent_saver.py many SIDECAR LOG GO NAME COUNT
    Load SIDECAR, write "ready", wait for GO, then COUNT times: add mark NAME-i and
    save; on a conflict log it, merge their version in and save again, until saved.
    Logs "saved NAME-i" after each save that returned.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.sidecar import SidecarConflictError, SidecarDocument, load_sidecar, save_sidecar
from usannotate.sidecar.merge import merge_documents


def mark(doc: SidecarDocument, mark_id: str, number: int) -> None:
    target = AnnotatedObject("target", ShapeKind.POINT, id=mark_id)
    target.set_points(0, [(10.0 + number % 600, 20.0 + number // 600)])
    doc.annotations.add(target)


def log(fd: int, line: str) -> None:
    os.write(fd, f"{line}\n".encode())


def wait_for(path: str) -> None:
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit("never told to start")
        time.sleep(0.005)


def save_until_saved(doc: SidecarDocument, path: str, fd: int) -> SidecarDocument:
    while True:
        try:
            save_sidecar(doc, path)
            return doc
        except SidecarConflictError as conflict:
            log(fd, f"conflict {conflict.saved_by}")
            doc, _ = merge_documents(conflict)


def main(mode: str, sidecar: str, log_path: str, go: str, *args: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    doc = load_sidecar(sidecar)
    doc.extra.top["saved_by"] = f"process {os.getpid()}"
    log(fd, "ready")
    wait_for(go)
    if mode == "once":
        mark(doc, args[0], 1)
        try:
            save_sidecar(doc, sidecar)
            log(fd, "saved")
        except SidecarConflictError as conflict:
            log(fd, f"conflict {conflict.saved_by}")
            theirs = " ".join(o.id for o in conflict.theirs.annotations.objects)
            log(fd, f"theirs {theirs}")
            merged, _ = merge_documents(conflict)
            save_sidecar(merged, sidecar)
            log(fd, "merged")
    else:
        name, count = args[0], int(args[1])
        for i in range(count):
            mark(doc, f"{name}-{i}", i)
            doc = save_until_saved(doc, sidecar, fd)
            log(fd, f"saved {name}-{i}")
    log(fd, "done")


if __name__ == "__main__":
    main(*sys.argv[1:])
