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

import platform

import _harness


def main() -> None:
    options = _harness.options(__doc__, trials=300, name="crash_sidecar")
    from tests.sidecar import crash_harness

    report, elapsed = _harness.run(crash_harness.run, options, "usannotate-crash-", every=25)
    result = _harness.result(
        report,
        options,
        elapsed,
        most_temporaries=report.most_temporaries,
        most_temporary_bytes=report.most_temporary_bytes,
        saves_completed=report.saves_completed,
    )
    lines = [
        f"Crash harness: {report.total_trials} writers killed (SIGKILL), seed {options.seed}, "
        f"{elapsed:.0f} s, {report.saves_completed} saves completed between the kills; "
        f"Python {platform.python_version()}; code from `{result['code']}`.",
        "",
        "Trials that failed, per kind of kill and failure kind:",
        "",
        *_harness.failure_table(
            result["rows"], crash_harness.FAILURES, "kill", report.total_trials
        ),
        "",
        f"Most temporary files of the sidecar seen after a kill: {report.most_temporaries} "
        f"({report.most_temporary_bytes / 2**20:.1f} MB).",
    ]
    _harness.write(options, result, lines, report.examples)


if __name__ == "__main__":
    main()
