"""The undoable edit that sets a loop's worklist status (Mark done / reviewed, Reopen; no Qt).

The status belongs to the sidecar document, not to the marks, but it goes on the same
edit history as every mark (one undo stack): undo gives the status back, and the window
shows unsaved work until the next save writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from usannotate.annotations import Annotations
from usannotate.annotations.edits import Edit
from usannotate.sidecar.document import SidecarDocument, WorkStatus

_TEXTS = {
    WorkStatus.IN_PROGRESS: "Reopen",
    WorkStatus.DONE: "Mark Done",
    WorkStatus.REVIEWED: "Mark Reviewed",
}


@dataclass
class SetWorkStatus(Edit):
    """Set the status of the document ``document()`` returns to ``status``.

    ``document`` is asked at every apply / revert (the session may have reloaded its
    document since, after a conflict; the edit then acts on the current one).
    """

    document: Callable[[], SidecarDocument]
    status: WorkStatus
    previous: WorkStatus | None = None
    text: str = field(default="")

    def __post_init__(self) -> None:
        self.status = WorkStatus(self.status)
        if not self.text:
            self.text = _TEXTS[self.status]

    def apply(self, annotations: Annotations) -> None:
        doc = self.document()
        if self.previous is None:
            self.previous = doc.status
        doc.status = self.status

    def revert(self, annotations: Annotations) -> None:
        self.document().status = self.previous or WorkStatus.IN_PROGRESS


def allowed_changes(status: WorkStatus) -> dict[WorkStatus, bool]:
    """Which status each action may set from ``status``: Mark done from in progress,
    Mark reviewed from done (or in progress: a reviewer may finish and check at once),
    Reopen from done or reviewed."""
    return {
        WorkStatus.DONE: status == WorkStatus.IN_PROGRESS,
        WorkStatus.REVIEWED: status in (WorkStatus.IN_PROGRESS, WorkStatus.DONE),
        WorkStatus.IN_PROGRESS: status in (WorkStatus.DONE, WorkStatus.REVIEWED),
    }


__all__ = ["SetWorkStatus", "allowed_changes"]
