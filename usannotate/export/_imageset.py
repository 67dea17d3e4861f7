"""What the image-set exports (COCO, YOLO, masks) share: frames, marks, splits, PNGs.

No Qt. Frames stream as the viewer decodes them: decode, write, forget. Every mark says
where its geometry comes from (keyframe, tracked or interpolated), since ML users filter
on it.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from usannotate._atomic import write_atomically
from usannotate.annotations import FrameSource, Label, ShapeKind
from usannotate.export._common import (
    AnnotatedLoop,
    ExportError,
    FrameChoice,
    Progress,
    annotated_loop,
    frames_to_write,
)

__all__ = [
    "FrameProgress",
    "Mark",
    "PngWriter",
    "bbox",
    "frame_image",
    "image_name",
    "label_index",
    "loop_frames",
    "polygon_area",
    "split_loops",
    "write_png",
]


@dataclass(frozen=True)
class Mark:
    """One track's geometry on one frame, as an export writes it."""

    track_id: str
    label: Label
    points: np.ndarray  # (N, 2) (x, y) image px, (0, 0) the image's top-left corner
    source: FrameSource

    @property
    def kind(self) -> ShapeKind:
        return self.label.kind


def split_loops(loops: Sequence[Path], val_fraction: float, seed: int) -> dict[Path, str]:
    """``"train"`` or ``"val"`` for each loop: whole loops, never frames of one loop in
    both; ``round(val_fraction * loops)`` loops (at least one when the fraction is above
    0 and there are two loops or more) chosen with ``seed``.

    Raises
    ------
    ExportError
        ``val_fraction`` is not in ``[0, 1)``.
    """
    if not 0.0 <= val_fraction < 1.0 or math.isnan(val_fraction):
        raise ExportError(f"--val-fraction {val_fraction} must be 0 or more and below 1")
    n_val = round(val_fraction * len(loops))
    if val_fraction > 0 and len(loops) > 1:
        n_val = min(max(n_val, 1), len(loops) - 1)
    chosen = list(loops)
    random.Random(seed).shuffle(chosen)
    val = set(chosen[:n_val])
    return {loop: "val" if loop in val else "train" for loop in loops}


def image_name(dicom: Path, frame: int) -> str:
    """``<DICOM name without ending>_f<frame, 0-based, 5 digits>.png``."""
    return f"{dicom.name.rsplit('.', 1)[0]}_f{frame:05d}.png"


#: Per-frame progress of one loop: ``(frames done, frames of this loop)``.
FrameProgress = Callable[[int, int], None]


def loop_frames(
    loops: Sequence[Path],
    choice: FrameChoice,
    progress: Progress | None = None,
    frame_progress: FrameProgress | None = None,
) -> Iterator[tuple[AnnotatedLoop, Path, int, list[Mark]]]:
    """Each loop's frames to write, in order, with the marks on them (interpolated ones
    too); the loop is open while its frames are handed out. ``progress`` hears of each
    loop done, ``frame_progress`` of each frame (it may raise to stop the export)."""
    for done, dicom in enumerate(loops, 1):
        with annotated_loop(dicom) as work:
            labels = work.annotations.label_set
            chosen = frames_to_write(work.annotations, work.loop.n_frames, choice)
            for count, frame in enumerate(chosen):
                if frame_progress is not None:
                    frame_progress(count, len(chosen))
                marks = []
                for obj in work.annotations.objects:
                    found = obj.geometry(frame)
                    label = labels.get(obj.label_id)
                    if found is not None and label is not None:
                        marks.append(Mark(obj.id, label, found[0], found[1]))
                yield work, dicom, frame, marks
        if progress is not None:
            progress(done, len(loops), dicom.name)


def label_index(loops: Sequence[Path]) -> list[Label]:
    """The labels used by the loops' tracks, by id, in label-set order (first loop first):
    one class list for the whole export."""
    from usannotate.sidecar import load_sidecar, sidecar_path_for

    seen: dict[str, Label] = {}
    for dicom in loops:
        try:
            annotations = load_sidecar(sidecar_path_for(dicom)).annotations
        except Exception:
            continue  # reported, with its reason, when the loop itself is opened
        used = {o.label_id for o in annotations.objects}
        for label in annotations.label_set:
            if label.id in used and label.id not in seen:
                seen[label.id] = label
    return list(seen.values())


def frame_image(work: AnnotatedLoop, frame: int) -> np.ndarray:
    """Frame ``frame`` as RGB display pixels, or an ExportError naming it."""
    try:
        return work.loop.frame(frame)
    except Exception:  # a damaged frame: its decoder's words may quote nothing useful
        raise ExportError(f"{work.name}: frame {frame} cannot be decoded") from None


def write_png(path: Path, image: np.ndarray) -> None:
    """Write an RGB (or single-channel index) image as PNG, atomically."""
    pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    ok, encoded = cv2.imencode(".png", pixels)
    if not ok:
        raise ExportError(f"{path.name}: the PNG could not be encoded")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, encoded.tobytes())


class PngWriter:
    """Encodes and writes PNGs on two worker threads (OpenCV's encoder releases the GIL),
    at most :attr:`in_flight` images held at once; leaving the ``with`` block waits for
    them and raises the first failure."""

    in_flight = 6

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="png")
        self._slots = threading.BoundedSemaphore(self.in_flight)
        self._futures: list[Future[None]] = []

    def __enter__(self) -> PngWriter:
        return self

    def submit(self, path: Path, image: np.ndarray) -> None:
        """Write ``image`` to ``path`` soon (blocks while :attr:`in_flight` are pending)."""
        self._slots.acquire()
        self._check()
        future = self._pool.submit(write_png, path, image)
        future.add_done_callback(lambda _: self._slots.release())
        self._futures.append(future)

    def _check(self) -> None:
        pending = []
        for future in self._futures:
            if future.done():
                future.result()  # raises the worker's exception here
            else:
                pending.append(future)
        self._futures = pending

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True)
        if exc_info[0] is None:
            self._check()


def polygon_area(points: np.ndarray) -> float:
    """Area of a closed polygon in px2 (shoelace; the first point is not repeated)."""
    x, y = np.asarray(points, dtype=np.float64).T
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def bbox(points: np.ndarray) -> list[float]:
    """COCO's ``[x, y, width, height]`` of the points, px, 3 decimals."""
    low, high = points.min(axis=0), points.max(axis=0)
    return [round(float(v), 3) for v in (low[0], low[1], high[0] - low[0], high[1] - low[1])]
