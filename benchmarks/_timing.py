"""What the in-process speed benchmarks (bench_agreement, bench_status) share: the
checkout on the import path, timing an action over several runs (min and median), the
load average, and writing the results as JSON and a Markdown table."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))


@dataclass(frozen=True)
class Timing:
    """Seconds of several runs of one action: the fastest and the median."""

    min_s: float
    median_s: float


def timed(action: Callable[[], object], runs: int) -> Timing:
    """Run ``action`` ``runs`` times; its fastest and median wall-clock seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return Timing(min(times), statistics.median(times))


def load_average() -> float:
    """The 1-minute load average (0 where the system has none): other work on the
    machine, which a figure should be read with."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def write_results(stem: str, result: dict, text: str) -> None:
    """``results/STEM.json`` and ``results/STEM.md``; the table printed too."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(text)
    print(text)
