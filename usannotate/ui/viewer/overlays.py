"""The calibration drawn over the scan: region outlines with captions, the depth ruler.

Everything is kept inside the image and laid out for the view's zoom (:func:`layout`):
captions and labels keep their size on screen, so what fits depends on the zoom. Region
captions shorten to what their region can hold and never overlap; ruler labels thin out
to every 1, 2, 5 or 10 cm as fits, and leave out a label that would cover text the
scanner burned into the image (its banner, its settings column).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
)

from usannotate.cine import Region

OVERLAY_COLOUR = QColor(80, 200, 255)
RULER_COLOUR = QColor(255, 220, 90)
WARNING_COLOUR = QColor(255, 140, 60)
#: Depth label steps tried, in cm, smallest first.
RULER_STEPS_CM = (1, 2, 5, 10, 20, 50)
#: Labels closer than this many label heights (centre to centre) crowd each other.
_LABEL_PITCH = 1.8
#: Screen pixels between a label and what it labels or borders.
_GAP = 3.0
#: A grey level at or above this, outside every region, is taken as burned-in text.
_TEXT_LEVEL = 128

#: Says whether a rectangle of the image (scene px) covers burned-in text.
BusyTest = Callable[[QRectF], bool]


def overlay_font() -> QFont:
    font = QFont()
    font.setPointSizeF(9.0)
    font.setBold(True)
    return font


def _cache_while_still(*items: QGraphicsItem) -> None:
    """Have ``items`` painted once into a picture of the screen's pixels and shown from
    it until they or the zoom change: the overlays stay put while the loop plays, and the
    ruler alone is a hundred lines drawn from Python on every frame otherwise."""
    for item in items:
        item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class OverlayLabel(QGraphicsRectItem):
    """Text on a dark plate, a constant size on screen whatever the zoom.

    Its position is the scene point of its plate's top-left corner's origin; use
    :meth:`place` and :meth:`scene_box` rather than positions, which depend on the zoom.
    """

    def __init__(self, text: str, colour: QColor, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setBrush(QColor(0, 0, 0, 130))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.text_item = QGraphicsSimpleTextItem(self)
        _cache_while_still(self, self.text_item)
        self.text_item.setFont(overlay_font())
        self.text_item.setBrush(QBrush(colour))
        self.set_text(text)

    def set_text(self, text: str) -> None:
        if text != self.text_item.text() or self.rect().isEmpty():
            self.text_item.setText(text)
            self.setRect(self.text_item.boundingRect().adjusted(-2, -1, 2, 1))

    def text(self) -> str:
        return self.text_item.text()

    def width_of(self, text: str) -> float:
        """The plate's width on screen (px) if it showed ``text``."""
        return QFontMetricsF(self.text_item.font()).horizontalAdvance(text) + 4.0

    @property
    def height_px(self) -> float:
        return self.rect().height()

    def place(self, top_left: QPointF, scale: float) -> None:
        """Put the plate's top-left corner at scene point ``top_left`` at zoom ``scale``."""
        self.setPos(top_left - self.rect().topLeft() / scale)

    def scene_box(self, scale: float) -> QRectF:
        """The plate in scene (image) coordinates at zoom ``scale``."""
        rect = self.rect()
        return QRectF(self.pos() + rect.topLeft() / scale, rect.size() / scale)


def _inside(box: QRectF, image: QRectF) -> bool:
    return image.adjusted(-1e-6, -1e-6, 1e-6, 1e-6).contains(box)


def _free(box: QRectF, placed: Sequence[QRectF]) -> bool:
    return not any(box.intersects(other) for other in placed)


class RegionOutline(QGraphicsItem):
    """Dashed outline and caption of one ultrasound region.

    A region that extends beyond the image cannot describe its pixels: it is drawn
    clipped to the image, in a warning colour, and its caption says it is not used.
    The caption sits inside the region's top-left corner, as long as the region's width
    on screen allows (:meth:`layout`); its tooltip always has the full text.
    """

    def __init__(self, region: Region, number: int, image_size: tuple[int, int]) -> None:
        super().__init__()
        _cache_while_still(self)
        self.region = region
        self.number = number
        self.usable = region.fits_image(*image_size)
        x0, y0, x1, y1 = region.bounds
        image = QRectF(0, 0, *image_size)
        self._rect = QRectF(x0, y0, x1 + 1 - x0, y1 + 1 - y0).intersected(image)
        self._colour = OVERLAY_COLOUR if self.usable else WARNING_COLOUR
        if not self.usable:
            scale = "extends beyond the image: not used for mm"
            short = "not used for mm"
        elif region.is_spatial_cm:
            scale = f"{region.mm_per_px_x:.3f} x {region.mm_per_px_y:.3f} mm/px"
            short = scale
        else:
            scale = f"{region.units_x} x {region.units_y}"
            short = scale
        kind = {"2d": "2D"}.get(region.spatial_format, region.spatial_format)
        full = f"Region {number}: {kind} {region.data_type.replace('_', ' ')}, {scale}"
        #: What the caption may say, longest first: it shows the longest that fits.
        self.texts = (full, f"Region {number}: {short}", f"R{number}")
        self.caption = OverlayLabel(full, self._colour, self)
        self.caption.setToolTip(full)
        self.caption.place(QPointF(self._rect.left() + 2, self._rect.top() + 2), 1.0)

    @property
    def rect(self) -> QRectF:
        """The outline in image px (clipped to the image)."""
        return QRectF(self._rect)

    def layout(self, scale: float, placed: list[QRectF]) -> None:
        """Show the longest caption that fits in the region at zoom ``scale`` clear of
        the captions already ``placed`` (scene boxes; the caption's is added)."""
        inner = self._rect.adjusted(_GAP / scale, _GAP / scale, -_GAP / scale, -_GAP / scale)
        caption = self.caption
        for text in self.texts:
            width = caption.width_of(text) / scale
            if width > inner.width():
                continue
            caption.set_text(text)
            top = inner.top()
            while top + caption.height_px / scale <= inner.bottom():
                box = QRectF(inner.left(), top, width, caption.height_px / scale)
                blocking = [p for p in placed if p.intersects(box)]
                if not blocking:
                    caption.place(box.topLeft(), scale)
                    caption.show()
                    placed.append(box)
                    return
                top = max(p.bottom() for p in blocking) + 1.0 / scale
        caption.hide()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        pen = QPen(self._colour, 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self._rect)


class DepthRuler(QGraphicsItem):
    """Depth ruler along a spatial region's left edge (mm ticks, cm labels, 0 at the
    skin line) and a lateral scale bar under it; lengths come from the calibration.

    The left edge, because scanners burn their own depth scale in on the right. It lies
    just outside the region when the image has room there, else just inside; the scale
    bar goes under the region, or inside its bottom when the image ends there or another
    region (``others``, e.g. an M-mode strip) lies below.
    """

    def __init__(
        self,
        region: Region,
        image_size: tuple[int, int] | None = None,
        others: Sequence[Region] = (),
    ) -> None:
        super().__init__()
        _cache_while_still(self)
        self.region = region
        x0, y0, x1, y1 = region.bounds
        rows = image_size[1] if image_size else y1 + 1
        _, ref_y = region.reference_pixel or (0, 0)
        self._mm_y = region.mm_per_px_y or 1.0
        self._mm_x = region.mm_per_px_x or 1.0
        # Tick length in image pixels, in proportion to the image so it reads at any zoom.
        self._tick = max(4.0, (x1 + 1 - x0) * 0.02)
        outside = x0 - 3 - self._tick >= 0
        self._tick_dir = -1.0 if outside else 1.0  # ticks point away from the region
        self._x = float(x0 - 3) if outside else float(x0 + 3)
        self._top = float(y0 + ref_y)  # the skin line / transducer face
        self._bottom = float(min(y1 + 1, rows))
        band = (y1 + 1, y1 + 1 + 3.0 * self._tick)  # where a bar under the region goes
        below = band[1] <= rows and not any(
            o.bounds[0] <= x1
            and o.bounds[2] >= x0
            and o.bounds[1] <= band[1]
            and o.bounds[3] >= band[0]
            for o in others
        )
        width_mm = (x1 + 1 - x0) * self._mm_x
        self.bar_mm = 10.0 if width_mm >= 15 else 5.0
        if below:
            self._bar_y, self._bar_x0 = y1 + 1 + 2.0 * self._tick, float(x0)
        else:  # inside the region's bottom right, clear of the depth labels on the left
            self._bar_y = y1 + 1 - 2.0 * self._tick
            self._bar_x0 = x1 + 1 - 2.0 * self._tick - self.bar_mm / self._mm_x
        self.depth_mm = (self._bottom - self._top) * self._mm_y
        #: One label per cm (most hidden by :meth:`layout`), by depth in cm.
        self.labels = {
            cm: OverlayLabel(f"{cm} cm" if cm else "0", RULER_COLOUR, self)
            for cm in range(0, int(self.depth_mm // 10) + 1)
        }
        self.bar_label = OverlayLabel(f"{self.bar_mm:g} mm", RULER_COLOUR, self)
        self.step_cm = 1

    def label_y(self, cm: int) -> float:
        """Scene y of the ``cm`` depth tick."""
        return self._top + cm * 10.0 / self._mm_y

    def layout(
        self, scale: float, image: QRectF, placed: list[QRectF], busy: BusyTest | None = None
    ) -> None:
        """Show every ``step_cm``-th depth label, the step the smallest that keeps the
        labels apart at zoom ``scale``; leave out labels that would leave the image,
        touch what is ``placed`` or cover burned-in text (``busy``)."""
        heights = [label.height_px for label in self.labels.values()]
        pitch_px = _LABEL_PITCH * max(heights, default=12.0)
        cm_px = 10.0 / self._mm_y * scale
        self.step_cm = next((s for s in RULER_STEPS_CM if s * cm_px >= pitch_px), 100)
        placed.append(self._bar_box())
        widest = max((label.rect().width() for label in self.labels.values()), default=0.0)
        tick_end = self._x + self._tick_dir * self._tick
        # Left of the ticks when the image has room there, else right of the ruler line.
        left = self._tick_dir < 0 and tick_end - (_GAP + widest) / scale >= image.left()
        for cm, label in self.labels.items():
            label.hide()
            if cm % self.step_cm:
                continue
            width, height = label.rect().width() / scale, label.height_px / scale
            x = tick_end - _GAP / scale - width if left else max(tick_end, self._x) + _GAP / scale
            y = min(max(self.label_y(cm) - height / 2, image.top()), image.bottom() - height)
            box = QRectF(x, y, width, height)
            margin = _GAP / scale  # and keep a little off the scanner's text
            clear = not (busy and busy(box.adjusted(-margin, -margin, margin, margin)))
            if _inside(box, image) and _free(box, placed) and clear:
                label.place(box.topLeft(), scale)
                label.show()
                placed.append(box)
        self._layout_bar_label(scale, image, placed)

    def _bar_box(self) -> QRectF:
        half = self._tick / 3
        return QRectF(
            self._bar_x0, self._bar_y - half, self.bar_mm / self._mm_x, 2 * half
        ).normalized()

    def _layout_bar_label(self, scale: float, image: QRectF, placed: list[QRectF]) -> None:
        label = self.bar_label
        width, height = label.rect().width() / scale, label.height_px / scale
        end = self._bar_x0 + self.bar_mm / self._mm_x
        y = min(max(self._bar_y - height / 2, image.top()), image.bottom() - height)
        box = QRectF(end + self._tick / 2, y, width, height)
        if not _inside(box, image):  # no room right of the bar: above its end
            box = QRectF(end - width, self._bar_y - self._tick / 2 - height, width, height)
        label.setVisible(_inside(box, image) and _free(box, placed))
        if label.isVisible():
            label.place(box.topLeft(), scale)
            placed.append(box)

    def visible_labels(self) -> list[OverlayLabel]:
        return [label for label in self.labels.values() if label.isVisible()]

    def boundingRect(self) -> QRectF:
        xs = (self._x, self._x + self._tick_dir * self._tick, self._bar_x0)
        right = max(*xs, self._bar_x0 + self.bar_mm / self._mm_x)
        left = min(xs)
        top = min(self._top, self._bar_y - self._tick)
        bottom = max(self._bottom, self._bar_y + self._tick)
        return QRectF(left - 2, top - 2, right - left + 4, bottom - top + 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        pen = QPen(RULER_COLOUR, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLine(QPointF(self._x, self._top), QPointF(self._x, self._bottom))
        step_px = 1.0 / self._mm_y
        # Every mm only when the ticks are at least 4 screen pixels apart.
        every = 1 if step_px * painter.worldTransform().m22() >= 4 else 5
        n_mm = int((self._bottom - self._top) * self._mm_y)
        for mm in range(0, n_mm + 1, every):
            y = self._top + mm * step_px
            length = self._tick * (1.0 if mm % 10 == 0 else 0.6 if mm % 5 == 0 else 0.35)
            painter.drawLine(QPointF(self._x, y), QPointF(self._x + self._tick_dir * length, y))
        end = self._bar_x0 + self.bar_mm / self._mm_x
        painter.drawLine(QPointF(self._bar_x0, self._bar_y), QPointF(end, self._bar_y))
        for x in (self._bar_x0, end):
            half = self._tick / 3
            painter.drawLine(QPointF(x, self._bar_y - half), QPointF(x, self._bar_y + half))


def burned_in_text(rgb: np.ndarray, regions: Sequence[Region]) -> np.ndarray:
    """Where the scanner burned text into the image: bright pixels outside every region
    (inside a region bright is tissue). ``(rows, columns)`` bool."""
    mask = rgb.max(axis=2) >= _TEXT_LEVEL
    rows, columns = mask.shape
    for region in regions:
        x0, y0, x1, y1 = region.bounds
        mask[max(0, y0) : min(rows, y1 + 1), max(0, x0) : min(columns, x1 + 1)] = False
    return mask


def covers_text(mask: np.ndarray) -> BusyTest:
    """A :data:`BusyTest` over a :func:`burned_in_text` mask."""

    def busy(box: QRectF) -> bool:
        rows, columns = mask.shape
        c0, c1 = max(0, math.floor(box.left())), min(columns, math.ceil(box.right()))
        r0, r1 = max(0, math.floor(box.top())), min(rows, math.ceil(box.bottom()))
        return c1 > c0 and r1 > r0 and int(mask[r0:r1, c0:c1].sum()) >= 3

    return busy


def layout(
    outlines: Sequence[RegionOutline],
    ruler: DepthRuler | None,
    scale: float,
    image: QRectF,
    busy: BusyTest | None = None,
) -> None:
    """Lay the captions and ruler labels out for zoom ``scale`` (screen px per image px)
    over ``image`` (scene rectangle): region captions first (hidden outlines skipped),
    then the ruler's labels around them."""
    placed: list[QRectF] = []
    for outline in outlines:
        if outline.isVisible():
            outline.layout(scale, placed)
    if ruler is not None:
        ruler.layout(scale, image, placed, busy)
