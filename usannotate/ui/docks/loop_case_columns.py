"""The Loops list's case-detail columns and the case filter (procedure, target, side, teaching).

The values come from each sidecar's ``case`` (read with the worklist row, no extra
file read: :class:`~usannotate.team.worklist.SidecarSummary`). A choice is shown in
words (``trigger point injection``), teaching as ``yes`` / ``no``. Each column sorts by
its text (empty first); the case filter offers every value met in the folder
("Target: trapezius", "Teaching cases").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtWidgets import QComboBox, QWidget

from usannotate.team.worklist import LoopStatus

__all__ = [
    "CASE_COLUMNS",
    "CASE_FIELDS",
    "CASE_TIPS",
    "HIDDEN_CASE_COLUMNS",
    "case_filter_box",
    "case_filter_choices",
    "case_matches",
    "case_texts",
    "refill_case_filter",
]

#: (field id, column title) of the case columns, after the worklist's.
CASE_FIELDS = (
    ("procedure", "Procedure"),
    ("target", "Target"),
    ("side", "Side"),
    ("teaching_case", "Teaching"),
)
CASE_COLUMNS = tuple(title for _, title in CASE_FIELDS)
#: Hidden until shown from the header's menu (a right click): in a 480 px dock the
#: worklist's columns leave no room (the Raters column needs its 60 px); the case filter
#: works whether they are shown or not.
HIDDEN_CASE_COLUMNS = CASE_COLUMNS
CASE_TIPS = (
    "Procedure (case detail)",
    "Target muscle or fascia (case detail)",
    "Side (case detail)",
    "Teaching case (case detail)",
)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", " ")


def case_texts(work: LoopStatus | None) -> tuple[str, ...]:
    """The case columns' texts of a row (empty without a readable sidecar)."""
    summary = None if work is None else work.summary
    if summary is None:
        return ("",) * len(CASE_FIELDS)
    return tuple(_text(summary.case_value(field_id)) for field_id, _ in CASE_FIELDS)


def case_filter_choices(works: Iterable[LoopStatus | None]) -> list[tuple[str, tuple[str, str]]]:
    """``(text, (field id, shown value))`` of every case value met, field by field in
    column order, values sorted; teaching as one "Teaching cases" entry."""
    seen: dict[str, set[str]] = {field_id: set() for field_id, _ in CASE_FIELDS}
    for work in works:
        for (field_id, _), text in zip(CASE_FIELDS, case_texts(work), strict=True):
            if text:
                seen[field_id].add(text)
    out: list[tuple[str, tuple[str, str]]] = []
    for field_id, title in CASE_FIELDS:
        if field_id == "teaching_case":
            if "yes" in seen[field_id]:
                out.append(("Teaching cases", (field_id, "yes")))
            continue
        out += [(f"{title}: {v}", (field_id, v)) for v in sorted(seen[field_id], key=str.casefold)]
    return out


def case_matches(work: LoopStatus | None, choice: tuple[str, str] | None) -> bool:
    """Whether the row shows ``choice``'s value in its column (None: every row)."""
    if choice is None:
        return True
    field_id, value = choice
    index = [f for f, _ in CASE_FIELDS].index(field_id)
    return case_texts(work)[index] == value


def case_filter_box(parent: QWidget, changed: Callable[..., None]) -> QComboBox:
    """The case filter: "Any case", then the values :func:`refill_case_filter` puts."""
    combo = QComboBox(parent)
    combo.addItem("Any case", None)
    combo.setToolTip("Show only the loops with this case detail (procedure, target, side…)")
    combo.currentIndexChanged.connect(changed)
    return combo


def refill_case_filter(combo: QComboBox, works: Iterable[LoopStatus | None]) -> None:
    """Offer the case values of ``works`` (the choice kept when still offered), without
    a change signal."""
    choices = case_filter_choices(works)
    if [combo.itemData(i) for i in range(1, combo.count())] == [c for _, c in choices]:
        return
    chosen = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem("Any case", None)
    for text, choice in choices:
        combo.addItem(text, choice)
    combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen else 0)
    combo.blockSignals(False)
