"""The loop's details in the window: case, comments, attributes, events and their keys.

The Case and Comments docks, the selected mark's attributes, events at the playhead (on
the timeline and the curves).

Thin: every change is one edit of :mod:`usannotate.annotations.detail_edits` pushed on
the session's one history (so one undo step each); the views are rebuilt from the model
on ``marksChanged`` like every other view.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QInputDialog, QMainWindow, QScrollArea, QWidget

from usannotate.annotations.detail_edits import (
    AddComment,
    AddEvent,
    RemoveComment,
    RemoveEvent,
    SetAttribute,
    SetCaseValue,
)
from usannotate.annotations.details import (
    Comment,
    DetailError,
    Event,
    FieldType,
    LoopDetails,
    attribute_value,
)
from usannotate.annotations.edits import Compound, Edit
from usannotate.annotations.marking import track_titles
from usannotate.ui.docks.comments import CommentsPanel
from usannotate.ui.docks.detail_fields import FieldForm
from usannotate.ui.state import ViewerState

__all__ = ["EVENT_KEYS", "DetailsController"]

#: The event types with a key of their own: (type id, menu text, key).
EVENT_KEYS = (
    ("injection_start", "Mark &Injection Start", "I"),
    ("injection_end", "Mark Injection &End", "Shift+I"),
    ("needle_in_view", "Mark &Needle in View", "O"),  # O: on screen (N finds the needle)
    ("needle_lost", "Mark Needle &Lost", "Shift+O"),  # off screen
    ("key_image", "Mark &Key Image", "K"),
)


class DetailsController(QObject):
    """The Case dock, the Comments dock, the attributes under the Measurements table,
    and the Events menu's commands."""

    def __init__(self, state: ViewerState, tracks: Any, window: QMainWindow) -> None:
        super().__init__(window)
        self._state = state
        self._tracks = tracks
        self._window = window
        self.case_form = FieldForm("Open a loop to fill in its case details")
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.case_form)
        self.case_dock = self._dock("Case", scroll)
        self.case_form.valueEdited.connect(self._case_edited)
        self.comments = CommentsPanel()
        self.comments_dock = self._dock("Comments", self.comments)
        self.comments.goTo.connect(self._go_to)
        self.comments.commentAdded.connect(self._comment_added)
        self.comments.commentRemoved.connect(self._comment_removed)
        self.attribute_form = FieldForm("")
        self.attribute_form.setObjectName("attributes")
        self.attribute_form.valueEdited.connect(self._attribute_edited)
        for signal in (state.sessionChanged, state.marksChanged, state.loopChanged):
            signal.connect(self.refresh)
        state.selectionChanged.connect(self._refresh_attributes)
        state.frameChanged.connect(self._refresh_attributes)

    def _dock(self, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self._window)
        dock.setObjectName(title)
        dock.setWidget(widget)
        return dock

    # ---------------------------------------------------------------- model
    @property
    def details(self) -> LoopDetails | None:
        annotations = self._state.annotations
        return annotations.details if annotations is not None else None

    def _push(self, edit: Edit) -> bool:
        """Push ``edit`` (one undo step); a refused value is said, nothing changes."""
        history = self._state.history
        if history is None or not self._state.editable:
            self._state.say("Open a loop you can edit first")
            return False
        try:
            history.push(edit)
        except DetailError as exc:
            self._state.say(str(exc))
            return False
        return True

    # ---------------------------------------------------------------- views
    def refresh(self, *_args: object) -> None:
        """Rebuild every detail view from the model (once per edit)."""
        details = self.details
        if details is None:
            self.case_form.set_fields([])
            self.comments.show_comments([], str)
            self._tracks.timeline.set_events([])
            self._tracks.curves.set_events([])
            self._refresh_attributes()
            return
        self.case_form.set_fields(details.definitions.case_fields)
        self.case_form.show_values(details.case)
        titles = track_titles(self._state.annotations)
        self.comments.show_comments(details.comments, lambda c: self._where(c, titles))
        events = [(e.frame, details.definitions.event_title(e.type)) for e in details.events]
        self._tracks.timeline.set_events(events)
        self._tracks.curves.set_events(events)
        self._curve_times(details)
        self._refresh_attributes()

    def _curve_times(self, details: LoopDetails) -> None:
        """The curves' time axis from the injection start when there is one (so spread
        compares between loops), else from the loop's start."""
        loop = self._state.loop
        if loop is None:
            return
        times = loop.frame_start_times_ms() / 1000.0
        start = details.injection_start()
        if start is not None and start < len(times):
            times = times - times[start]
        self._tracks.curves.set_frame_times(times.tolist())

    @staticmethod
    def _where(comment: Comment, titles: dict[str, str]) -> str:
        if comment.object_id is not None:
            title = titles.get(comment.object_id, "a deleted mark")
            return title if comment.frame is None else f"{title}, frame {comment.frame + 1}"
        return "Loop" if comment.frame is None else f"Frame {comment.frame + 1}"

    def _refresh_attributes(self, *_args: object) -> None:
        annotations = self._state.annotations
        obj = (
            annotations.get(self._state.selected) if annotations and self._state.selected else None
        )
        if obj is None:
            self.attribute_form.set_fields([])
            self.attribute_form.hide()
            return
        fields = annotations.details.definitions.attributes_of(obj.label_id)
        self.attribute_form.set_fields(fields)
        frame = self._state.frame
        self.attribute_form.show_values(
            {f.id: attribute_value(annotations.details, obj.id, f.id, frame) for f in fields}
        )
        self.attribute_form.setVisible(bool(fields))

    # ---------------------------------------------------------------- edits
    def _case_edited(self, field_id: str, value: object) -> None:
        details = self.details
        if details is not None and details.case.get(field_id) != value:
            self._push(SetCaseValue(field_id, value))

    def _attribute_edited(self, name: str, value: object) -> None:
        object_id = self._state.selected
        if object_id is None or self.details is None:
            return
        frame = self._state.frame
        if attribute_value(self.details, object_id, name, frame) != value:
            self._push(SetAttribute(object_id, name, value, frame=frame))

    def add_event(self, type_id: str) -> None:
        """An event of ``type_id`` at the playhead."""
        if self._state.loop is None or self._state.frame < 0:
            return
        details = self.details
        title = details.definitions.event_title(type_id) if details else type_id
        frame = self._state.frame
        if self._push(AddEvent(Event(type_id, frame), text=f"Add {title}")):
            self._state.say(f"{title} at frame {frame + 1}")

    def add_other_event(self) -> None:
        """An event of a type the user names (a user-defined type)."""
        if self._state.loop is None:
            return
        text, ok = QInputDialog.getText(
            self._window, "Add event", "Event type (e.g. patient moved, second pass):"
        )
        type_id = re.sub(r"[^a-z0-9_.-]+", "_", text.strip().lower()).strip("_")
        if ok and type_id:
            self.add_event(type_id)

    def remove_events_here(self) -> None:
        details = self.details
        if details is None:
            return
        here = [e for e in details.events if e.frame == self._state.frame]
        if here:
            self._push(Compound([RemoveEvent(e.id) for e in here], text="Remove events"))

    def step_event(self, step: int) -> None:
        """Go to the next (``step`` > 0) or previous event's frame."""
        details = self.details
        if details is None:
            return
        frame = details.next_event_frame(self._state.frame, step)
        if frame is None:
            self._state.say("No event " + ("after" if step > 0 else "before") + " this frame")
        else:
            self._state.request_frame(frame)

    def toggle_attribute(self) -> None:
        """Flip the selected mark's first yes/no per-frame attribute (the needle's tip
        visible) from this frame on."""
        annotations = self._state.annotations
        obj = (
            annotations.get(self._state.selected) if annotations and self._state.selected else None
        )
        if obj is None:
            self._state.say("Select a mark first")
            return
        fields = annotations.details.definitions.attributes_of(obj.label_id)
        flag = next((f for f in fields if f.type is FieldType.YES_NO and f.per_frame), None)
        if flag is None:
            self._state.say("This mark has no yes/no attribute set per frame")
            return
        frame = self._state.frame
        now = attribute_value(annotations.details, obj.id, flag.id, frame)
        if self._push(SetAttribute(obj.id, flag.id, not now, frame=frame)):
            self._state.say(f"{flag.title}: {'no' if now else 'yes'} from frame {frame + 1}")

    def focus_case(self) -> None:
        self.case_dock.show()
        self.case_dock.raise_()
        first = self.case_form.first_editor()
        if first is not None:
            first.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def focus_comment(self) -> None:
        self.comments_dock.show()
        self.comments_dock.raise_()
        self.comments.text.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _comment_added(self, text: str, target: str) -> None:
        state = self._state
        if state.loop is None:
            return
        author = getattr(getattr(self._window, "prefs", None), "annotator", "") or ""
        frame = state.frame if target in ("frame", "track") else None
        object_id = state.selected if target == "track" else None
        if target == "track" and object_id is None:
            state.say("Select a mark to comment on it")
            return
        try:
            comment = Comment(text, author=author, frame=frame, object_id=object_id)
        except DetailError as exc:
            state.say(str(exc))
            return
        if self._push(AddComment(comment)):
            self.comments.text.clear()

    def _comment_removed(self, comment_id: str) -> None:
        self._push(RemoveComment(comment_id))

    def _go_to(self, frame: object, object_id: object) -> None:
        if isinstance(frame, int):
            self._state.request_frame(frame)
        if isinstance(object_id, str):
            self._state.select(object_id)
