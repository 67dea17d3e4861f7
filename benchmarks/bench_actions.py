"""User actions (clicks and keys) to annotate a sample loop: by hand against keyframes
every 10 frames plus tracking, in the real main window (offscreen Qt).

    .venv/bin/python benchmarks/bench_actions.py
    .venv/bin/python benchmarks/bench_actions.py --hard   # workflow C on a hard loop

The loop is sample_dicoms/hydrodissection_linear_a.dcm (60 frames, 640x480), copied to a
temporary folder so its sidecar lands there; settings are isolated in a temporary folder.
The structures are those of its ground truth (hydrodissection_linear_a.truth.json): the
superficial and deep fascia (open polylines, 8 clicks each, evenly spaced along the true
curve, then Enter), the needle (entry then tip, 2 clicks) and the injected fluid (a
closed outline, 12 clicks evenly spaced along the true outline, then Enter). Everything
is sent as real Qt events: mouse presses and releases on the view's viewport at the
image points mapped to the screen, keys through ``QTest.keyClick`` to the focused widget
(so window shortcuts fire as on a keyboard). A ``Recorder`` counts what it sends:
clicks = mouse presses (a drag is one press), keys = key presses (Ctrl+T is one key).

Workflow A, by hand: on every frame, each structure present is drawn from scratch
(label key, clicks, Enter), then Right goes to the next frame. Every frame is a keyframe.

Workflow B, keyframes every 10 frames + tracking: the planes on frames 0, 10, ..., 50, 59,
the fluid on its first frame, +10, ..., its last frame, the needle on its first frame,
then Ctrl+T tracks the needle forward (optical flow in the background). Then review:
the loop is played (Space, Space) and every frame of every structure is compared with
the truth; where one is off (needle tip or entry > 1 mm; plane or fluid > 2 px mean
boundary distance) the user corrects it as in the app: goes to the first such frame
(fewest arrow / Shift+arrow / Home / End keys), drags the needle's tip (or entry) to the
true point and tracks forward again (Ctrl+T), or drags the worst vertices of a plane or
the fluid onto the true boundary; repeated until every frame is within tolerance. The
tracked frames are then confirmed (Ctrl+Return) and the marks saved (Ctrl+S).

Workflow C, assisted marking (issue 15; benchmarks/_assisted.py): each plane from 3
rough clicks snapped to its ridge (Y accepts) and tracked (Ctrl+T), the needle found (N,
Y) and tracked, the fluid keyframed on its first frame and 5 frames later and followed by
its image from there (Ctrl+T); then the same review and corrections as B.

All workflows must leave each of the 4 objects on every frame where the truth has its
structure (and nowhere else), and a sidecar on disk. Results go to
benchmarks/results/actions.json and actions.md.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from usannotate.annotations.interpolation import resample  # noqa: E402

SAMPLE = ROOT / "sample_dicoms" / "hydrodissection_linear_a.dcm"
TRUTH = ROOT / "sample_dicoms" / "hydrodissection_linear_a.truth.json"
RESULTS = HERE / "results"
WINDOW_SIZE = (1400, 900)
KEYFRAME_STEP = 10
PLANE_CLICKS = 8
FLUID_CLICKS = 12
#: Review tolerances: beyond these a user would correct the frame.
NEEDLE_TOLERANCE_MM = 1.0
PLANE_TOLERANCE_PX = 2.0
FLUID_TOLERANCE_PX = 2.0
#: A review that has not converged after this many corrections is reported as such.
MAX_CORRECTIONS = 300

#: The fascial planes drawn: structure -> the truth's plane name.
PLANES = {"superficial fascia": "superficial_fascia", "deep fascia": "deep_fascia"}
STRUCTURES = ("superficial fascia", "deep fascia", "needle", "fluid")
LABEL_OF = {
    "superficial fascia": "fascia.superficial",
    "deep fascia": "fascia.deep",
    "needle": "needle",
    "fluid": "fluid.injectate",
}
#: The default label set's keys (resources/labels/hydrodissection.json).
KEY_OF = {"superficial fascia": "1", "deep fascia": "2", "needle": "4", "fluid": "5"}


# ------------------------------------------------------------------------ geometry
def _dense(points: np.ndarray, closed: bool, step_px: float = 1.0) -> np.ndarray:
    """``points`` resampled about every ``step_px`` along the line (or outline)."""
    points = np.asarray(points, dtype=np.float64)
    ring = np.vstack([points, points[:1]]) if closed else points
    length = float(np.hypot(*np.diff(ring, axis=0).T).sum())
    return resample(points, max(int(length / step_px), 4), closed=closed)


def _distances_to(samples: np.ndarray, line: np.ndarray, closed: bool) -> np.ndarray:
    """Distance (px) from each of ``samples`` to the polyline (or outline) ``line``."""
    ring = np.vstack([line, line[:1]]) if closed else line
    starts, ends = ring[:-1], ring[1:]
    direction = ends - starts
    length2 = np.einsum("ij,ij->i", direction, direction)
    length2[length2 == 0] = 1.0
    offset = samples[:, None, :] - starts[None]
    t = np.clip(np.einsum("nsk,sk->ns", offset, direction) / length2, 0.0, 1.0)
    foot = starts[None] + t[..., None] * direction[None]
    return np.hypot(*(foot - samples[:, None, :]).transpose(2, 0, 1)).min(axis=1)


def boundary_distance(drawn: np.ndarray, truth: np.ndarray, closed: bool) -> float:
    """Symmetric mean boundary distance (px): the mean distance from points spread along
    each line to the other line, averaged over both directions."""
    drawn = np.asarray(drawn, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    there = _distances_to(_dense(drawn, closed), truth, closed).mean()
    back = _distances_to(_dense(truth, closed), drawn, closed).mean()
    return float(0.5 * (there + back))


class Truth:
    """The sample's ground truth, frame by frame, and the clicks a sonographer makes."""

    def __init__(self, path: Path) -> None:
        data = json.loads(path.read_text())
        self.frames = data["frames"]
        self.n_frames = int(data["n_frames"])
        self.mm_per_px = float(data["mm_per_px_x"])
        assert abs(self.mm_per_px - float(data["mm_per_px_y"])) < 1e-9, "pixels not square"

    def plane(self, frame: int, structure: str) -> np.ndarray:
        name = PLANES[structure]
        found = [p["points"] for p in self.frames[frame]["fascial_planes"] if p["name"] == name]
        return np.array(found[0], dtype=np.float64)

    def needle(self, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
        needle = self.frames[frame]["needle"]
        if needle is None:
            return None
        return np.array(needle["entry"], dtype=np.float64), np.array(needle["tip"], dtype=float)

    def fluid(self, frame: int) -> np.ndarray | None:
        fluid = self.frames[frame]["fluid"]
        return None if fluid is None else np.array(fluid["outline"], dtype=np.float64)

    def present(self, structure: str) -> list[int]:
        """Frames where ``structure`` is in the image."""
        if structure in PLANES:
            return list(range(self.n_frames))
        get = self.needle if structure == "needle" else self.fluid
        return [f for f in range(self.n_frames) if get(f) is not None]

    def clicks(self, frame: int, structure: str) -> np.ndarray:
        """Where a sonographer clicks to draw ``structure`` on ``frame``."""
        if structure in PLANES:
            return resample(self.plane(frame, structure), PLANE_CLICKS, closed=False)
        if structure == "fluid":
            outline = self.fluid(frame)
            assert outline is not None
            return resample(outline, FLUID_CLICKS, closed=True)
        needle = self.needle(frame)
        assert needle is not None
        return np.array(needle)

    def error(self, frame: int, structure: str, points: np.ndarray) -> float:
        """The mark's error on ``frame``: mm for the needle (worse of tip and entry),
        mean boundary distance in px for a plane or the fluid."""
        if structure in PLANES:
            return boundary_distance(points, self.plane(frame, structure), closed=False)
        if structure == "fluid":
            outline = self.fluid(frame)
            assert outline is not None
            return boundary_distance(points, outline, closed=True)
        entry, tip = self.needle(frame)  # type: ignore[misc]
        return float(self.mm_per_px * max(_hypot(points[1] - tip), _hypot(points[0] - entry)))

    def tip_error_mm(self, frame: int, points: np.ndarray) -> float:
        needle = self.needle(frame)
        assert needle is not None
        return float(self.mm_per_px * _hypot(points[1] - needle[1]))


def _hypot(v: np.ndarray) -> float:
    return float(np.hypot(v[0], v[1]))


TOLERANCE = {
    "superficial fascia": PLANE_TOLERANCE_PX,
    "deep fascia": PLANE_TOLERANCE_PX,
    "needle": NEEDLE_TOLERANCE_MM,
    "fluid": FLUID_TOLERANCE_PX,
}
UNIT = {"superficial fascia": "px", "deep fascia": "px", "needle": "mm", "fluid": "px"}


# ------------------------------------------------------------------------ the hand
@dataclass
class Recorder:
    """Sends real mouse and key events to the window and counts them.

    clicks: mouse presses (a click is press + release; a drag is press, moves, release:
    one click). keys: key presses (a shortcut with modifiers is one key). Hovering moves
    are sent too (the cursor travels to where it clicks) and not counted.
    """

    app: object
    window: object
    clicks: int = 0
    keys: int = 0
    by_purpose: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    # --------------------------------------------------------------- mouse
    def _viewport_point(self, x: float, y: float):
        from PySide6.QtCore import QPointF

        return self.window.view.mapFromScene(QPointF(float(x), float(y)))

    def _mouse(self, kind, at, button, buttons) -> None:
        from PySide6.QtCore import QPointF, Qt
        from PySide6.QtGui import QMouseEvent
        from PySide6.QtWidgets import QApplication

        viewport = self.window.view.viewport()
        event = QMouseEvent(
            kind,
            QPointF(at),
            QPointF(viewport.mapToGlobal(at)),
            button,
            buttons,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(viewport, event)

    def click(self, x: float, y: float, purpose: str) -> None:
        from PySide6.QtCore import QEvent, Qt

        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        at = self._viewport_point(x, y)
        self._mouse(QEvent.Type.MouseMove, at, none, none)
        self._mouse(QEvent.Type.MouseButtonPress, at, left, left)
        self._mouse(QEvent.Type.MouseButtonRelease, at, left, none)
        self.clicks += 1
        self.by_purpose[f"click: {purpose}"] += 1
        self.app.processEvents()

    def drag(self, start: np.ndarray, end: np.ndarray, purpose: str, steps: int = 6) -> None:
        from PySide6.QtCore import QEvent, Qt

        left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
        first = self._viewport_point(*start)
        self._mouse(QEvent.Type.MouseMove, first, none, none)
        self._mouse(QEvent.Type.MouseButtonPress, first, left, left)
        for t in np.linspace(0.0, 1.0, steps + 1)[1:]:
            at = self._viewport_point(*(np.asarray(start) + t * (np.asarray(end) - start)))
            self._mouse(QEvent.Type.MouseMove, at, none, left)
        self._mouse(QEvent.Type.MouseButtonRelease, at, left, none)
        self.clicks += 1
        self.by_purpose[f"drag: {purpose}"] += 1
        self.app.processEvents()

    # ---------------------------------------------------------------- keys
    def key(self, key, purpose: str, modifiers=None) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication

        modifiers = Qt.KeyboardModifier.NoModifier if modifiers is None else modifiers
        target = QApplication.focusWidget() or self.window
        QTest.keyClick(target, key, modifiers)
        self.keys += 1
        self.by_purpose[f"key: {purpose}"] += 1
        self.app.processEvents()

    def play_through(self, purpose: str) -> None:
        """Space, watch the loop once, Space: a review of every frame."""
        from PySide6.QtCore import Qt

        window = self.window
        self.key(Qt.Key.Key_Space, purpose)
        seconds = window.loop.n_frames * float(window.loop.frame_time_ms) / 1000.0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.app.processEvents()
            time.sleep(0.002)
        self.key(Qt.Key.Key_Space, purpose)
        if window.playback.is_playing:
            self.notes.append("Space did not pause playback")

    def wait_for_tracking(self, timeout_s: float = 120.0) -> None:
        tracks = self.window.tracks
        deadline = time.perf_counter() + timeout_s
        while tracks.is_tracking:
            tracks.wait(0.05)
            self.app.processEvents()
            if time.perf_counter() > deadline:
                raise RuntimeError("tracking did not finish")
        self.app.processEvents()

    # ---------------------------------------------------------------- frames
    def go_to(self, frame: int) -> None:
        """Go to ``frame`` with the fewest of Right / Left, Shift+Right / Shift+Left
        (10 frames), Home and End."""
        from PySide6.QtCore import Qt

        window = self.window
        last = window.loop.n_frames - 1
        best: list | None = None
        for start, prefix in (
            (window.index, []),
            (0, [(Qt.Key.Key_Home, None)]),
            (last, [(Qt.Key.Key_End, None)]),
        ):
            d = frame - start
            for tens in range(-(abs(d) // 10) - 1, abs(d) // 10 + 2):
                if not 0 <= start + 10 * tens <= last:
                    continue  # the step would be clamped at the loop's end
                ones = d - 10 * tens
                shift = Qt.KeyboardModifier.ShiftModifier
                plan = [
                    *prefix,
                    *[(Qt.Key.Key_Right if tens > 0 else Qt.Key.Key_Left, shift)] * abs(tens),
                    *[(Qt.Key.Key_Right if ones > 0 else Qt.Key.Key_Left, None)] * abs(ones),
                ]
                if best is None or len(plan) < len(best):
                    best = plan
        assert best is not None
        for key, modifiers in best:
            self.key(key, "go to a frame", modifiers)
        if window.index != frame:
            raise RuntimeError(f"navigation reached frame {window.index}, not {frame}")


# --------------------------------------------------------------------- the window
def _qt_key(digit: str):
    from PySide6.QtCore import Qt

    return getattr(Qt.Key, f"Key_{digit}")


def _open_window(loop_path: Path, settings: Path, dialogs: list[str]):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication([])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings))
    QSettings().clear()

    # A dialog would block the run: record it and answer as a careful user would.
    def question(parent, title, text, *args, **kwargs):
        dialogs.append(f"question: {title}: {text}")
        return QMessageBox.StandardButton.Discard

    def warning(parent, title, text, *args, **kwargs):
        dialogs.append(f"warning: {title}: {text}")
        return QMessageBox.StandardButton.Ok

    QMessageBox.question = question  # type: ignore[method-assign]
    QMessageBox.warning = warning  # type: ignore[method-assign]
    QMessageBox.information = warning  # type: ignore[method-assign]

    from usannotate.ui.main_window import MainWindow

    window = MainWindow()
    if hasattr(window, "apply_preferences"):  # the first save would ask who annotates
        from dataclasses import replace

        window.apply_preferences(replace(window.prefs, annotator="Benchmark rater"))
    window.resize(*WINDOW_SIZE)
    window.show()
    window.activateWindow()
    app.processEvents()
    if not window.open_path(str(loop_path)):
        raise SystemExit(f"cannot open {loop_path}")
    app.processEvents()
    window.view.setFocus()
    return app, window


def _objects(window) -> dict[str, list]:
    annotations = window.session.document.annotations
    return {s: [o for o in annotations.objects if o.label_id == LABEL_OF[s]] for s in STRUCTURES}


def _the_object(window, structure: str):
    found = _objects(window)[structure]
    if len(found) != 1:
        raise RuntimeError(f"{len(found)} objects of {structure}, expected one")
    return found[0]


# ------------------------------------------------------------------------ drawing
def draw(rec: Recorder, truth: Truth, structure: str) -> None:
    """Choose the structure's label with its key and draw it where the truth is."""
    from PySide6.QtCore import Qt

    window = rec.window
    frame = window.index
    points = truth.clicks(frame, structure)
    key = KEY_OF[structure]
    rec.key(_qt_key(key), f"label ({structure})")
    if window.tools.mode != "draw" or window.tools.label.id != LABEL_OF[structure]:
        raise RuntimeError(f"key {key} did not start drawing {structure}")
    for x, y in points:
        rec.click(x, y, f"points ({structure})")
    if structure != "needle":
        rec.key(Qt.Key.Key_Return, f"finish ({structure})")
    drawn = _objects(window)[structure]
    stored = [o.stored_points(frame) for o in drawn if o.stored_points(frame) is not None]
    if len(drawn) != 1 or len(stored) != 1:
        raise RuntimeError(
            f"frame {frame}: drawing {structure} left {len(drawn)} objects, "
            f"{len(stored)} stored on this frame"
        )
    if stored[0].shape != points.shape:
        rec.notes.append(
            f"frame {frame}: {structure} drawn with {len(points)} clicks has "
            f"{len(stored[0])} points"
        )
    elif np.abs(stored[0] - points).max() > 1.5 / window.view.zoom + 1e-6:
        rec.notes.append(f"frame {frame}: {structure} points not where clicked")


def workflow_by_hand(truth: Truth, loop_path: Path, settings: Path) -> dict:
    from PySide6.QtCore import Qt

    dialogs: list[str] = []
    app, window = _open_window(loop_path, settings, dialogs)
    rec = Recorder(app, window)
    started = time.perf_counter()
    for frame in range(truth.n_frames):
        assert window.index == frame
        for structure in STRUCTURES:
            if frame in truth.present(structure):
                draw(rec, truth, structure)
        if frame < truth.n_frames - 1:
            rec.key(Qt.Key.Key_Right, "go to a frame")
    return _finish(rec, truth, started, dialogs, corrections=[], sources_before_confirm=None)


def workflow_keyframes(truth: Truth, loop_path: Path, settings: Path) -> dict:
    from PySide6.QtCore import Qt

    dialogs: list[str] = []
    app, window = _open_window(loop_path, settings, dialogs)
    rec = Recorder(app, window)
    started = time.perf_counter()
    last = truth.n_frames - 1
    # Planes: 0, 10, ..., 50, then the last frame.
    for frame in [*range(0, last, KEYFRAME_STEP), last]:
        rec.go_to(frame)
        for structure in PLANES:
            draw(rec, truth, structure)
    # Fluid, from the last frame back (it is there): last, -10, ..., its first frame.
    fluid_frames = truth.present("fluid")
    first_fluid, last_fluid = fluid_frames[0], fluid_frames[-1]
    for frame in sorted({*range(first_fluid, last_fluid, KEYFRAME_STEP), last_fluid}, reverse=True):
        rec.go_to(frame)
        draw(rec, truth, "fluid")
    # Needle on its first frame, tracked forward.
    rec.go_to(truth.present("needle")[0])
    draw(rec, truth, "needle")  # the new needle is selected
    needle = _the_object(window, "needle")
    if window.tools.selected != needle.id:
        rec.notes.append("the needle just drawn was not selected")
    rec.key(Qt.Key.Key_T, "track (Ctrl+T)", Qt.KeyboardModifier.ControlModifier)
    if not window.tracks.is_tracking and not needle.tracked:
        raise RuntimeError("Ctrl+T did not start tracking the needle")
    rec.wait_for_tracking()
    tracked_first = sorted(needle.tracked)

    corrections: list[dict] = []
    accepted: set[tuple[int, str]] = set()  # still off after a correction: left as is
    first_errors = _errors(window, truth)
    while True:
        rec.play_through("review (Space, Space)")
        bad = [b for b in _bad_frames(window, truth) if b not in accepted]
        if not bad:
            break
        if len(corrections) >= MAX_CORRECTIONS:
            rec.notes.append(f"review stopped after {MAX_CORRECTIONS} corrections")
            break
        # A bad keyframe spoils the frames interpolated from it: fix keyframes first.
        frame, structure = min(bad, key=lambda b: (not _is_keyframe(window, *b), b))
        before = rec.clicks + rec.keys
        rec.go_to(frame)
        if window.tools.mode == "draw":
            rec.key(Qt.Key.Key_Escape, "Esc (to select mode)")
        if structure == "needle":
            _correct_needle(rec, truth, frame)
        else:
            _correct_outline(rec, truth, frame, structure)
        corrections.append(
            {"frame": frame, "structure": structure, "actions": rec.clicks + rec.keys - before}
        )
        if (frame, structure) in _bad_frames(window, truth):
            accepted.add((frame, structure))
            rec.notes.append(f"frame {frame}: {structure} still off after its correction")
    sources = {s: _source_counts(window, s) for s in STRUCTURES}
    # The reviewed tracked frames become keyframes: Ctrl+Return confirms the selected
    # mark's, or every mark's with nothing selected (Esc deselects).
    for _ in range(2):
        if window.tools.selected in (None, needle.id):
            break
        rec.key(Qt.Key.Key_Escape, "Esc (deselect)")
    rec.key(Qt.Key.Key_Return, "confirm tracked (Ctrl+Return)", Qt.KeyboardModifier.ControlModifier)
    if needle.tracked:
        rec.notes.append(
            f"Ctrl+Return left {len(needle.tracked)} tracked needle frames unconfirmed"
        )
    result = _finish(rec, truth, started, dialogs, corrections, sources)
    result["needle_frames_tracked_by_the_first_ctrl_t"] = len(tracked_first)
    result["errors_before_review"] = _summary(first_errors)
    return result


def _correct_needle(rec: Recorder, truth: Truth, frame: int) -> None:
    """Drag the needle's tip (and its entry if it is off) onto the truth, then track
    forward again from this frame (the drag selected the needle)."""
    from PySide6.QtCore import Qt

    window = rec.window
    needle = _the_object(window, "needle")
    entry, tip = truth.needle(frame)  # type: ignore[misc]
    tolerance_px = TOLERANCE["needle"] / truth.mm_per_px
    for index, target, what in ((1, tip, "tip"), (0, entry, "entry")):
        shown = needle.points(frame)
        if _hypot(shown[index] - target) <= tolerance_px:
            continue
        before = {o.id: o.stored_points(frame) for o in _objects_flat(window)}
        rec.drag(shown[index], target, f"needle {what} onto the truth")
        after = {o.id: o.stored_points(frame) for o in _objects_flat(window)}
        changed = [i for i in after if not _same(before.get(i), after[i])]
        if not changed:  # under the drag threshold (a few screen px): nothing moves
            rec.notes.append(f"frame {frame}: dragging the needle {what} changed nothing")
        elif changed != [needle.id]:
            rec.notes.append(
                f"frame {frame}: dragging the needle {what} changed "
                f"{[_name(window, i) for i in changed]}"
            )
            rec.key(Qt.Key.Key_Z, "undo (Ctrl+Z)", Qt.KeyboardModifier.ControlModifier)
    if window.tools.selected != needle.id:
        rec.notes.append(f"frame {frame}: the needle was not selected after the drag")
        middle = needle.points(frame).mean(axis=0)
        rec.click(*middle, "select the needle")
    if frame < truth.n_frames - 1:
        rec.key(Qt.Key.Key_T, "track (Ctrl+T)", Qt.KeyboardModifier.ControlModifier)
        rec.wait_for_tracking()


def _correct_outline(rec: Recorder, truth: Truth, frame: int, structure: str) -> None:
    """Drag the vertex farthest from the true line onto it, until the mark is within
    tolerance (each drag a click)."""
    from PySide6.QtCore import Qt

    window = rec.window
    obj = _the_object(window, structure)
    true_line = truth.plane(frame, structure) if structure in PLANES else truth.fluid(frame)
    closed = structure == "fluid"
    for _ in range(4 * FLUID_CLICKS):
        points = obj.points(frame)
        if truth.error(frame, structure, points) <= TOLERANCE[structure]:
            return
        distances = _distances_to(points, true_line, closed)
        worst = int(np.argmax(distances))
        target = _dense(true_line, closed, 0.25)
        nearest = target[int(np.argmin(np.hypot(*(target - points[worst]).T)))]
        before = {o.id: o.stored_points(frame) for o in _objects_flat(window)}
        rec.drag(points[worst], nearest, f"{structure} vertex onto the truth")
        after = {o.id: o.stored_points(frame) for o in _objects_flat(window)}
        changed = [i for i in after if not _same(before.get(i), after[i])]
        if changed != [obj.id]:
            rec.notes.append(
                f"frame {frame}: dragging a {structure} vertex changed "
                f"{[_name(window, i) for i in changed] or 'nothing'}"
            )
            if changed:
                rec.key(Qt.Key.Key_Z, "undo (Ctrl+Z)", Qt.KeyboardModifier.ControlModifier)
            return
    rec.notes.append(f"frame {frame}: {structure} still off after vertex drags")


def _is_keyframe(window, frame: int, structure: str) -> bool:
    obj = _the_object(window, structure)
    return frame in obj.frames and frame not in obj.tracked


def _objects_flat(window) -> list:
    return list(window.session.document.annotations.objects)


def _name(window, object_id: str) -> str:
    obj = window.session.document.annotations.get(object_id)
    return obj.label_id if obj is not None else object_id


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and np.array_equal(a, b)


# ------------------------------------------------------------------------- review
def _errors(window, truth: Truth) -> dict[str, dict[int, float]]:
    """Each structure's error on every frame where the truth has it (inf if missing)."""
    out: dict[str, dict[int, float]] = {}
    objects = _objects(window)
    for structure in STRUCTURES:
        found = objects[structure]
        errors = {}
        for frame in truth.present(structure):
            points = found[0].points(frame) if len(found) == 1 else None
            errors[frame] = np.inf if points is None else truth.error(frame, structure, points)
        out[structure] = errors
    return out


def _bad_frames(window, truth: Truth) -> list[tuple[int, str]]:
    errors = _errors(window, truth)
    bad = [
        (frame, structure)
        for structure, by_frame in errors.items()
        for frame, error in by_frame.items()
        if error > TOLERANCE[structure]
    ]
    return sorted(bad)


def _summary(errors: dict[str, dict[int, float]]) -> dict[str, dict]:
    out = {}
    for structure, by_frame in errors.items():
        values = np.array(list(by_frame.values()))
        out[structure] = {
            "unit": UNIT[structure],
            "mean": round(float(values.mean()), 3),
            "max": round(float(values.max()), 3),
            "frames_over_tolerance": int((values > TOLERANCE[structure]).sum()),
        }
    return out


def _source_counts(window, structure: str) -> dict[str, int]:
    obj = _the_object(window, structure)
    counts = Counter(s.value for s in obj.frame_sources(window.loop.n_frames).values())
    return {k: counts.get(k, 0) for k in ("keyframe", "tracked", "interpolated")}


def _finish(
    rec: Recorder,
    truth: Truth,
    started: float,
    dialogs: list[str],
    corrections: list[dict],
    sources_before_confirm: dict | None,
) -> dict:
    """Save with Ctrl+S, check the marks are complete and the sidecar written."""
    from PySide6.QtCore import Qt

    window = rec.window
    rec.key(Qt.Key.Key_S, "save (Ctrl+S)", Qt.KeyboardModifier.ControlModifier)
    wall_s = time.perf_counter() - started
    sidecar = window.session.path
    if not sidecar.exists():
        raise RuntimeError(f"Ctrl+S wrote no sidecar at {sidecar}")
    if window.session.is_modified:
        raise RuntimeError("still modified after Ctrl+S")
    objects = _objects(window)
    complete = {}
    for structure in STRUCTURES:
        if len(objects[structure]) != 1:
            raise RuntimeError(f"{len(objects[structure])} objects of {structure}")
        frames = set(objects[structure][0].frame_sources(truth.n_frames))
        wanted = set(truth.present(structure))
        if frames != wanted:
            raise RuntimeError(
                f"{structure} is on frames {sorted(frames)}, the truth on {sorted(wanted)}"
            )
        complete[structure] = len(frames)
    # The sidecar reads back (validated) with the same tracks on the same frames.
    from usannotate.sidecar import load_sidecar

    saved = load_sidecar(sidecar).annotations
    for structure in STRUCTURES:
        [obj] = [o for o in saved.objects if o.label_id == LABEL_OF[structure]]
        if len(obj.frame_sources(truth.n_frames)) != complete[structure]:
            raise RuntimeError(f"the saved {structure} is not on the frames it was marked on")
    errors = _errors(window, truth)
    tip = [truth.tip_error_mm(f, objects["needle"][0].points(f)) for f in truth.present("needle")]
    result = {
        "clicks": rec.clicks,
        "keys": rec.keys,
        "actions": rec.clicks + rec.keys,
        "breakdown": dict(sorted(rec.by_purpose.items())),
        "frames_annotated": complete,
        "sources": {s: _source_counts(window, s) for s in STRUCTURES},
        "sources_before_confirm": sources_before_confirm,
        "errors": _summary(errors),
        "needle_tip_error_mm": {
            "mean": round(float(np.mean(tip)), 3),
            "max": round(float(np.max(tip)), 3),
        },
        "corrections": corrections,
        "sidecar_bytes": sidecar.stat().st_size,
        "wall_s": round(wall_s, 1),
        "zoom": round(window.view.zoom, 3),
        "notes": rec.notes,
        "dialogs": dialogs,
    }
    window.close()
    rec.app.processEvents()
    return result


# ------------------------------------------------------------------------- report
def _by_structure_rows(result: dict) -> list[str]:
    rows = []
    for structure in STRUCTURES:
        sources = result["sources_before_confirm"] or result["sources"]
        s = sources[structure]
        e = result["errors"][structure]
        rows.append(
            f"| {structure} | {result['frames_annotated'][structure]} | {s['keyframe']} | "
            f"{s['tracked']} | {s['interpolated']} | {e['mean']} | {e['max']} {e['unit']} |"
        )
    return rows


def report(results: dict) -> str:
    a, b = results["by_hand"], results["keyframes_tracking"]
    c = results["assisted"]
    lines = [
        "# User actions to annotate a loop: by hand vs keyframes + tracking",
        "",
        "`.venv/bin/python benchmarks/bench_actions.py`",
        "",
        f"Loop `{results['loop']}` ({results['n_frames']} frames, 640x480): superficial and "
        f"deep fascia on every frame, the needle on {results['needle_frames']} frames, the "
        f"injected fluid on {results['fluid_frames']}. Real main window "
        f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]} (offscreen Qt, image zoom "
        f"{a['zoom']}), real mouse and key events; a click is a mouse press (a drag is one), "
        "a key a key press (Ctrl+T is one). A plane is clicked with "
        f"{PLANE_CLICKS} points + Enter, the fluid with {FLUID_CLICKS} points + Enter, the "
        f"needle with 2 (entry, tip), in both workflows. {results['machine']}.",
        "",
        "| workflow | clicks | keys | total actions | wall time (s) |",
        "|---|---|---|---|---|",
        f"| A: every frame by hand | {a['clicks']} | {a['keys']} | **{a['actions']}** | "
        f"{a['wall_s']} |",
        f"| B: keyframes every {KEYFRAME_STEP} frames + needle tracking + review | "
        f"{b['clicks']} | {b['keys']} | **{b['actions']}** | {b['wall_s']} |",
        f"| C: assisted (planes of 3 clicks snapped + tracked, needle found + tracked, "
        f"fluid followed by its image) + review | {c['clicks']} | {c['keys']} | "
        f"**{c['actions']}** | {c['wall_s']} |",
        "",
        f"- C needs **{results['assisted_percent_of_by_hand']}%** of A's actions "
        f"(target: under 5%); its review: {len(c['corrections'])} correction(s) "
        f"({sum(x['actions'] for x in c['corrections'])} actions).",
        f"- B needs **{results['ratio']}x fewer** actions than A "
        f"({b['actions']} vs {a['actions']}, {results['saved_percent']}% saved).",
        f"- Review tolerances: needle tip and entry {NEEDLE_TOLERANCE_MM} mm, planes "
        f"{PLANE_TOLERANCE_PX} px and fluid {FLUID_TOLERANCE_PX} px mean boundary distance "
        f"(symmetric). B's review: {len(b['corrections'])} correction(s) "
        f"({sum(c['actions'] for c in b['corrections'])} actions); Ctrl+T tracked "
        f"{b['needle_frames_tracked_by_the_first_ctrl_t']} needle frames.",
        "",
        "Frames per structure and final error against the truth (B: sources before its "
        "tracked frames were confirmed as keyframes):",
        "",
        "| workflow | structure | frames | keyframes | tracked | interpolated | mean error "
        "| max error |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, result in (("A", a), ("B", b), ("C", c)):
        lines += [f"| {name} " + row for row in _by_structure_rows(result)]
    lines += [
        "",
        f"Needle tip error (mm): A mean {a['needle_tip_error_mm']['mean']}, max "
        f"{a['needle_tip_error_mm']['max']}; B mean {b['needle_tip_error_mm']['mean']}, max "
        f"{b['needle_tip_error_mm']['max']}; C mean {c['needle_tip_error_mm']['mean']}, max "
        f"{c['needle_tip_error_mm']['max']}. Needle errors above are the worse of tip and "
        "entry. The plane floor (~1.06 px superficial, ~0.33 px deep) is what 8 clicks on "
        "the wavy true line can reach; it is the same by hand.",
        "",
        "Breakdown:",
        "",
        "| action | A | B | C |",
        "|---|---|---|---|",
    ]
    for purpose in sorted(set(a["breakdown"]) | set(b["breakdown"]) | set(c["breakdown"])):
        lines.append(
            f"| {purpose} | {a['breakdown'].get(purpose, 0)} | {b['breakdown'].get(purpose, 0)} "
            f"| {c['breakdown'].get(purpose, 0)} |"
        )
    if b["corrections"]:
        lines += [
            "",
            "B's corrections (frame, structure, actions): "
            + ", ".join(f"{c['frame']} {c['structure']} ({c['actions']})" for c in b["corrections"])
            + ".",
        ]
    if c["corrections"]:
        lines += [
            "",
            "C's corrections (frame, structure, actions): "
            + ", ".join(f"{x['frame']} {x['structure']} ({x['actions']})" for x in c["corrections"])
            + ".",
        ]
    notes = [*a["notes"], *a["dialogs"], *b["notes"], *b["dialogs"], *c["notes"], *c["dialogs"]]
    lines += ["", "Notes from driving the UI: " + ("; ".join(notes) if notes else "none") + "."]
    return "\n".join(lines) + "\n"


def main() -> int:
    import PySide6

    if "--hard" in sys.argv[1:]:  # workflow C on the hard variant of loop a only
        from _assisted import run_on_hard

        RESULTS.mkdir(exist_ok=True)
        hard = run_on_hard(sys.modules[__name__], RESULTS)
        print(
            f"C on the hard loop: {hard['actions']} actions, {len(hard['corrections'])} "
            f"corrections; results in {RESULTS / 'actions_hard.md'}"
        )
        return 0

    truth = Truth(TRUTH)
    results: dict = {
        "loop": SAMPLE.name,
        "n_frames": truth.n_frames,
        "needle_frames": len(truth.present("needle")),
        "fluid_frames": len(truth.present("fluid")),
        "machine": (
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"PySide6 {PySide6.__version__}"
        ),
        "window": list(WINDOW_SIZE),
        "plane_clicks": PLANE_CLICKS,
        "fluid_clicks": FLUID_CLICKS,
        "keyframe_step": KEYFRAME_STEP,
        "tolerances": {
            "needle_mm": NEEDLE_TOLERANCE_MM,
            "plane_px": PLANE_TOLERANCE_PX,
            "fluid_px": FLUID_TOLERANCE_PX,
        },
    }
    with tempfile.TemporaryDirectory(prefix="usannotate-actions-") as tmp:
        for name, workflow in (
            ("by_hand", workflow_by_hand),
            ("keyframes_tracking", workflow_keyframes),
        ):
            folder = Path(tmp) / name
            folder.mkdir()
            loop_path = folder / SAMPLE.name
            shutil.copyfile(SAMPLE, loop_path)
            results[name] = workflow(truth, loop_path, folder / "settings")
        # C: assisted marking (issue 15), in benchmarks/_assisted.py.
        from _assisted import workflow_assisted

        folder = Path(tmp) / "assisted"
        folder.mkdir()
        loop_path = folder / SAMPLE.name
        shutil.copyfile(SAMPLE, loop_path)
        results["assisted"] = workflow_assisted(
            sys.modules[__name__], truth, loop_path, folder / "settings"
        )
    a, b = results["by_hand"], results["keyframes_tracking"]
    results["ratio"] = round(a["actions"] / b["actions"], 1)
    results["saved_percent"] = round(100.0 * (1 - b["actions"] / a["actions"]), 1)
    c = results["assisted"]
    results["assisted_percent_of_by_hand"] = round(100.0 * c["actions"] / a["actions"], 2)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "actions.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report(results)
    (RESULTS / "actions.md").write_text(text)
    print(
        f"A by hand: {a['actions']} actions ({a['clicks']} clicks, {a['keys']} keys), "
        f"{a['wall_s']} s\n"
        f"B keyframes every {KEYFRAME_STEP} + tracking: {b['actions']} actions "
        f"({b['clicks']} clicks, {b['keys']} keys), {len(b['corrections'])} corrections, "
        f"{b['wall_s']} s\n"
        f"ratio {results['ratio']}x; results in {RESULTS / 'actions.md'}"
    )
    print(
        f"C assisted: {c['actions']} actions ({c['clicks']} clicks, {c['keys']} keys), "
        f"{len(c['corrections'])} corrections, {c['wall_s']} s: "
        f"{results['assisted_percent_of_by_hand']}% of A"
    )
    for name, result in (("A", a), ("B", b), ("C", c)):
        errors = ", ".join(
            f"{s} {e['mean']}/{e['max']} {e['unit']}" for s, e in result["errors"].items()
        )
        print(f"{name} errors (mean/max): {errors}")
        for note in result["notes"] + result["dialogs"]:
            print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
