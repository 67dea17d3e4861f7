"""Suggested marks: the needle found (N), a fascial plane snapped to its ridge, until accepted.

Thin: the core finds them (:func:`usannotate.tracking.needle_finder.find_needle`,
:func:`usannotate.tracking.ridge.snap_to_ridge`) and keeps them
(:mod:`usannotate.annotations.suggestions`: beside the marks, never among them, saved in
the sidecar with source "suggested"); this module shows the suggestion of the frame on
screen in its own style (chartreuse, dotted, hollow diamonds, a caption saying
"suggested") and turns it into an ordinary keyframe when the user accepts it (Y: one
undo step). Making one, accepting one and dismissing one (Shift+Y) are edits like any
other (undoable, saved); a suggestion stays until accepted or dismissed.

A fascial plane finished with the drawing tool is kept as clicked (nothing is lost) and
its snap to the ridge is offered as a suggestion; holding Alt while finishing it offers
none. When a loop opens with the needle tool chosen and its first frame has no needle,
the needle is looked for on a worker thread (the window stays responsive) and suggested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QStyleOptionGraphicsItem,
)

from usannotate.annotations import AnnotatedObject, Label, ShapeKind
from usannotate.annotations.edits import AddObject, Compound, SetPoints
from usannotate.annotations.marking import continued_track
from usannotate.annotations.suggestions import AddSuggestion, RemoveSuggestion, SuggestedMark
from usannotate.cine.calibration import measuring_region
from usannotate.ui.viewer.pointer import Tool
from usannotate.ui.workers import BackgroundJob

__all__ = ["SUGGESTION_COLOUR", "Suggestion", "SuggestionController", "SuggestionItem"]

# The window the actions act on (a MainWindow; not imported, so no import circle).
MainWindow = Any

#: Keys (README's keyboard table lists them).
FIND_NEEDLE_KEYS = "N"
ACCEPT_KEYS = "Y"
DISMISS_KEYS = "Shift+Y"
#: A suggestion's colour: no label's (the label sets use the Okabe-Ito palette, whose
#: orange and yellow an amber would be confused with).
SUGGESTION_COLOUR = "#c8ff00"
#: The label group whose planes are snapped to their ridge.
PLANE_GROUP = "fascial plane"


@dataclass(frozen=True)
class Suggestion:
    """A mark offered, not made, as shown: ``points`` of ``label`` on ``frame``;
    ``object_id`` is the mark it would replace there (a snap), None for a new mark (a
    needle found); ``mark_id`` the stored suggestion's id."""

    label: Label
    frame: int
    points: np.ndarray
    object_id: str | None
    what: str  # "found" or "snapped to the ridge"
    mark_id: str = ""

    @property
    def caption(self) -> str:
        return f"{self.label.name} · suggested ({self.what}) · Y accepts"


class _CaptionPlate(QGraphicsItem):
    """A suggestion's caption: chartreuse text on a dark plate, the same size at any zoom,
    left of its anchor when ``leftwards`` (so it stays on the image)."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.font = QFont()
        self.font.setPointSizeF(9.5)
        self.font.setBold(True)
        self._text = ""
        self.leftwards = False
        self.lifted = False  # a plate's height higher (clear of the mark's own caption)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        self.prepareGeometryChange()
        self._text = text
        self.update()

    def _rect(self) -> QRectF:
        metrics = QFontMetricsF(self.font)
        width, height = metrics.horizontalAdvance(self._text) + 12.0, metrics.height() + 6.0
        x = -width - 10.0 if self.leftwards else 10.0
        y = -2.0 * height - 14.0 if self.lifted else -height - 10.0
        return QRectF(x, y, width, height)

    def boundingRect(self) -> QRectF:
        return self._rect().adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        rect = self._rect()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(SUGGESTION_COLOUR), 1.0, Qt.PenStyle.DotLine))
        painter.setBrush(QColor(0, 0, 0, 200))
        painter.drawRoundedRect(rect, 3.0, 3.0)
        painter.setFont(self.font)
        painter.setPen(QColor(SUGGESTION_COLOUR))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._text)


class SuggestionItem(QGraphicsPathItem):
    """A suggestion on the image: chartreuse, dotted over a dark halo, hollow diamonds at its
    points, and a caption plate saying "suggested" (sizes in screen pixels)."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(25)  # above the marks, under the mark being drawn
        self.points = np.empty((0, 2))
        self.closed = False
        self.caption = _CaptionPlate(self)
        self.image_width = 0.0
        self.setVisible(False)

    def boundingRect(self) -> QRectF:
        return self.path().boundingRect().adjusted(-12, -12, 12, 12)

    def show_suggestion(self, suggestion: Suggestion | None) -> None:
        """Show ``suggestion`` (None hides the item)."""
        if suggestion is None:
            self.setVisible(False)
            return
        points = np.asarray(suggestion.points, dtype=np.float64)
        self.points = points
        self.closed = suggestion.label.kind == ShapeKind.REGION
        path = QPainterPath(QPointF(*points[0]))
        for x, y in points[1:]:
            path.lineTo(QPointF(x, y))
        if self.closed:
            path.closeSubpath()
        self.prepareGeometryChange()
        self.setPath(path)
        self.caption.setText(suggestion.caption)
        # Above the needle's tip or a plane's first point, off the point itself,
        # towards the image's middle so the plate stays on the image (a plane's own
        # caption sits at its other end).
        # A plane's plate stands above its highest point, so it covers none of the line.
        if suggestion.label.kind == ShapeKind.NEEDLE:
            anchor = points[-1]
        else:
            anchor = np.array([points[0, 0], points[:, 1].min()])
        self.caption.leftwards = bool(self.image_width and anchor[0] > 0.5 * self.image_width)
        self.caption.lifted = suggestion.label.kind != ShapeKind.NEEDLE
        self.caption.setPos(QPointF(float(anchor[0]), float(anchor[1])))
        self.setVisible(True)
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        halo = QPen(QColor(0, 0, 0, 200), 5.0)
        halo.setCosmetic(True)
        dotted = QPen(QColor(SUGGESTION_COLOUR), 2.0, Qt.PenStyle.DotLine)
        dotted.setCosmetic(True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen in (halo, dotted):
            painter.setPen(pen)
            painter.drawPath(self.path())
        scale = max(painter.worldTransform().m11(), 1e-6)
        marker = QPen(QColor(SUGGESTION_COLOUR), 1.5)
        marker.setCosmetic(True)
        painter.setPen(marker)
        step = max(1, len(self.points) // 12)  # a few diamonds, not one per point
        shown = list(self.points[::step])
        if len(self.points) and not np.array_equal(shown[-1], self.points[-1]):
            shown.append(self.points[-1])
        for x, y in shown:
            half = 4.5 / scale
            diamond = QPainterPath(QPointF(x, y - half))
            diamond.lineTo(QPointF(x + half, y))
            diamond.lineTo(QPointF(x, y + half))
            diamond.lineTo(QPointF(x - half, y))
            diamond.closeSubpath()
            painter.drawPath(diamond)


class SuggestionController(QObject):
    """Owns the suggestion actions, the item showing the frame's suggestion, and the
    automatic needle search when a loop opens."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.item = SuggestionItem()
        window.view.scene().addItem(self.item)
        self.find_needle_action = self._action(
            "Find &Needle",
            FIND_NEEDLE_KEYS,
            self.find_needle,
            "Look for the needle's shaft on this frame and suggest its entry and tip",
        )
        self.accept_action = self._action(
            "&Accept Suggestion", ACCEPT_KEYS, self.accept, "Make the suggested mark a keyframe"
        )
        self.dismiss_action = self._action(
            "&Dismiss Suggestion", DISMISS_KEYS, self.dismiss, "Take the suggestion away"
        )
        #: The needle looked for off the GUI thread when a loop opens (see module doc).
        self.auto_job = BackgroundJob("find needle", self)
        self.auto_job.finished.connect(self._on_auto_found)
        self._auto_pending = False
        self._auto_for: tuple[object, int] | None = None  # (loop, frame) searched
        state = window.state
        state.frameChanged.connect(self._on_frame)
        state.loopChanged.connect(self._on_loop)
        state.marksChanged.connect(self.refresh)
        state.sessionChanged.connect(self._on_session)
        window.tools.markCommitted.connect(self._on_committed)

    def shutdown(self) -> None:
        """Drop and wait for an automatic needle search (the window is closing)."""
        self.auto_job.discard()
        self.auto_job.wait()

    def _action(self, text: str, keys: str, slot, tip: str) -> QAction:
        action = QAction(text, self._window)
        action.setShortcut(QKeySequence(keys))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self._window.addAction(action)
        return action

    def menu_actions(self) -> list[QAction]:
        """The Track menu's suggestion items."""
        return [self.find_needle_action, self.accept_action, self.dismiss_action]

    # ---------------------------------------------------------------- showing
    @property
    def suggestion(self) -> Suggestion | None:
        """The suggestion on the frame on screen (the latest made), or None."""
        state = self._window.state
        annotations = state.annotations
        if annotations is None or state.frame < 0:
            return None
        here = [m for m in annotations.suggestions if m.frame == state.frame]
        if not here:
            return None
        mark = here[-1]
        label = annotations.label_set.get(mark.label_id)
        if label is None:
            return None
        return Suggestion(label, mark.frame, mark.points, mark.replaces, mark.how, mark.id)

    def refresh(self) -> None:
        """Show the frame's suggestion (or none)."""
        loop = self._window.state.loop
        self.item.image_width = float(loop.columns) if loop is not None else 0.0
        self.item.show_suggestion(self.suggestion)

    def _on_frame(self, *_args) -> None:
        self.refresh()
        self._maybe_find_on_open()

    def _on_session(self, *_args) -> None:
        self.refresh()
        self._maybe_find_on_open()

    def _maybe_find_on_open(self) -> None:
        """Once a loop just opened shows its first frame with its marks: the automatic
        needle search (see :meth:`_wants_automatic_search`)."""
        state = self._window.state
        if self._auto_pending and state.frame >= 0 and state.session is not None:
            self._auto_pending = False
            self._find_automatically()

    def _on_loop(self, loop: object) -> None:
        self.auto_job.discard()  # a search on the loop closed never delivers
        self._auto_pending = loop is not None
        self.refresh()

    def _push(self, edit) -> bool:
        state = self._window.state
        history = state.history
        if history is None or state.session is None or state.session.read_only:
            return False
        history.push(edit)
        return True

    def dismiss(self) -> None:
        """Take the frame's suggestion away (one undoable edit; the marks unchanged)."""
        suggestion = self.suggestion
        if suggestion is None:
            return
        self._push(RemoveSuggestion(suggestion.mark_id, text="Dismiss suggestion"))

    # ---------------------------------------------------------------- making
    def _frame_and_calibration(self) -> tuple[np.ndarray, tuple, float | None] | None:
        state = self._window.state
        loop = state.loop
        if loop is None or state.frame < 0:
            return None
        region = measuring_region(loop.regions, (loop.columns, loop.rows))
        if region is None:
            bounds = (0.0, 0.0, float(loop.columns), float(loop.rows))
            mm = None
        else:
            x0, y0, x1, y1 = region.bounds
            bounds = (float(x0), float(y0), float(x1 + 1), float(y1 + 1))
            mm = region.mm_per_px_x
        manual = state.annotations.manual_calibration if state.annotations else None
        if manual is not None:
            mm = manual.mm_per_px
        return loop.frame(state.frame), bounds, mm

    def _needle_label(self) -> Label | None:
        annotations = self._window.state.annotations
        if annotations is None:
            return None
        return annotations.label_set.get("needle") or next(
            (lb for lb in annotations.label_set.labels if lb.kind == ShapeKind.NEEDLE), None
        )

    def _suggest(self, label: Label, frame: int, points: np.ndarray, replaces=None) -> bool:
        """Store a suggestion on ``frame`` (replacing one of the same label there)."""
        annotations = self._window.state.annotations
        if annotations is None:
            return False
        how = "found" if replaces is None else "snapped to the ridge"
        mark = SuggestedMark(label.id, label.kind, frame, points, how, replaces)
        edits = [
            RemoveSuggestion(m.id)
            for m in annotations.suggestions
            if m.frame == frame and m.label_id == label.id
        ]
        text = f"Suggest {label.name}"
        return self._push(Compound([*edits, AddSuggestion(mark)], text=text))

    def find_needle(self) -> None:
        """Look for the needle on this frame and suggest it."""
        from usannotate.tracking.needle_finder import find_needle

        state = self._window.state
        got = self._frame_and_calibration()
        if got is None or state.annotations is None:
            return
        label = self._needle_label()
        if label is None:
            state.say("This label set has no needle label", 5000)
            return
        frame, bounds, mm = got
        found = find_needle(frame, bounds, mm)
        if found is None:
            state.say("No needle found on this frame: mark it by hand (entry, then tip)", 6000)
            return
        if self._suggest(label, state.frame, found.points):
            state.say("Needle found: Y accepts it, Shift+Y dismisses it", 6000)

    def _wants_automatic_search(self) -> bool:
        """The needle tool is the active tool, and the frame has no needle (mark or
        suggestion) yet."""
        state = self._window.state
        annotations = state.annotations
        if self._window.tools.tool != Tool.NEEDLE or annotations is None or state.frame < 0:
            return False
        if state.session is None or state.session.read_only:
            return False
        if any(
            m.frame == state.frame and m.kind == ShapeKind.NEEDLE for m in annotations.suggestions
        ):
            return False
        return not any(
            o.kind == ShapeKind.NEEDLE and o.exists_on(state.frame) for o in annotations.objects
        )

    def _find_automatically(self) -> None:
        if not self._wants_automatic_search():
            return
        got = self._frame_and_calibration()
        if got is None:
            return
        from usannotate.tracking.needle_finder import find_needle

        frame, bounds, mm = got
        state = self._window.state
        self._auto_for = (state.loop, state.frame)
        self.auto_job.start(lambda _context: find_needle(frame, bounds, mm))

    def _on_auto_found(self, found: object) -> None:
        state = self._window.state
        searched, self._auto_for = self._auto_for, None
        if found is None or searched != (state.loop, state.frame):
            return  # nothing found, or the user has moved on
        if not self._wants_automatic_search():
            return  # a needle was marked meanwhile, or the tool changed
        label = self._needle_label()
        if label is not None and self._suggest(label, state.frame, found.points):  # type: ignore[attr-defined]
            state.say("Needle found (suggested): Y accepts it, Shift+Y dismisses it", 6000)

    def _on_committed(self, object_id: str, frame: int, label: Label) -> None:
        """A mark was just drawn: offer a fascial plane's snap to its ridge."""
        if label.kind != ShapeKind.POLYLINE or label.group != PLANE_GROUP:
            return
        alt = QGuiApplication.keyboardModifiers() & Qt.KeyboardModifier.AltModifier
        if alt or getattr(self._window.tools, "snap_off", False):
            return  # Alt held (Alt+Enter, Alt+double-click): the plane as clicked
        from usannotate.tracking.ridge import snap_to_ridge

        annotations = self._window.state.annotations
        obj = annotations.get(object_id) if annotations is not None else None
        got = self._frame_and_calibration()
        if obj is None or got is None or obj.points(frame) is None:
            return
        image, _bounds, mm = got
        snapped = snap_to_ridge(image, obj.points(frame), mm)
        if len(snapped) < 2:
            return
        if self._suggest(label, frame, snapped, replaces=object_id):
            self._window.state.say(
                f"{label.name}: snapped to the ridge, suggested: Y accepts, Shift+Y keeps "
                "your clicks (hold Alt while finishing for no snap)",
                8000,
            )

    def accept(self) -> None:
        """Make the frame's suggestion a keyframe: one undoable edit that also takes the
        suggestion away."""
        suggestion = self.suggestion
        state = self._window.state
        history = state.history
        if suggestion is None or history is None or state.session is None:
            return
        if state.session.read_only:
            return
        points = np.asarray(suggestion.points, dtype=np.float64)
        label = suggestion.label
        replaced = (
            history.annotations.get(suggestion.object_id)
            if suggestion.object_id is not None
            else None
        )
        if replaced is not None:
            edit = SetPoints(replaced.id, suggestion.frame, points, text=f"Snap {label.name}")
            object_id = replaced.id
        else:
            target = continued_track(history.annotations, label.id, suggestion.frame)
            if target is not None:
                edit = SetPoints(target.id, suggestion.frame, points, text=f"Mark {label.name}")
                object_id = target.id
            else:
                obj = AnnotatedObject(label.id, label.kind)
                obj.set_points(suggestion.frame, points)
                edit = AddObject(obj, text=f"Add {label.name}")
                object_id = obj.id
        history.push(Compound([RemoveSuggestion(suggestion.mark_id), edit], text=edit.text))
        state.select(object_id)
        state.say(f"{label.name} accepted on frame {suggestion.frame + 1}", 4000)
