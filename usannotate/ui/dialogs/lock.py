"""A loop open elsewhere, as the user meets it: the take-over question and the read-only banner.

Who has a loop open: the question when it is open elsewhere, and the banner that says so while it is
shown read-only (or after someone took it over).

The lock itself is :mod:`usannotate.sidecar.locks`; here is only what the user sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from usannotate.sidecar import SidecarError
from usannotate.sidecar.locks import EditLock, LockHeldError, LockOwner
from usannotate.sidecar.placement import folder_writable

__all__ = ["LockBanner", "LoopClaim", "ask_take_over", "claim_loop"]


def ask_take_over(parent: QWidget | None, holder: LockOwner, loop_name: str) -> bool:
    """Ask whether to take the loop over from ``holder``; False opens it read-only."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("Loop open elsewhere")
    box.setText(f"{loop_name} is open for editing by {holder.describe()}.")
    box.setInformativeText(
        "Open it read-only to look, or take it over to edit it here. Their window keeps "
        "its marks; a save never replaces the other's work without asking."
    )
    read_only = box.addButton("Open read-only", QMessageBox.ButtonRole.RejectRole)
    take = box.addButton("Take over", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(read_only)
    box.exec()
    return box.clickedButton() is take


@dataclass
class LoopClaim:
    """The outcome of opening a loop: this session's lock, or who has it (read-only),
    and a note for the status bar (a stale lock taken over, a lock that cannot be made)."""

    owner: LockOwner
    lock: EditLock | None = None
    holder: LockOwner | None = None
    note: str = ""


def claim_loop(
    parent: QWidget | None, sidecar_path: Path, owner: LockOwner, loop_name: str, *, ask=None
) -> LoopClaim:
    """Take the loop's edit lock for ``owner``, asking (``ask``, default
    :func:`ask_take_over`) what to do when someone else has it open."""
    ask = ask or ask_take_over
    if not folder_writable(sidecar_path.parent):  # chmod a-w: not even root writes there
        return LoopClaim(
            owner, note="The loop's folder is read-only: set an annotation folder to save"
        )
    take_over: LockOwner | None = None
    for _ in range(3):  # someone else may take it between the question and the answer
        try:
            lock, previous = EditLock.acquire(sidecar_path, owner, take_over=take_over)
        except LockHeldError as held:
            if not ask(parent, held.holder, loop_name):
                return LoopClaim(owner, holder=held.holder)
            take_over = held.holder
            continue
        except SidecarError:
            # A read-only folder or medium: no lock can be written (nor a save made).
            return LoopClaim(owner, note="The loop's folder cannot be written to")
        note = ""
        if previous is not None and take_over is None:
            note = f"The lock left by {previous.describe()} was stale; you have this loop now"
        elif previous is not None:
            note = f"You took this loop over from {previous.describe()}"
        return LoopClaim(owner, lock=lock, note=note)
    return LoopClaim(owner, holder=take_over)


class LockBanner(QFrame):
    """A strip above the image: "Opened read-only: B. Rater has this loop open…" with a
    Take over button, or a note that someone took the loop over from this window."""

    takeOverRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lock_banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#lock_banner { background: #fff4ce; border: 1px solid #d8b54a; }"
            "#lock_banner QLabel { color: #3d3000; }"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.take_button = QPushButton("Take over", self)
        self.take_button.clicked.connect(self.takeOverRequested)
        layout.addWidget(self.take_button)
        self.hide()

    def show_read_only(self, holder: LockOwner) -> None:
        self.label.setText(f"<b>Opened read-only:</b> {holder.describe()} has this loop open.")
        self.take_button.show()
        self.show()

    def show_taken_over(self, holder: LockOwner | None) -> None:
        who = holder.describe() if holder is not None else "Someone else"
        self.label.setText(
            f"<b>{who} took this loop over.</b> You can go on; a save asks before it "
            "replaces their work."
        )
        self.take_button.hide()
        self.show()

    def clear(self) -> None:
        self.label.clear()
        self.hide()
