"""The installed app checked end to end: ``usannotate --smoke-test LOOP`` (hidden option).

Used by ``packaging/smoke.sh`` on the built bundle (not the source tree): the real window
opens the loop, a needle is marked, the worker process that draws marks during playback
starts (a frozen app must be able to spawn it), the sidecar is saved and read back, and
the app quits with 0; anything else prints one line and quits with 1.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

import psutil
from PySide6.QtWidgets import QApplication

from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.edits import AddObject
from usannotate.cine import CineError, open_cine
from usannotate.sidecar import load_sidecar, sidecar_path_for

#: How long the worker process may take to start in a cold bundle (s).
WORKER_START_S = 120.0

# The window (a MainWindow; not imported: it imports the modules this one is beside).
MainWindow = Any


def run_smoke_test(window: MainWindow, path: str) -> int:
    """Open ``path``, mark, start the marks worker, save, read back, close the window
    and quit the app; returns the exit status given to the app."""
    try:
        status = _smoke(window, path)
    except Exception as error:  # the smoke test reports, it never shows a traceback
        status = _fail(f"{type(error).__name__}: {error}")
    if window.session is not None:
        window.session.history.mark_saved()  # a failed run must not wait on a question
    window.close()  # as a user quits: the lock released, the worker process stopped
    QApplication.instance().exit(status)
    return status


def _smoke(window: MainWindow, path: str) -> int:
    try:  # the window would say why in a dialog, and a dialog waits for nobody here
        open_cine(path).close()
    except CineError as error:
        return _fail(f"the loop did not open: {error}")
    if not window.open_path(path) or window.session is None:
        return _fail("the loop did not open")
    QApplication.processEvents()  # the first frame painted
    on_screen_s = time.time() - psutil.Process().create_time()
    loop = window.loop
    rows, columns = loop.rows, loop.columns
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [(columns * 0.2, rows * 0.2), (columns * 0.5, rows * 0.5)])
    window.session.history.push(AddObject(needle))
    future = window.marks_view.playback.prepare()
    if future is None:
        return _fail("the worker process drawing the marks did not start")
    deadline = time.monotonic() + WORKER_START_S
    while not future.done() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)
    if not future.done() or future.exception() is not None:
        return _fail("the worker process drawing the marks did not answer")
    # Signed without asking (the settings of the machine are not touched).
    window.prefs = dataclasses.replace(window.prefs, annotator="smoke test", annotator_asked=True)
    if not window.save():
        return _fail("the sidecar was not saved")
    sidecar = sidecar_path_for(path)
    document = load_sidecar(sidecar, dicom_uid=loop.identity.sop_instance_uid)
    if document.annotations.get(needle.id) is None:
        return _fail("the saved sidecar does not hold the needle")
    print(
        f"smoke test passed: {loop.n_frames} frames, sidecar {sidecar.name}; "
        f"loop on screen {on_screen_s:.2f} s after the process started"
    )
    return 0


def _fail(message: str) -> int:
    print(f"usannotate smoke test failed: {message}", file=sys.stderr)
    return 1
