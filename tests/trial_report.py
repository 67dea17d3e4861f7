"""The tally the seeded harnesses keep: trials and failures per kind of trial, with examples.

Shared by tests/cine/header_fuzz.py (per mutation), tests/sidecar/sidecar_fuzz.py (per
mutation, with the files load accepted) and tests/sidecar/crash_harness.py (per kind of
kill); benchmarks/_harness.py writes it out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

MAX_EXAMPLES = 20


@dataclass
class TrialReport:
    """Trials and failures per kind of trial (``KINDS``, named ``COLUMN`` in the rows), each
    failure kind (``FAILURES``) counted once per trial, with the first few examples."""

    COLUMN: ClassVar[str] = "mutation"
    KINDS: ClassVar[tuple[str, ...]] = ()
    FAILURES: ClassVar[tuple[str, ...]] = ()

    trials: Counter[str] = field(default_factory=Counter)
    failures: dict[str, Counter[str]] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def add(self, kind: str, problems: list[tuple[str, str]], label: str) -> None:
        """One trial of ``kind`` and its ``(failure kind, detail)`` problems."""
        self.trials[kind] += 1
        first: dict[str, str] = {}
        for failure, detail in problems:
            first.setdefault(failure, detail)
        for failure, detail in first.items():  # one example per failure kind and trial
            self.failures.setdefault(kind, Counter())[failure] += 1
            if len(self.examples) < MAX_EXAMPLES:
                self.examples.append(f"{label}: {failure}: {detail}")

    @property
    def total_trials(self) -> int:
        return sum(self.trials.values())

    @property
    def total_failures(self) -> int:
        return sum(sum(c.values()) for c in self.failures.values())

    def row(self, kind: str) -> dict[str, object]:
        """The row of one kind of trial: its name, trials and each failure kind's count."""
        failed = self.failures.get(kind, Counter())
        return {self.COLUMN: kind, "trials": self.trials[kind]} | {
            failure: failed[failure] for failure in self.FAILURES
        }

    def as_rows(self) -> list[dict[str, object]]:
        return [self.row(kind) for kind in self.KINDS]
