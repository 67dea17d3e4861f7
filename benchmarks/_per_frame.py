"""What the per-frame benchmarks (de-identification, annotated video) share: a task run in
its own process, the best of its runs, and the table of milliseconds per frame beside the
decode alone.

Besides the wall time (the targets' measure), each run records the CPU time its process
used (user + system, all its threads) and the load average when it started: on a
shared 2-core machine the wall time mostly says how busy the others were, the CPU time
per frame says what the work costs.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path


def cpu_seconds() -> float:
    """CPU time this process has used so far (user + system, every thread)."""
    times = os.times()
    return times.user + times.system


def in_subprocess(script: str, task: str, *paths: Path) -> dict[str, float]:
    """``script --measure TASK PATH...`` in a new process (its peak memory its own): the
    JSON object it prints last, with the 1-minute load average when it started."""
    load = os.getloadavg()[0]
    out = subprocess.run(
        [sys.executable, script, "--measure", task, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["load_1min"] = load
    return row


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """The fastest run, with the highest peak memory of all of them, the median time per
    frame of all runs and the range of the load averages."""
    best = dict(min(runs, key=lambda r: r["ms"]))
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    best["median_ms_per_frame"] = statistics.median(r["ms_per_frame"] for r in runs)
    if all("cpu_ms_per_frame" in r for r in runs):
        best["cpu_ms_per_frame"] = min(r["cpu_ms_per_frame"] for r in runs)
    loads = [r["load_1min"] for r in runs]
    best["load_1min"] = [min(loads), max(loads)]
    return best


def results(
    rows: dict[str, dict[str, float]], loop: Path, n_frames: int, repeats: int
) -> dict[str, object]:
    """The results document: each row's time per frame against the "decode" row's."""
    decode = rows["decode"]
    for row in rows.values():
        row["x_decode"] = row["ms_per_frame"] / decode["ms_per_frame"]
        row["x_decode_median"] = row["median_ms_per_frame"] / decode["median_ms_per_frame"]
        if "cpu_ms_per_frame" in row and "cpu_ms_per_frame" in decode:
            row["x_decode_cpu"] = row["cpu_ms_per_frame"] / decode["cpu_ms_per_frame"]
    return {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "loop": {
            "file": loop.name,
            "frames": n_frames,
            "rows": 768,
            "columns": 1024,
            "size_mb": round(loop.stat().st_size / 1e6, 1),
        },
        "repeats": repeats,
        "rows": rows,
    }


def markdown(results: dict[str, object], size_digits: int = 1) -> str:
    """The results as the README's table (output sizes with ``size_digits`` decimals)."""
    loop = results["loop"]
    lines = [
        f"Loop: {loop['frames']} frames, {loop['columns']}x{loop['rows']} RGB JPEG baseline "
        f"({loop['size_mb']} MB); {results['machine']['cpus']} CPUs, Python "
        f"{results['machine']['python']}; best of {results['repeats']}.",
        "",
        "| task | ms / frame | x decode | median ms / frame (x decode) | CPU ms / frame "
        "(x decode) | total (s) | output (MB) | peak memory (MB) | load average |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, row in results["rows"].items():
        size = f"{row['size_mb']:.{size_digits}f}" if row["size_mb"] else "-"
        median = f"{row['median_ms_per_frame']:.1f} ({row['x_decode_median']:.1f}x)"
        cpu = (
            f"{row['cpu_ms_per_frame']:.1f} ({row['x_decode_cpu']:.1f}x)"
            if "x_decode_cpu" in row
            else "-"
        )
        low, high = row["load_1min"]
        lines.append(
            f"| {task} | {row['ms_per_frame']:.1f} | {row['x_decode']:.1f}x | {median} | "
            f"{cpu} | {row['ms'] / 1e3:.1f} | {size} | {row['peak_rss_mb']:.0f} | "
            f"{low:.1f}-{high:.1f} |"
        )
    return "\n".join(lines) + "\n"
