"""The server part of the PACS dialogs: saved servers, an address, user, password, remember.

A thin form over :mod:`usannotate.pacs.servers` and :mod:`usannotate.pacs.credentials`:
the password is asked each time unless the user ticks "Remember" (then it goes to the
system keyring, never to a file); TLS is always verified (a CA bundle can be saved with
a server in its settings file).
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QWidget,
)

from usannotate.pacs.credentials import forget_secret, remember_secret, remembered_secret
from usannotate.pacs.errors import PacsServerSpecError
from usannotate.pacs.servers import (
    DicomWebServer,
    Server,
    parse_server,
    save_server,
    saved_servers,
)

__all__ = ["ServerForm"]

_OTHER = "Other address…"


class ServerForm(QWidget):
    """Choose a saved server or type an address; :meth:`server` gives it with its secret."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._saved = saved_servers()
        self.server_box = QComboBox()
        self.server_box.addItems([*sorted(self._saved), _OTHER])
        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("https://host/dicom-web  or  dicom://AET@host:104")
        self.address_edit.setMinimumWidth(380)
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("(none)")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember_check = QCheckBox("Remember the password (system keyring)")
        self.save_button = QPushButton("Save server as…")
        self.save_button.clicked.connect(self._save_as)
        server_row = QHBoxLayout()
        server_row.addWidget(self.server_box, 1)
        server_row.addWidget(self.save_button)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Server", server_row)
        form.addRow("Address", self.address_edit)
        form.addRow("User", self.user_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("", self.remember_check)
        self.server_box.currentTextChanged.connect(self._on_choice)
        self.address_edit.textChanged.connect(self._on_address)
        self._on_choice(self.server_box.currentText())

    def _on_choice(self, name: str) -> None:
        server = self._saved.get(name)
        if server is None:
            self.address_edit.clear()
            self.user_edit.clear()
            self.password_edit.clear()
            self.address_edit.setReadOnly(False)
        else:
            if isinstance(server, DicomWebServer):
                self.address_edit.setText(server.base_url)
                self.user_edit.setText(server.username or "")
                secret = remembered_secret(server) if server.username else None
                self.password_edit.setText(secret or "")
                self.remember_check.setChecked(secret is not None)
            else:
                self.address_edit.setText(
                    f"dicom://{server.called_aet}@{server.host}:{server.port}"
                )
                self.user_edit.clear()
                self.password_edit.clear()
        self.changed.emit()

    def _on_address(self, text: str) -> None:
        """DIMSE has no user or password: those fields are off for a dicom:// address."""
        web = not text.strip().lower().startswith("dicom://")
        for widget in (self.user_edit, self.password_edit, self.remember_check):
            widget.setEnabled(web)
        self.changed.emit()

    def server(self) -> Server:
        """The server the form describes, with the password typed (or remembered).

        Raises
        ------
        PacsServerSpecError
            No address, or one that is not a server address.
        """
        text = self.address_edit.text().strip()
        if not text:
            raise PacsServerSpecError("type the server's address, or choose a saved server")
        if "://" not in text:
            raise PacsServerSpecError("the address must start with https://, http:// or dicom://")
        saved = self._saved.get(self.server_box.currentText())
        server = parse_server(text, saved={})
        if saved is not None and type(saved) is type(server):
            # keep what the saved server has beyond its address (CA bundle, timeouts...)
            if isinstance(server, DicomWebServer):
                server = replace(saved, base_url=server.base_url)  # type: ignore[arg-type]
            else:
                server = replace(
                    saved,  # type: ignore[arg-type]
                    host=server.host,
                    port=server.port,
                    called_aet=server.called_aet,
                )
        if isinstance(server, DicomWebServer):
            user = self.user_edit.text().strip() or server.username
            password = self.password_edit.text() or server.password
            server = replace(server, username=user or None, password=password or None)
        return server

    def remember_if_asked(self, server: Server) -> None:
        """After a call the server accepted: keep the password in the keyring if asked,
        forget one remembered before if the box is now unticked."""
        if not isinstance(server, DicomWebServer) or not server.username:
            return
        if self.remember_check.isChecked() and server.password:
            remember_secret(server, server.password)
        elif not self.remember_check.isChecked() and remembered_secret(server) is not None:
            forget_secret(server)

    def _save_as(self) -> None:
        try:
            server = self.server()
        except PacsServerSpecError as exc:
            self.setToolTip(str(exc))
            return
        name, ok = QInputDialog.getText(self, "Save server", "Name of this server")
        if not ok or not name.strip():
            return
        try:
            save_server(name.strip(), server)
        except (PacsServerSpecError, OSError):
            return
        self.remember_if_asked(server)
        self._saved = saved_servers()
        self.server_box.blockSignals(True)
        self.server_box.clear()
        self.server_box.addItems([*sorted(self._saved), _OTHER])
        self.server_box.setCurrentText(name.strip())
        self.server_box.blockSignals(False)
