"""Transport bar: play / pause, step, frame slider with frame and time, speed, loop."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QSlider,
    QStyle,
    QToolButton,
    QWidget,
)

from usannotate.ui.playback import SPEEDS
from usannotate.ui.readout import ReadoutLabel


class TransportBar(QWidget):
    """The controls under the image. Emits what the user asked for; shows what it is told.

    Signals
    -------
    frameRequested(int)
        The slider moved (dragging scrubs live) or a step button was pressed.
    playToggled()
    speedChanged(float)
    loopingChanged(bool)
    """

    frameRequested = Signal(int)
    playToggled = Signal()
    stepRequested = Signal(int)
    speedChanged = Signal(float)
    loopingChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style = self.style()
        self.play_button = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Play / pause (Space)"
        )
        self.play_button.clicked.connect(self.playToggled)
        self.back_button = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekBackward),
            "Previous frame (Left or D)",
        )
        self.back_button.clicked.connect(lambda: self.stepRequested.emit(-1))
        self.forward_button = self._button(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward),
            "Next frame (Right or F)",
        )
        self.forward_button.clicked.connect(lambda: self.stepRequested.emit(1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Frame: drag to scrub")
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrow keys belong to the window
        self.slider.valueChanged.connect(self.frameRequested)
        # Opaque: moved every frame played, it need not have the bar painted under it.
        self.slider.setAutoFillBackground(True)
        # A fixed size: its text changes on every frame played (see ReadoutLabel).
        self.position_label = ReadoutLabel("Frame 0000 / 0000   00000.0 ms", "–")
        self.position_label.setToolTip("Frame number (1-based on screen) and its time in the loop")
        self.speed_box = QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed:g}x", speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed, relative to the recorded frame rate")
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_box.currentIndexChanged.connect(
            lambda i: self.speedChanged.emit(float(self.speed_box.itemData(i)))
        )
        self.loop_box = QCheckBox("Loop")
        self.loop_box.setChecked(True)
        self.loop_box.setToolTip("Start again from the first frame at the end (L)")
        self.loop_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loop_box.toggled.connect(self.loopingChanged)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        for widget in (self.back_button, self.play_button, self.forward_button):
            layout.addWidget(widget)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.position_label)
        layout.addWidget(self.speed_box)
        layout.addWidget(self.loop_box)
        self.set_loop_length(0)

    def _button(self, icon, tip: str) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def set_loop_length(self, n_frames: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n_frames - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        for widget in (self.slider, self.play_button, self.back_button, self.forward_button):
            widget.setEnabled(n_frames > 1)
        self._n_frames = n_frames
        if n_frames == 0:
            self.position_label.setText("No loop open")

    def show_position(self, index: int, time_ms: float) -> None:
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self.position_label.setText(f"Frame {index + 1} / {self._n_frames}   {time_ms:7.1f} ms")

    def show_playing(self, playing: bool) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaPause if playing else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_button.setIcon(self.style().standardIcon(icon))

    def set_speed(self, speed: float) -> None:
        self.speed_box.setCurrentIndex(SPEEDS.index(speed))
