"""Help > User Guide: the concise guide installed with the program (works offline).

The text is ``resources/USER_GUIDE.md`` (package data), shown with Qt's own Markdown
support; its last section, the keyboard shortcuts, is the F1 table built from the
window's actions, so the guide never lists a key the program does not have.
"""

from __future__ import annotations

from importlib.resources import files

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from usannotate.ui.dialogs.shortcuts import ShortcutRow, shortcuts_html

GUIDE_RESOURCE = "USER_GUIDE.md"


def guide_markdown() -> str:
    """The guide's text as installed (``usannotate.resources``)."""
    return files("usannotate.resources").joinpath(GUIDE_RESOURCE).read_text(encoding="utf-8")


class UserGuideDialog(QDialog):
    """The guide, scrollable, with the window's shortcuts at the end."""

    def __init__(self, shortcuts: list[ShortcutRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("usannotate user guide")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(False)
        self.browser.setMarkdown(guide_markdown())
        # Qt's Markdown has no way to take an HTML table in: append it to the document.
        cursor = self.browser.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        cursor.insertHtml(shortcuts_html(shortcuts))
        self.browser.moveCursor(cursor.MoveOperation.Start)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(760, 760)
