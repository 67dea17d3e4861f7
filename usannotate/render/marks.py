"""Marks drawn onto a BGRA canvas with OpenCV, as the app's scene items draw them (no Qt).

The canvas is ``(rows, columns, 4)`` uint8, premultiplied BGRA (Qt's
``Format_ARGB32_Premultiplied`` on a little-endian machine): the app composites it over
the frame, an export over the frame's pixels (see :func:`composite_over`). Points are in
canvas pixels, already through the view's (or the export's) transform; widths come from
:class:`~usannotate.render.style.MarkStyle` and are pixels on the canvas whatever the zoom.

Why OpenCV and not QPainter: OpenCV's drawing releases the GIL, so the app draws the
marks of the frames ahead on worker threads while the GUI thread plays (PySide6 holds
the GIL through every QPainter call); and exports draw headless, in batch, without Qt.
Strokes are aliased like the app's (crisp, and what the scene items draw); round markers
are antialiased, as the app's are.

An export draws the same marks straight onto its opaque RGB frame
(:func:`draw_marks_over`): each layer blended in the box around its own lines, with no
transparent picture of the box around every mark to clear and lay over the frame (most
of that box is empty: laying it over cost a video frame more than drawing the marks).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from usannotate.annotations import FrameSource, ShapeKind
from usannotate.render.dashes import dash_segments, dashes_by_line
from usannotate.render.style import DASH_PATTERNS, MarkStyle

__all__ = [
    "CaptionSprite",
    "MarkDrawing",
    "composite_over",
    "draw_marks",
    "draw_marks_over",
    "lay_over",
]

_SHIFT = 4  # OpenCV's fixed-point bits: coordinates to 1/16 px
_ONE = float(1 << _SHIFT)


@dataclass(frozen=True)
class CaptionSprite:
    """A caption drawn once, ``(h, w, 4)`` premultiplied BGRA: its plate and text."""

    pixels: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "pixels", np.ascontiguousarray(self.pixels, dtype=np.uint8))

    @functools.cached_property
    def keep(self) -> np.ndarray:
        """What of the canvas shows through each pixel, 255 - alpha on every channel:
        made when the app's canvas first needs it (an export, drawing onto its frame,
        never does; a video makes a caption with a live measurement on almost every
        frame). OpenCV: ~5x numpy's repeat of the inverted alpha."""
        if not self.pixels.size:
            return np.zeros_like(self.pixels)
        return cv2.merge([cv2.bitwise_not(cv2.extractChannel(self.pixels, 3))] * 4)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


@dataclass
class MarkDrawing:
    """One mark as it is drawn on one frame, in canvas pixels.

    ``handle_px`` draws square vertex handles of that side (a selected mark while an edit
    tool is on) instead of the selected mark's vertex dots; ``trajectory_end`` is where a
    needle's dashed extended trajectory ends; ``caption`` is pasted with its top-left at
    ``caption_at``, above every mark.
    """

    kind: ShapeKind
    points: np.ndarray
    colour: tuple[int, int, int]  # RGB
    source: FrameSource = FrameSource.KEYFRAME
    selected: bool = False
    handle_px: float | None = None
    trajectory_end: tuple[float, float] | None = None
    caption: CaptionSprite | None = None
    caption_at: tuple[float, float] = (0.0, 0.0)


def _fixed(points: np.ndarray) -> np.ndarray:
    """Points as OpenCV's fixed-point int32 (``_SHIFT`` fractional bits), ``(n, 1, 2)``."""
    return np.round(np.asarray(points, dtype=np.float64) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _opaque(colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    r, g, b = colour
    return (int(b), int(g), int(r), 255)


def _roi(canvas: np.ndarray, points: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    """The canvas box ``(x0, y0, x1, y1)`` around ``points`` grown by ``pad``; None off it."""
    rows, columns = canvas.shape[:2]
    low = np.floor(points.min(axis=0) - pad)
    high = np.ceil(points.max(axis=0) + pad) + 1
    x0, y0 = max(int(low[0]), 0), max(int(low[1]), 0)
    x1, y1 = min(int(high[0]), columns), min(int(high[1]), rows)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def _blend_mask(canvas: np.ndarray, box: tuple[int, int, int, int], mask: np.ndarray, bgra):
    """Source-over of the premultiplied colour ``bgra`` where ``mask`` (an aliased shape,
    0 or 255) is set: one table lookup over the box and a masked copy, ~20x faster than
    indexing the pixels (a constant source makes source-over a function of each byte)."""
    x0, y0, x1, y1 = box
    roi = canvas[y0:y1, x0:x1]
    keep = 1.0 - float(bgra[3]) / 255.0
    values = np.arange(256, dtype=np.float64)[:, None]
    table = np.clip(values * keep + np.asarray(bgra, dtype=np.float64)[None, :] + 0.5, 0, 255)
    blended = cv2.LUT(roi, table.astype(np.uint8).reshape(256, 1, 4))
    cv2.copyTo(blended, mask, roi)


def _overlap(image: np.ndarray, patch: np.ndarray, origin: tuple[int, int]):
    """The parts of ``image`` and of ``patch`` (its top-left at ``origin``) that overlap,
    as ``(image view, patch view)``; None where they do not."""
    x, y = origin
    rows, columns = image.shape[:2]
    h, w = patch.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, columns), min(y + h, rows)
    if x0 >= x1 or y0 >= y1:
        return None
    return image[y0:y1, x0:x1], patch[y0 - y : y1 - y, x0 - x : x1 - x]


def _at(x: float, y: float) -> tuple[int, int]:
    """A point in OpenCV's fixed point (plain arithmetic: cheaper than arrays for one)."""
    return round(x * _ONE), round(y * _ONE)


def _disc(
    canvas: np.ndarray,
    centre: tuple[float, float],
    radius_px: float,
    colour: tuple[int, int, int, int],
    halo: tuple[float, float, float, float],
    halo_px: float,
) -> None:
    """An antialiased disc in ``colour`` inside a translucent ring (the app's markers: a
    brush in the colour under a halo pen centred on the radius). OpenCV's antialiasing
    blends every channel toward the colour by the coverage, which for a premultiplied
    canvas is source-over exactly on transparent pixels and very nearly on others."""
    at = _at(*centre)
    outer = radius_px + halo_px / 2.0
    ring = tuple(round(v) for v in halo)
    cv2.circle(canvas, at, round(outer * _ONE), ring, -1, cv2.LINE_AA, _SHIFT)
    inner = max(radius_px - halo_px / 2.0, 1.0)
    cv2.circle(canvas, at, round(inner * _ONE), colour, -1, cv2.LINE_AA, _SHIFT)


def _needle_ends(image: np.ndarray, mark: MarkDrawing, style: MarkStyle, colour) -> None:
    """The entry's small square and the tip's dot in a ring, aliased and opaque in
    ``colour`` (the image's channel order)."""
    width = style.line_width(mark.selected)
    thickness = max(1, round(width))
    (x0, y0), (x1, y1) = mark.points[0], mark.points[1]
    half = style.entry_half_px + width / 2.0
    cv2.rectangle(
        image, _at(x0 - half, y0 - half), _at(x0 + half, y0 + half), colour, -1, cv2.LINE_8, _SHIFT
    )
    tip = _at(x1, y1)
    dot = round((style.tip_dot_px + width / 2.0) * _ONE)
    cv2.circle(image, tip, dot, colour, -1, cv2.LINE_8, _SHIFT)
    cv2.circle(image, tip, round(style.tip_ring_px * _ONE), colour, thickness, cv2.LINE_8, _SHIFT)


def _vertex_marks(
    canvas: np.ndarray, points: np.ndarray, mark: MarkDrawing, style: MarkStyle, halo
) -> None:
    """A selected mark's vertices (``points``, on the premultiplied ``canvas``): dots, or
    square handles while an edit tool is on."""
    colour = _opaque(mark.colour)
    if mark.handle_px is None:
        for x, y in points:
            _disc(canvas, (x, y), style.vertex_dot_px, colour, halo, style.halo_width(True))
        return
    half = mark.handle_px / 2.0
    squares = [
        np.array(
            [(x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half)]
        )
        for x, y in points
    ]
    for square in squares:
        cv2.fillPoly(canvas, [_fixed(square)], colour, cv2.LINE_8, _SHIFT)
    box = _union_box(canvas, squares, 2)
    if box is not None:  # the handles' dark borders, one translucent shape
        x0, y0, x1, y1 = box
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.polylines(
            mask, [_fixed(q - (x0, y0)) for q in squares], True, 255, 1, cv2.LINE_8, _SHIFT
        )
        _blend_mask(canvas, box, mask, halo)


def _line(mark: MarkDrawing) -> np.ndarray:
    """The mark's line as drawn: a region's closed by its first point again."""
    points = mark.points
    if mark.kind == ShapeKind.REGION and len(points) > 2:
        return np.concatenate([points, points[:1]])
    return points


def _union_box(canvas: np.ndarray, lines: Sequence[np.ndarray], pad: float):
    return _roi(canvas, np.concatenate(lines), pad) if lines else None


def _fills(surface: _Surface, regions: Sequence[MarkDrawing], style: MarkStyle) -> None:
    """Regions' insides in their colour at the fill alpha: the first layer (on the app's
    canvas written straight: where two regions overlap the later one's fill shows, not
    a mix of both as in the app's scene)."""
    alpha = style.region_fill_alpha
    for mark in regions:
        points = np.asarray(mark.points, dtype=np.float64).reshape(-1, 2)
        if len(points) >= 3:
            surface.fill(points, mark.colour, alpha)


def _thin(
    mask: np.ndarray,
    lines: Sequence[np.ndarray],
    offset: tuple[int, int],
    value: int | tuple[int, ...] = 255,
) -> None:
    """``lines`` (each ``(n, 2)``, or dashes ``(k, 2, 2)``) one pixel wide into ``mask``."""
    curves = [line for line in lines if line.ndim == 2 and len(line)]
    if curves:
        fixed = np.round((np.concatenate(curves) - offset) * _ONE).astype(np.int32)
        parts = np.split(fixed, np.cumsum([len(c) for c in curves])[:-1])
        cv2.polylines(mask, parts, False, value, 1, cv2.LINE_8, _SHIFT)
    dashes = [line for line in lines if line.ndim == 3 and len(line)]
    if dashes:
        fixed = np.round((np.concatenate(dashes) - offset) * _ONE).astype(np.int32)
        cv2.polylines(mask, fixed, False, value, 1, cv2.LINE_8, _SHIFT)


#: A picture of one colour, kept to paint masks from (sliced to the size needed).
_solid_cache: dict[tuple[int, ...], np.ndarray] = {}


def _solid(colour: tuple[int, ...], rows: int, columns: int) -> np.ndarray:
    """``(rows, columns, len(colour))`` of ``colour``: a view of a kept picture."""
    kept = _solid_cache.get(colour)
    if kept is None or kept.shape[0] < rows or kept.shape[1] < columns:
        shape = (max(rows, 1), max(columns, 1))
        if kept is not None:
            shape = (max(shape[0], kept.shape[0]), max(shape[1], kept.shape[1]))
        if len(colour) == 4:
            b, g, r, a = colour
            packed = np.uint32(b | g << 8 | r << 16 | a << 24)  # the 4 bytes at once: fast
            kept = np.full(shape, packed, np.uint32).view(np.uint8).reshape(*shape, 4)
        else:
            kept = np.empty((*shape, len(colour)), np.uint8)
            kept[...] = colour
        if len(_solid_cache) > 16:
            _solid_cache.clear()
        _solid_cache[colour] = kept
    return kept[:rows, :columns]


def _premultiplied(colour: tuple[int, int, int], alpha: int) -> tuple[int, int, int]:
    return tuple(round(v * alpha / 255) for v in colour)


class _Canvas:
    """A transparent premultiplied BGRA canvas (the app's picture of the marks), the
    layers laid on it in order: a layer's pixels replace what is under them."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = pixels

    def ink(self, colour: tuple[int, int, int]) -> tuple[int, ...]:
        """``colour`` (RGB) opaque, for OpenCV's drawing calls."""
        return _opaque(colour)

    def _bgra(self, colour: tuple[int, int, int], alpha: int) -> tuple[int, int, int, int]:
        r, g, b = _premultiplied(colour, alpha)
        return (b, g, r, int(alpha))

    def paint(self, box, mask: np.ndarray, colour: tuple[int, int, int], alpha: int = 255):
        """``colour`` at ``alpha`` where ``mask`` (of the box) is set."""
        x0, y0, x1, y1 = box
        solid = _solid(self._bgra(colour, alpha), y1 - y0, x1 - x0)
        cv2.copyTo(solid, mask, self.pixels[y0:y1, x0:x1])

    def fill(self, points: np.ndarray, colour: tuple[int, int, int], alpha: int) -> None:
        # One polygon a call: OpenCV fills several by the even-odd rule (overlaps empty).
        bgra = self._bgra(colour, alpha)
        cv2.fillPoly(self.pixels, [_fixed(points)], bgra, cv2.LINE_8, _SHIFT)

    @contextlib.contextmanager
    def layer(self, box) -> Iterator[tuple[np.ndarray, tuple[int, int]]]:
        """Where translucent, antialiased shapes of ``box`` are drawn, and its origin:
        the canvas itself."""
        yield self.pixels, (0, 0)

    def paste(self, sprite: CaptionSprite, at: tuple[float, float]) -> None:
        """Source-over of a premultiplied sprite with its top-left at ``at`` (rounded)."""
        origin = (round(at[0]), round(at[1]))
        parts = _overlap(self.pixels, sprite.pixels, origin)
        if parts is None:
            return
        roi, pixels = parts
        _, keep = _overlap(self.pixels, sprite.keep, origin)
        kept = cv2.multiply(roi, keep, scale=1.0 / 255.0)
        cv2.add(pixels, kept, dst=roi)


class _Opaque:
    """An opaque RGB image (an exported frame), each layer laid over it (source-over)."""

    def __init__(self, pixels: np.ndarray) -> None:
        self.pixels = pixels

    def ink(self, colour: tuple[int, int, int]) -> tuple[int, ...]:
        return tuple(int(v) for v in colour)

    def paint(self, box, mask: np.ndarray, colour: tuple[int, int, int], alpha: int = 255):
        x0, y0, x1, y1 = box
        roi = self.pixels[y0:y1, x0:x1]
        if alpha >= 255:
            cv2.copyTo(_solid(self.ink(colour), y1 - y0, x1 - x0), mask, roi)
            return
        # Source-over of a constant colour is a scale and an offset of each byte: one
        # OpenCV pass (2-3x faster than a table lookup of three channels).
        keep = 1.0 - alpha / 255.0
        source = _premultiplied(colour, alpha)
        if len(set(source)) == 1:  # a grey (the halo's black): one offset for all
            blended = cv2.convertScaleAbs(roi, alpha=keep, beta=source[0])
        else:
            blended = cv2.addWeighted(roi, keep, _solid(source, y1 - y0, x1 - x0), 1.0, 0.0)
        cv2.copyTo(blended, mask, roi)

    def fill(self, points: np.ndarray, colour: tuple[int, int, int], alpha: int) -> None:
        box = _roi(self.pixels, points, 1)
        if box is None:
            return
        x0, y0, x1, y1 = box
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [_fixed(points - (x0, y0))], 255, cv2.LINE_8, _SHIFT)
        self.paint(box, mask, colour, alpha)

    @contextlib.contextmanager
    def layer(self, box) -> Iterator[tuple[np.ndarray, tuple[int, int]]]:
        """A transparent premultiplied BGRA patch of ``box`` and its origin, laid over
        the image when the block ends."""
        x0, y0, x1, y1 = box
        patch = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
        yield patch, (x0, y0)
        lay_over(self.pixels, patch, (x0, y0))

    def paste(self, sprite: CaptionSprite, at: tuple[float, float]) -> None:
        lay_over(self.pixels, sprite.pixels, (round(at[0]), round(at[1])))


_Surface = _Canvas | _Opaque


def _widened(box, lines, width_px: float) -> np.ndarray:
    """A mask of ``box`` with ``lines`` ``width_px`` wide: drawn one pixel wide and
    widened by a square dilation, which costs a fraction of OpenCV's thick lines (whose
    every joint and cap is a disc)."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    _thin(mask, lines, (x0, y0))
    width = max(1, round(width_px))
    if width > 1:
        mask = cv2.dilate(mask, np.ones((width, width), np.uint8))
    return mask


def _paint(
    surface: _Surface, box, lines, width_px: float, colour: tuple[int, int, int], alpha: int = 255
) -> None:
    """``lines`` ``width_px`` wide in ``colour`` (RGB) at ``alpha``."""
    surface.paint(box, _widened(box, lines, width_px), colour, alpha)


def _halos(
    surface: _Surface, marks: Sequence[MarkDrawing], lines: Sequence[np.ndarray], style: MarkStyle
) -> None:
    """The dark halo under every line, drawn over the fills and before any line: where
    two marks cross, neither line is darkened by the other's halo, and the halos do not
    darken each other (the app's scene stacks them). One shape for all of them, painted
    line by line in the box around each (the box around all of them is mostly empty:
    two planes across the image and a needle between them), each of its pixels once."""
    pad = style.halo_width(True) + 2
    for selected in (False, True):
        chosen = [
            line
            for mark, line in zip(marks, lines, strict=True)
            if mark.kind != ShapeKind.POINT and mark.selected == selected
        ]
        box = _union_box(surface.pixels, chosen, pad)
        if box is None:
            continue
        x0, y0 = box[:2]
        mask = _widened(box, chosen, style.halo_width(selected))
        for line in chosen:
            own = _roi(surface.pixels, line, pad)
            if own is None:
                continue
            part = mask[own[1] - y0 : own[3] - y0, own[0] - x0 : own[2] - x0]
            surface.paint(own, part, (0, 0, 0), style.halo_alpha)
            part[...] = 0  # painted: not again under the next line's box


def _by_colour(
    marks: Sequence[MarkDrawing], lines: Sequence[np.ndarray], width_px: float
) -> dict[tuple[int, int, int], list[np.ndarray]]:
    """The lines of ``marks`` as drawn (whole, or their dashes) by colour: one dash
    computation per pattern for all marks."""
    drawn: dict[tuple[int, int, int], list[np.ndarray]] = {}
    for pattern in {DASH_PATTERNS[mark.source] for mark in marks}:
        which = [i for i, mark in enumerate(marks) if DASH_PATTERNS[mark.source] == pattern]
        if pattern is None:
            for i in which:
                drawn.setdefault(marks[i].colour, []).append(lines[i])
            continue
        # Drawn one pixel wide and then widened by the line's width: shorter by as much.
        cap = -(max(round(width_px), 1) - 1) / 2.0
        dashes, line_index = dashes_by_line([lines[i] for i in which], pattern, width_px, cap)
        if not len(dashes):
            continue
        colours = sorted({marks[i].colour for i in which})
        colour_of = np.array([colours.index(marks[i].colour) for i in which])[line_index]
        order = np.argsort(colour_of, kind="stable")
        bounds = np.searchsorted(colour_of[order], np.arange(len(colours) + 1))
        for k, colour in enumerate(colours):
            if bounds[k + 1] > bounds[k]:
                drawn.setdefault(colour, []).append(dashes[order[bounds[k] : bounds[k + 1]]])
    return drawn


def _lines(
    surface: _Surface, marks: Sequence[MarkDrawing], lines: Sequence[np.ndarray], style: MarkStyle
) -> None:
    """Every line in its colour, solid or broken by its source, then the needles' dashed
    trajectories. The marks not selected (all of the same width) are drawn colour by
    colour, each in the box around its own lines only: one pixel wide into a one-channel
    mask, widened by a square dilation, painted on (a wide plane and a needle crossing
    it cover a fraction of the box around both; one four-channel layer over that box
    cost a frame twice as much, bench_media). A selected mark is drawn on its own, wider."""
    plain = [(m, line) for m, line in zip(marks, lines, strict=True) if m.kind != ShapeKind.POINT]
    chosen = [(m, line) for m, line in plain if m.selected]
    plain = [(m, line) for m, line in plain if not m.selected]
    if plain:
        drawn = _by_colour([m for m, _ in plain], [line for _, line in plain], style.line_px)
        for colour, parts in drawn.items():
            points = [part.reshape(-1, 2) for part in parts]
            box = _union_box(surface.pixels, points, style.line_px + 2)
            if box is not None:
                _paint(surface, box, parts, style.line_px, colour)
    width = style.line_width(True)
    for mark, line in chosen:
        pattern = DASH_PATTERNS[mark.source]
        cap = -(max(round(width), 1) - 1) / 2.0
        parts = [line] if pattern is None else [dash_segments([line], pattern, width, cap)]
        box = _union_box(surface.pixels, [line], width + 2)
        if box is not None:
            _paint(surface, box, parts, width, mark.colour)
    needles = [m for m in marks if m.kind == ShapeKind.NEEDLE and m.trajectory_end is not None]
    if needles:
        trajectories = [np.array([m.points[-1], m.trajectory_end]) for m in needles]
        pattern = DASH_PATTERNS[FrameSource.INTERPOLATED]
        dashes, line_index = dashes_by_line(trajectories, pattern, style.trajectory_px)
        for i, mark in enumerate(needles):
            mine = dashes[line_index == i]
            if len(mine):
                segments = np.round(mine * _ONE).astype(np.int32)
                ink = surface.ink(mark.colour)
                cv2.polylines(surface.pixels, segments, False, ink, 1, cv2.LINE_8, _SHIFT)


def _markers(surface: _Surface, mark: MarkDrawing, style: MarkStyle) -> None:
    """What a mark draws over its line: a needle's ends, a point's disc, the vertices of
    a selected mark. The antialiased, translucent ones on a layer of the box around them
    (on an opaque image, a transparent patch laid over it)."""
    halo = (0.0, 0.0, 0.0, float(style.halo_alpha))
    points = np.asarray(mark.points, dtype=np.float64).reshape(-1, 2)
    if mark.kind == ShapeKind.NEEDLE and len(points) >= 2:
        _needle_ends(surface.pixels, mark, style, surface.ink(mark.colour))
    if mark.kind == ShapeKind.POINT:
        halo_px = style.halo_width(mark.selected)
        box = _roi(surface.pixels, points[:1], style.point_radius_px + halo_px + 2)
        if box is None:
            return
        with surface.layer(box) as (canvas, (x0, y0)):
            x, y = points[0]
            colour = _opaque(mark.colour)
            _disc(canvas, (x - x0, y - y0), style.point_radius_px, colour, halo, halo_px)
    elif mark.selected:
        pad = max(style.vertex_dot_px + style.halo_width(True), (mark.handle_px or 0.0) / 2) + 2
        box = _roi(surface.pixels, points, pad)
        if box is None:
            return
        with surface.layer(box) as (canvas, (x0, y0)):
            _vertex_marks(canvas, points - (x0, y0), mark, style, halo)


def _draw(surface: _Surface, marks: Sequence[MarkDrawing], style: MarkStyle | None) -> None:
    style = style or MarkStyle()
    for mark in marks:
        mark.points = np.asarray(mark.points, dtype=np.float64).reshape(-1, 2)
    drawn = [mark for mark in marks if len(mark.points)]
    lines = [_line(mark) for mark in drawn]
    _fills(surface, [mark for mark in drawn if mark.kind == ShapeKind.REGION], style)
    _halos(surface, drawn, lines, style)
    _lines(surface, drawn, lines, style)
    for mark in drawn:
        _markers(surface, mark, style)
    for mark in drawn:
        if mark.caption is not None:
            surface.paste(mark.caption, mark.caption_at)


def draw_marks(
    canvas: np.ndarray, marks: Sequence[MarkDrawing], style: MarkStyle | None = None
) -> None:
    """Draw ``marks`` onto the transparent premultiplied BGRA ``canvas`` in place:
    regions' fills, the halos, the lines, the markers (needle ends, points, selected
    vertices), then the captions above them all (as the app stacks captions above every
    mark).

    By layers rather than mark by mark, so a busy frame costs a few OpenCV calls per
    colour; the one difference from the app's scene, where each mark paints its halo
    just before its line, is where two marks cross: here no halo darkens another line.
    """
    _draw(_Canvas(canvas), marks, style)


def draw_marks_over(
    rgb: np.ndarray, marks: Sequence[MarkDrawing], style: MarkStyle | None = None
) -> None:
    """:func:`draw_marks` straight onto an opaque ``(rows, columns, 3)`` uint8 RGB image,
    in place: each layer laid over it where it draws (source-over), as laying the
    canvas's picture over it would, within 2 levels, but where a halo crosses a region's
    fill (the fill shows through the halo, as in the app's scene, rather than being
    replaced by it)."""
    _draw(_Opaque(rgb), marks, style)


def lay_over(rgb: np.ndarray, bgra: np.ndarray, origin: tuple[int, int]) -> None:
    """Composite the premultiplied ``bgra`` patch onto ``rgb`` in place with its top-left
    at ``origin`` (cut by the image's edges).

    Source-over in 8-bit OpenCV arithmetic (saturating, rounded): ~10x faster than the
    float :func:`composite_over`, and within 1 of it."""
    parts = _overlap(rgb, bgra, origin)
    if parts is None:
        return
    roi, patch = parts
    keep = cv2.bitwise_not(cv2.extractChannel(patch, 3))
    # In place on the image's pixels (OpenCV writes into the view): no new image-sized
    # arrays, two passes fewer over a patch that may be most of the image.
    cv2.multiply(roi, cv2.cvtColor(keep, cv2.COLOR_GRAY2RGB), dst=roi, scale=1.0 / 255.0)
    cv2.add(roi, cv2.cvtColor(patch, cv2.COLOR_BGRA2RGB), dst=roi)


def composite_over(rgb: np.ndarray, overlay: np.ndarray, opacity: float = 1.0) -> np.ndarray:
    """``rgb`` (``(rows, columns, 3)`` uint8) with the premultiplied BGRA ``overlay`` of the
    same size laid over it at ``opacity``: a new RGB array (exports' frames)."""
    src = overlay.astype(np.float32) * float(opacity)
    keep = 1.0 - src[..., 3:4] / 255.0
    out = src[..., 2::-1] + rgb.astype(np.float32) * keep
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
