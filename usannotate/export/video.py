"""Annotated video of a loop: H.264 MP4 through PyAV, else WebM/VP9 through OpenCV (no Qt).

Every frame of the loop at its own frame rate (times ``speed``), streamed: each frame is
decoded, drawn (:class:`~usannotate.export.annotated.AnnotatedLoop`), encoded and
forgotten before the next. H.264 in yuv420p with the ``faststart`` flag is what browsers
and PowerPoint play; PyAV's wheels carry libx264. The file is written next to OUT under
a temporary name and renamed over it at the end: a failure or a cancel leaves OUT as it
was.
"""

from __future__ import annotations

import contextlib
import os
import queue
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from usannotate._pipeline import opencv_single_threaded
from usannotate.export.annotated import AnnotatedLoop
from usannotate.export.errors import ExportCancelled, ExportError

__all__ = ["VideoResult", "h264_encoder", "write_video"]

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

#: H.264 encoders PyAV may carry, best first.
_H264_ENCODERS = ("libx264", "libopenh264")


@dataclass(frozen=True)
class VideoResult:
    """What a video export wrote."""

    output: Path
    n_frames: int
    fps: float
    codec: str  # "h264" or "vp9"
    size: tuple[int, int]
    notes: tuple[str, ...] = ()


def h264_encoder() -> str | None:
    """The name of an H.264 encoder PyAV can use here, or None."""
    try:
        import av
    except ImportError:
        return None
    for name in _H264_ENCODERS:
        try:
            av.codec.Codec(name, "w")
        except Exception:
            continue
        return name
    return None


def _rate(frame_time_ms: float, speed: float) -> Fraction:
    return Fraction(1000.0 * speed / frame_time_ms).limit_denominator(1001)


def write_video(
    media: AnnotatedLoop,
    output: str | os.PathLike[str],
    *,
    speed: float = 1.0,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    draw_threads: int | None = None,
) -> VideoResult:
    """Write every frame of ``media`` as a video to ``output``.

    ``draw_threads``: threads drawing the frames ahead of the encoder (None: one;
    more gained nothing on a busy 2-core machine, see the README's figures).

    ``output`` ending in ``.webm`` asks for VP9; otherwise H.264 MP4, or, when no H.264
    encoder is available, VP9 WebM beside it (``OUT.webm``; the result's ``notes`` say
    so). ``progress(done, total)`` per frame; ``cancelled()`` is asked between frames.

    Raises
    ------
    ExportError
        Bad speed, or the system refused the write (OUT left as it was).
    ExportCancelled
        ``cancelled()`` said so; nothing is left behind.
    """
    output = Path(output)
    if not (0.05 <= speed <= 20.0):
        raise ExportError(output.name, f"speed {speed:g} must be between 0.05 and 20")
    notes: list[str] = []
    encoder = None if output.suffix.lower() == ".webm" else h264_encoder()
    if encoder is None and output.suffix.lower() != ".webm":
        output = output.with_suffix(".webm")
        notes.append(f"no H.264 encoder available: wrote VP9 WebM ({output.name}) instead")
    rate = _rate(media.frame_time_ms, speed)
    output.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=".usannotate-video-", suffix=output.suffix, dir=output.parent
    )
    os.close(handle)
    try:
        with opencv_single_threaded():
            if encoder is not None:
                _encode_h264(media, temporary, encoder, rate, progress, cancelled, draw_threads)
                codec = "h264"
            else:
                _encode_vp9(media, temporary, rate, progress, cancelled)
                codec = "vp9"
        os.replace(temporary, output)
    except OSError as exc:
        _remove(temporary)
        raise ExportError(output.name, f"cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        _remove(temporary)
        raise
    return VideoResult(output, media.n_frames, float(rate), codec, media.size, tuple(notes))


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _check(index: int, total: int, progress: Progress | None, cancelled: Cancelled | None):
    if cancelled is not None and cancelled():
        raise ExportCancelled()
    if progress is not None:
        progress(index, total)


def _encode_h264(media, path, encoder, rate, progress, cancelled, draw_threads) -> None:
    import av
    import cv2

    width, height = media.size
    total = media.n_frames
    with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream(encoder, rate=rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if encoder == "libx264":
            # ultrafast: 2-4x faster than veryfast at 1024x768 (benchmarks/bench_media.py),
            # files ~1.5x larger. A constant quantizer of 22 rather than crf 20: as good or
            # better (PSNR 34.96 against 34.93 dB on the phantom, 40.4 and 41.0 against
            # 40.4 and 40.2 on the samples; the marks' pixels a little closer) in files
            # the same size to 10% larger, thin coloured lines on speckle clean, for ~17%
            # less of libx264's time (crf analyses a half-size copy of every frame to set
            # its quantizer). One thread: x264's frame threads cost ~10% more CPU a frame,
            # and the decoding and drawing threads keep the other core busy.
            stream.options = {"preset": "ultrafast", "qp": "22", "threads": "1"}
        # OpenCV's RGB -> I420 (BT.601, as swscale's default) is ~2x faster than handing
        # PyAV rgb24 frames to convert. Converted on the drawing thread, just drawn (the
        # frame still in that core's cache: on the encoder's thread, 16 frames later, it
        # cost up to 5x as much), into kept buffers the picture handed to the encoder is
        # a view of: no copy, no new frame-sized array (and its page faults) a frame.
        frames = _drawn_ahead(
            media,
            lambda rgb, out: cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420, dst=out),
            (height * 3 // 2, width),
            draw_threads,
        )
        picture_of = _pictures(width, height)
        try:
            for index, yuv in enumerate(frames):
                _check(index, total, progress, cancelled)
                # The encoder is done with the picture when encode() returns (libx264
                # and OpenH264 copy it in): the buffer may then be drawn into again.
                picture = picture_of(yuv)
                picture.pts = index  # in the stream's time base, 1 / frame rate
                for packet in stream.encode(picture):
                    container.mux(packet)
        finally:
            frames.close()
        for packet in stream.encode():
            container.mux(packet)
    if progress is not None:
        progress(total, total)


def _pictures(width: int, height: int) -> Callable[[np.ndarray], object]:
    """What makes an OpenCV I420 frame (``(height * 3 / 2, width)``) a PyAV ``yuv420p``
    picture: a view of it (``from_numpy_buffer``), or, where PyAV would take a view for
    a picture 2 rows short (it wants the height a multiple of 4), a copy into one picture
    kept for every frame."""
    import av

    if height % 4 == 0:
        return lambda yuv: av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p")
    picture = av.VideoFrame(width, height, "yuv420p")
    planes = _plane_views(picture)

    def filled(yuv: np.ndarray):
        _fill_planes(planes, yuv)
        return picture

    return filled


def _plane_views(picture) -> list[np.ndarray]:
    """The Y, U and V planes of a PyAV ``yuv420p`` picture as writable 2-D arrays (rows
    may be padded: the views are cut to the planes' widths)."""
    return [
        np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        for plane in picture.planes
    ]


def _fill_planes(planes: list[np.ndarray], yuv: np.ndarray) -> None:
    """Copy OpenCV's I420 frame (``(height * 3 / 2, width)``: Y, then U, then V, each
    plane's rows back to back) into ``planes``."""
    flat = yuv.reshape(-1)
    at = 0
    for plane in planes:
        size = plane.size
        np.copyto(plane, flat[at : at + size].reshape(plane.shape))
        at += size


def _drawn_ahead(
    media: AnnotatedLoop,
    convert: Callable[[np.ndarray, np.ndarray], np.ndarray],
    converted_shape: tuple[int, ...],
    workers: int | None = None,
) -> Iterator[np.ndarray]:
    """``convert(media.frame(i), out)`` for every frame, in order: the frames drawn and
    converted a few ahead on ``workers`` threads (None: one), each into ``out``, a kept
    ``converted_shape`` uint8 buffer. A frame handed out is the caller's until it asks
    for the next one: its buffer is then drawn into again (copy what is to be kept).

    OpenCV's drawing and libx264 release the GIL, so the drawing of the next frames and
    the encoding overlap. Each frame is decoded for this alone, on two threads of its
    own (the loop's cache and prefetch serve a viewer that comes back to frames; a
    video reads each once), into one of a few buffers kept for the whole loop, drawn on
    in place and converted: no copy of the whole frame, no new frame-sized array (and
    its page faults) each time. A frame the decoder does not decode into the buffer (a
    native loop's, a view of the file's bytes) is drawn into another kept buffer. At
    most a few frames wait (never the loop); closing the generator stops the threads."""
    from usannotate._pipeline import map_in_order, usable_cpus

    results: queue.Queue = queue.Queue(maxsize=_AHEAD)
    stop = threading.Event()
    # One by default: the drawing is partly Python (it holds the GIL), and on a loaded
    # 2-core machine a second thread was as often slower as faster (bench_media).
    workers = 1 if workers is None else workers

    # Buffers made when needed and kept: no more than the frames held at once (decoding
    # ahead, drawing or drawn in map_in_order, converted in the queue, the caller's).
    # The last one given back is taken first (deque's append and pop are atomic): the
    # warmest in the CPU's cache.
    decoded_shape = (media.loop.rows, media.loop.columns, 3)
    drawn_shape = (media.size[1], media.size[0], 3)
    for_decoding: deque[np.ndarray] = deque()
    for_drawing: deque[np.ndarray] = deque()
    for_converting: deque[np.ndarray] = deque()
    Kept = list[tuple[deque, np.ndarray]]  # the buffers a frame holds, and their pools

    def take(pool: deque[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        try:
            return pool.pop()
        except IndexError:
            return np.empty(shape, np.uint8)

    def give_back(kept: Kept) -> None:
        for pool, buffer in kept:
            pool.append(buffer)

    def decode(index: int) -> tuple[Kept, np.ndarray]:
        buffer = take(for_decoding, decoded_shape)
        try:
            # Its colour replicated, not interpolated: the video's 4:2:0 halves it again.
            pixels = media.loop.decode_frame(index, buffer, fast_chroma=True)
        except BaseException:
            for_decoding.append(buffer)
            raise
        if np.may_share_memory(pixels, buffer):
            return [(for_decoding, buffer)], pixels
        for_decoding.append(buffer)
        return [], pixels

    def draw_one(item: tuple[int, tuple[Kept, np.ndarray]]) -> np.ndarray:
        index, (kept, pixels) = item
        try:
            if pixels.flags.writeable and (kept or pixels.flags.owndata):
                drawn = media.draw(index, pixels, pixels)  # nobody else holds it
            else:
                buffer = take(for_drawing, drawn_shape)
                kept = [*kept, (for_drawing, buffer)]
                drawn = media.draw(index, pixels, buffer)
            out = take(for_converting, converted_shape)
            try:
                return convert(drawn, out)
            except BaseException:
                for_converting.append(out)
                raise
        finally:
            give_back(kept)

    def frames() -> Iterator[tuple[int, tuple[Kept, np.ndarray]]]:
        decoded = map_in_order(
            decode,
            range(media.n_frames),
            min(_DECODE_THREADS, usable_cpus()),
            name="usannotate-video-decode",
        )
        try:
            for index, item in enumerate(decoded):
                if stop.is_set():
                    return
                yield index, item
        finally:
            decoded.close()

    def draw() -> None:
        drawn = map_in_order(draw_one, frames(), workers, name="usannotate-video-draw")
        try:
            for item in drawn:
                _hand_over(item)
                if stop.is_set():
                    return
        except BaseException as exc:  # handed to the encoder's thread, raised there
            _hand_over(_Failed(exc))
        else:
            _hand_over(_DONE)
        finally:
            drawn.close()

    def _hand_over(item: object) -> None:
        while not stop.is_set():  # the encoder may have stopped reading
            try:
                results.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    thread = threading.Thread(target=draw, name="usannotate-video-draw", daemon=True)
    thread.start()
    try:
        while True:
            item = results.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            try:
                yield item
            finally:
                for_converting.append(item)
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True)
class _Failed:
    exc: BaseException


_DONE = object()
#: Frames drawn ahead of the encoder: enough for the drawing to run on while libx264
#: takes a core, and catch up when it waits (4 left ~12% of the machine idle, 16 ~9%;
#: bench_media). ~1.2 MB each (I420) at 1024 x 768.
_AHEAD = 16
#: Threads decoding the frames ahead of the drawing (as the loop's prefetch has).
_DECODE_THREADS = 2


def _encode_vp9(media, path, rate, progress, cancelled) -> None:
    import cv2

    width, height = media.size
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"VP90"), float(rate), (width, height))
    if not writer.isOpened():
        raise ExportError(Path(path).name, "no video encoder available (neither H.264 nor VP9)")
    total = media.n_frames
    try:
        for index in range(total):
            _check(index, total, progress, cancelled)
            writer.write(cv2.cvtColor(media.frame(index), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    if progress is not None:
        progress(total, total)
