"""File > Export: the loop's marks (or its folder's) to DICOM SR, CVAT, COCO, YOLO or masks.

The dialog only gathers an :class:`~usannotate.export.run.ExportRequest` and runs it
with :func:`~usannotate.export.run.run_export` on a :class:`BackgroundJob` (the call
``usannotate export`` makes), showing its progress; Cancel stops it between two steps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from usannotate.export import ExportError, FrameChoice, loops_with_sidecars
from usannotate.export.run import ExportCancelled, ExportFormat, ExportRequest, run_export
from usannotate.ui.dialogs.pacs_send import SendToPacsButton
from usannotate.ui.workers import BackgroundJob, JobContext

__all__ = ["FORMAT_TITLES", "ExportDialog"]

#: The formats as the dialog lists them.
FORMAT_TITLES = {
    ExportFormat.SR: "DICOM SR measurement report (TID 1500)",
    ExportFormat.CVAT: "CVAT for video 1.1 XML",
    ExportFormat.COCO: "COCO (frames, polygons, keypoints)",
    ExportFormat.YOLO: "YOLO segmentation",
    ExportFormat.MASKS: "Index masks (PNG)",
}

_FRAME_TITLES = {
    FrameChoice.ANNOTATED: "Frames with stored marks (keyframes and tracked)",
    FrameChoice.KEYFRAMES: "Keyframes only",
    FrameChoice.ALL: "Every frame of the loop",
}


def _export_work(context: JobContext, request: ExportRequest) -> tuple[str, object]:
    """Runs on the worker: ``("done", paths)``, ``("cancelled", None)`` or
    ``("failed", one-line message)``; nothing is raised across the thread."""
    try:
        written = run_export(
            request,
            progress=lambda fraction, name: context.report((fraction, name)),
            cancelled=context.cancelled.is_set,
        )
    except ExportCancelled:
        return "cancelled", None
    except ExportError as exc:
        return "failed", str(exc)
    except OSError as exc:
        name = Path(exc.filename).name if exc.filename else "the output"
        return "failed", f"{name}: could not be written ({exc.strerror or 'I/O error'})"
    return "done", written


class ExportDialog(QDialog):
    """Choose a format, the loops, the output and the options; export with progress."""

    def __init__(
        self,
        loop_path: str | Path,
        sidecar_path: str | Path,
        save_first: Callable[[], bool] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export marks")
        self._loop = Path(loop_path)
        self._sidecar = Path(sidecar_path)
        self._save_first = save_first
        self._output = Path()
        self.job = BackgroundJob("export", self)
        self.job.progressed.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(lambda exc: self._on_finished(("failed", type(exc).__name__)))

        self.format_box = QComboBox()
        for kind, title in FORMAT_TITLES.items():
            self.format_box.addItem(title, kind)
        self.this_loop = QRadioButton(f"This loop ({self._loop.name})")
        self.folder_loops = QRadioButton("Every annotated loop in its folder")
        self.this_loop.setChecked(True)
        scope = QHBoxLayout()
        scope.addWidget(self.this_loop)
        scope.addWidget(self.folder_loops)
        scope.addStretch(1)

        self.output_edit = QLineEdit()
        self.output_edit.setMinimumWidth(360)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_output)
        output = QHBoxLayout()
        output.addWidget(self.output_edit, 1)
        output.addWidget(choose)

        self.frames_box = QComboBox()
        for choice, title in _FRAME_TITLES.items():
            self.frames_box.addItem(title, choice)
        self.all_frames_check = QCheckBox("Every frame where a track exists (interpolated too)")
        self.allow_px_check = QCheckBox("Write values not measurable in mm in px")
        self.line_width_spin = QSpinBox()
        self.line_width_spin.setRange(1, 50)
        self.line_width_spin.setValue(3)
        self.line_width_spin.setSuffix(" px")
        self.val_spin = QDoubleSpinBox()
        self.val_spin.setRange(0.0, 0.9)
        self.val_spin.setSingleStep(0.1)
        self.val_spin.setDecimals(2)
        self.val_spin.setToolTip("Share of the loops (whole loops) held out for validation")

        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("Loops", scope)
        form.addRow("Output", output)
        form.addRow("Frames", self.frames_box)
        form.addRow("", self.all_frames_check)
        form.addRow("", self.allow_px_check)
        form.addRow("Line width", self.line_width_spin)
        form.addRow("Validation share", self.val_spin)
        self._form = form

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.send_button = SendToPacsButton(self)  # the SR just written, to a PACS
        self.buttons.addButton(self.send_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.job.cancel)
        self.close_button.clicked.connect(self.reject)
        self.cancel_button.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)

        self.format_box.currentIndexChanged.connect(self._update)
        self.this_loop.toggled.connect(self._update)
        self._update()

    # -------------------------------------------------------------- choices
    @property
    def format(self) -> ExportFormat:
        return ExportFormat(self.format_box.currentData())

    def _default_output(self) -> Path:
        stem = self._loop.name.rsplit(".", 1)[0]
        kind = self.format
        if kind.per_loop and self.this_loop.isChecked():
            return self._loop.with_name(f"{stem}{kind.suffix}")
        base = stem if self.this_loop.isChecked() else self._loop.parent.name or "loops"
        return self._loop.parent / f"{base}_{kind.value}"

    def _update(self) -> None:
        kind = self.format
        shown = {
            self.frames_box: not kind.per_loop,
            self.all_frames_check: kind is ExportFormat.SR,
            self.allow_px_check: kind is ExportFormat.SR,
            self.line_width_spin: kind is ExportFormat.MASKS,
            self.val_spin: kind in (ExportFormat.COCO, ExportFormat.YOLO),
        }
        for widget, visible in shown.items():
            self._form.setRowVisible(widget, visible)
        self.output_edit.setText(str(self._default_output()))
        self.adjustSize()

    def _choose_output(self) -> None:
        kind = self.format
        current = self.output_edit.text()
        if kind.per_loop and self.this_loop.isChecked():
            pattern = "DICOM SR (*.dcm)" if kind is ExportFormat.SR else "CVAT XML (*.xml)"
            path, _ = QFileDialog.getSaveFileName(self, "Export to", current, pattern)
        else:
            path = QFileDialog.getExistingDirectory(self, "Export into folder", current)
        if path:
            self.output_edit.setText(path)

    def request(self) -> ExportRequest:
        """The export the dialog's fields describe.

        Raises
        ------
        ExportError
            No output given, or the folder holds no annotated loop.
        """
        text = self.output_edit.text().strip()
        if not text:
            raise ExportError("choose where to write the export")
        single = self.this_loop.isChecked()
        loops = (self._loop,) if single else tuple(loops_with_sidecars([self._loop.parent]))
        return ExportRequest(
            format=self.format,
            loops=loops,
            output=Path(text),
            single=single and self.format.per_loop,
            sidecar=self._sidecar if single else None,
            frames=FrameChoice(self.frames_box.currentData()),
            all_frames=self.all_frames_check.isChecked(),
            allow_px=self.allow_px_check.isChecked(),
            line_width_px=self.line_width_spin.value(),
            val_fraction=self.val_spin.value(),
        )

    # -------------------------------------------------------------- running
    def start(self) -> bool:
        """Save unsaved marks (the export reads the sidecars), then run the export."""
        if self.job.is_running:
            return False
        if self._save_first is not None and not self._save_first():
            self._say("Not exported: the marks could not be saved first.", error=True)
            return False
        try:
            request = self.request()
        except ExportError as exc:
            self._say(str(exc), error=True)
            return False
        self._output = request.output
        self._set_running(True)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p%")
        self._say("Exporting…")
        self.job.start(_export_work, request)
        return True

    def _set_running(self, running: bool) -> None:
        self.export_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.close_button.setEnabled(not running)
        for row in range(self._form.rowCount()):
            item = self._form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            if item is not None and item.widget() is not None:
                item.widget().setEnabled(not running)

    def _on_progress(self, value: object) -> None:
        fraction, name = value  # type: ignore[misc]
        self.progress_bar.setValue(round(float(fraction) * 1000))
        if name:
            self._say(f"Exporting {name}…")

    def _on_finished(self, outcome: object) -> None:
        status, detail = outcome  # type: ignore[misc]
        self._set_running(False)
        self.send_button.set_output(
            self._output if status == "done" and self.format is ExportFormat.SR else None
        )
        if status == "done":
            self.progress_bar.setValue(1000)
            files = list(detail)  # type: ignore[call-overload]
            names = ", ".join(Path(p).name for p in files[:3])
            more = f" and {len(files) - 3} more" if len(files) > 3 else ""
            where = "" if files == [self._output] else f" into {self._output.name}"
            self._say(f"Exported{where}: {names}{more}")
        elif status == "cancelled":
            self.progress_bar.setFormat("Cancelled")
            self._say("Cancelled: the files written so far are whole; the set is not complete.")
        else:
            self.progress_bar.setFormat("")
            self._say(f"Not exported: {detail}", error=True)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #b00020;" if error else "")
        self.status_label.setText(text)

    def done(self, result: int) -> None:
        """Closing while an export runs cancels it and waits for it to stop."""
        if self.job.is_running:
            self.job.cancel()
            self.job.wait(30.0)
            self.job.discard()
        super().done(result)
