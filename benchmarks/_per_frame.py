"""What the per-frame benchmarks (de-identification, annotated video) share: a task run in
its own process, the best of its runs, and the table of milliseconds per frame beside the
decode alone."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path


def in_subprocess(script: str, task: str, *paths: Path) -> dict[str, float]:
    """``script --measure TASK PATH...`` in a new process (its peak memory its own): the
    JSON object it prints last."""
    out = subprocess.run(
        [sys.executable, script, "--measure", task, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def best_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """The fastest run, with the highest peak memory of all of them."""
    best = min(runs, key=lambda r: r["ms"])
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    return best


def results(
    rows: dict[str, dict[str, float]], loop: Path, n_frames: int, repeats: int
) -> dict[str, object]:
    """The results document: each row's time per frame against the "decode" row's."""
    decode = rows["decode"]["ms_per_frame"]
    for row in rows.values():
        row["x_decode"] = row["ms_per_frame"] / decode
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
        "| task | ms / frame | x decode | total (s) | output (MB) | peak memory (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for task, row in results["rows"].items():
        size = f"{row['size_mb']:.{size_digits}f}" if row["size_mb"] else "-"
        lines.append(
            f"| {task} | {row['ms_per_frame']:.1f} | {row['x_decode']:.1f}x | "
            f"{row['ms'] / 1e3:.1f} | {size} | {row['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines) + "\n"
