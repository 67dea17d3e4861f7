"""How the track timeline is drawn: a static picture per change, the current frame over it.

The static picture (ruler, titles, each lane's bar and keyframe diamonds) is drawn once per change,
and the current frame over it at every repaint.

Where things go comes from :class:`~usannotate.ui.docks._timeline_layout.TimelineLayout`;
the ruler's ticks from :mod:`usannotate.ui.ticks`. Playback repaints the timeline at every
frame, so that repaint is one pixmap copy, a few rectangles, a triangle and the corner's
text; everything else is drawn only when the lanes, selection, size or style change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QPolygonF,
)

from usannotate.annotations import FrameSource
from usannotate.ui.docks._timeline_layout import (
    LEFT_MARGIN,
    RIGHT_MARGIN,
    TITLE_WIDTH,
    TimelineLayout,
)
from usannotate.ui.docks.track_lane import TrackLane
from usannotate.ui.ticks import RulerTicks, Timing, format_time, ruler_ticks

EMPTY_TEXT = "No marks yet: draw on the image; each mark becomes a track here"
NO_LOOP_TEXT = "No loop open"

_CODES = {FrameSource.KEYFRAME: 1, FrameSource.INTERPOLATED: 2, FrameSource.TRACKED: 3}


@dataclass(frozen=True, eq=False)  # arrays inside: compare by identity
class DrawnLane:
    """A lane as drawn, its frames as arrays once per ``set_lanes``."""

    lane: TrackLane
    colour: QColor
    frames: np.ndarray  # (n,) int64, the frames where the track exists
    codes: np.ndarray  # (n,) uint8, their sources as _CODES
    keyframes: np.ndarray  # (k,) int64, sorted

    @classmethod
    def of(cls, lane: TrackLane) -> DrawnLane:
        """``lane``'s frames and sources as arrays."""
        frames = np.fromiter(lane.frame_sources.keys(), dtype=np.int64)
        codes = np.fromiter((_CODES[str(s)] for s in lane.frame_sources.values()), dtype=np.uint8)
        keyframes = np.sort(frames[codes == _CODES[FrameSource.KEYFRAME]])
        return cls(lane, QColor(lane.colour), frames, codes, keyframes)

    def codes_per_frame(self, n_frames: int) -> np.ndarray:
        """(n_frames,) uint8: 0 where the track does not exist, else its _CODES."""
        out = np.zeros(n_frames, dtype=np.uint8)
        inside = self.frames < n_frames
        out[self.frames[inside]] = self.codes[inside]
        return out


@dataclass(frozen=True)
class TimelineScene:
    """What the static picture shows: the geometry, the lanes, the selection and the
    widget's look (palette, its font and the ruler's smaller one)."""

    layout: TimelineLayout
    lanes: Sequence[DrawnLane]
    selected: str | None
    palette: QPalette
    font: QFont
    small_font: QFont


def _argb(colour: QColor) -> int:
    """``colour`` as a premultiplied ARGB32 pixel."""
    a = colour.alpha()
    r, g, b = (round(c * a / 255) for c in (colour.red(), colour.green(), colour.blue()))
    return (a << 24) | (r << 16) | (g << 8) | b


class TimelinePainter:
    """Draws a timeline; keeps the keyframe diamonds it stamps between pictures."""

    def __init__(self) -> None:
        self._sprites: dict[tuple[int, int, float, float], QPixmap] = {}

    # ----------------------------------------------------------------- the static picture

    def render_static(self, scene: TimelineScene, ratio: float) -> QPixmap:
        """Everything that does not move with the current frame, drawn once per change
        at device pixel ratio ``ratio``. Playback then repaints by copying this and
        drawing one line (:func:`paint_current`)."""
        layout, pal = scene.layout, scene.palette
        width, height = layout.width, layout.height
        pixmap = QPixmap(QSize(width, height) * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(pal.color(QPalette.ColorRole.Base))
        painter = QPainter(pixmap)
        ruler = layout.ruler_height
        # Title column and ruler on the window colour, lanes on the base colour.
        painter.fillRect(QRect(0, 0, width, ruler), pal.color(QPalette.ColorRole.Window))
        painter.fillRect(QRect(0, ruler, TITLE_WIDTH, height), pal.color(QPalette.ColorRole.Window))
        if layout.n_frames == 0:
            _paint_message(painter, scene, NO_LOOP_TEXT)
        else:
            ticks = _ticks(scene)
            _paint_ruler(painter, scene, ticks)
            if scene.lanes:
                painter.save()
                painter.setClipRect(QRect(0, ruler, width, height - ruler))
                self._paint_lanes(painter, scene, ticks)
                painter.restore()
            else:
                _paint_message(painter, scene, EMPTY_TEXT)
        # Lines as 1-px rectangles throughout: the raster engine fills those far faster
        # than it strokes (translucent) lines.
        line = pal.color(QPalette.ColorRole.Mid)
        painter.fillRect(QRect(0, ruler - 1, width, 1), line)
        painter.fillRect(QRect(TITLE_WIDTH - 1, 0, 1, height), line)
        painter.end()
        return pixmap

    def _paint_lanes(self, painter: QPainter, scene: TimelineScene, ticks: RulerTicks) -> None:
        layout, pal = scene.layout, scene.palette
        lane_h = layout.lane_height
        font = QFont(scene.font)
        if painter.fontMetrics().height() > lane_h - 2:
            font.setPixelSize(max(8, lane_h - 4))
        bold = QFont(font)
        bold.setBold(True)
        highlight = QColor(pal.color(QPalette.ColorRole.Highlight))
        tint = QColor(highlight)
        tint.setAlphaF(0.28)
        text_colour = pal.color(QPalette.ColorRole.WindowText)
        separator = QColor(pal.color(QPalette.ColorRole.Mid))
        separator.setAlphaF(0.35)
        dark = pal.color(QPalette.ColorRole.Base).lightness() < 128
        _paint_grid(painter, scene, ticks)
        visible = [(i, scene.lanes[i]) for i in layout.visible_lanes()]
        for i, lane in visible:
            top = layout.lane_top(i)
            selected = lane.lane.object_id == scene.selected
            if selected:
                painter.fillRect(QRect(0, top, layout.width, lane_h), tint)
                painter.fillRect(QRect(0, top, 3, lane_h), highlight)
            painter.fillRect(QRect(0, top + lane_h - 1, layout.width, 1), separator)
            # Title: swatch and elided name.
            painter.setPen(QPen(lane.colour.darker(160), 1))
            painter.setBrush(lane.colour)
            painter.drawRoundedRect(QRectF(8, top + (lane_h - 10) / 2, 10, 10), 2, 2)
            painter.setFont(bold if selected else font)
            painter.setPen(text_colour)
            title_rect = QRect(24, top, TITLE_WIDTH - 30, lane_h)
            painter.drawText(
                title_rect,
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                painter.fontMetrics().elidedText(
                    lane.lane.title, Qt.TextElideMode.ElideRight, title_rect.width()
                ),
            )
        _paint_bars(painter, layout, visible, dark)
        for i, lane in visible:
            self._paint_keyframes(painter, layout, lane, layout.lane_top(i) + lane_h / 2, dark)

    def _paint_keyframes(
        self, painter: QPainter, layout: TimelineLayout, lane: DrawnLane, cy: float, dark: bool
    ) -> None:
        """Keyframes as diamonds on the bar. Diamonds closer than half their width (narrow
        columns) merge into one stretched diamond: it looks like the overlapping diamonds
        would, and costs one polygon, not hundreds."""
        keys = lane.keyframes[lane.keyframes < layout.n_frames]
        if not len(keys):
            return
        lane_h = layout.lane_height
        bar_h = max(6, lane_h - 8)
        half = min(lane_h / 2 - 1.5, bar_h / 2 + 2.0)
        xs = layout.frames_left + (keys + 0.5) * layout.column_width
        starts = np.flatnonzero(np.diff(xs, prepend=-np.inf) >= half)
        ends = np.append(starts[1:], len(xs)) - 1
        pen = QPen(QColor(20, 20, 20) if dark else lane.colour.darker(230), 1)
        sprite = self._sprite(lane.colour, pen, half, painter.device().devicePixelRatioF())
        offset = sprite.width() / sprite.devicePixelRatio() / 2
        painter.setPen(pen)
        painter.setBrush(lane.colour)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            if start == end:  # the common case: a stamp, cheaper than a polygon
                painter.drawPixmap(QPointF(xs[start] - offset, cy - offset), sprite)
            else:
                painter.drawPolygon(_diamond(float(xs[start]), float(xs[end]), cy, half))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _sprite(self, colour: QColor, pen: QPen, half: float, ratio: float) -> QPixmap:
        key = (colour.rgba(), pen.color().rgba(), half, ratio)
        sprite = self._sprites.get(key)
        if sprite is None:
            if len(self._sprites) > 64:
                self._sprites.clear()
            sprite = self._sprites[key] = _diamond_sprite(colour, pen, half, ratio)
        return sprite


# --------------------------------------------------------------------- the current frame


def paint_current(
    painter: QPainter,
    layout: TimelineLayout,
    frame: int,
    palette: QPalette,
    small_font: QFont,
    frame_time_ms: Timing,
) -> None:
    """The current frame (0-based, clamped to the loop) over the static picture: its
    column, the playhead line and ruler marker, and the corner's frame and time."""
    frame = min(max(frame, 0), layout.n_frames - 1)
    x = layout.x_of_frame(frame)
    width = layout.column_width
    ruler = layout.ruler_height
    height = layout.height
    if width >= 4:  # the whole frame's column, faintly
        column = QColor(255, 214, 0, 40)
        painter.fillRect(QRectF(x - width / 2, ruler, width, height - ruler), column)
    outline = QColor(20, 20, 20, 220)
    playhead = QColor(255, 214, 0)
    xi = round(x)
    painter.fillRect(QRect(xi - 1, ruler - 6, 3, height - ruler + 6), outline)
    painter.fillRect(QRect(xi, ruler - 5, 1, height - ruler + 5), playhead)
    # Ruler marker: a downward triangle at the frame.
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QPen(outline, 1))
    painter.setBrush(playhead)
    painter.drawPolygon(
        QPolygonF(
            [
                QPointF(x - 5.5, ruler - 11),
                QPointF(x + 5.5, ruler - 11),
                QPointF(x, ruler - 4),
            ]
        )
    )
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    # Corner readout: the current frame (1-based) and its time.
    corner = QRect(0, 0, TITLE_WIDTH - 1, ruler - 1)
    painter.fillRect(corner, palette.color(QPalette.ColorRole.Window))
    painter.setFont(small_font)
    painter.setPen(palette.color(QPalette.ColorRole.WindowText))
    time = format_time(frame, frame_time_ms)
    painter.drawText(
        corner.adjusted(8, 0, -4, 0),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        f"Frame {frame + 1} / {layout.n_frames}" + (f"  {time}" if time else ""),
    )


# --------------------------------------------------------------------- parts of the picture


def _paint_message(painter: QPainter, scene: TimelineScene, text: str) -> None:
    layout = scene.layout
    area = QRect(TITLE_WIDTH, layout.ruler_height, layout.width - TITLE_WIDTH, layout.height)
    area.setBottom(layout.height - 1)
    painter.setPen(scene.palette.color(QPalette.ColorRole.PlaceholderText))
    metrics = painter.fontMetrics()
    painter.drawText(
        area,
        Qt.AlignmentFlag.AlignCenter,
        metrics.elidedText(text, Qt.TextElideMode.ElideRight, area.width() - 16),
    )


def _ticks(scene: TimelineScene) -> RulerTicks:
    layout = scene.layout
    label_width = QFontMetrics(scene.small_font).horizontalAdvance(str(layout.n_frames))
    return ruler_ticks(layout.n_frames, layout.column_width, label_width)


def _paint_ruler(painter: QPainter, scene: TimelineScene, ticks: RulerTicks) -> None:
    layout = scene.layout
    ruler = layout.ruler_height
    font = scene.small_font
    metrics = QFontMetrics(font)
    painter.setFont(font)
    text = scene.palette.color(QPalette.ColorRole.WindowText)
    faint = QColor(text)
    faint.setAlphaF(0.45)
    left, right = layout.frames_left, layout.frames_right
    if ticks.minor:
        minors = np.arange(ticks.minor, layout.n_frames + 1, ticks.minor)
        xs = left + (minors - 0.5) * layout.column_width
        for x in np.round(xs).astype(int).tolist():
            painter.fillRect(QRect(x, ruler - 4, 1, 3), faint)
    painter.setPen(QPen(text, 1))
    for number in ticks.numbers:
        x = layout.x_of_frame(number - 1)
        painter.fillRect(QRect(round(x), ruler - 7, 1, 6), text)
        label = str(number)
        w = metrics.horizontalAdvance(label)
        # Keep the label inside the ruler at both ends: shift, do not clip.
        lx = min(max(x - w / 2, left - LEFT_MARGIN + 2), right + RIGHT_MARGIN - w - 1)
        painter.drawText(QPointF(lx, metrics.ascent() + 2), label)


def _paint_grid(painter: QPainter, scene: TimelineScene, ticks: RulerTicks) -> None:
    """Faint lines under the labelled frames, to read a frame off a lane.

    One row of pixels tiled down the lanes: a thousandth of the spans that
    one-pixel-wide rectangles would cost the raster engine."""
    layout = scene.layout
    grid = QColor(scene.palette.color(QPalette.ColorRole.Text))
    grid.setAlphaF(0.08)
    ratio = painter.device().devicePixelRatioF()
    row = np.zeros(max(1, round(layout.width * ratio)), dtype=np.uint32)
    xs = [round(layout.x_of_frame(number - 1) * ratio) for number in ticks.numbers]
    row[np.clip(xs, 0, len(row) - 1)] = _argb(grid)
    image = QImage(
        row.tobytes(), len(row), 1, 4 * len(row), QImage.Format.Format_ARGB32_Premultiplied
    ).copy()
    image.setDevicePixelRatio(ratio)
    top = layout.ruler_height
    bottom = min(layout.height, layout.lane_top(layout.n_lanes))
    painter.fillRect(QRect(0, top, layout.width, bottom - top), QBrush(image))


def _paint_bars(
    painter: QPainter,
    layout: TimelineLayout,
    visible: list[tuple[int, DrawnLane]],
    dark: bool,
) -> None:
    """Where each track exists, a bar: keyframes in its colour, interpolated frames
    lighter, tracked ones (not confirmed yet) another tone, hatched and edged.

    Each lane's bar is built as pixels with numpy (device pixel -> frame -> colour)
    and drawn in one call: a 600-frame lane costs the same whatever its keyframes,
    interpolation and tracking look like, and runs of frames need no rectangles.
    """
    ratio = painter.device().devicePixelRatioF()
    n_frames, lane_h = layout.n_frames, layout.lane_height
    left, column_width = layout.frames_left, layout.column_width
    x0 = round(left * ratio)
    width_px = round(n_frames * column_width * ratio)
    if width_px <= 0:
        return
    bar_h = max(6, lane_h - 8)
    height_px = max(1, round(bar_h * ratio))
    # The frame under each device pixel's centre.
    centres = (x0 + np.arange(width_px) + 0.5) / ratio
    frame_of_px = np.clip(((centres - left) / column_width).astype(np.int64), 0, n_frames - 1)
    # Tracked frames: diagonal hatch lines ("/"), anchored to the widget so lanes
    # hatch in step; edged top and bottom.
    spacing = max(4, round(6 * ratio))
    rows = np.arange(height_px)[:, None]
    hatch_mask = (x0 + np.arange(width_px)[None, :] + rows) % spacing == 0
    edge_rows = np.zeros((height_px, 1), dtype=bool)
    edge_rows[0] = edge_rows[-1] = True
    for i, lane in visible:
        codes = lane.codes_per_frame(n_frames)
        if not codes.any():
            continue
        colour = lane.colour
        interpolated = QColor(colour)
        interpolated.setAlphaF(0.45)
        tone = QColor(colour).darker(170) if dark else QColor(colour)
        tone.setAlphaF(0.75 if dark else 0.22)
        table = np.array([0, _argb(colour), _argb(interpolated), _argb(tone)], dtype=np.uint32)
        px_codes = codes[frame_of_px]
        pixels = np.repeat(table[px_codes][None, :], height_px, axis=0)
        tracked = px_codes == _CODES[FrameSource.TRACKED]
        if tracked.any():
            line = _argb(colour if dark else colour.darker(150))
            edge = _argb(colour if dark else colour.darker(120))
            pixels[hatch_mask & tracked[None, :]] = line
            pixels[edge_rows & tracked[None, :]] = edge
        image = QImage(
            pixels.tobytes(),
            width_px,
            height_px,
            4 * width_px,
            QImage.Format.Format_ARGB32_Premultiplied,
        ).copy()  # own the pixels: the bytes object is temporary
        image.setDevicePixelRatio(ratio)
        top = layout.lane_top(i) + (lane_h - bar_h) // 2
        painter.drawImage(QPointF(x0 / ratio, top), image)


# --------------------------------------------------------------------- keyframe diamonds


def _diamond(x0: float, x1: float, cy: float, half: float) -> QPolygonF:
    """A keyframe diamond centred on ``(x0, cy)``; stretched to ``x1`` when ``x1 > x0``."""
    return QPolygonF(
        [
            QPointF(x0 - half, cy),
            QPointF(x0, cy - half),
            QPointF(x1, cy - half),
            QPointF(x1 + half, cy),
            QPointF(x1, cy + half),
            QPointF(x0, cy + half),
        ]
    )


def _diamond_sprite(colour: QColor, pen: QPen, half: float, ratio: float) -> QPixmap:
    """One keyframe diamond, drawn once per lane and stamped at each keyframe."""
    side = math.ceil(2 * half) + 2
    pixmap = QPixmap(round(side * ratio), round(side * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(pen)
    painter.setBrush(colour)
    painter.drawPolygon(_diamond(side / 2, side / 2, side / 2, half))
    painter.end()
    return pixmap
