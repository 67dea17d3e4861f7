"""The harder phantom variants (issue 15): what each hard field does, and with its truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from usannotate.samples import HARD_SAMPLES, HydrodissectionPhantom, PhantomParams
from usannotate.samples.params import HARD_FIELDS

SMALL = {"rows": 240, "columns": 320, "n_frames": 16, "seed": 7, "needle_angle_deg": 27.5}


def _phantom(**hard: float) -> HydrodissectionPhantom:
    return HydrodissectionPhantom(PhantomParams(**SMALL, **hard))


def _grey(frame: np.ndarray) -> np.ndarray:
    return frame[..., 0].astype(np.float64)


def test_defaults_are_not_hard_and_keep_the_old_identity() -> None:
    params = PhantomParams(**SMALL)
    assert not params.is_hard
    assert not set(HARD_FIELDS) & set(params.identity())
    hard = PhantomParams(**SMALL, noise_grey=5.0)
    assert hard.is_hard
    assert hard.identity()["noise_grey"] == 5.0
    assert set(HARD_FIELDS) <= set(hard.identity())


def test_hard_fields_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="needle_brightness"):
        PhantomParams(**SMALL, needle_brightness=0.0)
    with pytest.raises(ValueError, match="probe_motion_px"):
        PhantomParams(**SMALL, probe_motion_px=50.0)


def test_probe_motion_moves_planes_fluid_and_needle_in_the_truth() -> None:
    still, moving = _phantom(), _phantom(probe_motion_px=4.0)
    index = 10  # a frame with fluid where the lateral motion is large (about 3 px)
    a, b = still.frame_truth(index), moving.frame_truth(index)
    plane_a = np.array(a["fascial_planes"][1]["points"])
    plane_b = np.array(b["fascial_planes"][1]["points"])
    assert np.abs(plane_b - plane_a).max() > 0.5
    fluid_shift = np.array(b["fluid"]["outline"]) - np.array(a["fluid"]["outline"])
    assert np.abs(fluid_shift[:, 0]).max() > 2.0  # the lateral part
    tip_shift = np.subtract(b["needle"]["tip"], a["needle"]["tip"])
    assert np.hypot(*tip_shift) > 0.5
    # The needle still enters at the region's left edge, on its own line.
    x0 = moving.region.x0
    assert b["needle"]["entry"][0] == pytest.approx(x0, abs=0.01)
    direction = np.subtract(b["needle"]["tip"], b["needle"]["entry"])
    assert math.degrees(math.atan2(direction[1], direction[0])) == pytest.approx(27.5, abs=0.1)
    # The image moved with the truth: the moving loop's frame matches the still one shifted.
    frame_b = _grey(moving.render(index))
    assert np.abs(frame_b - _grey(still.render(index))).mean() > 1.0


def test_dim_needle_is_fainter_and_dropout_fades_its_middle_not_its_tip() -> None:
    bright = _phantom()
    dim = _phantom(needle_brightness=0.4)
    faded = _phantom(needle_brightness=0.4, needle_dropout=0.9)
    index = SMALL["n_frames"] - 1
    truth = bright.frame_truth(index)["needle"]
    entry, tip = np.array(truth["entry"]), np.array(truth["tip"])

    def shaft(phantom: HydrodissectionPhantom, t0: float, t1: float) -> float:
        frame = _grey(phantom.render(index))
        points = [entry + t * (tip - entry) for t in np.linspace(t0, t1, 9)]
        return float(np.mean([frame[int(y), int(x)] for x, y in points]))

    assert shaft(dim, 0.1, 0.9) < shaft(bright, 0.1, 0.9) - 60
    assert shaft(faded, 0.38, 0.52) < shaft(dim, 0.38, 0.52) - 15
    assert shaft(faded, 0.85, 0.97) == pytest.approx(shaft(dim, 0.85, 0.97), abs=1.0)


def test_shadow_darkens_the_tissue_under_the_needle() -> None:
    plain, shadowed = _phantom(), _phantom(needle_shadow=0.8)
    index = SMALL["n_frames"] - 1
    truth = plain.frame_truth(index)["needle"]
    entry, tip = np.array(truth["entry"]), np.array(truth["tip"])
    point = entry + 0.5 * (tip - entry) + (0.0, 25.0)  # below the shaft's middle
    x, y = int(point[0]), int(point[1])
    patch = np.s_[y - 4 : y + 5, x - 4 : x + 5]
    assert (
        _grey(shadowed.render(index))[patch].mean() < _grey(plain.render(index))[patch].mean() - 10
    )


def test_irregular_bolus_is_no_longer_symmetric_and_stays_closed() -> None:
    smooth, lobed = _phantom(), _phantom(fluid_irregularity=0.8)
    index = SMALL["n_frames"] - 1
    outline_s = np.array(smooth.frame_truth(index)["fluid"]["outline"])
    outline_l = np.array(lobed.frame_truth(index)["fluid"]["outline"])
    assert outline_s.shape == outline_l.shape
    half = (len(outline_s) + 2) // 2  # 40 points on the upper side, 38 on the lower

    def sides(outline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        upper = outline[1 : half - 1, 1]
        lower = outline[half:][::-1, 1]
        return upper, lower

    upper_s, lower_s = sides(outline_s)
    upper_l, lower_l = sides(outline_l)
    plane = 0.5 * (upper_s + lower_s)  # the smooth lens is symmetric about the plane
    assert np.abs((plane - upper_s) - (lower_s - plane)).max() < 0.05
    assert np.abs((plane - upper_l) - (lower_l - plane)).max() > 0.5
    assert lobed.frame_truth(index)["fluid"]["area_mm2"] > 0


def test_noise_and_speckle_change_every_frame_the_same_way_every_run() -> None:
    params = {"noise_grey": 12.0, "speckle_power": 1.8}
    one, two = _phantom(**params), _phantom(**params)
    assert np.array_equal(one.render(5), two.render(5))
    plain = _phantom()
    assert _grey(one.render(5)).std() > _grey(plain.render(5)).std()


@pytest.mark.parametrize("name", sorted(HARD_SAMPLES))
def test_hard_variants_are_valid_parameters(name: str) -> None:
    arguments = {k: v for k, v in HARD_SAMPLES[name].items() if k != "quality"}
    params = PhantomParams(**arguments)
    assert params.is_hard
    phantom = HydrodissectionPhantom(params)
    assert phantom.frame_truth(params.n_frames - 1)["fluid"] is not None
