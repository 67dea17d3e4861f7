"""The worker process that draws marks ahead: a real spawned process and shared memory."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import shared_memory

import numpy as np
import pytest

from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.render import worker
from usannotate.render.scene import GeometryTable, Scene, TrackLook, render_frame


@pytest.fixture(scope="module")
def pool():
    with ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        assert pool.submit(worker.ready).result(timeout=60)
        yield pool


@pytest.fixture
def block():
    block = shared_memory.SharedMemory(create=True, size=400 * 300 * 4)
    yield block
    block.close()
    block.unlink()


def _fluid() -> AnnotatedObject:
    fluid = AnnotatedObject("fluid.injectate", ShapeKind.REGION)
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    for frame, radius in ((0, 20.0), (20, 60.0)):
        fluid.set_points(
            frame, np.c_[200 + radius * np.cos(angles), 150 + 0.5 * radius * np.sin(angles)]
        )
    return fluid


def _table_and_scene(fluid: AnnotatedObject):
    table = GeometryTable.pack({fluid.id: fluid.all_geometry(21)})
    look = TrackLook(fluid.id, ShapeKind.REGION, (40, 120, 255))
    return table, Scene((look,), np.eye(2), np.zeros(2), 1.0, (400, 300))


def test_the_worker_draws_what_the_app_would_into_shared_memory(pool, block):
    fluid = _fluid()
    table, scene = _table_and_scene(fluid)
    # The marks themselves go to the worker, which works out their geometry per frame.
    pool.submit(worker.set_marks, 1, [fluid], 21)
    pool.submit(worker.set_scene, 1, scene, [block.name])
    for frame in (0, 7, 20):
        (rows, columns), origin = pool.submit(worker.render, 1, 1, frame, block.name).result(60)
        drawn = np.frombuffer(block.buf, np.uint8, count=rows * columns * 4).reshape(
            rows, columns, 4
        )
        here = render_frame(scene, table, frame)
        assert origin == here.origin
        assert np.array_equal(drawn, here.pixels)
    # The fluid grows: frame 20's picture is larger than frame 0's.
    small = pool.submit(worker.render, 1, 1, 0, block.name).result(60)[0]
    large = pool.submit(worker.render, 1, 1, 20, block.name).result(60)[0]
    assert large[1] > small[1]


def test_a_frame_asked_for_with_an_old_scene_is_refused(pool, block):
    table, scene = _table_and_scene(_fluid())
    pool.submit(worker.set_table, 2, table)
    pool.submit(worker.set_scene, 5, scene, [block.name])
    with pytest.raises(worker.StaleRequest):
        pool.submit(worker.render, 2, 4, 0, block.name).result(60)
    assert pool.submit(worker.render, 2, 5, 21, block.name).result(60) is None  # no mark there
