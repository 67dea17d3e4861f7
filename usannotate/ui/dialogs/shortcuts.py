"""The keyboard help (F1), built from the window's own actions so it cannot drift.

Every menu is walked and each action with a shortcut becomes a row under the menu's
title; actions that live on the window only (the label digits) are gathered as one
row; keys that are not actions (the drawing tools' Enter / Backspace / Esc / Delete)
and mouse gestures are listed from :data:`TOOL_KEYS` and :data:`MOUSE_GESTURES`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QMenu,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

__all__ = [
    "MOUSE_GESTURES",
    "TOOL_KEYS",
    "ShortcutRow",
    "ShortcutsDialog",
    "key_text",
    "shortcut_rows",
]

#: Keys the drawing and editing tools take while they have something to do with them.
TOOL_KEYS: tuple[tuple[str, str], ...] = (
    ("Enter / double-click", "Finish the plane or region being drawn"),
    ("Backspace", "Remove the last point placed (or the point under the cursor)"),
    ("Esc", "Cancel the mark being drawn; then back to selecting; then deselect"),
    ("Delete", "Remove the point under the cursor, else the mark on this frame"),
    ("Shift+click", "Start a new structure of the label instead of continuing its track"),
)

#: What the mouse does in the image.
MOUSE_GESTURES: tuple[tuple[str, str], ...] = (
    ("Wheel", "Zoom about the cursor"),
    ("Middle drag, Ctrl+drag", "Pan"),
    ("Click a mark", "Select it; drag it or one of its points to move it"),
    ("Double-click an edge", "Add a point to the selected plane or region"),
)


@dataclass(frozen=True)
class ShortcutRow:
    """One line of the help: the group (menu title), the keys and what they do."""

    group: str
    keys: str
    action: str


def key_text(action: QAction) -> str:
    """The action's shortcuts as the user types them, e.g. ``"Right, F"``."""
    texts: list[str] = []
    for sequence in action.shortcuts():
        text = sequence.toString(QKeySequence.SequenceFormat.NativeText)
        if text and text not in texts:
            texts.append(text)
    return ", ".join(texts)


def _plain(text: str) -> str:
    """A menu text without its mnemonic ampersand and trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


def _menu_rows(menu: QMenu, group: str, seen: set[int]) -> list[ShortcutRow]:
    rows: list[ShortcutRow] = []
    for action in menu.actions():
        if action.menu() is not None:
            rows.extend(_menu_rows(action.menu(), group, seen))
            continue
        keys = key_text(action)
        if action.isSeparator() or not keys or id(action) in seen:
            continue
        seen.add(id(action))
        rows.append(ShortcutRow(group, keys, _plain(action.text())))
    return rows


def shortcut_rows(window: QMainWindow, extra_actions: Iterable[QAction] = ()) -> list[ShortcutRow]:
    """Every keyboard shortcut of ``window``: its menus' actions in menu order, then the
    actions that are not in a menu (grouped as "Other"; the label digits, whose
    ``objectName`` starts with ``label_key``, as one "Labels" row), then the tools' keys
    and the mouse gestures."""
    seen: set[int] = set()
    rows: list[ShortcutRow] = []
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None:
            rows.extend(_menu_rows(menu, _plain(menu.title()), seen))
    digits: list[str] = []
    for action in [*window.actions(), *extra_actions]:
        keys = key_text(action)
        if not keys or id(action) in seen:
            continue
        seen.add(id(action))
        if action.objectName().startswith("label_key"):
            digits.append(keys)
        else:
            rows.append(ShortcutRow("Other", keys, _plain(action.text())))
    if digits:
        rows.append(
            ShortcutRow(
                "Labels",
                " ".join(digits),
                "Choose the label with that number and start marking with it "
                "(click a label in the Labels dock to relabel the selected mark)",
            )
        )
    rows.extend(ShortcutRow("While marking", k, a) for k, a in TOOL_KEYS)
    rows.extend(ShortcutRow("Mouse", k, a) for k, a in MOUSE_GESTURES)
    return rows


def shortcuts_html(rows: Iterable[ShortcutRow]) -> str:
    """The rows as an HTML table, a heading row per group."""
    parts = ["<table cellspacing='0' cellpadding='3'>"]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            parts.append(
                f"<tr><td colspan='2' style='padding-top:10px'><b>{escape(group)}</b></td></tr>"
            )
        parts.append(
            f"<tr><td style='padding-right:18px; white-space:nowrap'><code>"
            f"{escape(row.keys)}</code></td><td>{escape(row.action)}</td></tr>"
        )
    parts.append("</table>")
    return "".join(parts)


class ShortcutsDialog(QDialog):
    """A scrollable list of every shortcut (closes with Esc, Enter or F1)."""

    def __init__(self, rows: list[ShortcutRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = rows
        self.browser = QTextBrowser()
        self.browser.setHtml(shortcuts_html(rows))
        self.browser.setOpenLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(640, 620)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_F1:  # the key that opened it closes it too
            self.accept()
            return
        super().keyPressEvent(event)
