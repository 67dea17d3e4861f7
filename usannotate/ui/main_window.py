"""The main window: the view, its docks, toolbar, status bar and menus, wired to one state.

The layout of the view, its docks, toolbar and status bar, the menus, and the wiring of every part
to the one :class:`~usannotate.ui.state.ViewerState`.

No rule lives here: frames are the navigator's, the session's flows the session
controller's, marking the marking controller's, tracks the track controller's; each view
follows the state (see ARCHITECTURE.md for the path of one edit).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from usannotate.cine import CineError, CineLoop, list_loop_files, open_cine
from usannotate.cine.calibration import position_text
from usannotate.ui import export_dialogs
from usannotate.ui.adjudication import AdjudicationController
from usannotate.ui.details import DetailsController
from usannotate.ui.dialogs.lock import LockBanner
from usannotate.ui.dialogs.preferences import Preferences, PreferencesDialog
from usannotate.ui.dialogs.shortcuts import ShortcutsDialog, shortcut_rows
from usannotate.ui.display_toolbar import DisplayToolbar
from usannotate.ui.docks.details import MetadataPanel
from usannotate.ui.docks.labels import LabelPanel
from usannotate.ui.docks.loops import LoopListPanel
from usannotate.ui.docks.measurements import MeasurementPanel, MeasurementsView
from usannotate.ui.focus import FocusAfterDialogs
from usannotate.ui.gui_gc import collect_on_gui_thread
from usannotate.ui.help_menu import open_target
from usannotate.ui.layout import save_layout
from usannotate.ui.marking import MarkingController
from usannotate.ui.menus import build_menus
from usannotate.ui.navigation import FrameNavigator
from usannotate.ui.playback import PlaybackController
from usannotate.ui.readout import ReadoutLabel
from usannotate.ui.session import AnnotationSession
from usannotate.ui.session_controller import SessionController
from usannotate.ui.state import ViewerState
from usannotate.ui.status_bar import StatusBar
from usannotate.ui.suggest import SuggestionController
from usannotate.ui.team_views import TeamViews
from usannotate.ui.tracking import TrackController
from usannotate.ui.transport import TransportBar
from usannotate.ui.viewer.marking_tools import ToolController
from usannotate.ui.viewer.marks import AnnotationLayer
from usannotate.ui.viewer.marks_view import MarksView
from usannotate.ui.viewer.measure_tools import MeasureController, MeasureTools
from usannotate.ui.viewer.view import CineView
from usannotate.ui.worklist import WorklistController

DICOM_FILTER = "DICOM files (*.dcm *.DCM *.dicom *.DICOM);;All files (*)"
MAX_RECENT = 10


class MainWindow(QMainWindow):
    """The viewer window: layout, menus and wiring around one :class:`ViewerState`."""

    def __init__(self) -> None:
        super().__init__()
        collect_on_gui_thread(QCoreApplication.instance())
        self.state = ViewerState(self)
        self.view = CineView(self)
        self.transport = TransportBar(self)
        self.playback = PlaybackController(self)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.lock_banner = LockBanner(central)
        layout.addWidget(self.lock_banner)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.transport)
        self.setCentralWidget(central)
        self.setStatusBar(StatusBar(self))

        # Docks.
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
        self.tracks = TrackController(self.state, self.playback, self)
        # The timeline lies under the image only: the side docks keep the bottom corners.
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.tracks.timeline_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.tracks.curves_dock)
        # Measurements, details and the annotated-frame list share the right side's top as
        # tabs (measurements in front), the curves below them.
        self.tabifyDockWidget(self.measurement_dock, self.metadata_dock)
        self.tabifyDockWidget(self.measurement_dock, self.tracks.frame_list_dock)
        self.details = DetailsController(self.state, self.tracks, self)  # case, events, comments
        # Beside the labels (left): one more tab on the right would widen its column.
        for dock in (self.details.case_dock, self.details.comments_dock):
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
            self.tabifyDockWidget(self.label_dock, dock)
        self.label_dock.raise_()
        self.measurement_panel.layout().addWidget(self.details.attribute_form)
        self.measurement_dock.raise_()
        self.metadata_dock.setMinimumWidth(300)
        self.loop_dock.setMinimumWidth(260)

        # The image: marks, marking tools, then the caliper and calibration line (made
        # after the marking tools, so their line tool sees the mouse first while active).
        self.layer = AnnotationLayer(self.view.scene())
        self.tools = ToolController(self.view, self.layer)
        self.measure = MeasureTools(self.view)
        self._build_status_bar()
        self.navigator = FrameNavigator(
            self.state,
            self.view,
            self.transport,
            self.playback,
            self.frame_label,
            self.playback_label,
        )
        self.marks_view = MarksView(self.state, self.view, self.layer, self.tools)
        self.measurements_view = MeasurementsView(
            self.state, self.measurement_panel, self.measure, self.tools
        )
        self.measuring = MeasureController(self.state, self.measure, self.view, self)
        self.marking = MarkingController(self.state, self.tools, self.layer, self.label_panel, self)
        prefs = Preferences.load()
        self.layer.caption_point_size = prefs.caption_point_size
        self.layer.handle_size_px = prefs.handle_size_px
        self.sessions = SessionController(self.state, self.lock_banner, prefs, self)

        self.display_toolbar = DisplayToolbar(self.view, self.layer, self.state, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.display_toolbar)
        self.opacity_slider = self.display_toolbar.opacity
        self.worklist = WorklistController(self)
        self.team = TeamViews(self)
        self.adjudication = AdjudicationController(self)
        self.suggestions = SuggestionController(self)
        build_menus(self)
        self.measuring.remove_action = self.remove_calibration_action
        self._connect()
        self.setAcceptDrops(True)
        FocusAfterDialogs(self, self.view)
        self.resize(1360, 860)
        self._update_title()

    # ------------------------------------------------------- the state's fields
    @property
    def loop(self) -> CineLoop | None:
        return self.state.loop

    @property
    def index(self) -> int:
        """The frame on screen (0-based; -1 before one is shown)."""
        return self.state.frame

    @property
    def session(self) -> AnnotationSession | None:
        return self.state.session

    @property
    def current_label(self) -> str | None:
        return self.state.label_id

    @property
    def prefs(self) -> Preferences:
        return self.sessions.prefs

    @prefs.setter
    def prefs(self, prefs: Preferences) -> None:
        self.sessions.prefs = prefs

    @property
    def missing_frames(self):
        return self.navigator.missing_frames

    @property
    def autosave_timer(self) -> QTimer:
        return self.sessions.autosave_timer

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
        # A fixed size: a text that changes every frame played must not lay out the
        # status bar and the window again (see ReadoutLabel).
        self.frame_label = ReadoutLabel("Frame 0000/0000 · 00000.0 ms")
        self.playback_label = QLabel()
        self.playback_label.setToolTip("Frames shown and frames skipped to keep to the clock")
        bar = self.statusBar()
        bar.addWidget(self.cursor_label, 1)
        bar.addPermanentWidget(self.tracks.progress_bar)
        bar.addPermanentWidget(self.tracks.cancel_button)
        for label in (self.pixel_label, self.playback_label, self.frame_label):
            label.setContentsMargins(10, 0, 2, 0)  # apart, so they read as three texts
            bar.addPermanentWidget(label)

    def _connect(self) -> None:
        state = self.state
        state.loopChanged.connect(self._on_loop_changed)
        state.loopClosing.connect(self._on_loop_closing)
        state.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        for signal in (state.loopChanged, state.marksChanged, state.sessionChanged):
            signal.connect(self._update_title)
        # The frame in the title follows a still frame; while playing (a title costs the
        # window system a round trip) it is written once playback stops.
        state.frameChanged.connect(lambda _: state.playing or self._update_title())
        state.playingChanged.connect(self._update_title)
        for signal in (state.loopChanged, state.marksChanged, state.sessionChanged):
            signal.connect(self._update_edit_actions)
        self.sessions.savedChanged.connect(self._update_title)
        self.sessions.savedChanged.connect(self._update_edit_actions)
        self.transport.loopingChanged.connect(self._set_looping)
        self.view.cursorMoved.connect(self._on_cursor)
        self.loop_list.loopActivated.connect(self.open_path)
        self.tools.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 8000))

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
        """Open a loop file, or a folder: list its loops and open the first that opens
        (a sidecar: its loop, as the desktop's "Open with" hands it over)."""
        path = open_target(path)
        if not self.sessions.maybe_keep_work():
            return False
        if os.path.isdir(path):
            return self._open_folder(path)
        try:
            loop = open_cine(path)
        except CineError as exc:
            self._error("Cannot open loop", str(exc))
            return False
        self._show_loop(loop)
        QSettings().setValue("last_folder", os.path.dirname(os.path.abspath(path)))
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
            self.resizeDocks([self.loop_dock], [480], Qt.Orientation.Horizontal)
            # A worklist wants rows: the Loops list gets most of the side's height.
            self.resizeDocks([self.loop_dock, self.label_dock], [560, 240], Qt.Orientation.Vertical)
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
        self.sessions.end()
        previous = self.state.loop
        self.state.set_loop(loop)  # the views follow; tracking of the old loop has stopped
        if previous is not None:
            previous.close()
        self.sessions.start(loop)
        if not self.navigator.show_index(0, direction=1):  # the first frame it can give
            self.view.clear()  # not the last loop's frame under this loop's name
        self.view.fit()
        for warning in loop.warnings:
            self.statusBar().showMessage(f"Warning: {warning}", 15000)

    def _on_loop_closing(self, _loop: object) -> None:
        """The loop is about to close: playback stops (tracking stops by itself)."""
        self.playback.stop()

    def _on_loop_changed(self, loop: CineLoop | None) -> None:
        if loop is None:
            self.view.clear()
            self.view.set_frame_source(None, 0)
        else:
            self.view.set_regions(loop.regions, (loop.columns, loop.rows))
            self.view.set_frame_source(loop.frame, loop.n_frames)
        self.metadata.set_loop(loop)

    def close_loop(self) -> bool:
        """Close the loop (asking about unsaved marks first); False if the user cancels."""
        loop = self.state.loop
        if loop is None:
            return True
        if not self.sessions.maybe_keep_work():
            return False
        self.sessions.end()
        self.state.set_loop(None)
        loop.close()
        self.loop_list.set_current(None)
        self.statusBar().clearMessage()
        return True

    def next_loop(self) -> None:
        self._neighbour(self.loop_list.next_path)

    def previous_loop(self) -> None:
        self._neighbour(self.loop_list.previous_path)

    def _neighbour(self, find) -> None:
        if self.state.loop is None:
            return
        path = find(os.path.abspath(self.state.loop.path))
        if path:
            self.open_path(path)
        else:
            self.statusBar().showMessage("No more loops in this folder", 3000)

    def _remember_recent(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        QSettings().setValue("recent_files", [path, *recent][:MAX_RECENT])
        self.rebuild_recent_menu()

    def _recent(self) -> list[str]:
        value = QSettings().value("recent_files", [])
        return [value] if isinstance(value, str) else list(value or [])

    def rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self._recent() if os.path.exists(p)]
        for path in recent:
            action = self.recent_menu.addAction(os.path.basename(path) or path)
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(recent))

    def _error(self, title: str, message: str) -> None:
        self.sessions.error(title, message)

    # --------------------------------------------------------- frames (menus)
    def show_index(self, index: int, *, direction: int = 0) -> bool:
        return self.navigator.show_index(index, direction=direction)

    def step(self, delta: int) -> None:
        self.navigator.step(delta)

    def jump(self, index: int, *, direction: int = 0) -> None:
        self.navigator.jump(index, direction=direction)

    def jump_to_first(self) -> None:
        self.navigator.jump_to_first()

    def jump_to_last(self) -> None:
        self.navigator.jump_to_last()

    def set_looping(self, checked: bool) -> None:
        self.transport.loop_box.setChecked(checked)

    def _set_looping(self, looping: bool) -> None:
        self.playback.looping = looping
        self.loop_action.setChecked(looping)

    # --------------------------------------------------------------- display
    def set_trajectory_visible(self, shown: bool) -> None:
        self.layer.show_trajectory = shown
        self.state.displayChanged.emit()

    def set_captions_visible(self, shown: bool) -> None:
        self.layer.set_captions_visible(shown)

    def set_calibration_visible(self, visible: bool) -> None:
        self.view.set_regions_visible(visible)
        self.measure.set_calibration_visible(visible)

    def reset_display(self) -> None:
        self.display_toolbar.reset()

    def _on_cursor(self, point: QPointF | None) -> None:
        if point is None or self.state.loop is None:
            self.cursor_label.clear()
            self.pixel_label.clear()
            return
        x, y = point.x(), point.y()
        calibration = self.state.calibration_for()([(x, y)])
        self.cursor_label.setText(f"x {x:7.1f}  y {y:7.1f} px{position_text(calibration, x, y)}")
        value = self.view.raw_pixel(x, y)
        if value is not None:
            r, g, b = value
            self.pixel_label.setText(f"grey {r}" if r == g == b else f"RGB {r}, {g}, {b}")

    # ------------------------------------------------------------------ title
    def _update_title(self, *_args: object) -> None:
        loop, session = self.state.loop, self.state.session
        if loop is None:
            self.setWindowTitle("usannotate")
            return
        state = ""
        if session is not None and session.is_modified:
            state = "* "
        if session is not None and session.read_only:
            state += "(read-only) "
        where = "" if session is None else session.title_note()
        self.setWindowTitle(
            f"{state}{os.path.basename(loop.path)}{where} — frame {self.state.frame + 1} / "
            f"{loop.n_frames} — usannotate"
        )

    def _update_edit_actions(self, *_args: object) -> None:
        history = self.state.history
        self.undo_action.setEnabled(bool(history and history.can_undo))
        self.redo_action.setEnabled(bool(history and history.can_redo))
        self.undo_action.setText(
            f"&Undo {history.undo_text}" if history and history.can_undo else "&Undo"
        )
        self.redo_action.setText(
            f"&Redo {history.redo_text}" if history and history.can_redo else "&Redo"
        )
        self.save_action.setEnabled(self.state.editable)

    # ------------------------------------------------- menu slots (delegated)
    def save(self) -> bool:
        return self.sessions.save()

    def save_as(self) -> bool:
        return self.sessions.save_as()

    def autosave(self) -> None:
        self.sessions.autosave()

    def heartbeat(self) -> None:
        self.sessions.heartbeat()

    def take_over_loop(self) -> bool:
        return self.sessions.take_over_loop()

    def maybe_keep_work(self) -> bool:
        return self.sessions.maybe_keep_work()

    def export_measurements(self) -> bool:
        return self.sessions.export_measurements()

    def export_marks(self) -> QDialog | None:
        """File > Export Marks: the export dialog (non-blocking), or None without a loop."""
        return export_dialogs.export_marks(self)

    def export_media(self, kind: str) -> QDialog | None:
        """File > Export teaching case / video / frames: the export dialog (modeless);
        None without a loop."""
        return export_dialogs.export_media(self, kind)

    def undo(self) -> None:
        self.marking.undo()

    def redo(self) -> None:
        self.marking.redo()

    def copy_marks(self, direction: int) -> None:
        self.marking.copy_marks(direction)

    def choose_label_key(self, key: str) -> None:
        self.marking.choose_label_key(key)

    def add_label(self) -> None:
        self.marking.add_label()

    def start_calibration(self) -> None:
        self.measuring.start_calibration()

    def remove_calibration(self) -> None:
        self.measuring.remove_calibration()

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
        prefs.save()
        self.sessions.apply_preferences(prefs)
        self.layer.caption_point_size = prefs.caption_point_size
        self.layer.handle_size_px = prefs.handle_size_px
        self.state.displayChanged.emit()

    def show_shortcuts(self) -> None:
        """Every shortcut, read from the window's own actions (so the list cannot drift)."""
        ShortcutsDialog(shortcut_rows(self), self).exec()

    # ------------------------------------------------------------ the window
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            QTimer.singleShot(0, lambda: self.open_path(urls[0]))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.sessions.maybe_keep_work():
            event.ignore()
            return
        self.playback.stop()
        self.marks_view.playback.shutdown()
        self.view.shutdown()
        self.tracks.cancel()
        self.tracks.wait()
        self.suggestions.shutdown()
        self.sessions.end()
        if self.state.loop is not None:
            self.state.loop.close()
        save_layout(self)
        super().closeEvent(event)
