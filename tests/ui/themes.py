"""A dark palette for the GUI tests of light and dark themes."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette

DARK = {
    QPalette.ColorRole.Window: "#2b2b2b",
    QPalette.ColorRole.Base: "#1e1e1e",
    QPalette.ColorRole.WindowText: "#e0e0e0",
    QPalette.ColorRole.Text: "#e0e0e0",
    QPalette.ColorRole.Highlight: "#3d8ee0",
}


def dark_palette(palette: QPalette | None = None) -> QPalette:
    """``palette`` (a new one by default) with a dark theme's window, base, text and
    highlight colours."""
    palette = QPalette() if palette is None else QPalette(palette)
    for role, colour in DARK.items():
        palette.setColor(role, QColor(colour))
    return palette
