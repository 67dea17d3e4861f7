"""Tests of mark propagation: accuracy against the sample loops' truth, and the contract."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from usannotate.annotations import ShapeKind
from usannotate.cine import open_cine
from usannotate.tracking import TrackingParams, TrackingResult, propagate

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_dicoms"
SAMPLES = ("hydrodissection_linear_a", "hydrodissection_linear_b")
SPAN = 30  # frames tracked in the accuracy tests (the target: 30 frames)


class Sample:
    """A bundled loop decoded once, with its truth."""

    def __init__(self, stem: str) -> None:
        loop = open_cine(SAMPLE_DIR / f"{stem}.dcm")
        self.frames = [loop.frame(i) for i in range(loop.n_frames)]
        loop.close()
        self.truth = json.loads((SAMPLE_DIR / f"{stem}.truth.json").read_text("utf-8"))
        self.mm_per_px = self.truth["mm_per_px_x"]
        self.first_needle = next(f["index"] for f in self.truth["frames"] if f["needle"])

    def frame(self, index: int) -> np.ndarray:
        return self.frames[index]  # a list raises IndexError past the end, as CineLoop does

    def needle(self, index: int) -> np.ndarray:
        needle = self.truth["frames"][index]["needle"]
        return np.array([needle["entry"], needle["tip"]])

    def plane(self, index: int, number: int) -> np.ndarray:
        return np.array(self.truth["frames"][index]["fascial_planes"][number]["points"])


@pytest.fixture(scope="module", params=SAMPLES)
def sample(request: pytest.FixtureRequest) -> Sample:
    return Sample(request.param)


@pytest.fixture(scope="module")
def sample_b() -> Sample:
    return Sample(SAMPLES[1])


def distance_to_polyline(points: np.ndarray, polyline: np.ndarray) -> np.ndarray:
    """Distance (px) from each point to the nearest segment of an open polyline."""
    a, b = polyline[:-1], polyline[1:]
    ab = b - a
    t = ((points[:, None, :] - a) * ab).sum(-1) / (ab * ab).sum(-1)
    nearest = a + np.clip(t, 0.0, 1.0)[..., None] * ab
    return np.linalg.norm(points[:, None, :] - nearest, axis=-1).min(axis=1)


# ---------------------------------------------------------------- accuracy


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_needle_tip_within_1_mm_over_30_frames(sample: Sample, direction: str):
    """The issue's target, through the whole insertion (the tip advances up to 16 px a frame)."""
    first, last = sample.first_needle, sample.first_needle + SPAN
    start, stop = (first, last) if direction == "forward" else (last, first)
    result = propagate(sample.frame, sample.needle(start), ShapeKind.NEEDLE, start, stop)

    assert result.complete, result.stopped
    assert len(result.frames) == SPAN
    tip_error_mm = (
        np.array([np.linalg.norm(p[1] - sample.needle(i)[1]) for i, p in result.frames.items()])
        * sample.mm_per_px
    )
    entry_error_mm = (
        np.array([np.linalg.norm(p[0] - sample.needle(i)[0]) for i, p in result.frames.items()])
        * sample.mm_per_px
    )
    assert tip_error_mm.mean() < 1.0
    assert tip_error_mm.max() < 1.0, f"worst tip error {tip_error_mm.max():.2f} mm"
    assert entry_error_mm.max() < 1.0


def test_needle_mark_drawn_off_the_shaft_snaps_to_it(sample: Sample):
    """A hand-drawn needle lies a pixel or two off the shaft: it is snapped onto the shaft
    (here the drawing errors are almost all across the shaft, so they vanish)."""
    start = sample.first_needle + 2
    rough = sample.needle(start) + np.array([[0.8, -1.5], [-1.0, 1.8]])
    result = propagate(sample.frame, rough, "needle", start, start + SPAN)
    assert result.complete, result.stopped
    errors_px = np.array(
        [np.linalg.norm(p[1] - sample.needle(i)[1]) for i, p in result.frames.items()]
    )
    assert errors_px.max() < 1.0, f"{errors_px.max():.2f} px (drawn 2.1 px off)"


def test_fascial_planes_stay_on_their_truth_over_30_frames(sample: Sample):
    start, stop = sample.first_needle, sample.first_needle + SPAN
    for number in range(3):
        result = propagate(sample.frame, sample.plane(start, number), "polyline", start, stop)
        assert result.complete, result.stopped
        distances = np.concatenate(
            [distance_to_polyline(p, sample.plane(i, number)) for i, p in result.frames.items()]
        )
        assert distances.mean() < 0.5, f"plane {number}: mean {distances.mean():.2f} px"
        assert distances.max() < 2.0, f"plane {number}: max {distances.max():.2f} px"


# ---------------------------------------------------------------- every kind


def _marks(sample: Sample, start: int) -> dict[str, np.ndarray]:
    plane = sample.plane(start, 2)
    centre = plane[len(plane) // 2] + (0.0, 30.0)  # in muscle, far from needle and fluid
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    return {
        "polyline": plane,
        "needle": sample.needle(start),
        "region": centre + np.c_[30 * np.cos(angles), 15 * np.sin(angles)],
        "point": centre[None, :],
    }


@pytest.mark.parametrize("kind", [k.value for k in ShapeKind])
def test_every_kind_keeps_count_order_and_convention(sample_b: Sample, kind: str):
    start = 30  # the needle is still, the tissue moves by under a pixel
    points = _marks(sample_b, start)[kind]
    result = propagate(sample_b.frame, points, kind, start, start + 5)

    assert isinstance(result, TrackingResult)
    assert result.complete
    assert result.stopped is None
    assert list(result.frames) == [31, 32, 33, 34, 35]  # the start frame is the input
    assert list(result.fb_error_px) == list(result.frames)
    for index, tracked in result.frames.items():
        assert tracked.shape == points.shape
        assert tracked.dtype == np.float64
        assert np.isfinite(tracked).all()
        # Each point stays by its own start point, so the order is the input's; and in our
        # corner convention (a 0.5 px shift would show here).
        assert np.abs(tracked - points).max() < 1.5, f"frame {index}"
        assert 0.0 <= result.fb_error_px[index] < 0.5


def test_kind_may_be_a_string_or_the_enum(sample_b: Sample):
    points = _marks(sample_b, 30)["point"]
    a = propagate(sample_b.frame, points, "point", 30, 32)
    b = propagate(sample_b.frame, points, ShapeKind.POINT, 30, 32)
    np.testing.assert_array_equal(a.frames[32], b.frames[32])


def test_grey_frames_give_the_same_result_as_rgb(sample_b: Sample):
    points = _marks(sample_b, 30)["polyline"]
    rgb = propagate(sample_b.frame, points, "polyline", 30, 33)
    grey = propagate(lambda i: sample_b.frame(i)[:, :, 0], points, "polyline", 30, 33)
    for index in rgb.frames:
        np.testing.assert_allclose(grey.frames[index], rgb.frames[index], atol=1e-9)


def test_runs_on_worker_threads_with_the_same_result(sample_b: Sample):
    marks = _marks(sample_b, 30)
    expected = {k: propagate(sample_b.frame, p, k, 30, 27).frames for k, p in marks.items()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            k: pool.submit(propagate, sample_b.frame, p, k, 30, 27) for k, p in marks.items()
        }
        for kind, future in futures.items():
            got = future.result(timeout=60).frames
            assert list(got) == [29, 28, 27]
            for index in got:
                np.testing.assert_array_equal(got[index], expected[kind][index])


# ---------------------------------------------------------------- progress, cancel, loss


def test_progress_counts_up_to_the_total(sample_b: Sample):
    calls: list[tuple[int, int]] = []
    propagate(
        sample_b.frame,
        _marks(sample_b, 30)["point"],
        "point",
        30,
        24,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(k, 6) for k in range(1, 7)]


def test_cancel_midway_returns_the_frames_done(sample_b: Sample):
    polls = 0

    def cancelled() -> bool:
        nonlocal polls
        polls += 1
        return polls > 3  # polled before each frame: three frames are done

    result = propagate(
        sample_b.frame, _marks(sample_b, 30)["needle"], "needle", 30, 40, cancelled=cancelled
    )
    assert list(result.frames) == [31, 32, 33]
    assert list(result.fb_error_px) == [31, 32, 33]
    assert not result.complete
    # Index 34 is next: shown to the user as frame 35 (1-based on screen).
    assert result.stopped == "cancelled at frame 35"


def test_cancel_before_the_first_frame(sample_b: Sample):
    result = propagate(
        sample_b.frame, _marks(sample_b, 30)["point"], "point", 30, 20, cancelled=lambda: True
    )
    assert result.frames == {}
    assert result.stopped == "cancelled at frame 30"  # index 29, backward


@pytest.mark.parametrize("kind", [k.value for k in ShapeKind])
@pytest.mark.parametrize("content", ["noise", "blank"])
def test_loss_on_frames_without_texture_stops_with_a_sentence(kind: str, content: str):
    rng = np.random.default_rng(3)
    if content == "noise":  # every frame new noise: nothing carries over
        frames = [rng.integers(0, 256, (160, 240), dtype=np.uint8) for _ in range(6)]
    else:
        frames = [np.full((160, 240, 3), 90, dtype=np.uint8) for _ in range(6)]
    points = {
        "polyline": [[20.0, 50.0], [200.0, 60.0]],
        "needle": [[10.0, 10.0], [90.0, 60.0]],
        "region": [[50.0, 50.0], [100.0, 50.0], [80.0, 90.0]],
        "point": [[100.0, 100.0]],
    }[kind]
    result = propagate(frames.__getitem__, np.array(points), kind, 0, 5)
    assert result.frames == {}
    assert not result.complete
    noun = {"polyline": "line"}.get(kind, kind)
    assert re.fullmatch(
        rf"lost the {noun} at frame 2: only \d+ of \d+ points (along|around) .+ be followed",
        result.stopped,
    ), result.stopped


def test_needle_is_lost_where_it_is_not_yet_inserted(sample_b: Sample):
    """Tracked backward, the needle disappears before its first frame: stop, no garbage."""
    start = sample_b.first_needle + 8
    result = propagate(sample_b.frame, sample_b.needle(start), "needle", start, 0)
    assert not result.complete
    assert result.stopped.startswith("lost the needle at frame ")
    done = sorted(result.frames)
    assert done[0] >= sample_b.first_needle
    for index in done:
        error = np.linalg.norm(result.frames[index][1] - sample_b.needle(index)[1])
        assert error * sample_b.mm_per_px < 1.0


def test_a_frame_past_the_end_stops_with_a_sentence(sample_b: Sample):
    n = len(sample_b.frames)
    result = propagate(sample_b.frame, _marks(sample_b, n - 3)["point"], "point", n - 3, n + 5)
    assert list(result.frames) == [n - 2, n - 1]
    assert result.stopped == f"stopped at frame {n + 1}: this loop has no such frame"


# ---------------------------------------------------------------- bad input


def _frames(_index: int) -> np.ndarray:
    return np.zeros((100, 120, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("points", "kind", "start", "stop", "message"),
    [
        ([[1.0, 2.0]], "point", 4, 4, r"start and stop are both frame 4 \(0-based\)"),
        ([[1.0, 2.0]], "spline", 0, 1, "unknown shape kind 'spline'"),
        ([[1.0, 2.0]], "point", -1, 3, r"start must be a frame index >= 0 \(0-based\), got -1"),
        ([[1.0, 2.0]], "point", 0, 2.5, r"stop must be a frame index >= 0 \(0-based\), got 2.5"),
        ([[1.0, 2.0]], "point", True, 3, r"start must be a frame index >= 0 \(0-based\), got True"),
        ([1.0, 2.0, 3.0], "point", 0, 1, r"\(N, 2\) array of \(x, y\), got shape \(3,\)"),
        ([[1.0, 2.0, 3.0]], "point", 0, 1, r"got shape \(1, 3\)"),
        ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], "needle", 0, 1, "needle needs exactly two"),
        ([[1.0, 2.0], [3.0, 4.0]], "region", 0, 1, "region needs three or more"),
        ([[1.0, 2.0]], "polyline", 0, 1, "polyline needs two or more"),
        ([[1.0, 2.0], [np.nan, 4.0]], "polyline", 0, 1, r"point 1 is \[nan, 4.0\]"),
        ([[1.0, 2.0], [np.inf, 4.0]], "polyline", 0, 1, r"point 1 is \[inf, 4.0\]"),
        ([["a", "b"]], "point", 0, 1, "must be an"),
        ([[10.0, 20.0], [121.0, 50.0]], "polyline", 0, 1, r"point 1 \[121.0, 50.0\] lies outside"),
        ([[10.0, 20.0], [11.0, 21.0]], "needle", 0, 1, "1.41 px apart"),
    ],
)
def test_bad_input_raises_a_value_error_quoting_it(points, kind, start, stop, message):
    with pytest.raises(ValueError, match=message):
        propagate(_frames, np.array(points) if kind != "spline" else points, kind, start, stop)


def test_frames_that_are_not_uint8_images_raise():
    points = np.array([[10.0, 20.0]])
    with pytest.raises(ValueError, match=r"frame 0 must be .* uint8 array, got float64"):
        propagate(lambda i: np.zeros((100, 120)), points, "point", 0, 1)
    sizes = {0: (100, 120), 1: (90, 120)}
    with pytest.raises(ValueError, match="frame 1 is 120 x 90 px, but the earlier frames"):
        propagate(lambda i: np.zeros(sizes[i], np.uint8), points, "point", 0, 1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("window_px", 3),
        ("window_px", 21.5),
        ("pyramid_levels", -1),
        ("max_fb_error_px", 0.0),
        ("min_good_fraction", 1.5),
        ("contour_step_px", float("nan")),
        ("needle_search_px", 0.0),
    ],
)
def test_bad_params_raise_quoting_the_value(field: str, value: float):
    with pytest.raises(ValueError, match=rf"TrackingParams.{field} must be .*, got {value!r}"):
        TrackingParams(**{field: value})
