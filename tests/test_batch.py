"""Folder-wide work on several processes (usannotate.batch): order, failures, progress."""

from __future__ import annotations

import io
import os

import pytest

from usannotate.batch import ProgressLine, default_jobs, jobs_argument, run_batch


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_results_come_back_in_order_and_a_failure_does_not_stop_the_rest(jobs):
    items = ["1", "22", "x", "4", "-5", "y", "7"]
    seen = []
    batch = run_batch(
        int, items, jobs=jobs, progress=lambda done, failed: seen.append((done, failed))
    )
    assert batch.results == [1, 22, None, 4, -5, None, 7]
    assert [item for item, _ in batch.failed] == ["x", "y"]
    assert all("invalid literal" in reason for _, reason in batch.failed)
    assert batch.succeeded()[0] == ("1", 1)
    assert seen[-1] == (7, 2)
    assert [done for done, _ in seen] == list(range(1, 8))


def test_the_work_really_runs_in_other_processes():
    pids = run_batch(_pid_of, range(6), jobs=2).results
    assert os.getpid() not in pids


def _pid_of(_item: int) -> int:
    return os.getpid()


def test_an_unexpected_error_stops_the_batch():
    with pytest.raises(ValueError, match="invalid literal"):
        run_batch(int, ["1", "x", "3"], jobs=2, expected=(KeyError,))


def test_progress_writes_one_line_per_tenth_to_a_log():
    stream = io.StringIO()
    line = ProgressLine(20, "loops", stream)
    for done in range(1, 21):
        line.update(done, 1 if done > 5 else 0)
    lines = stream.getvalue().splitlines()
    assert lines[-1] == "20/20 loops, 1 failed"
    assert len(lines) == 11  # 0/10 .. 10/10 tenths, the first item in tenth 0


def test_jobs_argument_and_default():
    assert jobs_argument("3") == 3
    with pytest.raises(ValueError, match="at least 1"):
        jobs_argument("0")
    with pytest.raises(ValueError, match="whole number"):
        jobs_argument("two")
    assert default_jobs() >= 1
