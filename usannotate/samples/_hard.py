"""What makes a phantom loop harder to mark: probe motion, speckle, noise, needle shadow.

Each function is a no-op at the parameter's default, so loops made without the hard
fields keep their pixels (``PhantomParams.identity``). The needle's own dimming and the
fluid's irregular outline live beside the needle and the fluid (``_needle``, ``_fluid``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from usannotate.samples.params import PhantomParams

__all__ = ["add_grey_noise", "probe_shift_px", "shadow_under_needle", "sharpen_speckle"]

# Periods of the probe's lateral and axial motion (s): unrelated to each other and to
# the breathing motion, so the image never simply repeats.
_PROBE_PERIOD_X_S = 1.3
_PROBE_PERIOD_Y_S = 1.7
# Random stream of the grey noise (the tissue uses 1-3).
_NOISE_STREAM = 4


def probe_shift_px(params: PhantomParams, index: int) -> tuple[float, float]:
    """The whole image's displacement on frame ``index`` from the probe moving (px):
    ``(dx, dy)``, lateral of amplitude ``probe_motion_px`` and axial of half that."""
    amplitude = params.probe_motion_px
    if amplitude == 0.0:
        return 0.0, 0.0
    t_s = index * params.frame_time_ms / 1000.0
    dx = amplitude * math.sin(2.0 * math.pi * t_s / _PROBE_PERIOD_X_S + 0.7)
    dy = 0.5 * amplitude * math.sin(2.0 * math.pi * t_s / _PROBE_PERIOD_Y_S + 1.9)
    return dx, dy


def sharpen_speckle(speckle: np.ndarray, power: float) -> np.ndarray:
    """The speckle envelope raised to ``power`` (more contrast), its mean kept."""
    if power == 1.0:
        return speckle
    raised = np.power(speckle, power, dtype=np.float32)
    return (raised * (float(speckle.mean()) / max(float(raised.mean()), 1e-9))).astype(np.float32)


def shadow_under_needle(
    amplitude: np.ndarray,
    needle: dict | None,
    origin: tuple[float, float],
    strength: float,
    mm_per_px_x: float,
) -> np.ndarray:
    """The amplitude darkened by ``strength`` under the needle's shaft (its acoustic
    shadow: the metal reflects the beam), with edges softened by the beam's width."""
    if strength == 0.0 or needle is None:
        return amplitude
    entry = np.asarray(needle["entry"], dtype=np.float64) - origin
    tip = np.asarray(needle["tip"], dtype=np.float64) - origin
    height, width = amplitude.shape
    bottom = float(height + 1)
    polygon = np.array([entry, tip, [tip[0], bottom], [entry[0], bottom]]) - 0.5
    mask = np.zeros((height, width), dtype=np.float32)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
    # Just under the shaft the reverberations still show; the shadow deepens below.
    kernel = max(3, round(0.8 / mm_per_px_x) | 1)
    mask = cv2.GaussianBlur(mask, (kernel, kernel), 0)
    return amplitude * (1.0 - strength * mask)


def add_grey_noise(image: np.ndarray, sigma_grey: float, seed: int, index: int) -> np.ndarray:
    """``image`` (uint8) with seeded Gaussian grey noise of ``sigma_grey`` added (new
    noise on every frame, the same on every run)."""
    if sigma_grey == 0.0:
        return image
    rng = np.random.default_rng([seed, _NOISE_STREAM, index])
    noise = rng.normal(0.0, sigma_grey, image.shape).astype(np.float32)
    return np.clip(image.astype(np.float32) + noise, 0, 255).round().astype(np.uint8)
