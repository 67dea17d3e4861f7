"""The marks while the loop plays: drawn ahead in a worker process, shown as one picture.

At 60 frames a second with dozens of marks, painting every mark's scene item on the GUI
thread takes longer than a frame lasts, and a thread cannot share the work out: PySide6
holds the GIL through every QPainter call, and the Python between OpenCV calls on a
thread makes the GUI thread wait for the GIL (measured: a 0.3 ms step of the GUI thread
took 4 to 8 ms at the 95th percentile with one or two drawing threads). So while the loop
plays, :class:`PlaybackMarks` has the marks of the frames ahead drawn by a worker process
(:mod:`usannotate.render.worker`, OpenCV, no Qt) into pictures of the viewport, from a
:class:`~usannotate.render.scene.Scene` (every track's look, the view's transform, the
selection, the captions' pictures and places) and the marks themselves, whose geometry on
every frame the worker works out.
The frame on screen then costs the GUI thread one picture. Whatever is not drawn in time,
or was drawn for a scene that no longer holds (an edit, a zoom), is drawn by the scene
items as before, so what is on screen never depends on the worker keeping up.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections import deque
from concurrent.futures import Future, InvalidStateError, ProcessPoolExecutor

import numpy as np
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QStyleOptionGraphicsItem

from usannotate.annotations import Annotations, FrameSource
from usannotate.render import worker
from usannotate.render.ahead import RenderAhead
from usannotate.render.marks import CaptionSprite
from usannotate.render.scene import MarksPicture, Scene, TrackLook
from usannotate.ui.viewer._worker_link import Dispatcher, Slots
from usannotate.ui.viewer.marks import CAPTION_SUFFIXES, AnnotationLayer, _caption

__all__ = ["MIN_TRACKS", "MarksPictureItem", "PlaybackMarks", "caption_sprite"]

_log = logging.getLogger(__name__)

#: Pictures are drawn ahead for loops with at least this many tracks; fewer marks are
#: drawn by the scene items faster than a picture travels (measured: a fluid region and a
#: needle at 60 fps missed 8 frames of 599 drawn by the items, 20 as pictures).
MIN_TRACKS = 8
#: Over the last ``_RECENT_FRAMES`` frames played, at least this share must be pictures, or
#: the window draws the marks itself until playback stops.
_RECENT_FRAMES = 30
_KEEPING_UP = 0.5
#: Seconds of playback after giving up before pictures are asked for again: the worker
#: may have been short of CPU for a moment only (another program, the first frames).
_RETRY_AFTER_S = 3.0
#: How long the GUI thread waits for a frame's picture, being drawn or still queued,
#: before it draws the marks with the scene's items instead. Drawing them costs the GUI
#: thread longer than the wait and takes the CPU the worker needs, so that the next
#: pictures are late too: waiting (which costs no CPU) lets the worker catch up.
_WAIT_S = 0.012


def caption_sprite(text: str, colour: QColor, point_size: float, dpr: float) -> CaptionSprite:
    """A caption painted by the scene's own caption items (plate and text) into a
    picture, so it looks the same while playing as on a still frame."""
    plate = _caption(text, colour, None, point_size)
    label = plate.text_item  # type: ignore[attr-defined]
    rect = plate.rect()
    width = max(1, int(np.ceil(rect.width() * dpr)))
    height = max(1, int(np.ceil(rect.height() * dpr)))
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.scale(dpr, dpr)
    painter.translate(-rect.topLeft())
    option = QStyleOptionGraphicsItem()
    plate.paint(painter, option, None)
    painter.translate(label.pos())
    label.paint(painter, option, None)
    painter.end()
    pixels = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    pixels = pixels.reshape(height, image.bytesPerLine())[:, : 4 * width].reshape(height, width, 4)
    return CaptionSprite(pixels.copy())


class MarksPictureItem(QGraphicsItem):
    """Shows a :class:`~usannotate.render.scene.MarksPicture` at its place in the
    viewport, where the marks' items are (above the frame and overlays, under the
    tools' rubber bands)."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(15)
        self._image = QImage()
        self._origin = QPointF()
        self._buffer: np.ndarray | None = None  # the QImage's memory
        self._bounds = QRectF()
        self.opacity_level = 1.0
        self.paint_count = 0

    def set_picture(self, picture: MarksPicture | None, dpr: float, bounds: QRectF) -> None:
        """Show ``picture`` (None: no mark on this frame), which covers ``bounds`` of the
        scene."""
        if bounds != self._bounds:
            self.prepareGeometryChange()
            self._bounds = QRectF(bounds)
        if picture is None:
            self._buffer, self._image = None, QImage()
        else:
            pixels = np.ascontiguousarray(picture.pixels)
            rows, columns = pixels.shape[:2]
            self._buffer = pixels
            image = QImage(
                pixels.data, columns, rows, 4 * columns, QImage.Format.Format_ARGB32_Premultiplied
            )
            image.setDevicePixelRatio(dpr)
            self._image = image
            self._origin = QPointF(picture.origin[0] / dpr, picture.origin[1] / dpr)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self._image.isNull():
            return
        painter.save()
        painter.resetTransform()
        painter.setOpacity(self.opacity_level)
        painter.drawImage(self._origin, self._image)
        painter.restore()
        self.paint_count += 1


class PlaybackMarks:
    """Has the marks of the frames ahead drawn while the loop plays and shows them in
    place of the layer's items (see the module's docstring)."""

    def __init__(self, view: QGraphicsView, layer: AnnotationLayer) -> None:
        self._view = view
        self._layer = layer
        #: Frames shown from a picture drawn ahead, and by the scene items instead.
        self.frames_from_pictures = 0
        self.frames_from_items = 0
        #: Whether each of the last frames played was a picture (see _falling_behind).
        self._recent: deque[bool] = deque(maxlen=_RECENT_FRAMES)
        self._given_up = False
        self._given_up_at = 0.0
        #: The clock the retry after giving up goes by (tests set their own).
        self.clock = time.monotonic
        self._ahead: RenderAhead[MarksPicture] = RenderAhead()
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False
        self.item = MarksPictureItem()
        self.item.setVisible(False)
        view.scene().addItem(self.item)
        #: Bumped by :meth:`marks_changed`; the worker holds the marks of ``_marks_sent``.
        self._marks_version = 0
        self._marks_sent: int | None = None
        self._table_id = 0
        self._scene_key: tuple | None = None
        self._scene_id = 0
        self._dpr = 1.0
        self._sprites: dict[tuple, CaptionSprite] = {}
        self._slots = Slots()
        self._dispatcher = Dispatcher()

    # ------------------------------------------------------------------ showing
    def prepared(self, frame: int, n_frames: int) -> bool:
        """The frames after ``frame`` are drawn (playing from there starts with pictures)."""
        return n_frames > 1 and self._ahead.ready((frame + 1) % n_frames)[0]

    @property
    def showing(self) -> bool:
        """The marks on screen are a picture drawn ahead (not the layer's items)."""
        return self.item.isVisible()

    def show(
        self,
        annotations: Annotations | None,
        frame: int,
        n_frames: int,
        selected_id: str | None = None,
    ) -> bool:
        """Show the marks of ``frame`` (``selected_id`` the selected mark) from a picture
        drawn ahead, hiding the layer's items; False (the layer draws them) when there is
        none in time."""
        if self._given_up and self.clock() - self._given_up_at >= _RETRY_AFTER_S:
            self._given_up = False  # try the worker again
            self._recent.clear()
        if (
            annotations is None
            or len(annotations.objects) < MIN_TRACKS
            or self._given_up
            or not self._start()
        ):
            self.hide()
            return False
        self._send(annotations, n_frames, selected_id)
        self._ahead.follow(frame, n_frames)
        drawn, picture = self._ahead.wait_for(frame, _WAIT_S, queued=True)
        self._recent.append(drawn)
        if not drawn:
            self.hide()
            self.frames_from_items += 1
            if self._falling_behind():
                self._give_up()
            return False
        self.item.opacity_level = self._layer.opacity
        self.item.set_picture(picture, self._dpr, self._picture_bounds(picture))
        self._layer.set_items_visible(False)
        self.item.setVisible(True)
        self.frames_from_pictures += 1
        return True

    def _falling_behind(self) -> bool:
        """Most of the last frames were not drawn in time: the machine has no core to
        spare for the worker, whose drawing then only slows the window down."""
        recent = self._recent
        return len(recent) == recent.maxlen and sum(recent) < _KEEPING_UP * len(recent)

    def _give_up(self) -> None:
        """The scene items draw the marks for a while (:data:`_RETRY_AFTER_S`) or until
        playback stops (the pictures asked for are cancelled, so the worker leaves the
        cores to the window)."""
        self._given_up = True
        self._given_up_at = self.clock()
        self._ahead.reset(None)
        self._scene_key = None
        _log.info("marks drawn by the window: the worker does not keep up on this machine")

    @property
    def given_up(self) -> bool:
        """This playback stopped asking for pictures (see :meth:`_falling_behind`)."""
        return self._given_up

    def _picture_bounds(self, picture: MarksPicture | None) -> QRectF:
        """Where ``picture`` lies in the scene (the view draws the items there)."""
        if picture is None:
            return QRectF()
        rows, columns = picture.pixels.shape[:2]
        x, y = picture.origin
        dpr = self._dpr
        area = QRectF(x / dpr, y / dpr, columns / dpr, rows / dpr).toAlignedRect()
        return self._view.mapToScene(area.adjusted(-1, -1, 1, 1)).boundingRect()

    def hide(self) -> None:
        """Back to the layer's items (playback stopped, or no picture for this frame)."""
        if self.item.isVisible():
            self.item.setVisible(False)
        self._layer.set_items_visible(True)

    def marks_changed(self) -> None:
        """The marks were edited (or another loop or session): the worker needs them anew."""
        self._marks_version += 1
        self._ahead.reset(None)

    def prepare_playback(
        self, annotations: Annotations | None, frame: int, n_frames: int, selected_id: str | None
    ) -> None:
        """The loop is still on ``frame``: give the worker the marks and the scene now and
        have the frames after this one drawn, so that playing starts with pictures."""
        if annotations is None or len(annotations.objects) < MIN_TRACKS or not self._start():
            return
        self._send(annotations, n_frames, selected_id)
        self._ahead.follow(frame, n_frames)

    def stop(self) -> None:
        """Playback stopped (the worker keeps the marks and the scene)."""
        self.hide()
        self.frames_from_items = 0
        self._recent.clear()
        self._given_up = False

    def prepare(self) -> Future | None:
        """Start the worker process now (it takes a moment) rather than at the first
        play; the future is done once it is up (None: no worker process)."""
        if not self._start():
            return None
        try:
            return self._submit(worker.ready)
        except Exception as error:
            _log.warning("the worker process drawing the marks did not start: %s", error)
            return None

    def shutdown(self) -> None:
        """Stop the worker process (the window closes)."""
        self._ahead.reset(None)
        self._dispatcher.stop()
        if self._pool is not None:
            # Waits for the call in progress (at most a set_marks, about a second): the
            # shared memory is unlinked once the worker no longer attaches to it.
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._slots.close()

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Block until the pictures asked for are drawn (tests, benchmarks)."""
        return self._ahead.wait(timeout_s)

    # ------------------------------------------------------------------ worker
    def _start(self) -> bool:
        if self._pool is not None:
            return True
        if self._broken:
            return False
        try:
            # "spawn": a fork of a process running Qt is not safe; the worker imports
            # only the core (numpy, OpenCV), no Qt.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        except (OSError, RuntimeError) as error:
            _log.warning("no worker process for playback; marks drawn in the window: %s", error)
            self._broken = True
            return False
        self._marks_sent = None
        self._scene_key = None
        return True

    def _submit(self, function, *args) -> Future:
        assert self._pool is not None
        try:
            return self._pool.submit(function, *args)
        except Exception:  # the worker died (BrokenProcessPool) or the pool is shut
            self._pool = None
            raise

    def _send(self, annotations: Annotations, n_frames: int, selected_id: str | None) -> None:
        """Send the worker what changed since the last frame: the marks after an edit,
        the scene after a change of view, selection or captions; then frames are asked
        for with what they were sent."""
        key = self._scene_key_now(annotations, selected_id)
        if self._marks_sent == self._marks_version and key == self._scene_key:
            return
        self._ahead.reset(None)
        try:
            if self._marks_sent != self._marks_version:
                self._table_id += 1
                # Copies: the GUI edits its objects while these wait to be sent.
                objects = [obj.copy() for obj in annotations.objects]
                self._submit(worker.set_marks, self._table_id, objects, n_frames)
                self._marks_sent = self._marks_version
            if key != self._scene_key:
                scene = self._scene(annotations, selected_id)
                columns, rows = scene.size
                self._slots.ensure(self._ahead.frames_ahead + 4, rows * columns * 4)
                self._scene_id += 1
                self._submit(worker.set_scene, self._scene_id, scene, self._slots.names())
                self._scene_key = key
        except Exception as error:
            _log.warning("the worker process drawing the marks is gone: %s", error)
            self._marks_sent, self._scene_key = None, None
            return
        table_id, scene_id = self._table_id, self._scene_id
        self._ahead.reset(lambda frame: self._render(table_id, scene_id, frame))

    def _render(self, table_id: int, scene_id: int, frame: int) -> Future:
        """Ask the worker for ``frame``'s picture in a free shared memory block: the
        future of the :class:`MarksPicture` (or None) read back from it."""
        slot = self._slots.take()
        if slot is None:
            raise RuntimeError("every picture block is in flight")
        index, generation = slot
        name = self._slots.names()[index]
        outer: Future = Future()
        sent: list[Future] = []

        def send() -> None:  # on the dispatching thread
            if outer.cancelled():
                self._slots.give(index, generation)
                return
            try:
                inner = self._submit(worker.render, table_id, scene_id, frame, name)
            except Exception as error:
                self._slots.give(index, generation)
                if not outer.done():
                    outer.set_exception(error)
                return
            sent.append(inner)
            outer.add_done_callback(lambda f: inner.cancel() if f.cancelled() else None)
            inner.add_done_callback(finished)

        def finished(done: Future) -> None:
            try:
                if done.cancelled():
                    outer.cancel()
                    return
                result = done.result()
                picture = None
                if result is not None:
                    (rows, columns), origin = result
                    pixels = self._slots.read(index, generation, rows, columns)
                    if pixels is None:
                        raise worker.StaleRequest(f"frame {frame}: picture blocks replaced")
                    picture = MarksPicture(pixels, origin)
                outer.set_result(picture)
            except InvalidStateError:  # the outer future was cancelled meanwhile
                pass
            except Exception as error:
                if not outer.done():
                    outer.set_exception(error)
            finally:
                self._slots.give(index, generation)

        # RenderAhead.wait_for asks whether the worker has started on it.
        outer.started = lambda: bool(sent) and sent[0].running()  # type: ignore[attr-defined]
        self._dispatcher.put(send)
        return outer

    def _view_key(self) -> tuple:
        view = self._view
        t: QTransform = view.viewportTransform()
        viewport = view.viewport()
        return (
            (t.m11(), t.m12(), t.m21(), t.m22(), t.dx(), t.dy()),
            (viewport.width(), viewport.height()),
            viewport.devicePixelRatioF(),
        )

    def _scene_key_now(self, annotations: Annotations, selected_id: str | None) -> tuple:
        layer = self._layer
        return (
            id(annotations),
            self._view_key(),
            frozenset(layer.hidden_labels),
            layer.show_trajectory,
            layer.show_handles,
            layer.handle_size_px,
            layer.show_captions,
            layer.caption_point_size,
            selected_id,
            tuple(sorted(layer.caption_offsets().items())),
        )

    def _scene(self, annotations: Annotations, selected_id: str | None) -> Scene:
        layer = self._layer
        (m11, m12, m21, m22, dx, dy), (width, height), dpr = self._view_key()
        self._dpr = dpr
        offsets = layer.caption_offsets()
        tracks = []
        for obj in annotations.objects:
            label = annotations.label_set.get(obj.label_id)
            if label is None or obj.label_id in layer.hidden_labels:
                continue
            captions = None
            if layer.show_captions:
                name = obj.name or label.name
                captions = {
                    source: self._sprite(name + CAPTION_SUFFIXES[source], label.colour, dpr)
                    for source in FrameSource
                }
            colour = QColor(label.colour)
            tracks.append(
                TrackLook(
                    obj.id,
                    label.kind,
                    (colour.red(), colour.green(), colour.blue()),
                    obj.id == selected_id,
                    captions,
                    offsets.get(obj.id),
                )
            )
        bounds = None
        if layer.bounds is not None:
            b = layer.bounds
            bounds = (b.left(), b.top(), b.right(), b.bottom())
        return Scene(
            tuple(tracks),
            np.array([[m11, m21], [m12, m22]], dtype=np.float64) * dpr,
            np.array([dx, dy], dtype=np.float64) * dpr,
            max(m11, 1e-6),
            (round(width * dpr), round(height * dpr)),
            dpr,
            bounds,
            layer.show_trajectory,
            layer.handle_size_px if layer.show_handles else None,
        )

    def _sprite(self, text: str, colour: str, dpr: float) -> CaptionSprite:
        key = (text, colour, self._layer.caption_point_size, dpr)
        sprite = self._sprites.get(key)
        if sprite is None:
            sprite = caption_sprite(text, QColor(colour), self._layer.caption_point_size, dpr)
            self._sprites[key] = sprite
        return sprite
