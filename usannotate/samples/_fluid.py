"""The phantom's injected fluid: a lens opening along the target plane, and how it looks.

The fluid is anechoic, brightens everything below it (sound crosses it unattenuated) and
is wrapped by the fascia it pushes apart, as a bright rim.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from usannotate.samples._points import SUB_PIXEL_SHIFT, to_cv
from usannotate.samples._tissue import FASCIA_AMPLITUDE, Plane
from usannotate.samples.dicom_writer import UltrasoundRegion

__all__ = ["FluidLens", "add_fluid", "plan_fluid"]

# Points per side of the fluid lens outline.
_LENS_POINTS_PER_SIDE = 40
# Echo amplitude of the fluid relative to muscle (1.0).
_FLUID_AMPLITUDE = 0.05
# Random stream of an irregular bolus's lobes (the tissue uses 1-3, the noise 4).
_LOBES_STREAM = 5


@dataclass(frozen=True)
class FluidLens:
    """When and where the fluid grows; sizes in px, points (x, y) in image px.

    Attributes:
        start_frame: first frame that shows fluid.
        n_frames: frames of the loop; the lens is full size on the last one.
        length_px, thickness_px: size of the lens on the last frame (px).
        region: the ultrasound region (the lens stays 3 px inside it).
        plane: the plane the fluid spreads along (its middle line follows it).
        needle_target_x: x of the needle's target; the lens is centred a little past it.
        irregularity: how far the outline departs from the smooth lens (0 = not at all).
        seed: the phantom's seed (the irregular outline's lobes).
    """

    start_frame: int
    n_frames: int
    length_px: float
    thickness_px: float
    region: UltrasoundRegion
    plane: Plane
    needle_target_x: float
    irregularity: float = 0.0
    seed: int = 0

    def outline(self, index: int, dy: float) -> np.ndarray | None:
        """The closed lens outline of frame ``index``, or None before the injection.

        Parameters:
            index: frame index (0-based).
            dy: that frame's vertical tissue motion (px).

        Returns:
            ``(2 * 40 - 2, 2)`` float points (x, y), upper side left to right then lower
            side right to left, the first point not repeated.
        """
        if index < self.start_frame:
            return None
        n = self.n_frames
        progress = (index - self.start_frame + 1) / (n - self.start_frame)
        length = self.length_px * (0.12 + 0.88 * progress**0.7)
        thickness = self.thickness_px * (0.2 + 0.8 * progress**0.8)
        r = self.region
        half = length / 2.0
        centre = self.needle_target_x + 0.1 * length
        centre = float(np.clip(centre, r.x0 + half + 3, r.x1 + 1 - half - 3))
        u = -np.cos(np.linspace(0.0, np.pi, _LENS_POINTS_PER_SIDE))  # denser at the tips
        x = centre + half * u
        mid = r.y0 + dy + self.plane.y(x)
        profile = 0.5 * thickness * (1.0 - u**2) ** 0.8
        upper_profile = lower_profile = profile
        if self.irregularity > 0.0:
            upper_profile, lower_profile = self._lobed(profile, u, progress)
        upper = np.stack([x, mid - upper_profile], axis=1)
        lower = np.stack([x, mid + lower_profile], axis=1)[-2:0:-1]
        return np.concatenate([upper, lower])

    def _lobed(
        self, profile: np.ndarray, u: np.ndarray, progress: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The lens's upper and lower half-thickness made uneven: a few seeded lobes
        along its length on each side, drifting as the bolus grows, and one side
        thicker (fluid finds the looser tissue first)."""
        rng = np.random.default_rng([self.seed, _LOBES_STREAM])
        sides = []
        for side in range(2):
            lobes = np.zeros_like(u)
            for k in range(2, 6):
                amplitude = rng.uniform(0.3, 1.0) / k**0.5
                phase = rng.uniform(0.0, 2.0 * np.pi) + side * 1.3 + 1.5 * progress
                lobes += amplitude * np.sin(k * np.pi * (u + 1.0) / 2.0 + phase)
            bias = 1.0 + (0.35 if side == 0 else -0.2) * self.irregularity
            factor = np.clip(bias + 0.6 * self.irregularity * lobes, 0.25, None)
            sides.append(profile * factor)
        return sides[0], sides[1]


def plan_fluid(
    *,
    needle_arrival_frame: int,
    n_frames: int,
    fluid_length_mm: float,
    fluid_thickness_mm: float,
    region: UltrasoundRegion,
    width_px: int,
    plane: Plane,
    needle_target_x: float,
    mm_per_px_x: float,
    mm_per_px_y: float,
    irregularity: float = 0.0,
    seed: int = 0,
) -> FluidLens:
    """Fix the fluid's timing (shortly after the needle arrives) and its final size.

    The length is capped at 80 % of the region's width.
    """
    n = n_frames
    max_length_px = fluid_length_mm / mm_per_px_x
    return FluidLens(
        start_frame=min(n - 1, needle_arrival_frame + max(1, round(0.03 * n))),
        n_frames=n,
        length_px=min(max_length_px, 0.8 * width_px),
        thickness_px=fluid_thickness_mm / mm_per_px_y,
        region=region,
        plane=plane,
        needle_target_x=needle_target_x,
        irregularity=irregularity,
        seed=seed,
    )


def add_fluid(
    amplitude: np.ndarray,
    speckle: np.ndarray,
    outline: np.ndarray,
    origin: tuple[float, float],
    mm_per_px_x: float,
    mm_per_px_y: float,
) -> np.ndarray:
    """The region's echo amplitude with the fluid filled in, its enhancement and its rim.

    Parameters:
        amplitude: ``(height, width)`` float32 echo amplitude of the region.
        speckle: the frame's speckle envelope, same shape.
        outline: the frame truth's fluid outline (image px, corner convention), the
            polygon that is filled.
        origin: the region's top-left corner (image px).
        mm_per_px_x, mm_per_px_y: the region's calibration (mm per px).

    Returns:
        A new float32 amplitude array (``amplitude`` is not changed).
    """
    outline_cv = to_cv(np.asarray(outline), origin)
    mask = np.zeros(amplitude.shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [outline_cv], 255, cv2.LINE_AA, SUB_PIXEL_SHIFT)
    inside = mask.astype(np.float32) * (1.0 / 255.0)
    # Sound crosses the fluid unattenuated: everything below it is brighter.
    path_mm = np.cumsum(inside, axis=0) * mm_per_px_y
    # The beam is not infinitely thin: soften the enhancement's edges laterally.
    path_mm = cv2.blur(path_mm, (max(1, round(0.6 / mm_per_px_x)), 1))
    enhancement = 1.0 + 1.2 * (1.0 - np.exp(-path_mm / 1.5))
    amplitude = amplitude * (1.0 - inside) + inside * _FLUID_AMPLITUDE * speckle
    amplitude *= enhancement
    # The fascia is pushed apart and wraps the fluid as a bright rim.
    rim = np.zeros_like(mask)
    thickness = max(1, round(0.15 / mm_per_px_y))
    cv2.polylines(rim, [outline_cv], True, 255, thickness, cv2.LINE_AA, SUB_PIXEL_SHIFT)
    amplitude += rim.astype(np.float32) * (0.8 * FASCIA_AMPLITUDE / 255.0) * speckle
    return amplitude
