"""Every track's geometry on every frame, computed on a worker so playback only looks it up.

Playback looks the marks' points up instead of interpolating them on the GUI thread.

Playback at 60 fps leaves about 16 ms a frame for everything: decoding is already done
ahead by the loop's prefetch threads; this does the same for the marks. The table is
dropped at every edit (the state's ``marksChanged``) and built again in the background
while the loop plays; until it is ready, and for a track it does not know, the geometry
is computed on the spot as before, so what is drawn never depends on the worker.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from usannotate.annotations import AnnotatedObject, Annotations, FrameSource
from usannotate.ui.workers import BackgroundJob, JobContext

__all__ = ["GeometryCache"]

Geometry = tuple[np.ndarray, FrameSource]


def _all_frames(
    context: JobContext, snapshot: list[tuple[AnnotatedObject, AnnotatedObject]], n_frames: int
) -> dict[str, tuple[AnnotatedObject, dict[int, Geometry]]]:
    """On the worker: each object's geometry on every frame, from copies of the objects
    (their point arrays are never changed in place, so sharing them is safe)."""
    table = {}
    for original, copy in snapshot:
        if context.cancelled.is_set():
            break
        table[original.id] = (original, copy.all_geometry(n_frames))
    return table


class GeometryCache(QObject):
    """The marks' geometry per frame for the layer (see :meth:`geometry`)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = BackgroundJob("mark geometry", self)
        self._job.finished.connect(self._on_built)
        self._table: dict[str, tuple[AnnotatedObject, dict[int, Geometry]]] = {}
        self._source: tuple[Annotations, int] | None = None
        self._built = False

    @property
    def is_ready(self) -> bool:
        """The table holds every track of the annotations last given to :meth:`reset`."""
        return self._built

    def reset(self, annotations: Annotations | None, n_frames: int) -> None:
        """The marks changed (or another loop or session): forget the table."""
        self._job.discard()
        self._table = {}
        self._built = False
        self._source = (annotations, n_frames) if annotations is not None else None

    def build(self) -> None:
        """Compute the table on a worker, unless it is ready or being computed."""
        if self._source is None or self._built or self._job.is_running:
            return
        annotations, n_frames = self._source
        if not annotations.objects:  # nothing to draw: nothing to compute
            self._built = True
            return
        snapshot = [(obj, obj.copy()) for obj in annotations.objects]
        self._job.start(_all_frames, snapshot, n_frames)

    def geometry(self, obj: AnnotatedObject, frame: int) -> Geometry | None:
        """``obj.geometry(frame)``, looked up when the table has it."""
        entry = self._table.get(obj.id)
        if entry is not None and entry[0] is obj:
            return entry[1].get(frame)
        return obj.geometry(frame)

    def wait(self, timeout_s: float = 10.0) -> bool:
        """Block until a build in progress has left the worker (closing, tests)."""
        return self._job.wait(timeout_s)

    def _on_built(self, table: object) -> None:
        assert isinstance(table, dict)
        self._table = table
        self._built = True
