"""Remake the README's suggestions.png: a needle found and a fascial plane's snap, suggested.

    xvfb-run -a -s "-screen 0 1400x900x24" \
        .venv/bin/python resources/screenshots/make_suggestions.py

Drives the real main window on a copy of sample loop A with the assisted-marking
benchmark's helpers (benchmarks/bench_actions.py): frame 31, N (the needle found: left),
Y, then the superficial fascia drawn with 3 rough clicks and Enter (its snap to the
ridge suggested: right). Saves both views side by side here.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

import bench_actions as ba  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from usannotate.annotations.interpolation import resample  # noqa: E402

FRAME = 31


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="usannotate-shots-"))
    shutil.copy(ba.SAMPLE, work / "a.dcm")
    dialogs: list[str] = []
    app, window = ba._open_window(work / "a.dcm", work / "settings", dialogs)
    rec = ba.Recorder(app, window)
    truth = ba.Truth(ba.TRUTH)

    def shot() -> np.ndarray:
        QTest.qWait(400)
        image = window.view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
        w, h = image.width(), image.height()
        rows = np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())
        return rows[:, : w * 3].reshape(h, w, 3).copy()

    rec.go_to(FRAME)
    rec.key(Qt.Key.Key_N, "find the needle")
    if window.suggestions.suggestion is None:
        raise SystemExit("no needle found on frame 31")
    left = shot()
    rec.key(Qt.Key.Key_Y, "accept it")
    clicks = resample(truth.plane(FRAME, "superficial fascia"), 3, closed=False)
    clicks[:, 1] += 2.0 * np.array([1.0, -1.0, 1.0])  # rough: 2 px off the line
    rec.key(Qt.Key.Key_Escape, "select mode")
    rec.key(ba._qt_key("1"), "superficial fascia")
    for x, y in clicks:
        rec.click(x, y, "points")
    rec.key(Qt.Key.Key_Return, "finish")
    if window.suggestions.suggestion is None:
        raise SystemExit("no snap suggested")
    right = shot()
    gap = np.full((left.shape[0], 10, 3), 240, np.uint8)
    both = np.concatenate([left, gap, right], axis=1)
    # Cut to the rows with the banner and the image (of the left view: the gap is light).
    rows = np.nonzero((left.max(axis=2) > 100).sum(axis=1) > 3)[0]
    both = both[max(rows[0] - 12, 0) : rows[-1] + 12]
    out = Path(__file__).resolve().parent / "suggestions.png"
    cv2.imwrite(str(out), cv2.cvtColor(both, cv2.COLOR_RGB2BGR))
    print(f"wrote {out}")
    window.close()


if __name__ == "__main__":
    main()
