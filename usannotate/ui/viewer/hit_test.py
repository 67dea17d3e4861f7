"""Which mark, or which point of a mark, is under the cursor: the marking tools' hit tests.

They run on the marks layer: the scene's query by bounding rectangle does the coarse search, the
core's geometry the fine one.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt

from usannotate.annotations import ShapeKind
from usannotate.annotations.geometry import inside_region, nearest_on_outline, nearest_vertex
from usannotate.ui.viewer.marks import AnnotationLayer, ShapeItem
from usannotate.ui.viewer.pointer import HIT_TOLERANCE_PX
from usannotate.ui.viewer.view import CineView

__all__ = ["MarkPicker"]


class MarkPicker:
    """Hit tests on the visible marks of ``layer`` shown in ``view`` (hidden labels cannot
    be picked); points are image px, the tolerance follows the view's zoom."""

    def __init__(self, view: CineView, layer: AnnotationLayer) -> None:
        self._view = view
        self._layer = layer

    @property
    def tolerance(self) -> float:
        """The hit tolerance in image pixels at the view's zoom: never less than a
        handle's half side, so a handle (a preference may make them large) is grabbed
        wherever it is drawn; small handles keep the full tolerance."""
        reach_px = max(HIT_TOLERANCE_PX, self._layer.handle_size_px / 2 + 1.0)
        return reach_px / max(self._view.zoom, 1e-6)

    def candidates(self, at: np.ndarray, selected: str | None) -> list[ShapeItem]:
        """Marks near ``at``: the ``selected`` one first, then top to bottom."""
        tolerance = self.tolerance
        rect = QRectF(at[0] - tolerance, at[1] - tolerance, 2 * tolerance, 2 * tolerance)
        items = [
            item
            for item in self._view.scene().items(
                rect,
                Qt.ItemSelectionMode.IntersectsItemBoundingRect,
                Qt.SortOrder.DescendingOrder,
            )
            if isinstance(item, ShapeItem) and item.isVisible()
        ]
        items.sort(key=lambda item: item.obj.id != selected)  # stable: keeps the order
        return items

    def vertex_at(self, at: np.ndarray, selected: str | None) -> tuple[ShapeItem, int] | None:
        """The mark and the index of its point within the tolerance of ``at``, if any."""
        for item in self.candidates(at, selected):
            distance, index = nearest_vertex(item.points, at)
            if distance <= self.tolerance:
                return item, index
        return None

    def mark_at(self, at: np.ndarray, selected: str | None) -> ShapeItem | None:
        """The mark under ``at``: one whose line passes within the tolerance, else a
        region it lies in (so a plane crossing a fluid pocket can still be picked)."""
        candidates = self.candidates(at, selected)
        for item in candidates:
            closed = item.label.kind == ShapeKind.REGION
            if nearest_on_outline(item.points, closed, at).distance <= self.tolerance:
                return item
        for item in candidates:
            if item.label.kind == ShapeKind.REGION and inside_region(item.points, at):
                return item
        return None
