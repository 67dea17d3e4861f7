"""File > Export teaching case… / Export video… / Export frames…: one dialog for the three.

It previews what leaves the machine before anything is written: the pixel mask (the
de-identification's, the blacked-out area tinted red over the first frame) and the first
frame as it will be exported (marks, captions, scale bar). The export runs as a
:class:`~usannotate.ui.workers.BackgroundJob` with progress and cancel (a cancelled
export leaves nothing behind); at the end "Open folder" shows what was written. The
work itself is the core's (:mod:`usannotate.export`), the same functions as the CLI.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from usannotate.annotations import Annotations
from usannotate.sidecar import SidecarDocument
from usannotate.ui.dialogs.pacs_send import SendToPacsButton
from usannotate.ui.workers import BackgroundJob

__all__ = ["KINDS", "ExportMediaDialog"]

#: kind -> (window title, what the output is, default output suffix)
KINDS = {
    "teaching": ("Export teaching case", "Folder (new or empty)", "_teaching"),
    "video": ("Export video", "Video file (.mp4)", ".mp4"),
    "frames": ("Export frames", "Folder", "_frames"),
}
_PREVIEW_PX = 360
_STAGES = {
    "scan": "Looking for burned-in text",
    "deidentify": "De-identifying the loop",
    "video": "Writing the video",
    "frames": "Writing the frames",
    "page": "Writing the page",
}


def snapshot(annotations: Annotations | None) -> Annotations | None:
    """The marks as they are now, for a worker thread to read while the window goes on
    editing (objects copied; their point arrays are never changed in place, so shared)."""
    if annotations is None:
        return None
    return dataclasses.replace(annotations, objects=[o.copy() for o in annotations.objects])


def _pixmap(rgb: np.ndarray) -> QPixmap:
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
    return QPixmap.fromImage(image).scaled(
        _PREVIEW_PX,
        _PREVIEW_PX,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def _preview_work(context, dicom: str, annotations: Annotations | None, anonymise: bool):
    """Worker: the mask and the first exported frame (a static-overlay mask scans the
    loop: progress is reported)."""
    from usannotate.export.annotated import AnnotatedLoop, MediaOptions

    with AnnotatedLoop(
        dicom,
        options=MediaOptions(anonymise=anonymise),
        annotations=annotations,
        scan_progress=lambda done, total: context.report(("scan", done, total)),
    ) as media:
        first = media.loop.frame(0)
        tinted = first.copy()
        if media.mask is not None:
            gone = ~media.mask.keep
            tinted[gone] = (0.45 * tinted[gone] + 0.55 * np.array([220, 40, 40])).astype(np.uint8)
        return {
            "mask": media.mask,
            "mask_view": tinted,
            "frame": media.frame(0),
            "keyframes": media.keyframes(),
            "n_frames": media.n_frames,
        }


def _export_work(context, kind: str, dicom: str, output: str, settings: dict):
    """Worker: the export itself; returns the folder to open and a summary line."""
    cancelled = context.cancelled.is_set

    def stage(name: str, done: int, total: int) -> None:
        context.report((name, done, total))

    if kind == "teaching":
        from usannotate.deid import DeidentifyOptions
        from usannotate.export.teaching import export_teaching

        result = export_teaching(
            dicom,
            output,
            DeidentifyOptions(shift_dates=settings["shift_dates"]),
            speed=settings["speed"],
            mask=settings["mask"],
            progress=stage,
            cancelled=cancelled,
            document=settings["document"],
        )
        return result.folder, f"Teaching case written: {len(result.files)} files"
    from usannotate.export.annotated import AnnotatedLoop, MediaOptions

    options = MediaOptions(marks=settings["marks"], anonymise=settings["anonymise"])
    with AnnotatedLoop(
        dicom, options=options, annotations=settings["annotations"], mask=settings["mask"]
    ) as media:
        if kind == "video":
            from usannotate.export.video import write_video

            video = write_video(
                media,
                output,
                speed=settings["speed"],
                progress=lambda d, t: stage("video", d, t),
                cancelled=cancelled,
            )
            note = f" ({'; '.join(video.notes)})" if video.notes else ""
            return video.output.parent, f"Video written: {video.output.name}{note}"
        from usannotate.export.frames import chosen_frames, write_frames

        frames = chosen_frames(media, settings["frames"])
        written = write_frames(
            media,
            output,
            frames,
            progress=lambda d, t: stage("frames", d, t),
            cancelled=cancelled,
        )
        return Path(output), f"{len(written)} frames written"


class ExportMediaDialog(QDialog):
    """Export a teaching case, a video or frames of the open loop (see the module)."""

    def __init__(
        self,
        kind: str,
        dicom: str,
        annotations: Annotations | None,
        *,
        unsaved: bool = False,
        document: SidecarDocument | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        title, what, suffix = KINDS[kind]
        # The window's marks (live: each preview and export takes a snapshot of them as
        # they are then, unsaved edits included) and the session's sidecar document
        # (what a teaching case carries, with those marks in it).
        self.kind, self.dicom, self.annotations = kind, dicom, annotations
        self.document = document
        self.setWindowTitle(title)
        self._mask = None
        self._folder: Path | None = None
        self.preview_job = BackgroundJob("export preview", self)
        self.export_job = BackgroundJob("export", self)

        self.mask_view, self.frame_view = QLabel(), QLabel()
        for view in (self.mask_view, self.frame_view):
            view.setFixedSize(_PREVIEW_PX, int(_PREVIEW_PX * 0.78))
            view.setAlignment(Qt.AlignmentFlag.AlignCenter)
            view.setStyleSheet("background: #111; color: #aaa;")
            view.setText("Preparing the preview…")
        previews = QGridLayout()
        previews.addWidget(QLabel("<b>Pixel mask</b> (red: blacked out)"), 0, 0)
        previews.addWidget(QLabel("<b>First frame</b> as exported"), 0, 1)
        previews.addWidget(self.mask_view, 1, 0)
        previews.addWidget(self.frame_view, 1, 1)

        form = QFormLayout()
        stem = Path(dicom).with_suffix("")
        self.output_edit = QLineEdit(str(stem.parent / (stem.name + suffix)))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.output_edit, 1)
        row.addWidget(browse)
        form.addRow(what, row)
        self.anonymise_box = QCheckBox("Black out the burned-in text (the de-identification mask)")
        self.anonymise_box.setChecked(True)
        self.marks_box = QCheckBox("Draw the marks, captions and measurements")
        self.marks_box.setChecked(True)
        self.speed_spin = QDoubleSpinBox()
        self.speed_spin.setRange(0.1, 8.0)
        self.speed_spin.setSingleStep(0.25)
        self.speed_spin.setValue(1.0)
        self.speed_spin.setSuffix("x")
        self.frames_combo = QComboBox()
        self.frames_combo.addItems(["Key frames", "All frames", "These frames:"])
        self.frames_edit = QLineEdit()
        self.frames_edit.setPlaceholderText("3, 10, 25 (0-based)")
        self.frames_edit.setEnabled(False)
        self.frames_combo.currentIndexChanged.connect(
            lambda index: self.frames_edit.setEnabled(index == 2)
        )
        self.shift_dates_box = QCheckBox("Shift dates (keep intervals) instead of removing them")
        if kind == "teaching":
            form.addRow("", self.shift_dates_box)
            form.addRow("Video speed", self.speed_spin)
            self.anonymise_box.setEnabled(False)  # a teaching case is always de-identified
        elif kind == "video":
            form.addRow("", self.anonymise_box)
            form.addRow("", self.marks_box)
            form.addRow("Speed", self.speed_spin)
        else:
            form.addRow("", self.anonymise_box)
            frames_row = QHBoxLayout()
            frames_row.addWidget(self.frames_combo)
            frames_row.addWidget(self.frames_edit, 1)
            form.addRow("Frames", frames_row)
        self.note = QLabel()
        self.note.setWordWrap(True)
        if unsaved:
            self.note.setText(
                "The marks have unsaved changes: they are exported as they are in the "
                "window (the sidecar on disk is not changed)."
            )
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.status = QLabel("Ready.")
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.setEnabled(False)
        self.cancel_button = QPushButton("Close")
        self.open_button = QPushButton("Open folder")
        self.open_button.setEnabled(False)
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self._cancel_or_close)
        self.open_button.clicked.connect(self.open_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        # Send to PACS (teaching cases: the de-identified loop of the case).
        self.send_button = SendToPacsButton(self)
        self.send_button.setVisible(kind == "teaching")
        buttons.addWidget(self.send_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)

        layout = QVBoxLayout(self)
        layout.addLayout(previews)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

        self.preview_job.progressed.connect(self._on_progress)
        self.preview_job.finished.connect(self._on_preview)
        self.preview_job.failed.connect(self._on_failed)
        self.export_job.progressed.connect(self._on_progress)
        self.export_job.finished.connect(self._on_done)
        self.export_job.failed.connect(self._on_failed)
        self.anonymise_box.toggled.connect(self.refresh_preview)
        self.refresh_preview()

    # ------------------------------------------------------------------ preview
    def refresh_preview(self) -> None:
        """Work out the mask and the first exported frame in the background."""
        self.export_button.setEnabled(False)
        self.status.setText("Preparing the preview…")
        anonymise = self.kind == "teaching" or self.anonymise_box.isChecked()
        self.preview_job.start(_preview_work, self.dicom, snapshot(self.annotations), anonymise)

    def _on_preview(self, preview: dict) -> None:
        self._mask = preview["mask"]
        self.mask_view.setPixmap(_pixmap(preview["mask_view"]))
        self.frame_view.setPixmap(_pixmap(preview["frame"]))
        mask = self._mask
        method = (
            f"pixels outside the {mask.method} black ({mask.blacked_out_px} px a frame)"
            if mask is not None
            else "no pixels blacked out"
        )
        self.status.setText(
            f"{preview['n_frames']} frames, {len(preview['keyframes'])} key frames; {method}."
        )
        self.progress.setValue(0)
        self.export_button.setEnabled(True)

    # ------------------------------------------------------------------ export
    def _browse(self) -> None:
        if self.kind == "video":
            path, _ = QFileDialog.getSaveFileName(
                self, "Video file", self.output_edit.text(), "MP4 video (*.mp4)"
            )
        else:
            path = QFileDialog.getExistingDirectory(self, "Folder", self.output_edit.text())
        if path:
            self.output_edit.setText(path)

    def settings(self) -> dict:
        """What the export is asked to do (the widgets' values)."""
        choice = ("keyframes", "all", self.frames_edit.text().replace(" ", ""))
        marks = snapshot(self.annotations)
        document = None
        if self.document is not None and marks is not None:
            document = dataclasses.replace(self.document, annotations=marks)
        return {
            "mask": self._mask,
            "anonymise": self.kind == "teaching" or self.anonymise_box.isChecked(),
            "marks": self.marks_box.isChecked(),
            "speed": self.speed_spin.value(),
            "shift_dates": self.shift_dates_box.isChecked(),
            "frames": choice[self.frames_combo.currentIndex()],
            "annotations": marks,
            "document": document,
        }

    def start_export(self) -> None:
        """Start the export in the background (Cancel stops it)."""
        self.export_button.setEnabled(False)
        self.open_button.setEnabled(False)
        self.cancel_button.setText("Cancel")
        self.status.setText("Exporting…")
        self.export_job.start(
            _export_work, self.kind, self.dicom, self.output_edit.text(), self.settings()
        )

    def _on_progress(self, value) -> None:
        stage, done, total = value
        self.progress.setValue(int(100 * done / max(total, 1)))
        self.status.setText(f"{_STAGES.get(stage, stage)}: {done} / {total}")

    def _on_done(self, value) -> None:
        self._folder, summary = value
        self.progress.setValue(100)
        self.status.setText(summary)
        self.open_button.setEnabled(True)
        self.send_button.set_output(self._folder if self.kind == "teaching" else None)
        self.cancel_button.setText("Close")
        self.export_button.setEnabled(True)

    def _on_failed(self, exc) -> None:
        from usannotate.export.errors import ExportCancelled

        self.cancel_button.setText("Close")
        self.progress.setValue(0)
        if isinstance(exc, ExportCancelled):
            self.status.setText("Cancelled: nothing was written.")
        else:
            # Core errors are one line naming the file, never a header value.
            self.status.setText(f"Not exported: {str(exc).splitlines()[0] if str(exc) else exc}")
            self.status.setStyleSheet("color: #d33;")
        self.export_button.setEnabled(self._mask is not None or not self.anonymise_box.isChecked())

    def _cancel_or_close(self) -> None:
        if self.export_job.is_running:
            self.export_job.cancel()
            self.status.setText("Cancelling…")
        else:
            self.reject()

    @property
    def written_folder(self) -> Path | None:
        """The folder the last export wrote to (None before one finished)."""
        return self._folder

    def open_folder(self) -> None:
        """Show the written folder in the system's file manager."""
        if self._folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._folder)))

    def done(self, result: int) -> None:
        """Closing stops the preview and cancels a running export (nothing half made)."""
        self.preview_job.discard()
        self.export_job.cancel()
        self.export_job.wait(30.0)
        super().done(result)
