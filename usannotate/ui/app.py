"""The viewer window: open a loop, show its frames, step and play at its frame rate."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QImage, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from usannotate import __version__
from usannotate.cine import CineError, CineLoop, open_cine

DICOM_FILTER = "DICOM files (*.dcm *.DCM *.dicom);;All files (*)"


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """Wrap a ``(rows, columns, 3)`` uint8 RGB array as a QImage (copied, so it owns its bytes)."""
    rgb = np.ascontiguousarray(rgb)
    rows, columns = rgb.shape[:2]
    return QImage(rgb.data, columns, rows, rgb.strides[0], QImage.Format.Format_RGB888).copy()


class FrameView(QGraphicsView):
    """Shows one frame, scaled to fit with its aspect ratio kept."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self._pixmap_item = QGraphicsPixmapItem()
        self._pixmap_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._pixmap_item)
        self.setBackgroundBrush(Qt.GlobalColor.black)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self._hint = self.scene().addText(
            "Open an ultrasound DICOM loop: File > Open (Ctrl+O) or drop a file here"
        )
        self._hint.setDefaultTextColor(Qt.GlobalColor.lightGray)

    def show_frame(self, rgb: np.ndarray) -> None:
        first = self._pixmap_item.pixmap().isNull()
        self._hint.setVisible(False)
        self._pixmap_item.setPixmap(QPixmap.fromImage(rgb_to_qimage(rgb)))
        if first:
            self.scene().setSceneRect(self._pixmap_item.boundingRect())
            self.fit()

    def fit(self) -> None:
        self.fitInView(self._pixmap_item, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self._pixmap_item.pixmap().isNull():
            self.fit()


class MainWindow(QMainWindow):
    """Main window: frame view, frame slider, play / pause, frame and time read-out."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: CineLoop | None = None
        self.index = 0
        self.view = FrameView(self)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Frame (drag to scrub)")
        self.slider.valueChanged.connect(self.show_index)
        self.play_button = QToolButton()
        self.play_button.setText("Play")
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.toggle_play)
        self.position_label = QLabel("No loop open")
        self.position_label.setMinimumWidth(220)

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.position_label)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view, 1)
        layout.addLayout(controls)
        self.setCentralWidget(central)

        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_tick)
        self._play_started = 0.0
        self._play_start_index = 0
        self._build_menus()
        self.setAcceptDrops(True)
        self.resize(1100, 800)
        self._update_title()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.StandardKey.Open)
        open_action.setToolTip("Open a DICOM loop")
        open_action.triggered.connect(self.choose_file)
        file_menu.addAction(open_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        for text, keys, slot in (
            ("Play / Pause", "Space", self.toggle_play),
            ("Next frame", "Right", lambda: self.step(1)),
            ("Previous frame", "Left", lambda: self.step(-1)),
            ("Forward 10 frames", "Shift+Right", lambda: self.step(10)),
            ("Back 10 frames", "Shift+Left", lambda: self.step(-10)),
            ("First frame", "Home", lambda: self.show_index(0)),
            ("Last frame", "End", lambda: self.show_index(self._n_frames - 1)),
            ("Fit to window", "F", self.view.fit),
        ):
            action = QAction(text, self, shortcut=QKeySequence(keys))
            action.triggered.connect(slot)
            view_menu.addAction(action)
            self.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About usannotate", self)
        about.triggered.connect(
            lambda: QMessageBox.about(
                self, "About usannotate", f"usannotate {__version__}\nUltrasound cine annotation."
            )
        )
        help_menu.addAction(about)

    @property
    def _n_frames(self) -> int:
        return self.loop.n_frames if self.loop is not None else 0

    # ---------------------------------------------------------------- opening
    def choose_file(self) -> None:
        start = str(QSettings().value("last_folder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open DICOM loop", start, DICOM_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open a loop file, or the first DICOM in a folder; errors show as a dialog."""
        if os.path.isdir(path):
            candidates = sorted(
                p for p in Path(path).iterdir() if p.is_file() and p.suffix.lower() in (".dcm", "")
            )
            if not candidates:
                self._error(f"{os.path.basename(path)}: the folder holds no .dcm files")
                return False
            path = str(candidates[0])
        try:
            loop = open_cine(path)
        except CineError as exc:
            self._error(str(exc))
            return False
        self.stop()
        if self.loop is not None:
            self.loop.close()
        self.loop = loop
        QSettings().setValue("last_folder", os.path.dirname(os.path.abspath(path)))
        self.slider.blockSignals(True)
        self.slider.setRange(0, loop.n_frames - 1)
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(loop.n_frames > 1)
        self.play_button.setEnabled(loop.n_frames > 1)
        self.index = -1
        self.show_index(0)
        for warning in loop.warnings:
            self.statusBar().showMessage(f"Warning: {warning}", 10000)
        return True

    def _error(self, message: str) -> None:
        QMessageBox.warning(self, "Cannot open", message)

    # ----------------------------------------------------------------- frames
    def show_index(self, index: int) -> None:
        if self.loop is None:
            return
        index = max(0, min(int(index), self.loop.n_frames - 1))
        if index == self.index:
            return
        try:
            rgb = self.loop.frame(index)
        except CineError as exc:
            self.stop()
            self._error(str(exc))
            return
        self.index = index
        self.view.show_frame(rgb)
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        time_ms = self.loop.frame_start_times_ms()[index]
        self.position_label.setText(f"Frame {index + 1} / {self.loop.n_frames}   {time_ms:8.1f} ms")
        self._update_title()

    def step(self, delta: int) -> None:
        self.stop()
        self.show_index(self.index + delta)

    # --------------------------------------------------------------- playback
    def toggle_play(self) -> None:
        if self._timer.isActive():
            self.stop()
        elif self._n_frames > 1:
            self._play_started = time.perf_counter()
            self._play_start_index = self.index
            self._timer.start(max(1, int(self.loop.frame_time_ms / 4)))  # type: ignore[union-attr]
            self.play_button.setText("Pause")

    def stop(self) -> None:
        self._timer.stop()
        self.play_button.setText("Play")

    def _on_tick(self) -> None:
        # The frame shown is the one due now by the clock, not one per tick.
        assert self.loop is not None
        elapsed_ms = (time.perf_counter() - self._play_started) * 1000.0
        due = self._play_start_index + int(elapsed_ms // self.loop.frame_time_ms)
        self.show_index(due % self.loop.n_frames)

    def _update_title(self) -> None:
        if self.loop is None:
            self.setWindowTitle("usannotate")
            return
        name = os.path.basename(self.loop.path)
        self.setWindowTitle(f"{name} — frame {self.index + 1} / {self.loop.n_frames} — usannotate")

    # ---------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.open_path(urls[0].toLocalFile())

    def closeEvent(self, event) -> None:
        self.stop()
        if self.loop is not None:
            self.loop.close()
        super().closeEvent(event)


def run(path: str | None = None) -> int:
    """Start the viewer (optionally on ``path``) and return the exit status."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("usannotate")
    app.setOrganizationName("usannotate")
    window = MainWindow()
    window.show()
    if path:
        QTimer.singleShot(0, lambda: window.open_path(path))
    return app.exec()
