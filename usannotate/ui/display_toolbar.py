"""The Display toolbar: brightness, contrast and marks opacity (display only, never saved)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSlider, QToolBar, QToolButton, QWidget

from usannotate.ui.state import ViewerState
from usannotate.ui.viewer.marks import AnnotationLayer
from usannotate.ui.viewer.view import CineView, DisplayAdjustment


class DisplayToolbar(QToolBar):
    """Sliders that change how the loop and its marks look, not the loop's pixels."""

    def __init__(
        self, view: CineView, layer: AnnotationLayer, state: ViewerState, parent: QWidget
    ) -> None:
        super().__init__("Display", parent)
        self.setObjectName("display_toolbar")
        self._view, self._layer, self._state = view, layer, state
        self.addWidget(QLabel(" Brightness "))
        self.brightness = self._slider(-100, 100, 0, 140, "Display brightness")
        self.brightness.valueChanged.connect(self._on_display_changed)
        self.addWidget(QLabel("  Contrast "))
        self.contrast = self._slider(-100, 100, 0, 140, "Display contrast (gain)")
        self.contrast.valueChanged.connect(self._on_display_changed)
        self.addWidget(QLabel("  Marks "))
        self.opacity = self._slider(10, 100, 100, 100, "Opacity of the marks")
        self.opacity.valueChanged.connect(self._on_opacity_changed)
        reset = QToolButton()
        reset.setText("Reset")
        reset.setToolTip("Reset brightness and contrast (Ctrl+R); the loop's pixels never change")
        reset.clicked.connect(self.reset)
        self.addWidget(reset)

    def _slider(self, low: int, high: int, value: int, width: int, tip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(value)
        slider.setFixedWidth(width)
        slider.setToolTip(tip + " (display only)")
        slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.addWidget(slider)
        return slider

    def _on_display_changed(self) -> None:
        contrast = 2.0 ** (self.contrast.value() / 50.0)  # 0.25x .. 4x
        self._view.set_adjustment(DisplayAdjustment(self.brightness.value() * 1.28, contrast))

    def _on_opacity_changed(self, value: int) -> None:
        self._layer.opacity = value / 100.0
        self._state.displayChanged.emit()

    def reset(self) -> None:
        """Brightness and contrast back to the loop's own (the marks' opacity stays)."""
        for slider in (self.brightness, self.contrast):
            slider.blockSignals(True)
            slider.setValue(0)
            slider.blockSignals(False)
        self._view.set_adjustment(DisplayAdjustment())
