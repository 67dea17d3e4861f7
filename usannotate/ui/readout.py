"""A label for a readout that changes every frame played (frame number, time)."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QWidget

__all__ = ["ReadoutLabel"]


class ReadoutLabel(QLabel):
    """A :class:`QLabel` of a fixed size, wide enough for ``sample``, so that a new text
    repaints the label alone.

    ``QLabel.setText`` asks the layout for room again, and Qt passes that up to the window
    unless the widget's size is fixed (``QWidget::updateGeometry``): at 60 frames a second
    a changing readout laid out the status bar, the transport bar and every dock of the
    main window again on every frame (a third of the window's work per frame, measured
    with callgrind). A text wider than the label makes it wider once, then it stays. It
    paints its own background, so the window under it is not painted again with it.
    """

    def __init__(self, sample: str, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        # Opaque (it fills its own background): its parents are not painted under it.
        self.setAutoFillBackground(True)
        self._sample = sample
        self._text_width = 0
        self._fit()

    def setContentsMargins(self, *margins) -> None:
        super().setContentsMargins(*margins)
        self._fit()

    def setText(self, text: str) -> None:
        if text == self.text():
            return
        width = self.fontMetrics().horizontalAdvance(text)
        if width > self._text_width:
            self._text_width = width
            self._fit()
        super().setText(text)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._text_width = 0
            self._fit()

    def _fit(self) -> None:
        metrics = self.fontMetrics()
        margins = self.contentsMargins()
        self._text_width = max(
            self._text_width,
            metrics.horizontalAdvance(self._sample),
            metrics.horizontalAdvance(self.text()),
        )
        self.setFixedSize(
            self._text_width + margins.left() + margins.right() + 2 * self.margin() + 4,
            max(
                super().sizeHint().height(),
                metrics.height() + margins.top() + margins.bottom() + 2 * self.margin(),
            ),
        )
