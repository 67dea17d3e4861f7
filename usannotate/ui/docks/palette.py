"""Colours of the docks' charts (timeline lanes, curves), legible in light and dark themes.

They are read from the widget palette so light and dark themes both read well.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette


def chart_colour(colour: str, background: QColor) -> str:
    """``colour`` as drawn on charts: a label colour too close to the background (the
    needle's white on a light theme) is darkened so its lane and curve stay visible."""
    shown = QColor(colour)
    if abs(shown.lightnessF() - background.lightnessF()) < 0.25:
        shown = shown.darker(250) if background.lightnessF() > 0.5 else shown.lighter(250)
    return shown.name()


def blend(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor.fromRgbF(
        a.redF() + (b.redF() - a.redF()) * t,
        a.greenF() + (b.greenF() - a.greenF()) * t,
        a.blueF() + (b.blueF() - a.blueF()) * t,
    )


@dataclass(frozen=True)
class ChartInk:
    """A chart's colours: around the plots (``window``), inside them (``base``), text,
    muted text, grid lines, the plot frame, the playhead (``highlight``) and the
    procedure events (``event``: near the text colour, so no label's colour, as the
    superficial fascia's orange, reads as an event or an event as a mark)."""

    window: QColor
    base: QColor
    text: QColor
    muted: QColor
    grid: QColor
    frame: QColor
    highlight: QColor
    highlighted_text: QColor
    event: QColor

    @classmethod
    def of(cls, palette: QPalette) -> ChartInk:
        window = palette.color(QPalette.ColorRole.Window)
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.WindowText)
        return cls(
            window=window,
            base=base,
            text=text,
            muted=blend(text, window, 0.35),
            grid=blend(text, base, 0.88),
            frame=blend(text, base, 0.6),
            highlight=palette.color(QPalette.ColorRole.Highlight),
            highlighted_text=palette.color(QPalette.ColorRole.HighlightedText),
            event=blend(text, base, 0.2),
        )
