"""Remake the README's screenshots from the bundled sample loops (no patient data).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python resources/screenshots/make.py

Opens the real main window at 1400 x 900 on a copy of sample_dicoms/ (so no sidecar is
written beside the samples), marks the loop from its ground truth the way a user would
(keyframes, one tracked needle) and saves the window as PNG here.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

app = QApplication([])
work = Path(tempfile.mkdtemp(prefix="usannotate-shots-"))
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "settings"))
QSettings().setValue("preferences/annotator", "Screenshot")
QSettings().setValue("preferences/annotator_asked", True)

from usannotate.annotations import AnnotatedObject, ShapeKind  # noqa: E402
from usannotate.annotations.edits import AddObject  # noqa: E402
from usannotate.ui.main_window import MainWindow  # noqa: E402


def pump(ms: int = 300) -> None:
    end = time.monotonic() + ms / 1000
    while time.monotonic() < end:
        app.processEvents()


def save(window: MainWindow, name: str) -> None:
    pump()
    window.grab().save(str(HERE / f"{name}.png"))
    print("wrote", HERE / f"{name}.png")


def window_on(path: Path) -> MainWindow:
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    pump()
    window.open_path(str(path))
    pump()
    return window


folder = work / "loops"
folder.mkdir()
for dcm in (ROOT / "sample_dicoms").glob("*.dcm"):
    shutil.copy(dcm, folder / dcm.name)
sample = folder / "hydrodissection_linear_a.dcm"
truth = json.loads((ROOT / "sample_dicoms" / "hydrodissection_linear_a.truth.json").read_text())
frames = truth["frames"]

# 1. The viewer on a folder: nothing marked yet.
window = window_on(folder)
window.metadata_dock.raise_()
save(window, "viewer_sample_a")
window.close()

# 2. Tracks: planes and fluid on keyframes 10 frames apart, the needle tracked.
window = window_on(sample)


def add(label_id: str, kind: ShapeKind, geometry: dict[int, np.ndarray]) -> AnnotatedObject:
    obj = AnnotatedObject(label_id, kind)
    for frame, points in geometry.items():
        obj.set_points(frame, np.asarray(points, dtype=float))
    window.session.history.push(AddObject(obj))
    return obj


def plane(frame: int, index: int) -> np.ndarray:
    points = np.array(frames[frame]["fascial_planes"][index]["points"])
    return points[np.linspace(0, len(points) - 1, 8).astype(int)]


def outline(frame: int, n: int) -> np.ndarray:
    points = np.array(frames[frame]["fluid"]["outline"])
    return points[np.linspace(0, len(points), n, endpoint=False).astype(int)]


for index, label_id in enumerate(["fascia.superficial", "fascia.deep"]):
    add(label_id, ShapeKind.POLYLINE, {f: plane(f, index) for f in (0, 30, 59)})
fluid = add("fluid.injectate", ShapeKind.REGION, {f: outline(f, 12) for f in (30, 40, 50)})
needle = add(
    "needle",
    ShapeKind.NEEDLE,
    {f: [frames[f]["needle"]["entry"], frames[f]["needle"]["tip"]] for f in (20, 30)},
)
window.jump(30)
window.tools.select(needle.id)
window.tracks.track(1, 20)
while window.tracks.is_tracking:
    pump(100)
window.jump(45)
window.tools.select(fluid.id)
save(window, "tracks_sample_a")
window.session.history.mark_saved()  # nothing to ask on close
window.close()

# 3. Calibration overlays on scanner-like files: three regions side by side (ALOKA-like),
# a 19 cm deep SonoSite-like loop with burned-in text, and pydicom's SonoSite file whose
# region is larger than the image (fit is the image; the region is not used for mm).
from pydicom.data import get_testdata_file  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402

from tests.cine import scanner_cases  # noqa: E402

panels = []
for source in (
    scanner_cases.make_aloka_like_side_by_side(work).path,
    scanner_cases.make_sonosite_like_deep(work).path,
    Path(get_testdata_file("examples_ybr_color.dcm")),
):
    window = window_on(source)
    window.view.fit()
    pump()
    panels.append(window.view.grab().toImage())
    window.close()
height = 520
scaled = [p.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation) for p in panels]
sheet = QImage(
    sum(p.width() for p in scaled) + 8 * (len(scaled) - 1), height, QImage.Format.Format_RGB32
)
sheet.fill(QColor(255, 255, 255))
painter = QPainter(sheet)
x = 0
for panel in scaled:
    painter.drawImage(x, 0, panel)
    x += panel.width() + 8
painter.end()
sheet.save(str(HERE / "calibration_overlays.png"))
print("wrote", HERE / "calibration_overlays.png")
