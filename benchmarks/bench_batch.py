"""Folder-wide commands on 1 process and on every core (``--jobs``): the speed-up.

    nice -n 10 .venv/bin/python benchmarks/bench_batch.py           # 8 marked loops
    nice -n 10 .venv/bin/python benchmarks/bench_batch.py --loops 4

A folder of copies of the two sample loops, each marked from its truth as the export tests
mark them (needle, fluid, target, three planes; ``tests/export/conftest.py``), then
``usannotate measure FOLDER``, ``deidentify FOLDER``, ``export sr|coco|yolo|masks FOLDER``
and ``track FOLDER`` (on a fresh copy of the folder each run: it writes the sidecars) run as
a user runs them (a new process each), with ``--jobs 1`` and ``--jobs N`` (N = the cores),
best of ``--runs``. Results go to benchmarks/results/batch.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT))

from tests.export.conftest import mark_sample  # noqa: E402
from usannotate.batch import default_jobs  # noqa: E402


def _commands(folder: Path, out: Path) -> dict[str, list[str]]:
    return {
        "measure FOLDER": ["measure", str(folder), "--output", str(out / "all.csv")],
        "deidentify FOLDER": ["deidentify", str(folder), "--output", str(out / "deid")],
        "export sr FOLDER": ["export", "sr", str(folder), "--output", str(out / "sr")],
        "export coco FOLDER": ["export", "coco", str(folder), "--output", str(out / "coco")],
        "export yolo FOLDER": ["export", "yolo", str(folder), "--output", str(out / "yolo")],
        "export masks FOLDER": ["export", "masks", str(folder), "--output", str(out / "masks")],
        # Writes the folder's sidecars: _time gives it a fresh copy of the folder each run.
        "track FOLDER": ["track", str(folder)],
    }


def _fresh_copy(arguments: list[str], folder: Path, target: Path) -> list[str]:
    """``track`` changes its input: the arguments on a copy of ``folder`` (not timed)."""
    if arguments[0] != "track":
        return arguments
    shutil.copytree(folder, target)
    return [str(target) if part == str(folder) else part for part in arguments]


def _time(arguments: list[str], jobs: int, runs: int, scratch: Path) -> float:
    best = float("inf")
    for run in range(runs):
        out = Path(tempfile.mkdtemp(prefix=f"out-{jobs}-{run}-", dir=scratch))
        given = _fresh_copy(arguments, scratch / "archive", out / "archive")
        command = [sys.executable, "-m", "usannotate", *given, "--jobs", str(jobs)]
        command = [part.replace(str(scratch / "OUT"), str(out)) for part in command]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=3600)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    cores = default_jobs()
    rows = []
    with tempfile.TemporaryDirectory() as name:
        scratch = Path(name)
        folder = scratch / "archive"
        for index in range(args.loops):
            mark_sample(folder, "ab"[index % 2], f"loop_{index + 1}.dcm")
        for task, arguments in _commands(folder, scratch / "OUT").items():
            one = _time(arguments, 1, args.runs, scratch)
            many = _time(arguments, cores, args.runs, scratch)
            rows.append(
                {"task": task, "jobs_1_s": one, f"jobs_{cores}_s": many, "speedup": one / many}
            )
            print(f"{task}: {one:.2f} s on 1, {many:.2f} s on {cores}", file=sys.stderr)
    load = os.getloadavg()[0]
    results = {
        "loops": args.loops,
        "cores": cores,
        "runs": args.runs,
        "load_average": load,
        "rows": rows,
    }
    lines = [
        f"{args.loops} marked loops (the two samples, 480x640x60 and 384x512x45), best of "
        f"{args.runs}; {cores} cores, load average {load:.1f} when done.",
        "",
        f"| command | --jobs 1 | --jobs {cores} | speed-up |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row['task']}` | {row['jobs_1_s']:.2f} s | {row[f'jobs_{cores}_s']:.2f} s | "
            f"{row['speedup']:.2f}x |"
        )
    report = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "batch.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "batch.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
