"""What the seeded harnesses (fuzz_dicom, fuzz_sidecar, crash_sidecar) share: their options,
running a harness of tests/ with progress, and writing its results as JSON and a table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))


def options(description: str, trials: int, name: str) -> argparse.Namespace:
    """``--trials``, ``--seed``, ``--code`` (import usannotate from another checkout; its
    subprocesses are told through ``USANNOTATE_CODE``) and ``--name`` of the results."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--trials", type=int, default=trials)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", type=Path, help="import usannotate from this checkout")
    parser.add_argument("--name", default=name, help="results file name (no suffix)")
    parsed = parser.parse_args()
    if parsed.code:
        sys.path.insert(0, str(parsed.code.resolve()))
        os.environ["USANNOTATE_CODE"] = str(parsed.code.resolve())
    warnings.simplefilter("ignore")
    return parsed


def run(
    run_trials: Callable[..., Any], parsed: argparse.Namespace, prefix: str, every: int
) -> tuple[Any, float]:
    """``run_trials(trials, seed, folder, progress=...)`` in a temporary folder, a progress
    line on stderr every ``every`` trials; returns its report and the seconds it took."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:

        def progress(trial: int) -> None:
            if (trial + 1) % every == 0:
                print(f"{trial + 1} / {parsed.trials} trials", file=sys.stderr, flush=True)

        report = run_trials(parsed.trials, parsed.seed, Path(folder), progress=progress)
    return report, time.perf_counter() - started


def result(report: Any, parsed: argparse.Namespace, elapsed: float, **extra: Any) -> dict:
    """The JSON results: when, which code, the report's rows and first failures."""
    import usannotate

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "code": str(Path(usannotate.__file__).resolve().parents[1]),
        "python": platform.python_version(),
        "trials": report.total_trials,
        "seed": parsed.seed,
        "seconds": round(elapsed, 1),
        "rows": report.as_rows(),
        **extra,
        "examples": report.examples,
    }


def failure_table(
    rows: Sequence[dict],
    kinds: Sequence[str],
    first: str,
    total_trials: int,
    extra: Sequence[tuple[str, int]] = (),
) -> list[str]:
    """Rows per ``first`` column (mutation, kill) with their failures per kind, and a total
    row; ``extra`` are ``(column, total)`` pairs shown between trials and failures."""
    names = [name for name, _ in extra]
    lines = [
        f"| {first} | trials | " + "".join(f"{n} | " for n in names) + " | ".join(kinds) + " |",
        "|---|---|" + "---|" * (len(names) + len(kinds)),
    ]
    for row in rows:
        cells = [row[first], row["trials"], *(row[n] for n in names), *(row[k] for k in kinds)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    total = {k: sum(int(r[k]) for r in rows) for k in kinds}
    cells = ["**all**", total_trials, *(t for _, t in extra), *(total[k] for k in kinds)]
    lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def write(parsed: argparse.Namespace, data: dict, lines: list[str], examples: list[str]) -> None:
    """``<name>.json`` and ``<name>.md`` (the first failures after the lines) in results/."""
    if examples:
        lines = [*lines, "", "First failures:", ""] + [f"- `{e[:300]}`" for e in examples[:10]]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{parsed.name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{parsed.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
