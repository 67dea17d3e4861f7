"""Send to PACS…: the SR and teaching exports' files sent by STOW-RS or C-STORE.

The dialog lists the files, sends them on a background job (the core's
:func:`usannotate.pacs.pull.push`, with its timeouts) and says, per file, OK or the
server's reason. :class:`SendToPacsButton` is what the export dialogs add: disabled
until an export has written something to send.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from usannotate.pacs.errors import PacsError
from usannotate.pacs.servers import Server, redact
from usannotate.ui.dialogs.pacs_server import ServerForm
from usannotate.ui.workers import BackgroundJob

__all__ = ["SendToPacsButton", "SendToPacsDialog", "dicom_files_in"]


def dicom_files_in(path: Path) -> list[Path]:
    """``path`` if it is a DICOM file, else the DICOM files (Part 10) under the folder."""
    path = Path(path)
    candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    found = []
    for candidate in candidates:
        try:
            with open(candidate, "rb") as handle:
                handle.seek(128)
                if handle.read(4) == b"DICM":
                    found.append(candidate)
        except OSError:
            continue
    return found


def _send_work(context, server: Server, files: list[Path]):
    from usannotate.pacs.pull import push

    return push(server, files)


class SendToPacsDialog(QDialog):
    """Choose a server and send ``files``; the outcome per file."""

    def __init__(self, files: Sequence[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Send to PACS")
        self.files = [Path(f) for f in files]
        self._server: Server | None = None
        self.job = BackgroundJob("pacs-send", self)
        self.job.finished.connect(self._on_sent)
        self.job.failed.connect(self._on_failed)
        self.server_form = ServerForm()
        self.file_list = QListWidget()
        self.file_list.addItems([f.name for f in self.files])
        self.file_list.setMinimumHeight(90)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.send_button = QPushButton("Send")
        self.send_button.setDefault(True)
        self.send_button.setEnabled(bool(self.files))
        self.send_button.clicked.connect(self.send)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.server_form)
        layout.addWidget(QLabel(f"{len(self.files)} DICOM file(s) to send"))
        layout.addWidget(self.file_list)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b00020;" if error else "")
        self.status.setText(text)

    def send(self) -> bool:
        """Send the files in the background."""
        if self.job.is_running or not self.files:
            return False
        try:
            self._server = self.server_form.server()
        except PacsError as exc:
            self._say(str(exc), error=True)
            return False
        self.send_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self._say(f"Sending to {self._server.display}…")
        self.job.start(_send_work, self._server, self.files)
        return True

    def _on_sent(self, outcomes: object) -> None:
        self.send_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        results = list(outcomes)  # type: ignore[call-overload]
        if self._server is not None:
            self.server_form.remember_if_asked(self._server)
        for row, outcome in enumerate(results):
            item = self.file_list.item(row)
            if item is not None:
                item.setText(
                    f"{'OK' if outcome.ok else 'Refused'}  {outcome.name}"
                    + ("" if outcome.ok else f": {outcome.message}")
                )
        failed = [o for o in results if not o.ok]
        if failed:
            self._say(f"{len(failed)} of {len(results)} refused by the server", error=True)
        else:
            self._say(f"Sent: {len(results)} file(s) stored on the server")

    def _on_failed(self, exc: object) -> None:
        self.send_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        secrets = (getattr(self._server, "password", None), getattr(self._server, "token", None))
        text = str(exc).splitlines()[0] if isinstance(exc, PacsError) else type(exc).__name__
        self._say(f"Not sent: {redact(text, *secrets)}", error=True)

    def done(self, result: int) -> None:
        """Closing waits for a send in flight to end (its calls have timeouts)."""
        if self.job.is_running:
            self.job.wait(30.0)
            self.job.discard()
        super().done(result)


class SendToPacsButton(QPushButton):
    """ "Send to PACS…" for an export dialog: enabled once :meth:`set_output` named
    something holding DICOM files; opens a :class:`SendToPacsDialog` on them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Send to PACS…", parent)
        self.setEnabled(False)
        self.setToolTip("Send what was exported (DICOM files) to a PACS")
        self._files: list[Path] = []
        self.dialog: SendToPacsDialog | None = None
        self.clicked.connect(self.open_dialog)

    def set_output(self, output: Path | None) -> None:
        """The export's output (a file or a folder); None: nothing to send."""
        self._files = dicom_files_in(output) if output is not None and Path(output).exists() else []
        self.setEnabled(bool(self._files))

    def open_dialog(self) -> SendToPacsDialog | None:
        """Open the send dialog on the exported DICOM files."""
        if not self._files:
            return None
        self.dialog = SendToPacsDialog(self._files, self.window())
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.open()
        return self.dialog
