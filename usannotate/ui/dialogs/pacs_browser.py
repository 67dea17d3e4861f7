"""File > Open from PACS…: pick a server, search studies, browse series, pull, open.

Everything that talks to the server runs as a :class:`~usannotate.ui.workers.BackgroundJob`
(the core's functions, each call with its timeouts), so the window never waits on the
network: a server that is down or refuses gives one line in the dialog. The pull goes
into the size-bounded cache (:class:`usannotate.pacs.cache.PacsCache`) with progress and
Cancel; only a series that arrived whole is opened.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from usannotate.pacs.cache import PacsCache
from usannotate.pacs.errors import PacsCancelled, PacsError
from usannotate.pacs.models import StudyInfo, StudyQuery
from usannotate.pacs.servers import Server, redact
from usannotate.ui.dialogs.pacs_server import ServerForm
from usannotate.ui.workers import BackgroundJob

__all__ = ["PacsBrowserDialog"]

_THUMB_PX = 160
_UID_ROLE = Qt.ItemDataRole.UserRole


def _search_work(context, server: Server, query: StudyQuery) -> list[StudyInfo]:
    from usannotate.pacs.pull import find

    return find(server, query)


def _thumbnail_work(context, server: Server, study_uid: str, series_uid: str) -> bytes | None:
    from usannotate.pacs.pull import connect

    conn = connect(server)
    try:
        refs = conn.instances(study_uid, series_uid)
        return conn.thumbnail(refs[0], _THUMB_PX) if refs else None
    finally:
        conn.close()


def _pull_work(context, server: Server, cache: PacsCache, study_uid: str, series_uid: str):
    return cache.pull_series(
        server,
        study_uid,
        series_uid,
        progress=context.report,
        cancelled=context.cancelled.is_set,
    )


class PacsBrowserDialog(QDialog):
    """Studies and series of a PACS; ``pulled(path)`` gives the loop (or folder) to open."""

    pulled = Signal(str)

    def __init__(self, parent: QWidget | None = None, cache: PacsCache | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open from PACS")
        self.cache = cache or PacsCache()
        self._server: Server | None = None
        self.search_job = BackgroundJob("pacs-search", self)
        self.thumb_job = BackgroundJob("pacs-thumbnail", self)
        self.pull_job = BackgroundJob("pacs-pull", self)
        self.search_job.finished.connect(self._on_found)
        self.search_job.failed.connect(self._on_failed)
        self.thumb_job.finished.connect(self._on_thumbnail)
        self.thumb_job.failed.connect(lambda _exc: self._show_no_preview("No preview"))
        self.pull_job.progressed.connect(self._on_pull_progress)
        self.pull_job.finished.connect(self._on_pulled)
        self.pull_job.failed.connect(self._on_failed)

        self.server_form = ServerForm()
        self.patient_edit = QLineEdit()
        self.patient_edit.setPlaceholderText("any")
        self.date_edit = QLineEdit()
        self.date_edit.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        self.description_edit = QLineEdit()
        self.description_edit.setPlaceholderText("any (* as wildcard)")
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        search = QFormLayout()
        search.addRow("Patient ID", self.patient_edit)
        search.addRow("Study date", self.date_edit)
        description_row = QHBoxLayout()
        description_row.addWidget(self.description_edit, 1)
        description_row.addWidget(self.search_button)
        search.addRow("Description", description_row)

        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Date", "Description", "Modality", "Instances", "Frames"])
        self.tree.setRootIsDecorated(True)
        self.tree.setMinimumSize(660, 260)
        for column, width in enumerate((130, 250, 80, 80)):
            self.tree.setColumnWidth(column, width)
        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.tree.itemDoubleClicked.connect(lambda _item, _col: self.open_selected())
        self.thumbnail = QLabel("No series selected")
        self.thumbnail.setFixedSize(_THUMB_PX, _THUMB_PX)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setWordWrap(True)
        self.thumbnail.setStyleSheet("border: 1px solid palette(mid);")
        browse = QHBoxLayout()
        browse.addWidget(self.tree, 1)
        browse.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton("Open")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_selected)
        self.cancel_button = QPushButton("Cancel pull")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.pull_job.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.open_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.server_form)
        layout.addLayout(search)
        layout.addLayout(browse, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------ search
    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet("color: #b00020;" if error else "")
        self.status.setText(text)

    def search(self) -> bool:
        """Search the server with the fields' filters (in the background)."""
        from usannotate.pacs._values import check_date_range

        if self.search_job.is_running or self.pull_job.is_running:
            return False
        try:
            self._server = self.server_form.server()
            query = StudyQuery(
                patient_id=self.patient_edit.text().strip() or None,
                study_date=check_date_range(self.date_edit.text().strip() or None),
                description=self.description_edit.text().strip() or None,
            )
        except (PacsError, ValueError) as exc:
            self._say(str(exc), error=True)
            return False
        self.tree.clear()
        self._show_no_preview("No series selected")
        self.search_button.setEnabled(False)
        self._say(f"Searching {self._server.display}…")
        self.search_job.start(_search_work, self._server, query)
        return True

    def _on_found(self, studies: object) -> None:
        self.search_button.setEnabled(True)
        assert isinstance(studies, list)
        if self._server is not None:
            self.server_form.remember_if_asked(self._server)
        for study in studies:
            n_frames = sum(s.n_frames or 0 for s in study.series)
            item = QTreeWidgetItem(
                [
                    _date(study.date),
                    study.description or "(no description)",
                    "/".join(study.modalities),
                    str(sum(s.n_instances or 0 for s in study.series)),
                    str(n_frames or ""),
                ]
            )
            item.setData(0, _UID_ROLE, (study.study_uid, None))
            item.setToolTip(0, f"Study {study.study_uid}")
            for series in study.series:
                child = QTreeWidgetItem(
                    [
                        f"Series {series.number}" if series.number is not None else "Series",
                        series.description or "(no description)",
                        series.modality,
                        "" if series.n_instances is None else str(series.n_instances),
                        "" if series.n_frames is None else str(series.n_frames),
                    ]
                )
                child.setData(0, _UID_ROLE, (study.study_uid, series.series_uid))
                child.setToolTip(0, f"Series {series.series_uid}")
                item.addChild(child)
            self.tree.addTopLevelItem(item)
            item.setExpanded(True)
        found = len(studies)
        self._say(
            f"{found} stud{'y' if found == 1 else 'ies'} found" if found else "No study found"
        )
        if found:
            first = self.tree.topLevelItem(0)
            self.tree.setCurrentItem(first.child(0) if first.childCount() else first)

    def _on_failed(self, exc: object) -> None:
        self.search_button.setEnabled(True)
        self._set_pulling(False)
        secrets = (getattr(self._server, "password", None), getattr(self._server, "token", None))
        if isinstance(exc, PacsCancelled):
            self.progress.setFormat("Cancelled")
            self._say("Pull cancelled: nothing opened (a new pull resumes it).")
            return
        self.progress.setFormat("")
        text = (
            str(exc).splitlines()[0]
            if isinstance(exc, PacsError)
            else (f"unexpected error ({type(exc).__name__})")
        )
        self._say(redact(text, *secrets), error=True)

    # ------------------------------------------------------------------ selection
    def selected_uids(self) -> tuple[str, str] | None:
        """(study UID, series UID) of the selected series (a study: its first series)."""
        item = self.tree.currentItem()
        if item is None:
            return None
        study_uid, series_uid = item.data(0, _UID_ROLE)
        if series_uid is None:
            if not item.childCount():
                return None
            study_uid, series_uid = item.child(0).data(0, _UID_ROLE)
        return study_uid, series_uid

    def _on_selection(self) -> None:
        uids = self.selected_uids()
        self.open_button.setEnabled(uids is not None and not self.pull_job.is_running)
        if uids is None or self._server is None:
            self._show_no_preview("No series selected")
            return
        if self._server.protocol != "dicomweb":
            self._show_no_preview("No preview by DIMSE")
            return
        self._show_no_preview("Loading preview…")
        self.thumb_job.discard()
        self.thumb_job.start(_thumbnail_work, self._server, *uids)

    def _show_no_preview(self, text: str) -> None:
        self.thumbnail.setPixmap(QPixmap())
        self.thumbnail.setText(text)

    def _on_thumbnail(self, data: object) -> None:
        pixmap = QPixmap()
        if isinstance(data, bytes) and pixmap.loadFromData(data):
            self.thumbnail.setPixmap(
                pixmap.scaled(
                    _THUMB_PX,
                    _THUMB_PX,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )
        else:
            self._show_no_preview("No preview")

    # ------------------------------------------------------------------ pull
    def _set_pulling(self, pulling: bool) -> None:
        self.cancel_button.setEnabled(pulling)
        self.open_button.setEnabled(not pulling and self.selected_uids() is not None)
        self.search_button.setEnabled(not pulling)
        self.server_form.setEnabled(not pulling)

    def open_selected(self) -> bool:
        """Pull the selected series into the cache (progress, Cancel), then open it."""
        uids = self.selected_uids()
        if uids is None or self._server is None or self.pull_job.is_running:
            return False
        self._set_pulling(True)
        self.progress.setRange(0, 0)  # busy until the server says how many
        self.progress.setFormat("")
        self._say("Pulling the series…")
        self.pull_job.start(_pull_work, self._server, self.cache, *uids)
        return True

    def _on_pull_progress(self, progress: object) -> None:
        done = getattr(progress, "instances_done", 0)
        total = max(getattr(progress, "instances_total", 0), 1)
        megabytes = getattr(progress, "bytes_received", 0) / 1e6
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {total} instances · {megabytes:.1f} MB")

    def _on_pulled(self, files: object) -> None:
        self._set_pulling(False)
        paths = [Path(p) for p in files]  # type: ignore[attr-defined]
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("Pulled")
        target = paths[0] if len(paths) == 1 else paths[0].parent
        self._say(f"Pulled {len(paths)} instance{'s' if len(paths) != 1 else ''}.")
        self.pulled.emit(str(target))
        self.accept()

    def done(self, result: int) -> None:
        """Closing while a pull runs cancels it (what is whole stays in the cache)."""
        for job in (self.pull_job, self.search_job, self.thumb_job):
            if job.is_running:
                job.cancel()
                job.wait(10.0)
                job.discard()
        super().done(result)


def _date(value: str) -> str:
    """``YYYYMMDD`` as ``YYYY-MM-DD`` (as it came otherwise)."""
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value or "-"
