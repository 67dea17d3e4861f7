"""Suggested marks: the needle found (N), a fascial plane snapped to its ridge, until accepted.

Thin: the core finds them (:func:`usannotate.tracking.needle_finder.find_needle`,
:func:`usannotate.tracking.ridge.snap_to_ridge`); this module shows one suggestion at a
time in its own style (chartreuse, dotted, hollow diamonds, a caption saying
"suggested") and turns it into an ordinary undoable edit when the user accepts it (Y).
A suggestion is not part of the marks: it is never saved, and it goes away when the
frame or the marks change, or with Shift+Y.

A fascial plane finished with the drawing tool is kept as clicked (nothing is lost) and
its snap to the ridge is offered as a suggestion; holding Alt while finishing it offers
none.
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
from usannotate.annotations.edits import AddObject, SetPoints
from usannotate.annotations.marking import continued_track
from usannotate.cine.calibration import measuring_region

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
    """A mark offered, not made: ``points`` of ``label`` on ``frame``; ``object_id`` is
    the mark it would replace there (a snap), None for a new mark (a needle found)."""

    label: Label
    frame: int
    points: np.ndarray
    object_id: str | None
    what: str  # "found" or "snapped to the ridge"
    replaces: np.ndarray | None = None  # the mark's points it would replace

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
        return QRectF(x, -height - 10.0, width, height)

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
        anchor = points[-1] if suggestion.label.kind == ShapeKind.NEEDLE else points[0]
        self.caption.leftwards = bool(self.image_width and anchor[0] > 0.5 * self.image_width)
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
    """Owns the suggestion actions, the one suggestion shown, and its item."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.suggestion: Suggestion | None = None
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
            "&Dismiss Suggestion", DISMISS_KEYS, self.dismiss, "Hide the suggestion"
        )
        state = window.state
        state.frameChanged.connect(self._on_frame)
        state.loopChanged.connect(self.dismiss)
        state.marksChanged.connect(self._on_marks)
        window.tools.markCommitted.connect(self._on_committed)
        self._accepting = False

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
    def show(self, suggestion: Suggestion | None) -> None:
        self.suggestion = suggestion
        loop = self._window.state.loop
        self.item.image_width = float(loop.columns) if loop is not None else 0.0
        self.item.show_suggestion(suggestion)

    def dismiss(self) -> None:
        """Hide the suggestion (nothing changes in the marks)."""
        self.show(None)

    def _on_frame(self, *_args) -> None:
        if self.suggestion is not None and self.suggestion.frame != self._window.state.frame:
            self.dismiss()

    def _on_marks(self) -> None:
        suggestion = self.suggestion
        if self._accepting or suggestion is None or suggestion.object_id is None:
            return
        # A snap stays while the plane it would replace is as it was (another mark drawn
        # meanwhile does not end it); undone or edited, the plane ends it.
        annotations = self._window.state.annotations
        obj = annotations.get(suggestion.object_id) if annotations is not None else None
        shown = obj.points(suggestion.frame) if obj is not None else None
        if shown is None or not np.array_equal(shown, suggestion.replaces):
            self.dismiss()

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

    def find_needle(self) -> None:
        """Look for the needle on this frame and suggest it."""
        from usannotate.tracking.needle_finder import find_needle

        state = self._window.state
        annotations = state.annotations
        got = self._frame_and_calibration()
        if got is None or annotations is None:
            return
        label = annotations.label_set.get("needle") or next(
            (lb for lb in annotations.label_set.labels if lb.kind == ShapeKind.NEEDLE), None
        )
        if label is None:
            state.say("This label set has no needle label", 5000)
            return
        frame, bounds, mm = got
        found = find_needle(frame, bounds, mm)
        if found is None:
            state.say("No needle found on this frame: mark it by hand (entry, then tip)", 6000)
            return
        self.show(Suggestion(label, state.frame, found.points, None, "found"))
        state.say("Needle found: Y accepts it, Shift+Y dismisses it", 6000)

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
        self.show(
            Suggestion(label, frame, snapped, object_id, "snapped to the ridge", obj.points(frame))
        )
        self._window.state.say(
            f"{label.name}: snapped to the ridge, suggested: Y accepts, Shift+Y keeps "
            "your clicks (hold Alt while finishing for no snap)",
            8000,
        )

    def accept(self) -> None:
        """Make the suggestion a keyframe (one undoable edit)."""
        suggestion = self.suggestion
        state = self._window.state
        history = state.history
        if suggestion is None or history is None or state.session is None:
            return
        if state.session.read_only:
            return
        points = np.asarray(suggestion.points, dtype=np.float64)
        label = suggestion.label
        if suggestion.object_id is not None:
            edit = SetPoints(
                suggestion.object_id, suggestion.frame, points, text=f"Snap {label.name}"
            )
            object_id = suggestion.object_id
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
        self._accepting = True
        try:
            history.push(edit)
        finally:
            self._accepting = False
        self.dismiss()
        state.select(object_id)
        state.say(f"{label.name} accepted on frame {suggestion.frame + 1}", 4000)
