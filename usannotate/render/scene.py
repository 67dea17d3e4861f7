"""What the marks of a frame look like on a screen or in a video: tracks, view, one picture.

A :class:`Scene` fixes everything but the frame: each track's look (kind, colour,
selection, caption pictures and where the caption sits), the transform from image pixels
to the picture's, and the options; a :class:`GeometryTable` holds every track's points on
every frame. :func:`render_frame` draws one frame's marks into a :class:`MarksPicture`.
All of it is plain data (no Qt), so it can be drawn on a worker thread or sent to a worker
process (:mod:`usannotate.render.worker`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np

from usannotate.annotations import FrameSource, ShapeKind
from usannotate.render.marks import CaptionSprite, MarkDrawing, draw_marks, draw_marks_over
from usannotate.render.placement import (
    Bounds,
    default_caption_offset,
    first_anchor,
    follow_captions,
    handle_side_px,
    trajectory_end,
)
from usannotate.render.style import MarkStyle

__all__ = [
    "GeometryTable",
    "MarksPicture",
    "Scene",
    "TrackLook",
    "render_frame",
    "render_frame_over",
]

#: Pixels of the picture around the marks (halos, markers, tip rings), at 1x.
_PAD_PX = 14.0
_SOURCES = tuple(FrameSource)


@dataclass(frozen=True)
class TrackLook:
    """How one track is drawn: its kind and colour, whether it is selected, its caption's
    picture for each source of geometry (the text says the source; None: no caption) and
    where the caption sits from the mark's first anchor (screen px; None: never laid out)."""

    object_id: str
    kind: ShapeKind
    colour: tuple[int, int, int]
    selected: bool = False
    captions: Mapping[FrameSource, CaptionSprite] | None = None
    caption_offset_px: tuple[float, float] | None = None


@dataclass(frozen=True)
class Scene:
    """Everything a frame's picture depends on but the frame.

    ``linear`` and ``offset`` map image px to picture px (``points @ linear.T + offset``);
    ``scale`` is screen px per image px (the zoom, for sizes constant on screen) and
    ``dpr`` the picture's pixels per screen pixel; ``size`` the picture's (width, height).
    """

    tracks: tuple[TrackLook, ...]
    linear: np.ndarray
    offset: np.ndarray
    scale: float
    size: tuple[int, int]
    dpr: float = 1.0
    bounds: Bounds | None = None
    show_trajectory: bool = True
    #: Selected marks draw square handles of at most this side (screen px); None: dots.
    handle_size_px: float | None = None


@dataclass(frozen=True)
class MarksPicture:
    """The marks of one frame: premultiplied BGRA pixels and their top-left corner in
    the picture (its pixels)."""

    pixels: np.ndarray
    origin: tuple[int, int]


@dataclass
class _PackedTrack:
    frames: np.ndarray  # (m,) int, sorted
    starts: np.ndarray  # (m + 1,) int: frame k's points are points[starts[k]:starts[k + 1]]
    points: np.ndarray  # (total, 2) float64
    sources: np.ndarray  # (m,) uint8, an index into FrameSource
    _index: dict[int, int] | None = field(default=None, repr=False)

    def get(self, frame: int) -> tuple[np.ndarray, FrameSource] | None:
        if self._index is None:
            self._index = {int(f): k for k, f in enumerate(self.frames)}
        k = self._index.get(frame)
        if k is None:
            return None
        return self.points[self.starts[k] : self.starts[k + 1]], _SOURCES[self.sources[k]]

    def __getstate__(self) -> dict:
        return {
            "frames": self.frames,
            "starts": self.starts,
            "points": self.points,
            "sources": self.sources,
        }

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._index = None


class GeometryTable:
    """Every track's points and source on every frame, packed in a few arrays per track
    (cheap to send to another process)."""

    def __init__(self, tracks: Mapping[str, _PackedTrack] | None = None) -> None:
        self._tracks: dict[str, _PackedTrack] = dict(tracks or {})

    @classmethod
    def pack(
        cls, geometry: Mapping[str, Mapping[int, tuple[np.ndarray, FrameSource]]]
    ) -> GeometryTable:
        """From ``{object id: {frame: (points, source)}}``."""
        packed = {}
        for object_id, by_frame in geometry.items():
            frames = sorted(by_frame)
            arrays = [np.asarray(by_frame[f][0], dtype=np.float64).reshape(-1, 2) for f in frames]
            counts = [len(a) for a in arrays]
            packed[object_id] = _PackedTrack(
                np.asarray(frames, dtype=np.int64),
                np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                np.concatenate(arrays) if arrays else np.zeros((0, 2)),
                np.asarray([_SOURCES.index(FrameSource(by_frame[f][1])) for f in frames], np.uint8),
            )
        return cls(packed)

    def get(self, object_id: str, frame: int) -> tuple[np.ndarray, FrameSource] | None:
        track = self._tracks.get(object_id)
        return track.get(frame) if track is not None else None

    def object_ids(self) -> Iterable[str]:
        return self._tracks.keys()

    def __getstate__(self) -> dict:
        return {"tracks": self._tracks}

    def __setstate__(self, state: dict) -> None:
        self._tracks = state["tracks"]


def _style(dpr: float) -> MarkStyle:
    """The marks' sizes in picture pixels (a high-density screen has ``dpr`` per pixel)."""
    base = MarkStyle()
    if dpr == 1.0:
        return base
    scaled = {
        f.name: getattr(base, f.name) * dpr
        for f in fields(base)
        if isinstance(getattr(base, f.name), float)
    }
    return replace(base, **scaled)


def _captions_at(scene: Scene, found: list, sprites: list[CaptionSprite]) -> np.ndarray:
    """Where each caption's plate goes (picture px, ``(n, 2)``): following its mark
    (:func:`~usannotate.render.placement.follow_captions`)."""
    sizes = np.array([sprite.size for sprite in sprites], dtype=np.float64) / scene.dpr
    anchors = np.array([first_anchor(track.kind, points) for track, points, _ in found])
    offsets = np.array(
        [
            track.caption_offset_px
            if track.caption_offset_px is not None
            else default_caption_offset(height)
            for (track, _, _), (_, height) in zip(found, sizes, strict=True)
        ],
        dtype=np.float64,
    )
    xy = follow_captions(anchors, offsets, sizes, scene.scale, scene.bounds)
    return xy @ scene.linear.T + scene.offset


def render_frame(scene: Scene, table: GeometryTable, frame: int) -> MarksPicture | None:
    """The marks of ``frame`` as a :class:`MarksPicture` cut to where they are (None: no
    mark on the frame, or none in the picture).

    Arrays for all marks at once where it can (one transform, one placement of every
    caption): on a worker thread its Python holds the GIL the GUI thread needs.
    """
    laid_out = _lay_out(scene, table, frame)
    if laid_out is None:
        return None
    marks, (low, high) = laid_out
    dpr = scene.dpr
    low = low - _PAD_PX * dpr
    high = high + _PAD_PX * dpr
    columns, rows = scene.size
    x0, y0 = max(int(low[0]), 0), max(int(low[1]), 0)
    x1, y1 = min(int(np.ceil(high[0])), columns), min(int(np.ceil(high[1])), rows)
    if x0 >= x1 or y0 >= y1:
        return None
    shift = np.array([x0, y0], dtype=np.float64)
    for mark in marks:
        mark.points = mark.points - shift
        if mark.trajectory_end is not None:
            mark.trajectory_end = (mark.trajectory_end[0] - x0, mark.trajectory_end[1] - y0)
        mark.caption_at = (mark.caption_at[0] - x0, mark.caption_at[1] - y0)
    canvas = np.zeros((y1 - y0, x1 - x0, 4), np.uint8)
    draw_marks(canvas, marks, _style(dpr))
    return MarksPicture(canvas, (x0, y0))


def render_frame_over(scene: Scene, table: GeometryTable, frame: int, rgb: np.ndarray) -> None:
    """The marks of ``frame`` drawn straight onto ``rgb``, the ``scene.size`` opaque RGB
    picture under them (an exported frame), in place
    (:func:`~usannotate.render.marks.draw_marks_over`): what :func:`render_frame`'s
    picture laid over ``rgb`` shows, without the transparent picture of the box around
    every mark."""
    laid_out = _lay_out(scene, table, frame)
    if laid_out is not None:
        draw_marks_over(rgb, laid_out[0], _style(scene.dpr))


def _lay_out(
    scene: Scene, table: GeometryTable, frame: int
) -> tuple[list[MarkDrawing], tuple[np.ndarray, np.ndarray]] | None:
    """The frame's marks in picture pixels, their captions placed, and the corners of
    what they cover (before any padding); None: no mark on the frame."""
    found = []
    for track in scene.tracks:
        geometry = table.get(track.object_id, frame)
        if geometry is not None and len(geometry[0]):
            found.append((track, np.asarray(geometry[0], dtype=np.float64), geometry[1]))
    if not found:
        return None
    dpr = scene.dpr
    image_points = [points for _, points, _ in found]
    device_all = np.concatenate(image_points) @ scene.linear.T + scene.offset
    devices = np.split(device_all, np.cumsum([len(p) for p in image_points])[:-1])
    corners = [device_all.min(axis=0), device_all.max(axis=0)]
    marks = []
    for (track, points, source), device in zip(found, devices, strict=True):
        end = None
        if track.kind == ShapeKind.NEEDLE and scene.show_trajectory and len(points) >= 2:
            tip_end = trajectory_end(tuple(points[0]), tuple(points[1]), scene.bounds)
            end_xy = np.asarray(tip_end) @ scene.linear.T + scene.offset
            end = (float(end_xy[0]), float(end_xy[1]))
            corners.append(end_xy)
        handle_px = None
        if track.selected and scene.handle_size_px is not None:
            handle_px = handle_side_px(points, scene.scale, scene.handle_size_px) * dpr
        marks.append(
            MarkDrawing(track.kind, device, track.colour, source, track.selected, handle_px, end)
        )
    captioned = [i for i, (track, _, _) in enumerate(found) if track.captions is not None]
    if captioned:
        sprites = [found[i][0].captions[found[i][2]] for i in captioned]
        at = _captions_at(scene, [found[i] for i in captioned], sprites)
        for i, sprite, xy in zip(captioned, sprites, at, strict=True):
            marks[i].caption = sprite
            marks[i].caption_at = (float(xy[0]), float(xy[1]))
        sizes = np.array([sprite.size for sprite in sprites], dtype=np.float64)
        corners.extend([at.min(axis=0), (at + sizes).max(axis=0)])
    return marks, (np.min(corners, axis=0), np.max(corners, axis=0))
