"""Annotated video export speed and memory against decoding the same loop, in one run.

    nice -n 10 .venv/bin/python benchmarks/bench_media.py          # 600-frame 1024x768 loop
    nice -n 10 .venv/bin/python benchmarks/bench_media.py --quick  # 60 frames, a smoke check

Uses bench_cine's 600-frame 1024x768 JPEG-baseline phantom loop (made in benchmarks/data/,
git-ignored, when missing), marked here with three fascial planes, a needle and a growing
fluid region keyframed every 30 frames (interpolated between: every frame has marks,
captions with live measurements and the scale bar). Each measurement runs in a fresh
subprocess, so its peak memory (VmHWM) is its own:

- ``decode``: ``open_cine(path)`` and every frame read in order (the app's full pass).
- ``video, marks, N drawing threads``: ``usannotate export video`` as the CLI runs it
  (pixel mask, marks, captions, H.264 via PyAV's libx264) to a file beside the loop,
  the frames drawn on N threads ahead of the encoder (1: the default; N: one per CPU,
  at most 4, ``write_video(draw_threads=N)``) and converted to I420 there; libx264
  encodes on one thread, the caller's. The frames are decoded on two threads in every
  row (the decode row: the loop's prefetch; the video rows: the export's own, each
  frame decoded once and drawn on in place).
- ``video, no marks``: the same with ``--no-marks`` (mask and encoding only).

Targets (issue 12): video export within 3x the decode time per frame; peak memory under
700 MB. Results go to benchmarks/results/media.json and media.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

import _per_frame  # noqa: E402
from bench_cine import _peak_rss_mb, make_loops  # noqa: E402


def make_sidecar(loop_path: Path, folder: Path) -> Path:
    """Marks for the phantom loop: planes, a needle advancing, fluid growing."""
    import numpy as np

    import usannotate
    from usannotate.annotations import AnnotatedObject, default_label_set
    from usannotate.sidecar import new_document, save_sidecar

    labels = default_label_set()
    with usannotate.open_cine(loop_path) as loop:
        doc = new_document(loop, labels, "bench")
        n, w, h = loop.n_frames, loop.columns, loop.rows
    objects = {
        key: doc.annotations.add(AnnotatedObject(key, labels[key].kind))
        for key in ("fascia.superficial", "fascia.deep", "needle", "fluid.injectate")
    }
    xs = np.linspace(0.1 * w, 0.9 * w, 12)
    for frame in [*range(0, n, 30), n - 1]:
        t = frame / max(n - 1, 1)
        for key, depth in (("fascia.superficial", 0.3), ("fascia.deep", 0.55)):
            ys = depth * h + 6 * np.sin(xs / 60 + t * 3)
            objects[key].set_points(frame, np.stack([xs, ys], axis=1))
        objects["needle"].set_points(
            frame, [(0.12 * w, 0.2 * h), (0.12 * w + (0.2 + 0.3 * t) * w, (0.25 + 0.25 * t) * h)]
        )
        angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        rx, ry = 20 + 80 * t, 8 + 25 * t
        outline = np.stack([0.55 * w + rx * np.cos(angles), 0.57 * h + ry * np.sin(angles)], 1)
        objects["fluid.injectate"].set_points(frame, outline)
    path = folder / "bench.usannotate.json"
    save_sidecar(doc, path)
    return path


def measure(task: str, path: str, sidecar: str) -> dict[str, float]:
    """One measurement, in this process (called through ``--measure``)."""
    import usannotate

    if task != "decode":
        # Imported before the clock starts, as the decode row imports usannotate and as
        # `usannotate export video` imports them before it opens the loop: the rows time
        # the work on the loop, not Python loading the export's modules (~0.1 s once per
        # process). PyAV is imported inside the clock, where the export imports it.
        from usannotate.export.annotated import AnnotatedLoop, MediaOptions
        from usannotate.export.video import write_video
    start, cpu_start = time.perf_counter(), _per_frame.cpu_seconds()
    size_mb = 0.0
    if task == "decode":
        with usannotate.open_cine(path) as loop:
            n = loop.n_frames
            for index in range(n):
                loop.frame(index)
    else:
        with tempfile.TemporaryDirectory(dir=Path(path).parent) as folder:
            out = Path(folder) / "video.mp4"
            options = MediaOptions(marks=task.startswith("video, marks"))
            threads = int(task.split(", ")[2].split(" ")[0]) if task.count(",") > 1 else None
            with AnnotatedLoop(path, sidecar, options) as media:
                result = write_video(media, out, draw_threads=threads)
            n = result.n_frames
            size_mb = out.stat().st_size / 1e6
    ms = (time.perf_counter() - start) * 1e3
    cpu_ms = (_per_frame.cpu_seconds() - cpu_start) * 1e3
    return {
        "ms": ms,
        "ms_per_frame": ms / n,
        "cpu_ms_per_frame": cpu_ms / n,
        "frames": n,
        "size_mb": size_mb,
        "peak_rss_mb": _peak_rss_mb(),
    }


def run(n_frames: int, repeats: int) -> dict[str, object]:
    loop = make_loops(n_frames, 768, 1024)["jpeg"]
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        sidecar = make_sidecar(loop, Path(folder))
        from usannotate._pipeline import default_workers

        threads = default_workers()
        tasks = ["decode"]
        for n in sorted({threads, 1}, reverse=True):
            tasks.append(f"video, marks, {n} drawing thread" + ("s" if n > 1 else ""))
        tasks.append(f"video, no marks, {threads} drawing thread" + ("s" if threads > 1 else ""))
        for task in tasks:
            print(f"{task} ...", file=sys.stderr, flush=True)
            runs = [_per_frame.in_subprocess(__file__, task, loop, sidecar) for _ in range(repeats)]
            rows[task] = _per_frame.best_of(runs)
    return _per_frame.results(rows, loop, n_frames, repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 frames, once")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--measure", nargs=3, metavar=("TASK", "PATH", "SIDECAR"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.measure:
        print(json.dumps(measure(*options.measure)))
        return 0
    results = run(60 if options.quick else 600, 1 if options.quick else options.repeats)
    suffix = "_quick" if options.quick else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"media{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = _per_frame.markdown(results, size_digits=1)
    (RESULTS / f"media{suffix}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
