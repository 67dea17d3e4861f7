"""The Loops list's worklist parts: status icons, the status / rater filter, the watcher.

The rows' facts come from the core (:mod:`usannotate.team.worklist`); this module only
draws them (a status icon beside its word, so it reads without colour too), filters rows
by name, status and rater, and notices when another rater's save changes a sidecar of
the folder (:class:`SidecarWatcher`, on Qt's ``QFileSystemWatcher``).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import (
    QFileSystemWatcher,
    QModelIndex,
    QObject,
    QPoint,
    QPointF,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFontMetrics, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QHeaderView,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
)

from usannotate.sidecar.document import WorkStatus
from usannotate.sidecar.placement import ProjectError, default_layout
from usannotate.team.worklist import STATUS_ORDER, STATUS_TEXT, LoopStatus
from usannotate.ui.docks.loop_case_columns import CASE_COLUMNS, HIDDEN_CASE_COLUMNS, case_matches

#: Item data role holding a sortable value of the cell (numbers sort as numbers).
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
#: Item data role holding the row's :class:`LoopStatus` (None: not read).
WORK_ROLE = Qt.ItemDataRole.UserRole + 3

#: The status filter's choices: (text, what it keeps).
STATUS_FILTERS: tuple[tuple[str, str], ...] = (
    ("Any status", "any"),
    ("Unlabelled only", "none"),
    ("In progress", WorkStatus.IN_PROGRESS.value),
    ("Done", WorkStatus.DONE.value),
    ("Reviewed", WorkStatus.REVIEWED.value),
    ("Not done yet", "not_done"),
)

_COLOURS = {
    None: "#9a9a9a",
    WorkStatus.IN_PROGRESS: "#e69500",
    WorkStatus.DONE: "#2e9d4a",
    WorkStatus.REVIEWED: "#2f6fd6",
}
_icons: dict[object, QIcon] = {}


def status_icon(status: WorkStatus | None) -> QIcon:
    """A 16 px icon: an empty ring (no sidecar), a half-filled disc (in progress), a
    green disc with a tick (done), a blue disc with a double tick (reviewed)."""
    if status not in _icons:
        _icons[status] = QIcon(_status_pixmap(status, 32))
    return _icons[status]


def _status_pixmap(status: WorkStatus | None, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(_COLOURS[status])
    margin = size * 0.12
    box = pixmap.rect().toRectF().adjusted(margin, margin, -margin, -margin)
    painter.setPen(QPen(colour, size * 0.09))
    if status is None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(box)
    elif status == WorkStatus.IN_PROGRESS:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(box)
        half = QPainterPath()
        half.moveTo(box.center())
        half.arcTo(box, 90, 180)
        half.closeSubpath()
        painter.fillPath(half, colour)
    else:
        painter.setBrush(colour)
        painter.drawEllipse(box)
        painter.setPen(QPen(QColor("white"), size * 0.1))
        ticks = [0.0] if status == WorkStatus.DONE else [-0.1, 0.12]
        for dx in ticks:
            s = size
            painter.drawPolyline(
                [
                    QPointF(s * (0.3 + dx), s * 0.52),
                    QPointF(s * (0.43 + dx), s * 0.65),
                    QPointF(s * (0.68 + dx), s * 0.36),
                ]
            )
    painter.end()
    return pixmap


def status_sort_key(status: WorkStatus | None) -> int:
    """Worklist order: none, in progress, done, reviewed."""
    return STATUS_ORDER.index(status)


def modified_text(modified: str) -> str:
    """``2025-03-14T09:40:31.017Z`` as local ``2025-03-14 10:40`` (as written if odd)."""
    try:
        moment = datetime.fromisoformat(modified.replace("Z", "+00:00"))
    except ValueError:
        return modified
    if moment.tzinfo is None:
        return modified
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def work_texts(work: LoopStatus | None) -> tuple[str, str, str, str]:
    """(status, tracks, raters, modified) as the list shows them."""
    if work is None:
        return ("", "", "", "")
    if work.error is not None:
        return ("unreadable", "—", "", "")
    summary = work.summary
    if summary is None:
        return (STATUS_TEXT[None], "", "", "")
    return (
        STATUS_TEXT[summary.status],
        str(summary.n_tracks),
        ", ".join(summary.raters),
        modified_text(summary.modified)[:10],  # the date; the time in the cell's tooltip
    )


class _ElideRight(QStyledItemDelegate):
    """Names cut at their end (``A. Sonogr…``), not in their middle as file names are."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


#: Columns hidden until the user shows them (the header's context menu): the duration is
#: in the Details dock, and without it the raters fit a 480 px dock.
HIDDEN_COLUMNS = ("Duration", *HIDDEN_CASE_COLUMNS)


def lay_out_columns(view: QTreeView, columns: tuple[str, ...]) -> None:
    """Widths of the Loops list's columns, fitting a 480 px dock: the file name at a
    typical archive name's width (elided in the middle, whole in its tooltip), numbers and
    dates at their widest, the raters last, taking what is left (elided, whole in the
    tooltip); a right click on the header shows or hides any column but the name."""
    header = view.header()
    header.setStretchLastSection(False)
    header.setSectionsMovable(False)
    header.setSortIndicatorShown(True)
    header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    header.setMinimumSectionSize(40)
    bold = view.font()
    bold.setBold(True)  # the open loop's row is bold: its cells must fit too
    metrics = QFontMetrics(bold)
    samples = {
        "File": ("loop_001.dcm", 0),  # longer names elided in the middle, whole in tooltips
        "Status": ("in progress", 24),
        "Frames": ("00000", 0),
        "Duration": ("000.0 s", 0),
        "Tracks": ("000", 0),
        "Modified": ("2025-03-14", 0),
        "Procedure": ("hydrodissection", 0),
        "Target": ("trapezius", 0),
        "Side": ("bilateral", 0),
        "Teaching": ("yes", 0),
    }
    for column, name in enumerate(columns):
        if name not in samples:
            continue
        sample, icon = samples[name]
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        width = max(metrics.horizontalAdvance(sample), metrics.horizontalAdvance(name))
        header.resizeSection(column, width + 8 + icon)
        header.setSectionHidden(column, name in HIDDEN_COLUMNS)
    raters = columns.index("Raters")
    header.setSectionResizeMode(raters, QHeaderView.ResizeMode.Stretch)
    view.setItemDelegateForColumn(raters, _ElideRight(view))
    for column, name in enumerate(columns):
        if name in CASE_COLUMNS:  # "erector spi…", not "erec…inae"
            view.setItemDelegateForColumn(column, _ElideRight(view))
    header.moveSection(header.visualIndex(raters), len(columns) - 1)  # the one that stretches
    header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def choose_columns(at: QPoint) -> None:
        menu = QMenu(header)
        for column, name in enumerate(columns[1:], start=1):
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(column))
            action.toggled.connect(lambda on, c=column: header.setSectionHidden(c, not on))
        menu.exec(header.mapToGlobal(at))

    header.customContextMenuRequested.connect(choose_columns)


class WorklistFilterModel(QSortFilterProxyModel):
    """Keeps the rows whose file name contains the filter text (any case), whose status
    is the one chosen and that the chosen rater worked on; sorts by :data:`SORT_ROLE`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(0)
        self.setSortRole(SORT_ROLE)
        self._status = "any"
        self._rater: str | None = None
        self._case: tuple[str, str] | None = None

    def set_status_filter(self, choice: str) -> None:
        """One of the values of :data:`STATUS_FILTERS`."""
        self._status = choice
        self.invalidate()

    def set_rater_filter(self, rater: str | None) -> None:
        """Keep only the loops ``rater`` worked on (None: everyone's)."""
        self._rater = rater
        self.invalidate()

    def set_case_filter(self, choice: tuple[str, str] | None) -> None:
        """Keep only the loops showing this case detail, ``(field id, shown value)``
        (:func:`~usannotate.ui.docks.loop_case_columns.case_filter_choices`; None: all)."""
        self._case = None if choice is None else tuple(choice)  # type: ignore[assignment]
        self.invalidate()

    def accepts_source_row(self, row: int) -> bool:
        return self.filterAcceptsRow(row, QModelIndex())

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        if not super().filterAcceptsRow(source_row, source_parent):
            return False
        if self._status == "any" and self._rater is None and self._case is None:
            return True
        work = self.sourceModel().index(source_row, 0, source_parent).data(WORK_ROLE)
        if not case_matches(work, self._case):
            return False
        status = None if work is None else work.status
        if self._status == "none" and work is not None and work.labelled:
            return False
        if self._status == "not_done" and status in (WorkStatus.DONE, WorkStatus.REVIEWED):
            return False
        if self._status not in ("any", "none", "not_done") and status != self._status:
            return False
        if self._rater is not None:
            raters = () if work is None or work.summary is None else work.summary.raters
            if self._rater not in raters:
                return False
        return True


class SidecarWatcher(QObject):
    """Says when the sidecars of a folder may have changed (someone saved, added or
    removed one), a moment after the last change.

    A save replaces the sidecar by renaming a new file over it, which a watch on the
    file itself would lose; so the folder is watched, and its owner compares each
    sidecar's size and time to find what changed.

    Signals
    -------
    changed()
        The folder's contents changed; at most every ``delay_ms``.
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None, delay_ms: int = 250) -> None:
        super().__init__(parent)
        self._watcher = QFileSystemWatcher(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.changed)
        self._watcher.directoryChanged.connect(lambda _path: self._timer.start())

    def watch(self, folder: str | None) -> None:
        """Watch ``folder`` instead of the previous one (None: nothing), and the folder
        its sidecars go to when that is an annotation folder (a read-only archive)."""
        watched = self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        if folder is None:
            return
        try:
            sidecars = os.fspath(default_layout().sidecar_folder(Path(os.path.abspath(folder))))
        except ProjectError:  # the rows say why
            sidecars = folder
        for path in dict.fromkeys((folder, sidecars)):
            if os.path.isdir(path):
                self._watcher.addPath(path)

    def folders(self) -> list[str]:
        """The folders watched (the loops' and, if elsewhere, their sidecars')."""
        return self._watcher.directories()
