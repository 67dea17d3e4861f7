"""The main window: a loop's frames, its transport, the folder's loops and its details."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from usannotate import __version__
from usannotate.cine import CineError, CineLoop, open_cine
from usannotate.ui.loop_list import LoopListPanel
from usannotate.ui.metadata_panel import MetadataPanel
from usannotate.ui.playback import SPEEDS, PlaybackController
from usannotate.ui.transport import TransportBar
from usannotate.ui.viewer import CineView, DisplayAdjustment

DICOM_FILTER = "DICOM files (*.dcm *.DCM *.dicom *.DICOM);;All files (*)"
MAX_RECENT = 10
_DICOM_SUFFIXES = {".dcm", ".dicom", ""}


def loop_files_in(folder: str) -> list[str]:
    """Candidate loop files of a folder, sorted by name (hidden files and sidecars skipped)."""
    return sorted(
        str(p)
        for p in Path(folder).iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in _DICOM_SUFFIXES
    )


class MainWindow(QMainWindow):
    """The viewer window. Widgets are thin: the loop, the playback clock and the view
    own their state; the window wires them together and reports errors as dialogs."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: CineLoop | None = None
        self.index = -1
        self.view = CineView(self)
        self.transport = TransportBar(self)
        self.playback = PlaybackController(self)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.transport)
        self.setCentralWidget(central)

        self.loop_list = LoopListPanel(self)
        self.loop_dock = self._dock("Loops", self.loop_list, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.loop_dock.hide()
        self.metadata = MetadataPanel(self)
        self.metadata_dock = self._dock(
            "Loop details", self.metadata, Qt.DockWidgetArea.RightDockWidgetArea
        )

        self.metadata_dock.setMinimumWidth(300)
        self.loop_dock.setMinimumWidth(260)
        self._build_status_bar()
        self._build_display_toolbar()
        self._build_menus()
        self._connect()
        self.setAcceptDrops(True)
        self.resize(1360, 860)
        self._update_title()

    # ------------------------------------------------------------------ set-up
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title.replace(" ", "_"))
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        self.cursor_label = QLabel()
        self.cursor_label.setToolTip(
            "Cursor in image pixels (x = column, y = row; (0, 0) is the top-left corner) and, "
            "inside a calibrated region, in mm from the region's reference (the skin line)"
        )
        self.pixel_label = QLabel()
        self.pixel_label.setToolTip("Display value of the pixel under the cursor (before gain)")
        self.frame_label = QLabel()
        self.playback_label = QLabel()
        self.playback_label.setToolTip("Frames shown and frames skipped to keep to the clock")
        bar = self.statusBar()
        bar.addWidget(self.cursor_label, 1)
        bar.addPermanentWidget(self.pixel_label)
        bar.addPermanentWidget(self.playback_label)
        bar.addPermanentWidget(self.frame_label)

    def _build_display_toolbar(self) -> None:
        toolbar = QToolBar("Display", self)
        toolbar.setObjectName("display_toolbar")
        toolbar.addWidget(QLabel(" Brightness "))
        self.brightness_slider = self._display_slider(-100, 100, 0, "Display brightness")
        toolbar.addWidget(self.brightness_slider)
        toolbar.addWidget(QLabel("  Contrast "))
        self.contrast_slider = self._display_slider(-100, 100, 0, "Display contrast (gain)")
        toolbar.addWidget(self.contrast_slider)
        reset = QToolButton()
        reset.setText("Reset")
        reset.setToolTip("Reset brightness and contrast (Ctrl+R); the loop's pixels never change")
        reset.clicked.connect(self.reset_display)
        toolbar.addWidget(reset)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.display_toolbar = toolbar

    def _display_slider(self, low: int, high: int, value: int, tip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal)
        slider.setRange(low, high)
        slider.setValue(value)
        slider.setFixedWidth(140)
        slider.setToolTip(tip + " (display only)")
        slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        slider.valueChanged.connect(self._on_display_changed)
        return slider

    def _action(
        self, text: str, keys: str | QKeySequence | list | None, slot, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if isinstance(keys, list):
            action.setShortcuts([QKeySequence(k) for k in keys])
        elif keys is not None:
            action.setShortcut(QKeySequence(keys))
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when menus are hidden
        return action

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self._action("&Open Loop…", QKeySequence.StandardKey.Open, self.choose_file))
        menu.addAction(
            self._action(
                "Open &Folder…", "Ctrl+Shift+O", self.choose_folder, "Open a folder of loops"
            )
        )
        self.recent_menu = menu.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        menu.addSeparator()
        menu.addAction(
            self._action("&Next Loop", "PgDown", self.next_loop, "Next loop in the folder")
        )
        menu.addAction(
            self._action(
                "&Previous Loop", "PgUp", self.previous_loop, "Previous loop in the folder"
            )
        )
        menu.addSeparator()
        menu.addAction(self._action("&Quit", QKeySequence.StandardKey.Quit, self.close))

        menu = self.menuBar().addMenu("&Playback")
        menu.addAction(self._action("&Play / Pause", "Space", self.playback.toggle))
        menu.addAction(self._action("Next Frame", ["Right", "F"], lambda: self.step(1)))
        menu.addAction(self._action("Previous Frame", ["Left", "D"], lambda: self.step(-1)))
        menu.addAction(self._action("Forward 10 Frames", "Shift+Right", lambda: self.step(10)))
        menu.addAction(self._action("Back 10 Frames", "Shift+Left", lambda: self.step(-10)))
        menu.addAction(self._action("First Frame", "Home", lambda: self.jump(0)))
        menu.addAction(self._action("Last Frame", "End", self.jump_to_last))
        menu.addSeparator()
        menu.addAction(self._action("Faster", "]", lambda: self._change_speed(1)))
        menu.addAction(self._action("Slower", "[", lambda: self._change_speed(-1)))
        self.loop_action = self._action("&Loop", "L", self._on_loop_action)
        self.loop_action.setCheckable(True)
        self.loop_action.setChecked(True)
        menu.addAction(self.loop_action)

        menu = self.menuBar().addMenu("&View")
        menu.addAction(self._action("&Fit to Window", ["0", "Ctrl+0"], self.view.fit))
        menu.addAction(self._action("&Actual Size (1:1)", "1", self.view.zoom_actual_size))
        menu.addAction(
            self._action("Zoom &In", ["+", "=", "Ctrl++"], lambda: self.view.zoom_by(1.25))
        )
        menu.addAction(self._action("Zoom &Out", ["-", "Ctrl+-"], lambda: self.view.zoom_by(0.8)))
        menu.addSeparator()
        self.regions_action = self._action(
            "Show Calibration &Regions",
            "R",
            self.view.set_regions_visible,
            "Outline the ultrasound regions of the DICOM calibration",
        )
        self.regions_action.setCheckable(True)
        self.regions_action.setChecked(True)
        menu.addAction(self.regions_action)
        self.ruler_action = self._action(
            "Show Depth &Ruler",
            "M",
            self.view.set_ruler_visible,
            "Depth ruler in cm and a mm scale bar, from the calibration",
        )
        self.ruler_action.setCheckable(True)
        self.ruler_action.setChecked(True)
        menu.addAction(self.ruler_action)
        menu.addAction(self._action("Reset Brightness / Contrast", "Ctrl+R", self.reset_display))
        menu.addSeparator()
        menu.addAction(self.loop_dock.toggleViewAction())
        menu.addAction(self.metadata_dock.toggleViewAction())
        menu.addAction(self.display_toolbar.toggleViewAction())

        menu = self.menuBar().addMenu("&Help")
        menu.addAction(self._action("&Keyboard Shortcuts", "F1", self.show_shortcuts))
        menu.addAction(self._action("&About usannotate", None, self.show_about))

    def _connect(self) -> None:
        self.transport.frameRequested.connect(self._on_scrub)
        self.transport.stepRequested.connect(self.step)
        self.transport.playToggled.connect(self.playback.toggle)
        self.transport.speedChanged.connect(self.playback.set_speed)
        self.transport.loopingChanged.connect(self._set_looping)
        self.playback.frameDue.connect(self._on_frame_due)
        self.playback.playingChanged.connect(self._on_playing_changed)
        self.view.cursorMoved.connect(self._on_cursor)
        self.loop_list.loopActivated.connect(self.open_path)

    # ---------------------------------------------------------------- opening
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open DICOM loop", self._last_folder(), DICOM_FILTER
        )
        if path:
            self.open_path(path)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder of loops", self._last_folder())
        if folder:
            self.open_path(folder)

    def _last_folder(self) -> str:
        return str(QSettings().value("last_folder", str(Path.home())))

    def open_path(self, path: str) -> bool:
        """Open a loop file, or a folder: list its loops and open the first that opens."""
        if os.path.isdir(path):
            return self._open_folder(path)
        try:
            loop = open_cine(path)
        except CineError as exc:
            self._error("Cannot open loop", str(exc))
            return False
        self._show_loop(loop)
        folder = os.path.dirname(os.path.abspath(path))
        QSettings().setValue("last_folder", folder)
        self._remember_recent(os.path.abspath(path))
        self.loop_list.set_current(os.path.abspath(path))
        return True

    def _open_folder(self, folder: str) -> bool:
        candidates = loop_files_in(folder)
        if not self.loop_dock.isVisible():
            self.loop_dock.show()
            # Wide enough for typical archive file names next to frames and duration.
            self.resizeDocks([self.loop_dock], [340], Qt.Orientation.Horizontal)
        for candidate in candidates:
            try:
                loop = open_cine(candidate)
            except CineError:
                continue  # the list shows why; open the first loop that works
            self.loop_list.set_folder(folder, current=candidate)
            self._show_loop(loop)
            QSettings().setValue("last_folder", folder)
            self._remember_recent(os.path.abspath(folder))
            return True
        self.loop_list.set_folder(folder)
        self._error(
            "No loops in this folder",
            f"{os.path.basename(os.path.abspath(folder))}: "
            "no DICOM loop in this folder could be opened",
        )
        return False

    def _show_loop(self, loop: CineLoop) -> None:
        self.playback.stop()
        if self.loop is not None:
            self.loop.close()
        self.loop = loop
        self.index = -1
        self.view.set_regions(loop.regions, (loop.columns, loop.rows))
        self.transport.set_loop_length(loop.n_frames)
        self.playback.set_timing(loop.frame_start_times_ms(), loop.frame_time_ms)
        self.metadata.set_loop(loop)
        self.playback_label.clear()
        self.show_index(0)
        self.view.fit()
        for warning in loop.warnings:
            self.statusBar().showMessage(f"Warning: {warning}", 15000)

    def next_loop(self) -> None:
        self._neighbour(self.loop_list.next_path)

    def previous_loop(self) -> None:
        self._neighbour(self.loop_list.previous_path)

    def _neighbour(self, find) -> None:
        if self.loop is None:
            return
        path = find(os.path.abspath(self.loop.path))
        if path:
            self.open_path(path)
        else:
            self.statusBar().showMessage("No more loops in this folder", 3000)

    def _remember_recent(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        QSettings().setValue("recent_files", [path, *recent][:MAX_RECENT])
        self._rebuild_recent_menu()

    def _recent(self) -> list[str]:
        value = QSettings().value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self._recent() if os.path.exists(p)]
        for path in recent:
            action = self.recent_menu.addAction(os.path.basename(path) or path)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(recent))

    def _error(self, title: str, message: str) -> None:
        QMessageBox.warning(self, title, message)

    # ----------------------------------------------------------------- frames
    def show_index(self, index: int) -> bool:
        """Show frame ``index`` (clamped to the loop); False if it could not be read."""
        if self.loop is None:
            return False
        index = max(0, min(int(index), self.loop.n_frames - 1))
        try:
            rgb = self.loop.frame(index)
        except CineError as exc:
            self.playback.stop()
            self._error("Cannot show frame", str(exc))
            return False
        self.index = index
        self.view.show_frame(rgb, index)
        time_ms = float(self.loop.frame_start_times_ms()[index]) if self.loop.n_frames > 1 else 0.0
        self.transport.show_position(index, time_ms)
        self.frame_label.setText(f"Frame {index + 1}/{self.loop.n_frames} · {time_ms:.1f} ms")
        self._update_title()
        return True

    def step(self, delta: int) -> None:
        self.playback.stop()
        if self.loop is not None:
            self.jump(self.index + delta)

    def jump(self, index: int) -> None:
        if self.loop is None:
            return
        self.playback.stop()
        self.show_index(index)  # clamped to the loop
        self.playback.set_current(self.index)

    def jump_to_last(self) -> None:
        if self.loop is not None:
            self.jump(self.loop.n_frames - 1)

    def _on_scrub(self, index: int) -> None:
        self.show_index(index)
        self.playback.set_current(self.index)

    def _on_frame_due(self, index: int) -> None:
        self.show_index(index)
        self.playback_label.setText(
            f"{self.playback.speed:g}x · shown {self.playback.frames_shown}, "
            f"skipped {self.playback.frames_missed}"
        )

    def _on_playing_changed(self, playing: bool) -> None:
        self.transport.show_playing(playing)
        if playing:
            self.playback.set_current(self.index)

    def _change_speed(self, direction: int) -> None:
        position = SPEEDS.index(self.playback.speed) + direction
        self.transport.set_speed(SPEEDS[max(0, min(len(SPEEDS) - 1, position))])

    def _on_loop_action(self, checked: bool) -> None:
        self.transport.loop_box.setChecked(checked)

    def _set_looping(self, looping: bool) -> None:
        self.playback.looping = looping
        self.loop_action.setChecked(looping)

    # --------------------------------------------------------------- display
    def _on_display_changed(self) -> None:
        contrast = 2.0 ** (self.contrast_slider.value() / 50.0)  # 0.25x .. 4x
        self.view.set_adjustment(DisplayAdjustment(self.brightness_slider.value() * 1.28, contrast))

    def reset_display(self) -> None:
        for slider in (self.brightness_slider, self.contrast_slider):
            slider.blockSignals(True)
            slider.setValue(0)
            slider.blockSignals(False)
        self.view.set_adjustment(DisplayAdjustment())

    def _on_cursor(self, point: QPointF | None) -> None:
        if point is None or self.loop is None:
            self.cursor_label.clear()
            self.pixel_label.clear()
            return
        x, y = point.x(), point.y()
        text = f"x {x:7.1f}  y {y:7.1f} px"
        calibration = self.loop.calibration_for_points([(x, y)])
        if calibration.is_mm and calibration.region is not None:
            x0, y0, _, _ = calibration.region.bounds
            ref_x, ref_y = calibration.region.reference_pixel or (0, 0)
            lateral = (x - (x0 + ref_x)) * calibration.mm_per_px_x
            depth = (y - (y0 + ref_y)) * calibration.mm_per_px_y
            text += f"   ·   {lateral:+.1f} mm lateral, {depth:.1f} mm deep"
        self.cursor_label.setText(text)
        value = self.view.raw_pixel(x, y)
        if value is not None:
            r, g, b = value
            self.pixel_label.setText(f"grey {r}" if r == g == b else f"RGB {r}, {g}, {b}")

    # ------------------------------------------------------------------ misc
    def _update_title(self) -> None:
        if self.loop is None:
            self.setWindowTitle("usannotate")
            return
        name = os.path.basename(self.loop.path)
        self.setWindowTitle(f"{name} — frame {self.index + 1} / {self.loop.n_frames} — usannotate")

    def show_shortcuts(self) -> None:
        rows = [
            ("Space", "Play / pause"),
            ("Left, D / Right, F", "Previous / next frame"),
            ("Shift+Left / Shift+Right", "Back / forward 10 frames"),
            ("Home / End", "First / last frame"),
            ("[ / ]", "Slower / faster"),
            ("L", "Loop on / off"),
            ("PgUp / PgDn", "Previous / next loop in the folder"),
            ("Mouse wheel", "Zoom about the cursor"),
            ("Middle drag, Ctrl+drag", "Pan"),
            ("0 / 1", "Fit to window / actual size"),
            ("R / M", "Calibration regions / depth ruler"),
            ("Ctrl+R", "Reset brightness and contrast"),
            ("Ctrl+O / Ctrl+Shift+O", "Open loop / folder"),
        ]
        html = (
            "<table cellspacing=6>"
            + "".join(f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
            + "</table>"
        )
        QMessageBox.information(self, "Keyboard shortcuts", html)

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About usannotate",
            f"<b>usannotate {__version__}</b><br>Annotate ultrasound DICOM cine loops: "
            "fascial planes, needle and fluid spread, in millimetres.",
        )

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            QTimer.singleShot(0, lambda: self.open_path(urls[0]))

    def closeEvent(self, event: QCloseEvent) -> None:
        self.playback.stop()
        if self.loop is not None:
            self.loop.close()
        super().closeEvent(event)
