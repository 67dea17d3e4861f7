"""The worker process that draws the marks of the frames ahead while the app plays a loop.

Drawing a busy frame's marks takes several milliseconds of OpenCV calls with Python in
between. On a thread of the app that Python competes for the GIL with the GUI thread, which
then stutters; in a process of its own it competes with nothing. The app sends the marks
once per edit (:func:`set_marks`, which works their geometry out here) and the scene once
per view change (:func:`set_scene`), then asks for frames (:func:`render`); a pool of one
worker process runs the calls in the order they were made, so a frame is drawn with the
marks and scene sent before it. Each call names the table and scene it expects: a frame
asked for before newer ones arrived is drawn with what it names or not at all.
"""

from __future__ import annotations

from multiprocessing import shared_memory

import cv2
import numpy as np

from usannotate.annotations import AnnotatedObject
from usannotate.render.scene import GeometryTable, Scene, render_frame

__all__ = ["StaleRequest", "ready", "render", "set_marks", "set_scene", "set_table"]

# This process draws on one core; OpenCV's own threads would fight the app's for the other.
cv2.setNumThreads(1)

_state: dict[str, object] = {"table": None, "table_id": None, "scene": None, "scene_id": None}
#: The app's shared memory blocks the pictures are written into, by name.
_slots: dict[str, shared_memory.SharedMemory] = {}


class StaleRequest(Exception):
    """A frame was asked for with a table or scene this process no longer holds."""


def _attach(name: str) -> shared_memory.SharedMemory:
    """The app's block ``name``. A spawned process shares the app's resource tracker,
    which unlinks the block when the app unlinks it (or ends)."""
    return shared_memory.SharedMemory(name=name)


def ready() -> bool:
    """True: the process is up, its imports done (the app asks once, to start it early)."""
    return True


def set_table(table_id: int, table: GeometryTable) -> None:
    """Hold ``table`` (every track's geometry) as ``table_id``."""
    _state["table"], _state["table_id"] = table, table_id


def set_marks(table_id: int, objects: list[AnnotatedObject], n_frames: int) -> None:
    """Work out every track's geometry on every frame of the loop (interpolated between
    keyframes: the slow part, done here rather than in the app) and hold it as
    ``table_id``."""
    geometry = {obj.id: obj.all_geometry(n_frames) for obj in objects}
    set_table(table_id, GeometryTable.pack(geometry))


def set_scene(scene_id: int, scene: Scene, slots: list[str]) -> None:
    """Hold ``scene`` (the tracks' look, the view) as ``scene_id``, and write pictures
    into the shared memory blocks named ``slots``."""
    _state["scene"], _state["scene_id"] = scene, scene_id
    for name in [name for name in _slots if name not in slots]:
        _slots.pop(name).close()
    for name in slots:
        if name not in _slots:
            _slots[name] = _attach(name)


def render(
    table_id: int, scene_id: int, frame: int, slot: str
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Draw the marks of ``frame`` with the table and scene named (:func:`render_frame`)
    into the shared memory block ``slot``: ``((rows, columns), origin)`` of the picture
    written there, None when the frame has no mark. Pictures go through shared memory,
    not the result pipe: a megabyte down a pipe is read in pieces by a thread of the
    app, each piece waiting for the GIL its GUI thread holds."""
    if _state["table_id"] != table_id or _state["scene_id"] != scene_id:
        raise StaleRequest(f"frame {frame}: table or scene replaced")
    table, scene = _state["table"], _state["scene"]
    assert isinstance(table, GeometryTable)
    assert isinstance(scene, Scene)
    picture = render_frame(scene, table, frame)
    if picture is None:
        return None
    rows, columns = picture.pixels.shape[:2]
    block = _slots[slot]
    np.frombuffer(block.buf, np.uint8, count=rows * columns * 4)[:] = picture.pixels.reshape(-1)
    return (rows, columns), picture.origin
