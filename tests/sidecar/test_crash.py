"""A writer killed (SIGKILL) in the middle of saving leaves the previous sidecar intact:
the file always loads and is either the old or the new complete version; and it leaves
at most its own temporary file, which the next save, or opening the loop, removes.

The kills land at a random moment of the save cycle, as soon as a temporary file appears
(so some certainly hit a save between writing and renaming), or at once; see
tests/sidecar/crash_harness.py (benchmarks/crash_sidecar.py runs it long).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.sidecar import crash_harness
from usannotate._atomic import is_temporary_for
from usannotate.sidecar.locks import saving_path_for

TRIALS = 4  # each kind of kill once, a random moment twice


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_killing_the_writer_mid_save_never_damages_the_sidecar_nor_piles_up_files(
    tmp_path: Path,
):
    report = crash_harness.run(TRIALS, seed=20250314, folder=tmp_path)
    assert report.total_trials == TRIALS
    assert report.total_failures == 0, "\n".join(report.examples)
    assert report.most_temporaries <= 1
    # A killed save also leaves its save guard (the next save breaks it as stale).
    guard = saving_path_for(tmp_path / crash_harness.NAME)
    leftovers = [
        p.name
        for p in tmp_path.iterdir()
        if p.name != crash_harness.NAME and p != guard and not is_temporary_for(p.name, guard)
    ]
    assert len(leftovers) <= 1, leftovers  # the last killed save's, at most
