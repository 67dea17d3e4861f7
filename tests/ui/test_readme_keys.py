"""The README's keyboard table lists every shortcut the window registers (the F1 list is
built from the actions themselves; this keeps the README from drifting the same way)."""

from __future__ import annotations

import re
from pathlib import Path

from usannotate.ui.dialogs.shortcuts import shortcut_rows

README = Path(__file__).resolve().parents[2] / "README.md"


def table_keys() -> set[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("| keys | action |") :]
    section = section[: section.index("\n\n")]
    keys: set[str] = set()
    for line in section.splitlines()[2:]:
        cell = line.split("|")[1].strip().replace("(", " / ").replace(")", " ")
        for part in re.split(r" / | or |, ", cell):
            part = part.strip().removeprefix("or ").strip()
            if part:
                keys.add(part)
    return keys


def test_every_menu_shortcut_is_in_the_readme(window):
    documented = table_keys()
    missing = [
        f"{row.group} > {row.action}: {row.keys}"
        for row in shortcut_rows(window)
        if row.group not in ("Labels", "While marking", "Mouse")
        and not any(key in documented for key in row.keys.split(", "))
    ]
    assert not missing, "add these to the README's keyboard table: " + "; ".join(missing)


def test_no_two_actions_share_a_key(window):
    # Qt gives neither action a key both claim ("Ambiguous shortcut overload"): the key
    # would silently do nothing.
    from PySide6.QtGui import QAction, QKeySequence

    owners: dict[str, list[str]] = {}
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            key = sequence.toString(QKeySequence.SequenceFormat.PortableText)
            if key:
                owners.setdefault(key, []).append(action.text())
    shared = {key: names for key, names in owners.items() if len(set(names)) > 1}
    assert not shared, f"keys claimed by several actions: {shared}"
