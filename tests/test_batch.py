"""Folder-wide work on several processes (usannotate.batch): order, failures, progress."""

from __future__ import annotations

import argparse
import os

import pytest

from usannotate.batch import BatchError, default_jobs, jobs_argument, run_batch


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
        run_batch(int, ["1", "x", "3"], jobs=1, expected=(KeyError,))
    with pytest.raises(BatchError, match="ValueError: invalid literal"):
        run_batch(int, ["1", "x", "3"], jobs=2, expected=(KeyError,))


class _Unpicklable(Exception):
    def __init__(self, name: str, problems: list[str]) -> None:
        super().__init__(f"{name}: {'; '.join(problems)}")


def _raise_ours(item: str) -> str:
    if item == "bad":
        raise _Unpicklable(item, ["not usable"])
    return item


def test_an_error_that_does_not_pickle_still_fails_only_its_item():
    batch = run_batch(_raise_ours, ["a", "bad", "c"], jobs=2, expected=(_Unpicklable,))
    assert batch.results == ["a", None, "c"]
    assert batch.failed == [("bad", "bad: not usable")]


def test_jobs_argument_and_default():
    assert jobs_argument("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match="at least 1"):
        jobs_argument("0")
    with pytest.raises(argparse.ArgumentTypeError, match="whole number"):
        jobs_argument("two")
    assert default_jobs() >= 1


def test_folder_commands_give_the_same_output_on_one_or_two_processes(tmp_path, capsys):
    import shutil

    from tests.ui.paths import SAMPLE_A, SAMPLE_B
    from usannotate.cli import main

    folder = tmp_path / "archive"
    folder.mkdir()
    for name, sample in (("a.dcm", SAMPLE_A), ("b.dcm", SAMPLE_B), ("c.dcm", SAMPLE_A)):
        shutil.copy(sample, folder / name)
    (folder / "c.dcm").write_bytes(b"not a loop")  # fails alone, the rest go on
    outputs = {}
    for jobs in ("1", "2"):
        codes = (
            main(["status", str(folder), "--json", "--jobs", jobs]),
            main(
                [
                    "deidentify",
                    str(folder),
                    "--output",
                    str(tmp_path / f"out{jobs}"),
                    "--jobs",
                    jobs,
                ]
            ),
        )
        outputs[jobs] = (codes, capsys.readouterr().out)
    assert outputs["1"] == outputs["2"]
    names = sorted(p.name for p in (tmp_path / "out2").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "out1").iterdir())
    assert "a.dcm" in names
    assert "b.dcm" in names
    for name in names:  # the same de-identified bytes whichever process wrote them
        assert (tmp_path / "out1" / name).read_bytes() == (tmp_path / "out2" / name).read_bytes()
