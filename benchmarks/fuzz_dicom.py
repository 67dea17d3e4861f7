"""Fuzz DICOM headers carrying made-up patient data; count the messages that quote it.

    .venv/bin/python benchmarks/fuzz_dicom.py                    # 3000 trials, seed 1
    .venv/bin/python benchmarks/fuzz_dicom.py --trials 200 --seed 7
    .venv/bin/python benchmarks/fuzz_dicom.py --code /tmp/base   # measure another checkout

Each trial mutates one of nine seed files (explicit / implicit / big endian, deflated,
JPEG baseline, JPEG-LS, JPEG 2000, RLE, palette colour; all carrying the planted patient
data) in one of eight ways and reads it as a user can: ``open_cine`` with its first and
last frame, and ``info``, ``info --json``, ``frame``, ``validate --dicom`` and
``measure`` in-process (see tests/cine/header_fuzz.py for the checks). Trials and
failures per mutation kind go to benchmarks/results/fuzz_dicom.json and fuzz_dicom.md.
CI runs a short seeded run (tests/cine/test_patient_data_in_messages.py).
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
    parser.add_argument("--trials", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", type=Path, help="import usannotate from this checkout")
    parser.add_argument("--name", default="fuzz_dicom", help="results file name (no suffix)")
    options = parser.parse_args()
    if options.code:
        sys.path.insert(0, str(options.code.resolve()))
    import warnings

    warnings.simplefilter("ignore")
    import usannotate
    from tests.cine import header_fuzz

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="usannotate-fuzz-") as folder:

        def progress(trial: int) -> None:
            if (trial + 1) % 250 == 0:
                print(f"{trial + 1} / {options.trials} trials", file=sys.stderr, flush=True)

        report = header_fuzz.run(options.trials, options.seed, Path(folder), progress=progress)
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
    kinds = header_fuzz.FAILURES
    lines = [
        f"DICOM header fuzzing: {report.total_trials} trials, seed {options.seed}, "
        f"{elapsed:.0f} s; Python {platform.python_version()}; code from `{result['code']}`.",
        "",
        "Trials that failed, per mutation kind and failure kind (a trial counts once per kind):",
        "",
        "| mutation | trials | " + " | ".join(kinds) + " |",
        "|---|---|" + "---|" * len(kinds),
    ]
    for row in rows:
        lines.append(
            f"| {row['mutation']} | {row['trials']} | "
            + " | ".join(str(row[k]) for k in kinds)
            + " |"
        )
    total = {k: sum(int(r[k]) for r in rows) for k in kinds}  # type: ignore[call-overload]
    lines.append(
        f"| **all** | {report.total_trials} | " + " | ".join(str(total[k]) for k in kinds) + " |"
    )
    if report.examples:
        lines += ["", "First failures:", ""] + [f"- `{e[:300]}`" for e in report.examples[:10]]
    (RESULTS / f"{options.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
