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

import platform

import _harness


def main() -> None:
    options = _harness.options(__doc__, trials=4000, name="fuzz_sidecar")
    from tests.sidecar import sidecar_fuzz

    report, elapsed = _harness.run(sidecar_fuzz.run, options, "usannotate-fuzz-sidecar-", every=250)
    result = _harness.result(report, options, elapsed)
    accepted = ("accepted", sum(report.accepted.values()))
    lines = [
        f"Sidecar fuzzing: {report.total_trials} trials, seed {options.seed}, "
        f"{elapsed:.0f} s; Python {platform.python_version()}; code from `{result['code']}`.",
        "",
        "Trials, files load accepted, and trials that failed per mutation kind and failure "
        "kind (a trial counts once per kind):",
        "",
        *_harness.failure_table(
            result["rows"], sidecar_fuzz.FAILURES, "mutation", report.total_trials, [accepted]
        ),
    ]
    _harness.write(options, result, lines, report.examples)


if __name__ == "__main__":
    main()
