"""Fuzz sidecar files; count what load accepts that save cannot write back equal.

    .venv/bin/python benchmarks/fuzz_sidecar.py                    # 4000 trials, seed 1
    .venv/bin/python benchmarks/fuzz_sidecar.py --trials 400 --seed 7
    .venv/bin/python benchmarks/fuzz_sidecar.py --code /tmp/base   # another checkout

Each trial mutates a valid sidecar (keyframes, a tracked frame, interpolated frames, a
gap, unknown keys) in one of eight ways (a number, a string, an unknown key with a
random value nested up to 60 deep, a frame entry, the structure, a timestamp, the image
size or frame count, the text itself), loads it, and if it loads saves it and reads it
back (see tests/sidecar/sidecar_fuzz.py for the checks). Trials, files accepted and
failures per mutation kind go to benchmarks/results/fuzz_sidecar.json and .md. CI runs a
short seeded run (tests/sidecar/test_same_rules.py).
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", type=Path, help="import usannotate from this checkout")
    parser.add_argument("--name", default="fuzz_sidecar", help="results file name (no suffix)")
    options = parser.parse_args()
    if options.code:
        sys.path.insert(0, str(options.code.resolve()))
    import warnings

    warnings.simplefilter("ignore")
    import usannotate
    from tests.sidecar import sidecar_fuzz

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="usannotate-fuzz-sidecar-") as folder:

        def progress(trial: int) -> None:
            if (trial + 1) % 250 == 0:
                print(f"{trial + 1} / {options.trials} trials", file=sys.stderr, flush=True)

        report = sidecar_fuzz.run(options.trials, options.seed, Path(folder), progress=progress)
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
        "examples": report.examples,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{options.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    kinds = sidecar_fuzz.FAILURES
    lines = [
        f"Sidecar fuzzing: {report.total_trials} trials, seed {options.seed}, "
        f"{elapsed:.0f} s; Python {platform.python_version()}; code from `{result['code']}`.",
        "",
        "Trials, files load accepted, and trials that failed per mutation kind and failure "
        "kind (a trial counts once per kind):",
        "",
        "| mutation | trials | accepted | " + " | ".join(kinds) + " |",
        "|---|---|---|" + "---|" * len(kinds),
    ]
    for row in rows:
        lines.append(
            f"| {row['mutation']} | {row['trials']} | {row['accepted']} | "
            + " | ".join(str(row[k]) for k in kinds)
            + " |"
        )
    total = {k: sum(int(r[k]) for r in rows) for k in kinds}  # type: ignore[call-overload]
    lines.append(
        f"| **all** | {report.total_trials} | {sum(report.accepted.values())} | "
        + " | ".join(str(total[k]) for k in kinds)
        + " |"
    )
    if report.examples:
        lines += ["", "First failures:", ""] + [f"- `{e[:300]}`" for e in report.examples[:10]]
    (RESULTS / f"{options.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
