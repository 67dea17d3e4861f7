"""The main window: a loop's frames, its transport, the folder's loops and its details."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSettings, QSignalBlocker, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSlider,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations import (
    CalibrationFor,
    LabelSetError,
    calibration_lookup,
    measure_frame,
    user_label,
)
from usannotate.annotations.edits import AddLabel, ChangeLabel, SetManualCalibration, copy_frame
from usannotate.cine import Calibration, CineError, CineLoop, list_loop_files, open_cine
from usannotate.cine.calibration import ManualCalibration
from usannotate.export import loop_measurements, write_measurements
from usannotate.sidecar import (
    SIDECAR_SUFFIX,
    SidecarConflictError,
    SidecarError,
    discard_recovery,
    sidecar_path_for,
)
from usannotate.sidecar.locks import REFRESH_EVERY_S, LockHeldError, LockOwner
from usannotate.ui.dialogs.about import show_about
from usannotate.ui.dialogs.conflict import resolve_conflict
from usannotate.ui.dialogs.lock import LockBanner, claim_loop
from usannotate.ui.dialogs.preferences import (
    Preferences,
    PreferencesDialog,
    ask_annotator,
    warn_label_set,
)
from usannotate.ui.dialogs.shortcuts import ShortcutsDialog, shortcut_rows
from usannotate.ui.docks.details import MetadataPanel
from usannotate.ui.docks.labels import LabelPanel
from usannotate.ui.docks.loops import LoopListPanel
from usannotate.ui.docks.measurements import MeasurementPanel
from usannotate.ui.focus import FocusAfterDialogs
from usannotate.ui.frame_errors import MissingFrames
from usannotate.ui.playback import SPEEDS, PlaybackController
from usannotate.ui.session import AnnotationSession
from usannotate.ui.status_bar import StatusBar
from usannotate.ui.tracking import TrackController
from usannotate.ui.transport import TransportBar
from usannotate.ui.viewer.marking_tools import ToolController
from usannotate.ui.viewer.marks import AnnotationLayer
from usannotate.ui.viewer.measure_tools import MeasureTools, length_text
from usannotate.ui.viewer.view import CineView, DisplayAdjustment

DICOM_FILTER = "DICOM files (*.dcm *.DCM *.dicom *.DICOM);;All files (*)"
MAX_RECENT = 10
MEASUREMENTS_FILTER = "CSV tables (*.csv);;JSON (*.json)"


def position_text(calibration: Calibration, x: float, y: float) -> str:
    """The cursor's place in mm for the status bar (``""`` where it is not in mm): lateral
    and deep from the region's reference pixel, depth only (from the region's top) when
    the file gives none, depth from the image top with a manual calibration."""
    if calibration.source == "manual":
        depth = y * calibration.mm_per_px_y
        return f"   ·   depth {depth:.1f} mm from the image top (manual calibration)"
    if not calibration.is_mm or calibration.region is None:
        return ""
    lateral, depth = calibration.region.position_mm(x, y)
    if lateral is None:
        return f"   ·   depth {depth:.1f} mm (no lateral reference in the file)"
    return f"   ·   {lateral:+.1f} mm lateral, {depth:.1f} mm deep"


class MainWindow(QMainWindow):
    """The viewer window. Widgets are thin: the loop, the playback clock and the view
    own their state; the window wires them together and reports errors as dialogs."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: CineLoop | None = None
        self.index = -1
        self.missing_frames = MissingFrames()
        self.current_label: str | None = None
        self.view = CineView(self)
        self.transport = TransportBar(self)
        self.playback = PlaybackController(self)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.lock_banner = LockBanner(central)
        self.lock_banner.takeOverRequested.connect(self.take_over_loop)
        layout.addWidget(self.lock_banner)
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

        self.label_panel = LabelPanel(self)
        self.label_dock = self._dock(
            "Labels", self.label_panel, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.measurement_panel = MeasurementPanel(self)
        self.measurement_dock = self._dock(
            "Measurements", self.measurement_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.tracks = TrackController(self)
        # The timeline lies under the image only: the side docks keep the bottom corners.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.tracks.timeline_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.tracks.curves_dock)
        # Measurements, details and the annotated-frame list share the right side's top as
        # tabs (measurements in front), the curves below them.
        self.tabifyDockWidget(self.measurement_dock, self.metadata_dock)
        self.tabifyDockWidget(self.measurement_dock, self.tracks.frame_list_dock)
        self.measurement_dock.raise_()
        self.session: AnnotationSession | None = None
        self.layer = AnnotationLayer(self.view.scene())
        self.tools = ToolController(self.view, self.layer)
        self.tools.marksChanged.connect(self._on_marks_changed)
        self.tools.selectionChanged.connect(self._on_selection_changed)
        self.tools.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 8000))
        # Captions keep their size on screen: what lies clear of the marks changes with zoom.
        self.view.zoomChanged.connect(lambda _zoom: self.layer.layout_captions())
        self.selected_object: str | None = None
        # Made after the marking tools, so its line tool sees the mouse first while active.
        self.measure = MeasureTools(self.view)
        self.measure.caliperChanged.connect(self._on_caliper_changed)
        self.measure.calibrationLineDrawn.connect(self._calibrate_with_line)
        self.measure.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.prefs = Preferences.load()
        self.layer.caption_point_size = self.prefs.caption_point_size
        self.layer.handle_size_px = self.prefs.handle_size_px
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(self.prefs.autosave_interval_s * 1000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        # Tells other windows and raters this one still has its loop open.
        self.heartbeat_timer = QTimer(self)
        self.heartbeat_timer.setInterval(int(REFRESH_EVERY_S * 1000))
        self.heartbeat_timer.timeout.connect(self.heartbeat)
        self.heartbeat_timer.start()
        self.metadata_dock.setMinimumWidth(300)
        self.loop_dock.setMinimumWidth(260)
        self._build_status_bar()
        self._build_display_toolbar()
        self._build_menus()
        self._connect()
        self.setAcceptDrops(True)
        FocusAfterDialogs(self, self.view)
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
        self.setStatusBar(StatusBar(self))
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
        bar.addPermanentWidget(self.tracks.progress_bar)
        bar.addPermanentWidget(self.tracks.cancel_button)
        for label in (self.pixel_label, self.playback_label, self.frame_label):
            label.setContentsMargins(10, 0, 2, 0)  # apart, so they read as three texts
            bar.addPermanentWidget(label)

    def _build_display_toolbar(self) -> None:
        toolbar = QToolBar("Display", self)
        toolbar.setObjectName("display_toolbar")
        toolbar.addWidget(QLabel(" Brightness "))
        self.brightness_slider = self._display_slider(-100, 100, 0, "Display brightness")
        toolbar.addWidget(self.brightness_slider)
        toolbar.addWidget(QLabel("  Contrast "))
        self.contrast_slider = self._display_slider(-100, 100, 0, "Display contrast (gain)")
        toolbar.addWidget(self.contrast_slider)
        toolbar.addWidget(QLabel("  Marks "))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(10, 100)
        self.opacity_slider.setValue(100)
        self.opacity_slider.setFixedWidth(100)
        self.opacity_slider.setToolTip("Opacity of the marks (display only)")
        self.opacity_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.opacity_slider.valueChanged.connect(self._on_opacity_changed)
        toolbar.addWidget(self.opacity_slider)
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
        self.save_action = self._action(
            "&Save Annotations",
            QKeySequence.StandardKey.Save,
            self.save,
            "Save the marks to the JSON sidecar beside the DICOM",
        )
        menu.addAction(
            self._action(
                "Open &Folder…", "Ctrl+Shift+O", self.choose_folder, "Open a folder of loops"
            )
        )
        self.recent_menu = menu.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        menu.addAction(self.save_action)
        self.save_as_action = self._action(
            "Save Annotations &As…",
            "Ctrl+Shift+S",
            self.save_as,
            "Save the marks to another sidecar file, and keep working on that one",
        )
        menu.addAction(self.save_as_action)
        self.export_measurements_action = self._action(
            "&Export Measurements…",
            "Ctrl+E",
            self.export_measurements,
            "Write every frame's measurements to a CSV (or JSON) table, the rows "
            "`usannotate measure` prints",
        )
        menu.addAction(self.export_measurements_action)
        menu.addSeparator()
        self.close_loop_action = self._action(
            "&Close Loop", "Ctrl+W", self.close_loop, "Close this loop"
        )
        menu.addAction(self.close_loop_action)
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
        # Ctrl+Q itself, not the platform's Quit key: Windows and some platforms have none.
        menu.addAction(self._action("&Quit", "Ctrl+Q", self.close))

        menu = self.menuBar().addMenu("&Edit")
        self.undo_action = self._action("&Undo", QKeySequence.StandardKey.Undo, self.undo)
        self.redo_action = self._action("&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], self.redo)
        menu.addAction(self.undo_action)
        menu.addAction(self.redo_action)
        menu.addSeparator()
        menu.addAction(
            self._action(
                "Copy Marks to &Next Frame",
                "C",
                lambda: self.copy_marks(1),
                "Copy this frame's marks to the next frame and go there",
            )
        )
        menu.addAction(
            self._action(
                "Copy Marks to &Previous Frame",
                "Shift+C",
                lambda: self.copy_marks(-1),
                "Copy this frame's marks to the previous frame and go there",
            )
        )
        menu.addSeparator()
        menu.addAction(self._action("Add &Label…", None, self.add_label))
        for digit in "1234567890":
            action = self._action(
                f"Label {digit}", digit, lambda _=False, d=digit: self.choose_label_key(d)
            )
            action.setObjectName(f"label_key_{digit}")
        menu.addSeparator()
        preferences = self._action(
            "&Preferences…",
            "Ctrl+,",
            self.edit_preferences,
            "Annotator name, default label set, autosave, caption and handle size",
        )
        preferences.setMenuRole(QAction.MenuRole.PreferencesRole)
        menu.addAction(preferences)

        self._build_measure_menu()

        self._build_track_menu()

        menu = self.menuBar().addMenu("&Playback")
        menu.addAction(self._action("&Play / Pause", "Space", self.playback.toggle))
        menu.addAction(self._action("Next Frame", ["Right", "F"], lambda: self.step(1)))
        menu.addAction(self._action("Previous Frame", ["Left", "D"], lambda: self.step(-1)))
        menu.addAction(self._action("Forward 10 Frames", "Shift+Right", lambda: self.step(10)))
        menu.addAction(self._action("Back 10 Frames", "Shift+Left", lambda: self.step(-10)))
        menu.addAction(self._action("First Frame", "Home", self.jump_to_first))
        menu.addAction(self._action("Last Frame", "End", self.jump_to_last))
        menu.addSeparator()
        menu.addAction(self._action("Faster", "]", lambda: self._change_speed(1)))
        menu.addAction(self._action("Slower", "[", lambda: self._change_speed(-1)))
        self.loop_action = self._action("&Loop", "L", self._on_loop_action)
        self.loop_action.setCheckable(True)
        self.loop_action.setChecked(True)
        menu.addAction(self.loop_action)

        menu = self.menuBar().addMenu("&View")
        menu.addAction(self._action("&Fit to Window", "Ctrl+0", self.view.fit))
        menu.addAction(self._action("&Actual Size (1:1)", "Ctrl+1", self.view.zoom_actual_size))
        menu.addAction(
            self._action("Zoom &In", ["+", "=", "Ctrl++"], lambda: self.view.zoom_by(1.25))
        )
        menu.addAction(self._action("Zoom &Out", ["-", "Ctrl+-"], lambda: self.view.zoom_by(0.8)))
        menu.addSeparator()
        self.regions_action = self._action(
            "Show Calibration &Regions",
            "R",
            self._set_calibration_visible,
            "Outline the ultrasound regions of the DICOM calibration (and a manual "
            "calibration's line)",
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
        self.trajectory_action = self._action(
            "Show Needle &Trajectory",
            "T",
            self._on_trajectory_toggled,
            "Extend the needle beyond its tip as a dashed line",
        )
        self.trajectory_action.setCheckable(True)
        self.trajectory_action.setChecked(True)
        menu.addAction(self.trajectory_action)
        self.captions_action = self._action(
            "Show Mark &Captions",
            "Shift+H",
            self._on_captions_toggled,
            "Name each mark beside it (hide the names to see what is under them)",
        )
        self.captions_action.setCheckable(True)
        self.captions_action.setChecked(True)
        menu.addAction(self.captions_action)
        menu.addAction(self._action("Reset Brightness / Contrast", "Ctrl+R", self.reset_display))
        menu.addSeparator()
        menu.addAction(self.loop_dock.toggleViewAction())
        menu.addAction(self.label_dock.toggleViewAction())
        menu.addAction(self.measurement_dock.toggleViewAction())
        menu.addAction(self.metadata_dock.toggleViewAction())
        menu.addAction(self.tracks.timeline_dock.toggleViewAction())
        menu.addAction(self.tracks.frame_list_dock.toggleViewAction())
        menu.addAction(self.tracks.curves_dock.toggleViewAction())
        menu.addAction(self.display_toolbar.toggleViewAction())

        menu = self.menuBar().addMenu("&Help")
        menu.addAction(self._action("&Keyboard Shortcuts", "F1", self.show_shortcuts))
        menu.addAction(self._action("&About usannotate", None, lambda: show_about(self)))

    def _build_measure_menu(self) -> None:
        menu = self.menuBar().addMenu("&Measure")
        menu.addAction(
            self._action(
                "&Caliper",
                "Ctrl+M",
                self.measure.start_caliper,
                "Measure a distance: drag from one end to the other (not saved as a mark)",
            )
        )
        menu.addAction(
            self._action(
                "C&lear Caliper", "Ctrl+Shift+M", self.measure.clear_caliper, "Hide the caliper"
            )
        )
        menu.addSeparator()
        self.calibrate_action = self._action(
            "Ca&librate…",
            "Ctrl+Alt+M",
            self.start_calibration,
            "Draw a line along the scale burned into the image and type its length: "
            "measurements of this loop in mm from it (saved in the sidecar, undoable)",
        )
        menu.addAction(self.calibrate_action)
        self.remove_calibration_action = self._action(
            "&Remove Manual Calibration",
            None,
            self.remove_calibration,
            "Measure with the DICOM calibration again (or in px if the file has none)",
        )
        menu.addAction(self.remove_calibration_action)

    def _build_track_menu(self) -> None:
        tracks = self.tracks
        menu = self.menuBar().addMenu("&Track")
        menu.addAction(
            self._action(
                "Track &Forward",
                "Ctrl+T",
                lambda: tracks.track(1),
                "Follow the selected mark (or every mark on this frame) forward with optical "
                "flow, up to its next keyframe",
            )
        )
        menu.addAction(
            self._action(
                "Track &Backward",
                "Ctrl+Shift+T",
                lambda: tracks.track(-1),
                "Follow the selected mark (or every mark on this frame) backward, down to its "
                "previous keyframe",
            )
        )
        menu.addAction(
            self._action("Track Forward &Over Frames…", "Ctrl+Alt+T", lambda: tracks.track_over(1))
        )
        menu.addAction(
            self._action(
                "Track Backward Over F&rames…",
                "Ctrl+Alt+Shift+T",
                lambda: tracks.track_over(-1),
            )
        )
        self.cancel_tracking_action = self._action(
            "&Cancel Tracking", "Shift+Esc", tracks.cancel, "Stop tracking; frames done are kept"
        )
        menu.addAction(self.cancel_tracking_action)
        menu.addSeparator()
        menu.addAction(
            self._action(
                "Con&firm Tracked Frames",
                ["Ctrl+Return", "Ctrl+Enter"],
                tracks.confirm_tracked,
                "Make the tracked frames of the selected mark (or of every mark) keyframes",
            )
        )
        menu.addAction(
            self._action(
                "&End Track After This Frame",
                "E",
                tracks.end_track_here,
                "The selected structure leaves view after this frame, until its next keyframe",
            )
        )
        menu.addAction(
            self._action(
                "&Delete Whole Track",
                "Shift+Del",
                tracks.delete_track,
                "Delete the selected mark on every frame",
            )
        )
        menu.addSeparator()
        menu.addAction(
            self._action(
                "&Next Keyframe",
                ["Ctrl+Right", "."],
                lambda: tracks.step_keyframe(1),
                "Next keyframe or tracked frame of the selected mark (or of any mark)",
            )
        )
        menu.addAction(
            self._action(
                "&Previous Keyframe",
                ["Ctrl+Left", ","],
                lambda: tracks.step_keyframe(-1),
                "Previous keyframe or tracked frame of the selected mark (or of any mark)",
            )
        )

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
        self.label_panel.labelChosen.connect(self._on_label_chosen)
        self.label_panel.visibilityChanged.connect(self._on_label_visibility)
        self.label_panel.addRequested.connect(self.add_label)

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
        if not self.maybe_keep_work():
            return False
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
        try:
            candidates = list_loop_files(folder)  # the Loops list's order: its first row
        except OSError as exc:
            # The folder's name is left out: it may be a patient's.
            reason = exc.strerror or type(exc).__name__
            self._error("Cannot open folder", f"This folder cannot be read ({reason})")
            return False
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
        self.statusBar().clearMessage()  # the last loop's warning is not this one's
        self.playback.stop()
        self.tracks.cancel()
        self.tracks.wait()  # the worker reads frames of the loop about to close
        if self.loop is not None:
            self.loop.close()
        self.loop = loop
        self.index = -1
        self.measure.reset()
        self.view.set_regions(loop.regions, (loop.columns, loop.rows))
        self.tools.set_snap_regions(
            [
                (x0, y0, x1 + 1, y1 + 1)
                for x0, y0, x1, y1 in (
                    r.bounds
                    for r in loop.regions
                    if r.is_spatial_cm and r.fits_image(loop.columns, loop.rows)
                )
            ]
        )
        self.layer.bounds = QRectF(0, 0, loop.columns, loop.rows)
        self.transport.set_loop_length(loop.n_frames)
        self.playback.set_timing(loop.frame_start_times_ms(), loop.frame_time_ms)
        self.metadata.set_loop(loop)
        self.missing_frames.reset(loop.n_frames)
        self.playback_label.clear()
        self._start_session(loop)
        self.layer.keep_clear = None
        if not self.show_index(0, direction=1):  # the first frame the file can give
            self.view.clear()  # not the last loop's frame under this loop's name
        self.layer.keep_clear = self.view.burned_in_mask()  # known once a frame is shown
        self.layer.layout_captions()
        self.tracks.loop_changed()
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
        """A dialog naming the problem; never one over another (then the status bar)."""
        if QApplication.activeModalWidget() is not None:
            self.statusBar().showMessage(f"{title}: {message}", 30_000)
            return
        QMessageBox.warning(self, title, message)

    # ----------------------------------------------------------------- frames
    def show_index(self, index: int, *, direction: int = 0) -> bool:
        """Show frame ``index`` (clamped to the loop); False if it could not be read.

        A frame that cannot be shown never brings a dialog (a dialog per frame during
        play or scrub would lock the window): playback stops there and the status bar
        says once which frames are missing. ``direction`` (+1 / -1, a step the user
        asked for) goes on to the next frame that can be shown that way.
        """
        if self.loop is None:
            return False
        index = max(0, min(int(index), self.loop.n_frames - 1))
        try:
            rgb = self.loop.frame(index)
        except CineError as exc:
            found = self._frame_failed(index, exc, direction)
            if found is None:
                return False
            index, rgb = found
        self.index = index
        self.view.show_frame(rgb, index)
        self._refresh_marks()
        self.tools.set_frame(index)
        self._show_position()
        self.tracks.frame_shown(index)
        self._update_title()
        return True

    def _show_position(self) -> None:
        index = self.index
        time_ms = float(self.loop.frame_start_times_ms()[index]) if self.loop.n_frames > 1 else 0.0
        self.transport.show_position(index, time_ms)
        text = f"Frame {index + 1}/{self.loop.n_frames} · {time_ms:.1f} ms"
        if self.missing_frames.missing:
            text += f" · {len(self.missing_frames.missing)} missing"
        self.frame_label.setText(text)

    def _frame_failed(self, index: int, exc: CineError, direction: int):
        """Frame ``index`` cannot be shown: stop playback, say so once (see
        :class:`MissingFrames`); returns ``(frame, pixels)`` to show instead when stepping."""
        playing = self.playback.is_playing
        self.playback.stop()
        found, text = self.missing_frames.failed(
            self.loop.frame,
            index,
            exc,
            direction,
            stopped_at=self.index if playing and self.index >= 0 else None,
        )
        if text:
            self.statusBar().showMessage(text, 30_000)
        if found is None and self.index >= 0:
            self._show_position()  # the slider goes back to the frame on screen
            self.playback.set_current(self.index)
        return found

    def step(self, delta: int) -> None:
        self.playback.stop()
        if self.loop is not None:
            self.jump(self.index + delta, direction=1 if delta > 0 else -1)

    def jump(self, index: int, *, direction: int = 0) -> None:
        """Go to frame ``index``; ``direction``: over missing frames that way."""
        if self.loop is None:
            return
        self.playback.stop()
        self.show_index(index, direction=direction)  # clamped to the loop
        self.playback.set_current(self.index)

    def jump_to_first(self) -> None:
        self.jump(0, direction=1)

    def jump_to_last(self) -> None:
        if self.loop is not None:
            self.jump(self.loop.n_frames - 1, direction=-1)

    def _on_scrub(self, index: int) -> None:
        self.show_index(index)
        self.playback.set_current(self.index)

    def _on_frame_due(self, index: int) -> None:
        if self.missing_frames.is_missing(index):
            return  # reported when playback first met it: play on over it
        self.show_index(index)
        self.playback_label.setText(
            f"{self.playback.speed:g}x · shown {self.playback.frames_shown}, "
            f"skipped {self.playback.frames_missed}"
        )

    def _on_playing_changed(self, playing: bool) -> None:
        self.transport.show_playing(playing)
        if playing:
            self.playback.set_current(self.index)
        elif self.loop is not None and self.index >= 0:
            self._refresh_marks()  # measurements and mark caches wait while playing

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

    def _on_opacity_changed(self, value: int) -> None:
        self.layer.opacity = value / 100.0
        self._refresh_marks()

    def _on_trajectory_toggled(self, shown: bool) -> None:
        self.layer.show_trajectory = shown
        self._refresh_marks()

    def _on_captions_toggled(self, shown: bool) -> None:
        self.layer.set_captions_visible(shown)

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
        calibration = self._calibration_for()([(x, y)])
        self.cursor_label.setText(f"x {x:7.1f}  y {y:7.1f} px{position_text(calibration, x, y)}")
        value = self.view.raw_pixel(x, y)
        if value is not None:
            r, g, b = value
            self.pixel_label.setText(f"grey {r}" if r == g == b else f"RGB {r}, {g}, {b}")

    def _calibration_for(self) -> CalibrationFor:
        """What measures points now: the manual calibration, else the loop's regions."""
        assert self.loop is not None
        if self.session is None:
            return self.loop.calibration_for_points
        size = (self.loop.columns, self.loop.rows)
        return calibration_lookup(self.session.document.annotations, self.loop.regions, size)

    # ------------------------------------------------------------------ misc
    def _update_title(self) -> None:
        if self.loop is None:
            self.setWindowTitle("usannotate")
            return
        name = os.path.basename(self.loop.path)
        state = ""
        if self.session is not None and self.session.is_modified:
            state = "* "
        if self.session is not None and self.session.read_only:
            state += "(read-only) "
        self.setWindowTitle(
            f"{state}{name} — frame {self.index + 1} / {self.loop.n_frames} — usannotate"
        )

    # ------------------------------------------------------------ annotating
    def _start_session(self, loop: CineLoop) -> None:
        """Open the loop's sidecar (or a new one): take its edit lock (or open it
        read-only when someone else has it), offering autosaved work back."""
        self._end_session()
        self.selected_object = None
        name = os.path.basename(loop.path)
        owner = LockOwner.current(self.prefs.annotator)
        claim = claim_loop(self, sidecar_path_for(loop.path), owner, name)
        offered = AnnotationSession.offered_recovery(loop) if claim.holder is None else None
        use_recovery = False
        if offered is not None:
            answer = QMessageBox.question(
                self,
                "Recover unsaved work?",
                f"{name}: marks from an earlier session were not "
                "saved (the program closed unexpectedly). Recover them?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            use_recovery = answer == QMessageBox.StandardButton.Yes
        try:
            self.session = AnnotationSession(
                loop,
                recovery_file=offered if use_recovery else None,
                annotator=self.prefs.annotator,
                label_set=self._preferred_label_set(),
                owner=owner,
                lock=claim.lock,
                locked_by=claim.holder,
            )
        except (SidecarError, LabelSetError) as exc:
            if claim.lock is not None:
                claim.lock.release()
            self._error(
                "Annotations not opened",
                f"{exc}\n\nThe file was kept as it is; this loop can be viewed but not "
                "marked until the sidecar is fixed or moved away.",
            )
        else:
            if offered is not None and not use_recovery:
                discard_recovery(self.session.path, recovery_file=offered)  # declined
            if claim.note:
                self.statusBar().showMessage(claim.note, 15000)
            if self.session.document.read_only:
                self.statusBar().showMessage(
                    "This sidecar was written by a newer usannotate: opened read-only", 15000
                )
        self._attach_session()

    def _attach_session(self) -> None:
        """Show the session's document (after opening, reloading or taking over)."""
        if self.session is not None:
            self.session.history.on_change = self._on_marks_changed
        if self.session is not None and self.session.locked_by is not None:
            self.lock_banner.show_read_only(self.session.locked_by)
        else:
            self.lock_banner.clear()
        labels = self.session.document.annotations.label_set if self.session else None
        self.label_panel.set_label_set(labels, self.layer.hidden_labels)
        editable = self.session is not None and not self.session.read_only
        self.tools.set_document(self.session.history if editable else None)
        self._update_edit_actions()
        self._show_calibration_state()

    def _end_session(self) -> None:
        """Let go of the loop's edit lock (the marks were saved or discarded first)."""
        if self.session is not None:
            self.session.close()
        self.session = None

    def take_over_loop(self) -> bool:
        """Edit a loop opened read-only: take the lock from whoever has it."""
        if self.session is None or self.session.locked_by is None:
            return False
        try:
            previous = self.session.take_over(self.session.locked_by)
        except LockHeldError as held:
            self.session.locked_by = held.holder
            self._attach_session()
            return False
        except SidecarError as exc:
            self._error("Not taken over", str(exc))
            return False
        who = previous.describe() if previous is not None else "the other window"
        self.statusBar().showMessage(f"You took this loop over from {who}", 8000)
        self._attach_session()
        self._refresh_marks()
        self._refresh_measurements()
        self._update_title()
        return True

    def heartbeat(self) -> None:
        """Keep the edit lock fresh; say so once when someone took the loop over."""
        if self.session is None or self.session.lock is None:
            return
        if not self.session.heartbeat():
            self.lock_banner.show_taken_over(self.session.lock.holder())

    def _preferred_label_set(self):
        """The label set chosen in Preferences (None: the built-in one), or None after
        saying why a chosen file cannot be used."""
        if not self.prefs.label_set_path:
            return None
        try:
            return self.prefs.label_set()
        except LabelSetError as exc:
            warn_label_set(self, exc)
            return None

    def _on_marks_changed(self) -> None:
        self._show_calibration_state()
        self._refresh_marks()
        self._update_edit_actions()
        self._update_title()
        self.tracks.marks_changed()

    def _refresh_marks(self) -> None:
        annotations = self.session.document.annotations if self.session else None
        self.layer.show(annotations, self.index, cache=not self.playback.is_playing)
        self._refresh_measurements()

    def _refresh_measurements(self) -> None:
        annotations = self.session.document.annotations if self.session else None
        if self.loop is None or self.playback.is_playing:
            if self.loop is None:
                self.measurement_panel.show_rows([])
            return
        rows = (
            measure_frame(annotations, self.index, self._calibration_for())
            if annotations is not None
            else []
        )
        names = {obj.id: obj.name for obj in annotations.objects if obj.name} if annotations else {}
        caliper = self.measure.caliper_row(self.index, self._calibration_for())
        manual = annotations.manual_calibration if annotations is not None else None
        self.measurement_panel.show_rows(
            [caliper, *rows] if caliper else rows,
            self.selected_object,
            names,
            calibration="manual" if manual is not None else "dicom",
        )

    # ------------------------------------------------------- caliper, calibration
    def _on_caliper_changed(self) -> None:
        if self.loop is None:
            return
        calibration_for = self._calibration_for()
        self.measure.update_caliper(calibration_for)
        row = self.measure.caliper_row(self.index, calibration_for)
        if row is not None:
            self.statusBar().showMessage(
                f"Caliper: {length_text(row.value, row.unit)} (Ctrl+M measures again, "
                "Ctrl+Shift+M clears)",
                8000,
            )
        self._refresh_measurements()

    def start_calibration(self) -> None:
        """Measure > Calibrate: draw the line; its length is asked when it is drawn."""
        if self.session is None or self.session.read_only or self.loop is None:
            self.statusBar().showMessage("Open a loop that can be marked to calibrate it", 4000)
            return
        self.measure.start_calibration()

    def _calibrate_with_line(self, start: tuple, end: tuple) -> None:
        """Ask the drawn line's length in mm and set the manual calibration (undoable)."""
        if self.session is None or self.session.read_only or self.loop is None:
            return
        line_px = float(np.hypot(end[0] - start[0], end[1] - start[1]))
        current = self.loop.calibration_for_points([start, end])
        note = (
            f"\n\nThis file has its own calibration ({current.mm_per_px_x:.4f} mm/px); "
            "the manual one replaces it for every measurement of this loop."
            if current.is_mm
            else ""
        )
        length_mm, ok = QInputDialog.getDouble(
            self,
            "Calibrate",
            f"The line is {line_px:.1f} px long. How long is it on the scale, in mm?{note}",
            10.0,
            0.01,
            10_000.0,
            2,
        )
        if not ok:
            self.statusBar().showMessage("Calibration cancelled", 4000)
            return
        try:
            manual = ManualCalibration.from_line((start, end), length_mm)
        except ValueError as exc:
            self._error("Not calibrated", str(exc))
            return
        self.session.history.push(SetManualCalibration(manual))
        self.statusBar().showMessage(
            f"Calibrated: {manual.mm_per_px:.4f} mm/px from a {length_mm:g} mm line "
            "(Ctrl+Z undoes it)",
            8000,
        )

    def remove_calibration(self) -> None:
        """Back to the DICOM calibration (undoable)."""
        if self.session is None or self.session.read_only:
            return
        if self.session.document.annotations.manual_calibration is None:
            self.statusBar().showMessage("This loop has no manual calibration", 4000)
            return
        self.session.history.push(SetManualCalibration(None))
        self.statusBar().showMessage("Manual calibration removed (Ctrl+Z puts it back)", 6000)

    def _show_calibration_state(self) -> None:
        """The view, the caliper and the menu follow the manual calibration."""
        annotations = self.session.document.annotations if self.session else None
        manual = annotations.manual_calibration if annotations is not None else None
        self.view.set_manual_calibration(manual.mm_per_px if manual is not None else None)
        self.measure.show_calibration(manual)
        self.remove_calibration_action.setEnabled(manual is not None)
        if self.loop is not None:
            self.measure.update_caliper(self._calibration_for())

    def _set_calibration_visible(self, visible: bool) -> None:
        self.view.set_regions_visible(visible)
        self.measure.set_calibration_visible(visible)

    def _update_edit_actions(self) -> None:
        history = self.session.history if self.session else None
        self.undo_action.setEnabled(bool(history and history.can_undo))
        self.redo_action.setEnabled(bool(history and history.can_redo))
        self.undo_action.setText(
            f"&Undo {history.undo_text}" if history and history.can_undo else "&Undo"
        )
        self.redo_action.setText(
            f"&Redo {history.redo_text}" if history and history.can_redo else "&Redo"
        )
        self.save_action.setEnabled(bool(self.session and not self.session.read_only))

    def undo(self) -> None:
        if self.session is not None and not self.session.read_only:
            self.session.history.undo()

    def redo(self) -> None:
        if self.session is not None and not self.session.read_only:
            self.session.history.redo()

    def copy_marks(self, direction: int) -> None:
        """Copy this frame's marks to the next / previous frame and go there."""
        if self.session is None or self.loop is None or self.session.read_only:
            return
        target = self.index + direction
        if not 0 <= target < self.loop.n_frames:
            return
        annotations = self.session.document.annotations
        if not annotations.on_frame(self.index):
            self.statusBar().showMessage("No marks on this frame to copy", 3000)
            return
        self.playback.stop()
        self.session.history.push(copy_frame(annotations, self.index, target))
        self.jump(target)

    def choose_label_key(self, key: str) -> None:
        """A label's key always starts marking with it (relabelling the selected mark is
        a deliberate click in the Labels dock: a key pressed out of habit after
        correcting a mark must not turn it into another structure)."""
        if self.session is None:
            return
        for label in self.session.document.annotations.label_set:
            if label.shortcut == key:
                with QSignalBlocker(self.label_panel):  # show the choice, do not relabel
                    self.label_panel.choose(label.id)
                self._start_marking(label.id)
                return

    def _on_label_chosen(self, label_id: str) -> None:
        """A label clicked in the dock: relabels the selected mark if it can, else marks."""
        if not self._relabel_selection(label_id):
            self._start_marking(label_id)

    def _start_marking(self, label_id: str) -> None:
        self.current_label = label_id
        if label_id in self.layer.hidden_labels:  # a mark of a hidden label could not be seen
            self.label_panel.set_visible(label_id, True)
        self.tools.set_label(label_id)
        self.tools.start_drawing()
        if self.session is not None:
            label = self.session.document.annotations.label_set.get(label_id)
            if label is not None:
                self.statusBar().showMessage(f"Marking: {label.name} ({label.kind.value})", 4000)

    def _relabel_selection(self, label_id: str) -> bool:
        """With a mark selected, a label of the same kind relabels it (one undo step)."""
        if self.session is None or self.session.read_only or self.tools.mode != "select":
            return False
        selected = self.tools.selected
        annotations = self.session.document.annotations
        obj = annotations.get(selected) if selected else None
        label = annotations.label_set.get(label_id)
        if obj is None or label is None or label.kind != obj.kind or obj.label_id == label_id:
            return False
        self.session.history.push(ChangeLabel(obj.id, label_id))
        self.statusBar().showMessage(f"Relabelled as {label.name}", 4000)
        return True

    def _on_selection_changed(self, object_id: object) -> None:
        self.selected_object = object_id if isinstance(object_id, str) else None
        self.tracks.selection_changed(self.selected_object)
        self._refresh_measurements()  # the marks themselves are the controller's to redraw

    def _on_label_visibility(self, label_id: str, visible: bool) -> None:
        if visible:
            self.layer.hidden_labels.discard(label_id)
        else:
            self.layer.hidden_labels.add(label_id)
        self._refresh_marks()

    def add_label(self) -> None:
        """Ask for a name and kind, and add the label (undoable) to this loop's set."""
        if self.session is None or self.session.read_only:
            return
        dialog = QDialog(self)
        dialog.setWindowTitle("Add label")
        name = QLineEdit()
        name.setPlaceholderText("e.g. Fascia of serratus anterior")
        kind = QComboBox()
        for value, text in (
            ("polyline", "Fascial plane (open line)"),
            ("region", "Region (closed outline)"),
            ("point", "Point"),
            ("needle", "Needle (entry to tip)"),
        ):
            kind.addItem(text, value)
        form = QFormLayout(dialog)
        form.addRow("Name", name)
        form.addRow("Drawn as", kind)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        if dialog.exec() != QDialog.DialogCode.Accepted or not name.text().strip():
            return
        label_set = self.session.document.annotations.label_set
        label = user_label(label_set, name.text().strip(), kind.currentData())
        self.session.history.push(AddLabel(label))
        self.label_panel.set_label_set(label_set, self.layer.hidden_labels)
        self.label_panel.choose(label.id)

    def save(self) -> bool:
        """Save the marks to the sidecar; on failure say why and keep them unsaved."""
        if self.session is None or self.session.read_only:
            return False
        self._sign_document()
        try:
            path = self.session.save()
        except SidecarConflictError as conflict:
            return self._resolve_conflict(conflict)
        except SidecarError as exc:
            self._error("Not saved", f"{exc}\n\nYour marks are still here, unsaved.")
            return False
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        self._update_title()
        return True

    def _resolve_conflict(self, conflict: SidecarConflictError) -> bool:
        """Someone else saved the sidecar: ask (reload / copy / overwrite / merge)."""
        assert self.session is not None
        try:
            outcome = resolve_conflict(self, self.session, conflict)
        except SidecarError as exc:
            self._error("Not saved", f"{exc}\n\nYour marks are still here, unsaved.")
            return False
        if outcome.reloaded:
            self._attach_session()
        self._on_marks_changed()
        self.statusBar().showMessage(outcome.message, 10000)
        return outcome.saved

    def _sign_document(self) -> None:
        """A sidecar nobody has signed yet gets the annotator's name (asked once)."""
        assert self.session is not None
        document = self.session.document
        if document.annotator:
            return
        self.prefs = ask_annotator(self, self.prefs)
        document.annotator = self.prefs.annotator

    def save_as(self) -> bool:
        """Save the marks to a sidecar file the user names, and keep working on it."""
        if self.session is None or self.session.read_only:
            return False
        current = self.session.path
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Save annotations as",
            str(current),
            f"usannotate sidecars (*{SIDECAR_SUFFIX});;All files (*)",
        )
        if not path:
            return False
        if not path.endswith(SIDECAR_SUFFIX):
            path = path.removesuffix(".json") + SIDECAR_SUFFIX
        self._sign_document()
        try:
            # The file dialog asked before replacing a file already there.
            saved = self.session.save_as(Path(path), replace_existing=True)
        except SidecarConflictError as conflict:
            return self._resolve_conflict(conflict)
        except SidecarError as exc:
            self._error("Not saved", f"{exc}\n\nYour marks are still here, unsaved.")
            return False
        self.statusBar().showMessage(f"Saved {saved.name}; further saves go there", 6000)
        self._update_title()
        return True

    def close_loop(self) -> bool:
        """Close the loop (asking about unsaved marks first); False if the user cancels."""
        if self.loop is None:
            return True
        if not self.maybe_keep_work():
            return False
        self.playback.stop()
        self.tracks.cancel()
        self.tracks.wait()
        self.measure.reset()
        self.loop.close()
        self.loop = None
        self._end_session()
        self.lock_banner.clear()
        self.index = -1
        self.selected_object = None
        self.tools.set_document(None)
        self.layer.show(None, 0)
        self.view.clear()
        self.transport.set_loop_length(0)
        self.metadata.set_loop(None)
        self.label_panel.set_label_set(None)
        self.measurement_panel.show_rows([])
        self.frame_label.clear()
        self.playback_label.clear()
        self.tracks.loop_changed()
        self.loop_list.set_current(None)
        self.statusBar().clearMessage()
        self._update_edit_actions()
        self._update_title()
        return True

    def export_measurements(self) -> bool:
        """Write every frame's measurements (the rows of `usannotate measure`) to a table."""
        if self.loop is None or self.session is None:
            self.statusBar().showMessage("Open a loop with marks first", 4000)
            return False
        annotations = self.session.document.annotations
        rows = loop_measurements(annotations, self.loop.n_frames, self._calibration_for())
        if not rows:
            self.statusBar().showMessage("Nothing to export: no marks on this loop yet", 4000)
            return False
        stem = Path(self.loop.path).with_suffix("")
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Export measurements",
            f"{stem}.measurements.csv",
            MEASUREMENTS_FILTER,
        )
        if not path:
            return False
        if Path(path).suffix.lower() not in (".csv", ".json"):
            path += ".json" if "JSON" in chosen else ".csv"
        try:
            written = write_measurements(rows, path)
        except OSError as exc:
            self._error(
                "Measurements not exported",
                f"{Path(path).name} could not be written ({exc.strerror or 'I/O error'}).",
            )
            return False
        self.statusBar().showMessage(f"Exported {len(rows)} measurements to {written.name}", 6000)
        return True

    def edit_preferences(self) -> bool:
        """Edit the preferences; OK applies them at once."""
        dialog = PreferencesDialog(self.prefs, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.apply_preferences(dialog.preferences)
        return True

    def apply_preferences(self, prefs: Preferences) -> None:
        """Use and keep ``prefs``: the autosave clock at once, the annotator for the next
        save of an unsigned sidecar, the label set for the next new sidecar."""
        self.prefs = prefs
        prefs.save()
        self.autosave_timer.setInterval(prefs.autosave_interval_s * 1000)
        self.layer.caption_point_size = prefs.caption_point_size
        self.layer.handle_size_px = prefs.handle_size_px
        self._refresh_marks()

    def autosave(self) -> None:
        if self.session is None:
            return
        try:
            if self.session.autosave():
                self.statusBar().showMessage("Unsaved marks kept in a recovery file", 3000)
        except SidecarError as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}", 10000)

    def maybe_keep_work(self) -> bool:
        """Before closing or switching loops: ask about unsaved marks. False = cancel."""
        if self.session is None or not self.session.is_modified or self.session.read_only:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved marks",
            f"{os.path.basename(self.session.loop.path)} has marks that are not saved. Save them?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self.session.discard_recovery()
            self.session.history.mark_saved()
            return True
        return False

    def show_shortcuts(self) -> None:
        """Every shortcut, read from the window's own actions (so the list cannot drift)."""
        ShortcutsDialog(shortcut_rows(self), self).exec()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            QTimer.singleShot(0, lambda: self.open_path(urls[0]))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_keep_work():
            event.ignore()
            return
        self.playback.stop()
        self.tracks.cancel()
        self.tracks.wait()
        self._end_session()
        if self.loop is not None:
            self.loop.close()
        super().closeEvent(event)
