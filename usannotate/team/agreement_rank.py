"""Agreement figures by frame, worst first: what the Agreement dock lists (no Qt).

Each frame where both raters marked a paired track becomes one :class:`FrameDisagreement`
whose key figure is the length the pairing minimises (needle: ``tip_error``; plane and
region: ``mean_distance``; point: ``distance``). A report's lengths share one unit (mm,
or px when the loop has no usable calibration), so frames of different tracks sort on one
scale, largest first; the frame's other figures come along for the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from usannotate.team.agreement import AgreementReport

#: The key figure of each kind's rows (the measurement names of team.agreement).
KEY_MEASUREMENTS = ("tip_error", "mean_distance", "distance")


@dataclass(frozen=True)
class FrameDisagreement:
    """How far two raters' versions of one track are apart on one frame."""

    frame: int
    label_id: str
    object_a: str
    object_b: str
    measurement: str
    value: float
    unit: str
    others: dict[str, tuple[float, str]] = field(default_factory=dict)


def worst_frames(report: AgreementReport) -> list[FrameDisagreement]:
    """The report's frames, the largest key figure first (ties: earlier frame first)."""
    grouped: dict[tuple[int, str, str], dict[str, tuple[float, str]]] = {}
    labels: dict[tuple[int, str, str], str] = {}
    for row in report.rows:
        key = (row.frame, row.object_a, row.object_b)
        grouped.setdefault(key, {})[row.measurement] = (row.value, row.unit)
        labels[key] = row.label_id
    found = []
    for key, figures in grouped.items():
        name = next((m for m in KEY_MEASUREMENTS if m in figures), None)
        if name is None:
            continue
        value, unit = figures[name]
        others = {m: v for m, v in figures.items() if m != name}
        found.append(
            FrameDisagreement(key[0], labels[key], key[1], key[2], name, value, unit, others)
        )
    found.sort(key=lambda d: (-d.value, d.frame, d.label_id))
    return found


__all__ = ["KEY_MEASUREMENTS", "FrameDisagreement", "worst_frames"]
