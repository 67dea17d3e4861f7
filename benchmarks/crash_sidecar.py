"""Kill -9 a process saving a long loop's sidecar; count damaged files and left-overs.

    .venv/bin/python benchmarks/crash_sidecar.py                    # 300 kills, seed 1
    .venv/bin/python benchmarks/crash_sidecar.py --trials 30 --seed 7
    .venv/bin/python benchmarks/crash_sidecar.py --code /tmp/base   # another checkout

Each trial starts a writer that saves a 600-frame, ten-object sidecar (2.8 MB) again and
again, and SIGKILLs it at a random moment, as soon as a temporary file exists, or at once
(see tests/sidecar/crash_harness.py for the checks: the sidecar loads and is the old or the
new version; at most one temporary file is left, and none once the loop is opened).
Results go to benchmarks/results/crash_sidecar.json and .md. CI runs six trials
(tests/sidecar/test_crash.py). POSIX only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", type=Path, help="import usannotate from this checkout")
    parser.add_argument("--name", default="crash_sidecar", help="results file name (no suffix)")
    options = parser.parse_args()
    if options.code:
        sys.path.insert(0, str(options.code.resolve()))
        os.environ["USANNOTATE_CODE"] = str(options.code.resolve())  # for the writers
    import warnings

    warnings.simplefilter("ignore")
    import usannotate
    from tests.sidecar import crash_harness

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="usannotate-crash-") as folder:

        def progress(trial: int) -> None:
            if (trial + 1) % 25 == 0:
                print(f"{trial + 1} / {options.trials} trials", file=sys.stderr, flush=True)

        report = crash_harness.run(options.trials, options.seed, Path(folder), progress=progress)
    elapsed = time.perf_counter() - started
    rows = report.as_rows()
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "code": str(Path(usannotate.__file__).resolve().parents[1]),
        "python": platform.python_version(),
        "trials": report.total_trials,
        "seed": options.seed,
        "seconds": round(elapsed, 1),
        "rows": rows,
        "most_temporaries": report.most_temporaries,
        "most_temporary_bytes": report.most_temporary_bytes,
        "saves_completed": report.saves_completed,
        "examples": report.examples,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{options.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    kinds = crash_harness.FAILURES
    lines = [
        f"Crash harness: {report.total_trials} writers killed (SIGKILL), seed {options.seed}, "
        f"{elapsed:.0f} s, {report.saves_completed} saves completed between the kills; "
        f"Python {platform.python_version()}; code from `{result['code']}`.",
        "",
        "Trials that failed, per kind of kill and failure kind:",
        "",
        "| kill | trials | " + " | ".join(kinds) + " |",
        "|---|---|" + "---|" * len(kinds),
    ]
    for row in rows:
        lines.append(
            f"| {row['kill']} | {row['trials']} | " + " | ".join(str(row[k]) for k in kinds) + " |"
        )
    total = {k: sum(int(r[k]) for r in rows) for k in kinds}  # type: ignore[call-overload]
    lines.append(
        f"| **all** | {report.total_trials} | " + " | ".join(str(total[k]) for k in kinds) + " |"
    )
    lines += [
        "",
        f"Most temporary files of the sidecar seen after a kill: {report.most_temporaries} "
        f"({report.most_temporary_bytes / 2**20:.1f} MB).",
    ]
    if report.examples:
        lines += ["", "First failures:", ""] + [f"- `{e[:300]}`" for e in report.examples[:10]]
    (RESULTS / f"{options.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
