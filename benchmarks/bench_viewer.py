"""Viewer playback and scrub latency in the real main window (offscreen Qt).

    .venv/bin/python benchmarks/bench_viewer.py          # 600-frame 1024x768 loop, 10 s each
    .venv/bin/python benchmarks/bench_viewer.py --quick  # 120 frames of 512x384, 3 s each

Playback: the loop plays at its recorded 30 fps (1x) and at 60 fps (2x) for a fixed wall
time, and at 60 fps with 50 marks on every frame (planes, regions, needles, points,
keyframed every 30 frames and interpolated between: "marks50", played 1.5 s after the
marks are added, as a user looks at a marked loop before pressing Space); a frame counts as shown
when the frame item paints it. Frames due in that time but never painted are missed.
Scrub: the slider is set to a frame and the time until that frame is painted is measured,
for frames never decoded before (cold) and for frames in the cache (cached). With the
Curves dock open throughout; "marked" runs first mark a fluid region and a needle over the
whole loop (keyframes, interpolated and tracked frames), so the curves have lines, markers
and legends to draw; "playhead" is what moving the curves' playhead to another frame costs
the GUI thread, paint included. Results go to benchmarks/results/viewer.json and viewer.md
(``--suffix`` names another pair, e.g. to keep a run of an older checkout, run with
PYTHONPATH pointing at it).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_cine import RESULTS, make_loops  # noqa: E402


def _window(path: Path):
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from usannotate.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, "/tmp/usannotate-bench"
    )
    # A copy in a folder of its own: no sidecar, lock or recovery file of an earlier
    # (perhaps killed) run beside it, so no dialog waits for an answer nobody gives.
    folder = Path(tempfile.mkdtemp(prefix="usannotate-bench-viewer-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(shutil.copy(path, folder))
    window = MainWindow()
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    if not window.open_path(str(path)):
        raise SystemExit(f"cannot open {path}")
    app.processEvents()
    try:  # what the app does once its window is up (usannotate.ui.app.run)
        from usannotate.ui.workers import preload
    except ImportError:  # an older checkout, measured for comparison
        pass
    else:
        preload()
    playback = getattr(getattr(window, "marks_view", None), "playback", None)
    started = playback.prepare() if hasattr(playback, "prepare") else None
    if started is not None:  # the process drawing the marks while playing, as the app starts it
        started.result(timeout=60)
    return app, window


def add_marks(window, count: int = 50, keyframe_every: int = 30) -> None:
    """``count`` tracks on every frame, as bench_redraw.py draws them (20 planes of 20
    points, 15 regions of 40, 10 needles, 5 points), keyframed every ``keyframe_every``
    frames and moving a little between keyframes (so every other frame is interpolated)."""
    import numpy as np

    from usannotate.annotations import AnnotatedObject
    from usannotate.annotations.edits import AddObject, Compound

    annotations = window.session.document.annotations
    labels = list(annotations.label_set)
    by_kind: dict[str, list] = {}
    for label in labels:
        by_kind.setdefault(label.kind.value, []).append(label)
    rng = np.random.default_rng(0)
    n_frames, columns, rows = window.loop.n_frames, window.loop.columns, window.loop.rows
    plan = [("polyline", 20, 20), ("region", 15, 40), ("needle", 10, 2), ("point", 5, 1)]
    plan = [(k, round(c * count / 50), n) for k, c, n in plan]
    edits = []
    for kind, how_many, n_points in plan:
        for k in range(how_many):
            label = by_kind[kind][k % len(by_kind[kind])]
            obj = AnnotatedObject(label.id, label.kind)
            centre = rng.uniform([0.15 * columns, 0.15 * rows], [0.85 * columns, 0.85 * rows])
            if kind == "region":
                angles = np.linspace(0, 2 * np.pi, n_points, endpoint=False)
                points = (
                    centre + np.c_[0.06 * columns * np.cos(angles), 0.03 * rows * np.sin(angles)]
                )
            elif kind == "polyline":
                xs = np.linspace(0.02 * columns, 0.98 * columns, n_points)
                points = np.c_[xs, centre[1] + 8 * np.sin(xs / 90 + k)]
            else:
                points = centre + rng.uniform(-0.08 * rows, 0.08 * rows, size=(n_points, 2))
            for frame in [*range(0, n_frames, keyframe_every), n_frames - 1]:
                shift = 4.0 * np.sin(frame / 17.0 + k)
                obj.set_points(frame, np.clip(points + shift, 1, [columns - 1, rows - 1]))
            edits.append(AddObject(obj))
    window.session.history.push(Compound(edits, text="Benchmark marks"))


def _mark(app, window) -> None:
    """A fluid region (keyframes every 30 frames) and a needle (keyframes every 60, tracked
    frames 100-299) over the loop, the Curves dock shown with them."""
    import numpy as np

    from usannotate.annotations import AnnotatedObject, ShapeKind
    from usannotate.annotations.edits import AddObject

    n, w, h = window.loop.n_frames, window.loop.columns, window.loop.rows
    fluid = AnnotatedObject("fluid.injectate", ShapeKind.REGION)
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    for f in range(0, n, 30):
        r = 20 + 40 * f / n
        fluid.set_points(f, np.c_[w / 2 + 1.6 * r * np.cos(angles), 0.6 * h + r * np.sin(angles)])
    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)

    def tip(f: int) -> list[tuple[float, float]]:
        return [(0.1 * w, 0.1 * h), (0.1 * w + 0.5 * w * f / n, 0.1 * h + 0.4 * h * f / n)]

    for f in range(0, n, 60):
        needle.set_points(f, tip(f))
    for f in range(100, min(n, 300)):
        if f not in needle.frames:
            needle.set_points(f, tip(f), source="tracked")
    for obj in (fluid, needle):
        window.session.history.push(AddObject(obj))
    window.tracks.curves_dock.show()
    window.tracks.curves_dock.raise_()
    curves = window.tracks.curves
    if hasattr(curves, "viewport"):  # pyqtgraph's view, made once shown
        curves.viewport()
    for _ in range(20):
        app.processEvents()


def playhead(path: Path, n: int) -> dict[str, float]:
    """Milliseconds the GUI thread spends moving the curves' playhead to another frame,
    paint included (what playback pays per frame for the Curves dock)."""
    app, window = _window(path)
    _mark(app, window)
    curves = window.tracks.curves
    frames = window.loop.n_frames
    times = []
    for i in range(n + 20):
        frame = (37 * i) % frames
        start = time.perf_counter()
        curves.set_current_frame(frame)
        for _ in range(3):  # the update it posts, and the paint
            app.processEvents()
        if i >= 20:  # after a warm-up
            times.append((time.perf_counter() - start) * 1e3)
    window.session.history.mark_saved()
    window.close()
    times.sort()
    return {
        "n": len(times),
        "median_ms": round(times[len(times) // 2], 3),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 3),
        "max_ms": round(times[-1], 3),
    }


#: Seconds a marked loop is on screen before it plays ("marks50" runs).
SETTLE_S = float(os.environ.get("BENCH_SETTLE_S", "1.5"))


def playback(
    path: Path, speed: float, seconds: float, marked: bool = False, marks: int = 0
) -> dict[str, float]:
    app, window = _window(path)
    if marked:
        _mark(app, window)
    if marks:
        add_marks(window, marks)
        window.jump(0)
        # The loop on screen with its marks for a moment before Space is pressed, as a
        # user looks at it (the app readies playback in the background meanwhile).
        settled = time.perf_counter() + SETTLE_S
        while time.perf_counter() < settled:
            app.processEvents()
            time.sleep(0.005)
    item = window.view.frame_item
    window.playback.set_speed(speed)
    painted_before = item.frames_painted
    window.playback.play()
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        app.processEvents()
        time.sleep(0.0005)
    window.playback.stop()
    elapsed = time.perf_counter() - started
    app.processEvents()  # let the last frame due reach the screen
    fps = window.loop.frame_rate_fps * speed
    # Frames the clock made due while playing, shown or not.
    due = window.playback.frames_shown + window.playback.frames_missed
    shown = item.frames_painted - painted_before
    if window.session is not None:
        window.session.history.mark_saved()  # nothing to ask on close
    window.close()
    return {
        "target_fps": round(fps, 2),
        "seconds": round(elapsed, 2),
        "frames_due": due,
        "frames_painted": shown,
        "shown_fps": round(shown / elapsed, 2),
        "missed": max(0, due - shown),
        "missed_percent": round(100.0 * max(0, due - shown) / due, 2),
        "skipped_by_clock": window.playback.frames_missed,
        "marks": marks,
    }


def scrub(path: Path, n: int) -> dict[str, float]:
    app, window = _window(path)
    item = window.view.frame_item
    slider = window.transport.slider
    rng = random.Random(3)
    n_frames = window.loop.n_frames

    def latency_ms(index: int) -> float:
        start = time.perf_counter()
        slider.setValue(index)
        while item.painted_index != index:
            app.processEvents()
        return (time.perf_counter() - start) * 1e3

    # Cold: far from every frame seen so far, so neither cache nor prefetch has it.
    seen: set[int] = {0}
    cold = []
    candidates = list(range(n_frames))
    rng.shuffle(candidates)
    for index in candidates:
        if len(cold) == n:
            break
        if all(abs(index - s) > 12 for s in seen) and index not in window.loop.cache:
            seen.add(index)
            cold.append(latency_ms(index))
    # Cached: frames just shown.
    cached = [latency_ms(i) for i in sorted(seen)[:n]]
    window.close()

    def stats(values: list[float]) -> dict[str, float]:
        values = sorted(values)
        return {
            "n": len(values),
            "median_ms": round(values[len(values) // 2], 2),
            "p95_ms": round(values[int(len(values) * 0.95) - 1], 2),
            "max_ms": round(values[-1], 2),
        }

    return {"cold": stats(cold), "cached": stats(cached)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"))
    parser.add_argument("--suffix", default="", help="results under viewer<suffix>.json/.md")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 10.0
    if args.measure:
        kind, path = args.measure
        if kind == "playhead":
            result = playhead(Path(path), 100 if args.quick else 300)
        elif kind.startswith("play"):
            speed, _, marks = kind[4:].rstrip("m").partition("marks")
            result = playback(
                Path(path), float(speed), seconds, kind.endswith("m"), int(marks or 0)
            )
        else:
            result = scrub(Path(path), 20 if args.quick else 30)
        print(json.dumps(result))
        return 0
    n, rows, columns = (120, 384, 512) if args.quick else (600, 768, 1024)
    loop = make_loops(n, rows, columns)["jpeg"]
    import subprocess

    import usannotate

    results: dict[str, object] = {
        "loop": {"n_frames": n, "rows": rows, "columns": columns},
        "code": str(Path(usannotate.__file__).resolve().parents[1]),
    }
    for kind in ("play1", "play2", "play1m", "play2m", "play2marks50", "scrub", "playhead"):
        command = [sys.executable, __file__, "--measure", kind, str(loop)]
        if args.quick:
            command.insert(2, "--quick")
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)
        results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
        print(kind, results[kind], file=sys.stderr, flush=True)
    lines = [
        f"Main window 1400x900 (offscreen), loop {n} frames {columns}x{rows} JPEG, "
        f"{seconds:g} s per playback run, the Curves dock open.",
        "",
        "| playback | frames due | frames painted | shown fps | missed |",
        "|---|---|---|---|---|",
    ]
    for kind in ("play1", "play2", "play1m", "play2m", "play2marks50"):
        r = results[kind]
        what = " (fluid and needle marked)" if kind.endswith("m") else ""
        if r.get("marks"):
            what = f" ({r['marks']} marks on every frame)"
        lines.append(
            f"| {r['target_fps']:g} fps{what} | {r['frames_due']} | {r['frames_painted']} | "
            f"{r['shown_fps']:.1f} | {r['missed']} ({r['missed_percent']:.2f}%) |"
        )
    s = results["scrub"]
    lines += [
        "",
        "| scrub (slider set -> frame painted) | median | p95 | max |",
        "|---|---|---|---|",
        f"| cold (never decoded) | {s['cold']['median_ms']} ms | {s['cold']['p95_ms']} ms | "
        f"{s['cold']['max_ms']} ms |",
        f"| cached | {s['cached']['median_ms']} ms | {s['cached']['p95_ms']} ms | "
        f"{s['cached']['max_ms']} ms |",
    ]
    p = results["playhead"]
    lines += [
        "",
        "| curves playhead to another frame (marked, paint included) | median | p95 | max |",
        "|---|---|---|---|",
        f"| {p['n']} moves | {p['median_ms']} ms | {p['p95_ms']} ms | {p['max_ms']} ms |",
    ]
    report = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    suffix = ("_quick" if args.quick else "") + args.suffix
    (RESULTS / f"viewer{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"viewer{suffix}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
