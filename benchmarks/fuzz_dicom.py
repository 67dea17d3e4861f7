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

import platform

import _harness


def main() -> None:
    options = _harness.options(__doc__, trials=3000, name="fuzz_dicom")
    from tests.cine import header_fuzz

    report, elapsed = _harness.run(header_fuzz.run, options, "usannotate-fuzz-", every=250)
    result = _harness.result(report, options, elapsed)
    lines = [
        f"DICOM header fuzzing: {report.total_trials} trials, seed {options.seed}, "
        f"{elapsed:.0f} s; Python {platform.python_version()}; code from `{result['code']}`.",
        "",
        "Trials that failed, per mutation kind and failure kind (a trial counts once per kind):",
        "",
        *_harness.failure_table(
            result["rows"], header_fuzz.FAILURES, "mutation", report.total_trials
        ),
    ]
    _harness.write(options, result, lines, report.examples)


if __name__ == "__main__":
    main()
