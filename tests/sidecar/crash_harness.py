"""Kill -9 a process that saves a long loop's sidecar again and again; check what is left.

Each trial starts tests/sidecar/crash_writer.py (a 600-frame loop with ten objects, saved
in a loop, each generation moving every point) and SIGKILLs it: at a random moment of its
save cycle, as soon as a temporary file exists (between its creation and the rename), or
at once. Then:

- ``damaged``: the sidecar does not load;
- ``neither``: it loads but is neither the last generation saved nor the next one;
- ``temporaries``: more than one temporary file of the sidecar is in the folder (each
  save removes the left-overs of dead ones first, so only the killed save's may be);
- ``left-after-open``: a temporary file is still there after the cleaning a loop's
  opening does (``remove_stale_temporaries``).

No pytest here: ``benchmarks/crash_sidecar.py`` runs it long, tests/sidecar/test_crash.py
runs a few seeded trials in CI. POSIX only (SIGKILL).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.sidecar import crash_writer
from tests.trial_report import TrialReport
from usannotate._atomic import is_temporary_for, remove_stale_temporaries
from usannotate.sidecar import document_to_json, load_sidecar, save_sidecar

NAME = "long_loop.usannotate.json"
KILLS = ("random", "temporary", "at once")
FAILURES = ("damaged", "neither", "temporaries", "left-after-open")
START_TIMEOUT_S = 60.0


@dataclass
class Report(TrialReport):
    """Trials and failures per kind of kill; the most temporary files and bytes seen."""

    COLUMN = "kill"
    KINDS = KILLS
    FAILURES = FAILURES
    most_temporaries: int = 0
    most_temporary_bytes: int = 0
    saves_completed: int = 0


def _log_lines(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def _temporaries(folder: Path, path: Path) -> list[Path]:
    return [p for p in folder.iterdir() if is_temporary_for(p.name, path)]


def _kill_one(path: Path, log: Path, first: int, kill: str, rng: random.Random) -> None:
    before = set(_temporaries(path.parent, path))  # left-overs of earlier kills, if any
    writer = subprocess.Popen(
        [sys.executable, crash_writer.__file__, str(path), str(log), str(first)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while "ready" not in _log_lines(log):
            if writer.poll() is not None:
                raise RuntimeError(writer.stderr.read().decode())  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise RuntimeError("the writer did not start in time")
            time.sleep(0.01)
        if kill == "random":
            time.sleep(rng.uniform(0.05, 0.7))  # anywhere in a save cycle
        elif kill == "temporary":  # between the temporary file's creation and the rename
            while not set(_temporaries(path.parent, path)) - before:
                if time.monotonic() > deadline:
                    raise RuntimeError("the writer never saved")
        if writer.poll() is not None:
            raise RuntimeError(writer.stderr.read().decode())  # type: ignore[union-attr]
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stderr.close()  # type: ignore[union-attr]


def run(
    trials: int, seed: int, folder: Path, *, progress: Callable[[int], None] | None = None
) -> Report:
    """``trials`` kills (the kinds in turn, random moments from ``seed``)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NAME
    save_sidecar(crash_writer.build(0), path, now=crash_writer.NOW)
    last = 0
    report = Report()
    for trial in range(trials):
        kill = KILLS[trial % len(KILLS)]
        log = folder / f"writer-{trial}.log"
        _kill_one(path, log, last + 1, kill, rng)
        saved = [int(g) for g in _log_lines(log)[1:]]
        report.saves_completed += len(saved)
        log.unlink()
        completed = saved[-1] if saved else last
        problems: list[tuple[str, str]] = []
        try:
            doc = load_sidecar(path)
        except Exception as exc:
            problems.append(("damaged", str(exc)[:200]))
        else:
            generation = doc.extra.top["generation"]
            if generation not in (completed, completed + 1):
                problems.append(("neither", f"generation {generation}, saved {completed}"))
            elif document_to_json(doc) != document_to_json(crash_writer.build(generation)):
                problems.append(("neither", f"generation {generation} is not its own"))
            last = generation
        left = _temporaries(folder, path)
        report.most_temporaries = max(report.most_temporaries, len(left))
        report.most_temporary_bytes = max(
            report.most_temporary_bytes, sum(p.stat().st_size for p in left)
        )
        if len(left) > 1:
            problems.append(("temporaries", f"{len(left)} temporary files"))
        if trial % 2:  # half the trials: the next writer cleans; the others: opening does
            remove_stale_temporaries(path)
            if _temporaries(folder, path):
                problems.append(("left-after-open", "still there after opening"))
        report.add(kill, problems, f"trial {trial} ({kill})")
        if progress is not None:
            progress(trial)
    return report
