"""The Loops list: a folder's loops as a worklist (status, tracks, raters), to pick one.

The loops of a folder (read in the background by :mod:`.folder_scan`) by name, worklist
status, frames, duration, tracks, raters, last save and case details (procedure,
target, side, teaching: :mod:`.loop_case_columns`), sortable, filterable by name,
status, rater and case detail, with a count line ("37 of 120 done"), kept up to date
when a sidecar of the folder changes on disk (:mod:`.worklist_view`).
"""

from __future__ import annotations

import os
from dataclasses import replace

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QGuiApplication, QIcon, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QStyle,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from usannotate.team.worklist import LoopStatus, count_line, loop_status, sidecar_files
from usannotate.ui.docks.folder_scan import FolderScanner, LoopEntry
from usannotate.ui.docks.loop_case_columns import (
    CASE_COLUMNS,
    CASE_TIPS,
    case_filter_box,
    case_texts,
    refill_case_filter,
)
from usannotate.ui.docks.worklist_view import (
    SORT_ROLE,
    STATUS_FILTERS,
    WORK_ROLE,
    SidecarWatcher,
    WorklistFilterModel,
    lay_out_columns,
    modified_text,
    status_icon,
    status_sort_key,
    work_texts,
)

# ------------------------------------------------------------------------ model
_COLUMNS = ("File", "Status", "Frames", "Duration", "Tracks", "Raters", "Modified", *CASE_COLUMNS)
STATUS_COLUMN = 1
_CASE_START = 7  # the case-detail columns (loop_case_columns.py) follow the worklist's
_WORK_COLUMNS = (1, 4, 5, 6)
_NUMBER_COLUMNS = (2, 3, 4)
#: Item data role holding the row's :class:`LoopEntry`.
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _key(path: str) -> str:
    return os.path.normcase(os.path.abspath(path))


def _stamp(dicom_path: str) -> tuple[tuple[int, int] | None, ...]:
    """The (size, modification time in ns) of each file a loop's row is read from (its
    sidecar, or each rater's); None for a file that is not there."""
    stamps: list[tuple[int, int] | None] = []
    for path in sidecar_files(dicom_path):
        try:
            info = os.stat(path)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((info.st_size, info.st_mtime_ns))
    return tuple(stamps)


def _duration_text(duration_ms: float | None) -> str:
    return "—" if duration_ms is None else f"{duration_ms / 1000.0:.1f} s"


class _LoopTableModel(QStandardItemModel):
    """The entries in scan order; the current loop in bold, broken files greyed.

    Every value is stored in Qt's items, so painting the list never calls back into
    Python: the view stays fluid while the scan thread holds the interpreter lock.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, len(_COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(_COLUMNS))
        tips = (
            "File name",
            "Worklist status from the sidecar: none (no sidecar), in progress, done, reviewed",
            "Number of frames",
            "Length of the loop in seconds",
            "Tracks (marked objects) in the sidecar",
            "Who worked on it (annotator, last saved by)",
            "When the sidecar was last saved",
            *CASE_TIPS,
        )
        for column, tip in enumerate(tips):
            item = self.horizontalHeaderItem(column)
            item.setToolTip(tip)
            if column in _NUMBER_COLUMNS:
                item.setTextAlignment(_RIGHT)
        self._entries: list[LoopEntry] = []
        self._rows: dict[str, int] = {}
        self._current_row: int | None = None
        self._warning_icon: QIcon | None = None

    # -- content
    def entries(self) -> list[LoopEntry]:
        return list(self._entries)

    def entry(self, row: int) -> LoopEntry:
        return self._entries[row]

    def row_of(self, path: str | None) -> int | None:
        return None if path is None else self._rows.get(_key(path))

    def clear_entries(self) -> None:
        self.removeRows(0, self.rowCount())
        self._entries.clear()
        self._rows.clear()
        self._current_row = None

    def extend(self, entries: list[LoopEntry], current: str | None) -> None:
        current_key = None if current is None else _key(current)
        for entry in entries:
            row = len(self._entries)
            self._entries.append(entry)
            self._rows[_key(entry.path)] = row
            self.appendRow(self._items(entry))
            if entry.openable:
                self._set_work_data(row, entry)
            if _key(entry.path) == current_key:
                self._set_bold(row, True)
                self._current_row = row

    def set_work(self, row: int, work: LoopStatus) -> None:
        """Show what the sidecar of row ``row`` says now."""
        entry = replace(self._entries[row], work=work)
        self._entries[row] = entry
        texts = work_texts(work)
        for column, text in zip(_WORK_COLUMNS, texts, strict=True):
            item = self.item(row, column)
            item.setText(text)
        for column, text in enumerate(case_texts(work), start=_CASE_START):
            self.item(row, column).setText(text)
        self._set_work_data(row, entry)

    def _set_work_data(self, row: int, entry: LoopEntry) -> None:
        work = entry.work
        status_item = self.item(row, STATUS_COLUMN)
        if work is not None and entry.openable:
            status_item.setIcon(status_icon(work.status))
        summary = None if work is None else work.summary
        keys = {
            STATUS_COLUMN: -1 if work is None else status_sort_key(work.status),
            4: -1 if summary is None else summary.n_tracks,
            5: "" if summary is None else ", ".join(summary.raters).casefold(),
            6: "" if summary is None else summary.modified,
        }
        for column, text in enumerate(case_texts(work), start=_CASE_START):
            keys[column] = text.casefold()  # empty (not filled in) first
        for column in range(len(_COLUMNS)):
            item = self.item(row, column)
            item.setData(entry, ENTRY_ROLE)
            item.setData(work, WORK_ROLE)
            if column in keys:
                item.setData(keys[column], SORT_ROLE)
        if work is not None and work.error is not None:
            status_item.setToolTip(f"{work.error}\nThe sidecar cannot be read.")
        if summary is not None:  # the cells are narrow: the whole of them on hovering
            if summary.raters:
                self.item(row, 5).setToolTip("Raters: " + ", ".join(summary.raters))
            self.item(row, 6).setToolTip(f"Last saved {modified_text(summary.modified)}")

    def set_current(self, path: str | None) -> None:
        if self._current_row is not None:
            self._set_bold(self._current_row, False)
        self._current_row = self.row_of(path)
        if self._current_row is not None:
            self._set_bold(self._current_row, True)

    # -- items
    def _set_bold(self, row: int, bold: bool) -> None:
        for column in range(len(_COLUMNS)):
            item = self.item(row, column)
            font = item.font()
            font.setBold(bold)
            item.setFont(font)

    def _items(self, entry: LoopEntry) -> list[QStandardItem]:
        frames = "—" if entry.n_frames is None else str(entry.n_frames)
        status, tracks, raters, modified = work_texts(entry.work if entry.openable else None)
        texts = (
            entry.name,
            status,
            frames,
            _duration_text(entry.duration_ms),
            tracks,
            raters,
            modified,
            *case_texts(entry.work if entry.openable else None),
        )
        sort_keys = {0: len(self._entries) - 1, 2: entry.n_frames or -1, 3: entry.duration_ms or -1}
        tooltip = self._tooltip(entry)
        grey = None
        if not entry.openable:
            grey = QGuiApplication.palette().brush(
                QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text
            )
        items = []
        for column, text in enumerate(texts):
            item = QStandardItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled)
            item.setToolTip(tooltip)
            item.setData(entry, ENTRY_ROLE)
            item.setData(entry.work, WORK_ROLE)
            if column in sort_keys:
                item.setData(sort_keys[column], SORT_ROLE)
            if column in _NUMBER_COLUMNS:
                item.setTextAlignment(_RIGHT)
            if grey is not None:
                item.setForeground(grey)
            items.append(item)
        if not entry.openable:
            items[0].setIcon(self._icon())
        return items

    def _icon(self) -> QIcon:
        if self._warning_icon is None:
            self._warning_icon = QApplication.style().standardIcon(
                QStyle.StandardPixmap.SP_MessageBoxWarning
            )
        return self._warning_icon

    @staticmethod
    def _tooltip(entry: LoopEntry) -> str:
        if not entry.openable:
            return f"{entry.error}\nThis file cannot be opened."
        fps = f", {entry.frame_rate_fps:.2f} fps" if entry.frame_rate_fps else ""
        return (
            f"{entry.name}\n{entry.n_frames} frames{fps}, {_duration_text(entry.duration_ms)}, "
            f"{entry.size} px\nDouble-click or press Enter to open."
        )


# ------------------------------------------------------------------------ panel
class LoopListPanel(QWidget):
    """The loops of one folder: name, frames and duration, filterable, read in the background.

    Signals
    -------
    loopActivated(path: str)
        The user double-clicked (or pressed Enter on) a loop that can be opened.
    """

    loopActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.scanner = FolderScanner(self)
        self._model = _LoopTableModel(self)
        self._proxy = WorklistFilterModel(self)
        self._proxy.setSourceModel(self._model)
        self._current: str | None = None
        self._failure: str | None = None

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter by name")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Show only the files whose name contains this text")
        self.filter_edit.textChanged.connect(self._on_filter_changed)

        self.view = QTreeView(self)
        self.view.setModel(self._proxy)
        self.view.setRootIsDecorated(False)
        self.view.setItemsExpandable(False)
        self.view.setUniformRowHeights(True)  # fast layout with hundreds of rows
        self.view.setAlternatingRowColors(True)
        self.view.setAllColumnsShowFocus(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # Sorting by a header click; unsorted (-1) the rows keep the folder's name order.
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self._proxy.sort(-1)
        self.view.activated.connect(self._on_activated)
        lay_out_columns(self.view, _COLUMNS)

        self.status_filter = QComboBox(self)
        for text, value in STATUS_FILTERS:
            self.status_filter.addItem(text, value)
        self.status_filter.setToolTip("Show only the loops of this status")
        self.status_filter.currentIndexChanged.connect(self._on_work_filter_changed)
        self.rater_filter = QComboBox(self)
        self.rater_filter.addItem("Any rater", None)
        self.rater_filter.setToolTip("Show only the loops this rater worked on")
        self.rater_filter.currentIndexChanged.connect(self._on_work_filter_changed)
        self.case_filter = case_filter_box(self, self._on_work_filter_changed)

        self.count_label = QLabel(self)
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label.setToolTip("Done counts reviewed loops too")
        self.count_label.setVisible(False)

        self.watcher = SidecarWatcher(self)
        self.watcher.changed.connect(self.refresh_work)
        self._stamps: dict[str, tuple[tuple[int, int] | None, ...]] = {}

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setFormat("Scanning %v / %m…")
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setToolTip("Reading the headers of the folder's files")
        self.progress_bar.setVisible(False)

        self.status_label = QLabel(self)
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        self.status_label.setWordWrap(True)
        self.status_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status_label.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.filter_edit)
        filters = QHBoxLayout()
        filters.setContentsMargins(0, 0, 0, 0)
        filters.addWidget(self.status_filter, 1)
        filters.addWidget(self.rater_filter, 1)
        filters.addWidget(self.case_filter, 1)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.count_label)
        layout.addWidget(self.status_label)

        self.scanner.started.connect(self._on_scan_started)
        self.scanner.progress.connect(self._on_scan_progress)
        self.scanner.entriesReady.connect(self._on_entries)
        self.scanner.failed.connect(self._on_scan_failed)
        self.scanner.finished.connect(self._on_scan_finished)

    # ------------------------------------------------------------- public API
    def set_folder(self, path: str, current: str | None = None) -> None:
        """Show the loops of folder ``path``, read in the background; returns at once.

        A scan still running for another folder is cancelled. ``current`` is the loop
        being shown, highlighted as soon as its entry arrives.
        """
        self.scanner.cancel()
        self._model.clear_entries()
        self._stamps.clear()
        self.watcher.watch(path)
        self._failure = None
        self._current = current
        self.progress_bar.setRange(0, 0)  # busy until the folder is listed
        self.progress_bar.setFormat("Scanning…")
        self.progress_bar.setVisible(True)
        self.scanner.scan(path)
        self._update_status()

    def set_current(self, path: str | None) -> None:
        """Highlight (bold, selected, scrolled to) the loop being shown."""
        self._current = path
        self._model.set_current(path)
        self._select_current()

    def current_path(self) -> str | None:
        """The loop set by :meth:`set_current` (or ``set_folder(..., current=...)``)."""
        return self._current

    def entries(self) -> list[LoopEntry]:
        """Every entry read so far, in name order (the filter does not apply)."""
        return self._model.entries()

    def displayed_entries(self) -> list[LoopEntry]:
        """The entries the list shows now, in their displayed order."""
        return [self._proxy.index(row, 0).data(ENTRY_ROLE) for row in range(self._proxy.rowCount())]

    def is_scanning(self) -> bool:
        """Whether the folder is still being read."""
        return self.scanner.is_running()

    def next_path(self, current: str | None) -> str | None:
        """The openable loop displayed after ``current`` (the first when None); None at the end."""
        return self._neighbour(current, +1)

    def previous_path(self, current: str | None) -> str | None:
        """The openable loop displayed before ``current`` (the last when None); None at the top."""
        return self._neighbour(current, -1)

    def work(self, path: str) -> LoopStatus | None:
        """What the list knows of the sidecar of loop ``path`` (None: not read, not listed)."""
        row = self._model.row_of(path)
        return None if row is None else self._model.entry(row).work

    @Slot()
    def refresh_work(self) -> None:
        """Read again the sidecars that changed on disk since they were read (by size and
        time), and show what they say; the watcher calls this after a change."""
        for row, entry in enumerate(self._model.entries()):
            if not entry.openable:
                continue
            stamp = _stamp(entry.path)
            key = _key(entry.path)
            if key in self._stamps and self._stamps[key] == stamp:
                continue
            self._stamps[key] = stamp
            work = loop_status(entry.path, n_frames=entry.n_frames)
            if work != entry.work:
                self._model.set_work(row, work)
        self._proxy.invalidate()
        self._update_raters()
        self._update_status()

    def next_unlabelled(self, current: str | None, rater: str | None) -> str | None:
        """The next openable loop, in displayed order after ``current`` (wrapping to the
        top), that has no sidecar ``rater`` worked on (no sidecar at all when ``rater`` is
        empty). Read from disk, so another rater's save a moment ago counts."""
        rows = self._displayed_rows()
        start = self._model.row_of(current)
        if start in rows:
            at = rows.index(start)
            rows = rows[at + 1 :] + rows[:at]
        for row in rows:
            entry = self._model.entry(row)
            if not entry.openable:
                continue
            if loop_status(entry.path, rater=rater or None).sidecar is None:
                return entry.path
        return None

    # ------------------------------------------------------------- internals
    def _update_raters(self) -> None:
        refill_case_filter(self.case_filter, (e.work for e in self._model.entries()))
        names = sorted(
            {
                name
                for entry in self._model.entries()
                if entry.work is not None and entry.work.summary is not None
                for name in entry.work.summary.raters
            },
            key=str.casefold,
        )
        have = [self.rater_filter.itemData(i) for i in range(1, self.rater_filter.count())]
        if have == names:
            return
        chosen = self.rater_filter.currentData()
        self.rater_filter.blockSignals(True)
        self.rater_filter.clear()
        self.rater_filter.addItem("Any rater", None)
        for name in names:
            self.rater_filter.addItem(name, name)
        index = self.rater_filter.findData(chosen) if chosen else 0
        self.rater_filter.setCurrentIndex(max(index, 0))
        self.rater_filter.blockSignals(False)

    @Slot()
    def _on_work_filter_changed(self, *_args: object) -> None:
        self._proxy.set_status_filter(self.status_filter.currentData())
        self._proxy.set_rater_filter(self.rater_filter.currentData())
        self._proxy.set_case_filter(self.case_filter.currentData())
        self._select_current()
        self._update_status()

    def _neighbour(self, current: str | None, step: int) -> str | None:
        displayed = self._displayed_rows()
        row = self._model.row_of(current)
        if row in displayed:  # the displayed (sorted) order
            at = displayed.index(row) + step
            while 0 <= at < len(displayed):
                entry = self._model.entry(displayed[at])
                if entry.openable:
                    return entry.path
                at += step
            return None
        # Walk the source rows, so a current loop hidden by the filter still has neighbours.
        count = self._model.rowCount()
        row = self._model.row_of(current)
        if row is None:
            if current is not None:
                return None
            row = -1 if step > 0 else count
        row += step
        while 0 <= row < count:
            entry = self._model.entry(row)
            if entry.openable and self._proxy.accepts_source_row(row):
                return entry.path
            row += step
        return None

    def _displayed_rows(self) -> list[int]:
        proxy = self._proxy
        return [proxy.mapToSource(proxy.index(r, 0)).row() for r in range(proxy.rowCount())]

    def _select_current(self) -> None:
        row = self._model.row_of(self._current)
        if row is None:
            self.view.clearSelection()
            return
        index = self._proxy.mapFromSource(self._model.index(row, 0))
        if not index.isValid():  # filtered out
            self.view.clearSelection()
            return
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        entry = index.data(ENTRY_ROLE)
        if isinstance(entry, LoopEntry) and entry.openable:
            self.loopActivated.emit(entry.path)

    @Slot(str)
    def _on_filter_changed(self, text: str) -> None:
        self._proxy.setFilterFixedString(text.strip())
        self._select_current()
        self._update_status()

    @Slot(int)
    def _on_scan_started(self, total: int) -> None:
        self.progress_bar.setFormat("Scanning %v / %m…")
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(0)
        self.progress_bar.setVisible(total > 0)

    @Slot(int, int)
    def _on_scan_progress(self, done: int, total: int) -> None:
        self.progress_bar.setValue(done)

    @Slot(list)
    def _on_entries(self, entries: list[LoopEntry]) -> None:
        self._model.extend(entries, self._current)
        for entry in entries:
            if entry.openable:
                self._stamps[_key(entry.path)] = _stamp(entry.path)
        self._update_raters()
        self._update_status()
        if self._current is not None:
            current = _key(self._current)
            if any(_key(entry.path) == current for entry in entries):
                self._select_current()

    @Slot(str)
    def _on_scan_failed(self, message: str) -> None:
        self._failure = message

    @Slot()
    def _on_scan_finished(self) -> None:
        self.progress_bar.setVisible(False)
        self._update_status()

    def _update_status(self) -> None:
        if self._failure is not None:
            text = self._failure
        elif self.scanner.is_running():
            text = ""
        else:
            entries = self._model.entries()
            broken = sum(not entry.openable for entry in entries)
            loops = len(entries) - broken
            if not entries:
                text = "No DICOM files in this folder" if self.scanner.folder else ""
            else:
                text = f"{loops} loop{'s' if loops != 1 else ''}"
                if broken:
                    text += f", {broken} unreadable"
                shown = self._proxy.rowCount()
                if shown != len(entries):
                    text += f" ({shown} shown)"
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))
        rows = [e.work for e in self._model.entries() if e.openable and e.work is not None]
        count = count_line(rows) if rows and not self.scanner.is_running() else ""
        self.count_label.setText(count)
        self.count_label.setVisible(bool(count))
