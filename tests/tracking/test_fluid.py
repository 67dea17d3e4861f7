"""Injected fluid followed by its image (issue 15): against the truth, and the contract."""

from __future__ import annotations

import numpy as np
import pytest

from tests.tracking.loops import SAMPLE_DIR, TruthLoop, area, boundary_distance
from usannotate.annotations import AnnotatedObject, ShapeKind
from usannotate.annotations.labels import default_label_set
from usannotate.annotations.model import Annotations
from usannotate.samples import make_hard_loop
from usannotate.tracking import propagate
from usannotate.tracking.jobs import follows_image, plan_jobs

CLICKS = 12


@pytest.fixture(scope="module")
def clean_b() -> TruthLoop:
    return TruthLoop(SAMPLE_DIR / "hydrodissection_linear_b.dcm")


@pytest.fixture(scope="module")
def hard_b(tmp_path_factory: pytest.TempPathFactory) -> TruthLoop:
    folder = tmp_path_factory.mktemp("hard")
    return TruthLoop(make_hard_loop(folder, "hydrodissection_hard_b.dcm"))


def _signed_area(p: np.ndarray) -> float:
    return float(np.dot(p[:, 0], np.roll(p[:, 1], -1)) - np.dot(p[:, 1], np.roll(p[:, 0], -1)))


def _clicked(outline: np.ndarray) -> np.ndarray:
    return outline[np.linspace(0, len(outline), CLICKS, endpoint=False).astype(int)]


def _follow(loop: TruthLoop, follow: str) -> tuple[list[float], list[float], object]:
    start = loop.first_fluid + 5
    stop = len(loop.frames) - 1
    result = propagate(
        loop.frame, _clicked(loop.fluid(start)), "region", start, stop, follow=follow
    )
    distances = [boundary_distance(p, loop.fluid(i)) for i, p in result.frames.items()]
    ratios = [area(p) / area(loop.fluid(i)) for i, p in result.frames.items()]
    return distances, ratios, result


@pytest.mark.parametrize("which", ["clean_b", "hard_b"])
def test_fluid_followed_by_its_image_keeps_to_the_truth(which: str, request) -> None:
    loop: TruthLoop = request.getfixturevalue(which)
    distances, ratios, result = _follow(loop, "image")
    assert result.complete, result.stopped
    assert len(distances) == len(loop.frames) - 1 - (loop.first_fluid + 5)
    assert max(distances) < 2.0, distances
    assert all(abs(r - 1.0) <= 0.10 for r in ratios), ratios


def test_optical_flow_under_follows_the_growing_fluid_that_the_image_follows(
    clean_b: TruthLoop,
) -> None:
    _, flow_ratios, _ = _follow(clean_b, "flow")
    _, image_ratios, _ = _follow(clean_b, "image")
    assert flow_ratios[-1] < 0.8  # the reason the fluid is followed by its image
    assert image_ratios[-1] > flow_ratios[-1] + 0.15


def test_the_outline_keeps_its_winding_and_start_and_gains_points_as_it_grows(
    clean_b: TruthLoop,
) -> None:
    start = clean_b.first_fluid + 5
    clicked = _clicked(clean_b.fluid(start))
    result = propagate(clean_b.frame, clicked, "region", start, start + 6, follow="image")
    last = result.frames[start + 6]
    assert len(last) > CLICKS  # a point every few px along the grown outline
    assert np.sign(_signed_area(last)) == np.sign(_signed_area(clicked))
    assert np.linalg.norm(last[0] - clicked[0]) < 15.0


def test_fluid_on_a_tissue_patch_is_lost_not_invented(clean_b: TruthLoop) -> None:
    # A "region" drawn on plain muscle, far from any fluid: nothing dark to follow.
    plane = clean_b.truth["frames"][5]["fascial_planes"][0]["points"]
    x, y = plane[len(plane) // 2]
    square = np.array([[x - 15, y + 40], [x + 15, y + 40], [x + 15, y + 60], [x - 15, y + 60]])
    result = propagate(clean_b.frame, square, "region", 5, 15, follow="image")
    assert not result.complete
    assert "lost the region at frame" in result.stopped


def test_only_regions_can_be_followed_by_their_image(clean_b: TruthLoop) -> None:
    needle = clean_b.needle(10)
    with pytest.raises(ValueError, match="only a region"):
        propagate(clean_b.frame, needle, "needle", 10, 12, follow="image")
    with pytest.raises(ValueError, match="follow must be"):
        propagate(clean_b.frame, needle, "needle", 10, 12, follow="magic")


def test_fluid_labels_are_followed_by_image_and_others_by_flow() -> None:
    labels = default_label_set()
    fluid = AnnotatedObject("fluid.injectate", ShapeKind.REGION)
    fluid.set_points(3, np.array([[10.0, 10.0], [30.0, 10.0], [20.0, 25.0]]))
    plane = AnnotatedObject("fascia.deep", ShapeKind.POLYLINE)
    plane.set_points(3, np.array([[10.0, 40.0], [60.0, 42.0]]))
    annotations = Annotations(labels, [fluid, plane])
    assert follows_image(annotations, fluid)
    assert not follows_image(annotations, plane)
    jobs = plan_jobs(
        [fluid, plane],
        3,
        1,
        20,
        {},
        lambda points: None,
        None,
        lambda obj: follows_image(annotations, obj),
    )
    assert {job.object_id: job.follow for job in jobs} == {fluid.id: "image", plane.id: "flow"}


def test_fluid_followed_twice_in_one_process_comes_out_the_same(clean_b: TruthLoop) -> None:
    """scikit-image's Chan-Vese alternates its smoothing from call to call through a cycle
    kept in its module: each fluid track starts it afresh, so a loop tracked after
    another (``usannotate track --jobs 1``) gives what it gives alone (``--jobs N``)."""
    start = clean_b.first_fluid + 5
    stop = start + 9
    runs = [
        propagate(clean_b.frame, _clicked(clean_b.fluid(start)), "region", start, stop,
                  follow="image")
        for _ in range(3)
    ]  # fmt: skip
    for run in runs[1:]:
        assert run.frames.keys() == runs[0].frames.keys()
        for index, points in run.frames.items():
            np.testing.assert_array_equal(points, runs[0].frames[index])
