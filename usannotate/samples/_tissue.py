"""The phantom's static tissue: wavy fascial planes, echogenicity, speckle and depth gain.

Everything here is computed once per phantom, in region pixels (the ultrasound region's
top-left corner is (0, 0)), from one seeded random stream per component so that changing
one component does not reshuffle the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from usannotate.samples.params import PLANE_NAMES

__all__ = [
    "FASCIA_AMPLITUDE",
    "Plane",
    "make_depth_gain",
    "make_echo",
    "make_planes",
    "make_speckle",
    "speckle_envelope",
]

# Default plane depths as fractions of the imaging depth, superficial to deep.
_PLANE_DEPTH_FRACTIONS = (0.17, 0.33, 0.58)
#: Echo amplitude of a fascia relative to muscle (1.0): specular, ~20 dB above tissue.
FASCIA_AMPLITUDE = 13.0

# Random streams, one per component (see ``_rng``).
_PLANES_STREAM = 1
_ECHO_STREAM = 2
_SPECKLE_STREAM = 3


@dataclass(frozen=True)
class Plane:
    """A wavy fascial plane: depth (region px) as a function of the image x coordinate."""

    name: str
    depth_px: float
    waves: tuple[tuple[float, float, float], ...]  # (amplitude px, wavelength px, phase rad)
    tilt: float  # px per px
    centre_x: float
    doubled: bool
    thickness_px: float

    def y(self, x: np.ndarray) -> np.ndarray:
        """Region-relative depth (px, corner convention) at image x (px), without motion."""
        y = self.depth_px + self.tilt * (x - self.centre_x)
        for amplitude, wavelength, phase in self.waves:
            y = y + amplitude * np.sin(2.0 * np.pi * x / wavelength + phase)
        return y


def _rng(seed: int, stream: int) -> np.random.Generator:
    # One independent stream per component, so changing one does not reshuffle the others.
    return np.random.default_rng([seed, stream])


def _normalised(field: np.ndarray) -> np.ndarray:
    field = field - field.mean()
    return field / max(float(field.std()), 1e-12)


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sx: float, sy: float
) -> np.ndarray:
    """Zero-mean, unit-std Gaussian noise low-passed with sigmas (sx, sy) px."""
    noise = rng.standard_normal(shape, dtype=np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigmaX=max(sx, 0.3), sigmaY=max(sy, 0.3))
    return _normalised(noise).astype(np.float32)


def make_planes(
    *,
    seed: int,
    depth_mm: float,
    plane_depths_mm: tuple[float, float, float] | None,
    region_x0: int,
    width_px: int,
    mm_per_px: float,
) -> list[Plane]:
    """The three fascial planes, superficial to deep, with their seeded waviness and tilt.

    Parameters:
        seed: the phantom's random seed.
        depth_mm: imaging depth (mm).
        plane_depths_mm: each plane's depth (mm), or None for the default fractions of
            ``depth_mm`` jittered by the seed.
        region_x0: left edge of the ultrasound region (image px).
        width_px: width of the ultrasound region (px).
        mm_per_px: the region's vertical calibration (mm per px).

    Returns:
        One ``Plane`` per name of ``PLANE_NAMES``, in that order.
    """
    rng = _rng(seed, _PLANES_STREAM)
    mm = mm_per_px
    if plane_depths_mm is None:
        depths = [
            (fraction + rng.uniform(-0.02, 0.02)) * depth_mm for fraction in _PLANE_DEPTH_FRACTIONS
        ]
    else:
        depths = list(plane_depths_mm)
        rng.uniform(size=3)  # keep the stream aligned with the default branch
    centre_x = region_x0 + width_px / 2.0
    planes = []
    for name, depth in zip(PLANE_NAMES, depths, strict=True):
        waves = (
            (
                rng.uniform(0.35, 0.7) / mm,
                rng.uniform(22, 40) / mm,
                rng.uniform(0, 2 * np.pi),
            ),
            (
                rng.uniform(0.08, 0.18) / mm,
                rng.uniform(6, 11) / mm,
                rng.uniform(0, 2 * np.pi),
            ),
        )
        planes.append(
            Plane(
                name=name,
                depth_px=depth / mm,
                waves=waves,
                tilt=float(rng.uniform(-0.04, 0.04)),
                centre_x=centre_x,
                doubled=name == "interfascial_plane",
                thickness_px=(0.17 if name == "deep_fascia" else 0.12) / mm,
            )
        )
    return planes


def make_echo(
    *,
    seed: int,
    planes: list[Plane],
    region_x0: int,
    width_px: int,
    height_px: int,
    mm_per_px: float,
) -> np.ndarray:
    """Static echogenicity of the tissue in the region (linear amplitude, muscle ~ 1).

    Parameters:
        seed: the phantom's random seed.
        planes: the fascial planes (``make_planes``), superficial to deep.
        region_x0: left edge of the ultrasound region (image px).
        width_px, height_px: size of the ultrasound region (px).
        mm_per_px: the region's vertical calibration (mm per px).

    Returns:
        ``(height_px, width_px)`` float32: skin, fat, two muscles and the fascia.
    """
    h, w = height_px, width_px
    mm = mm_per_px
    rng = _rng(seed, _ECHO_STREAM)
    x_img = region_x0 + np.arange(w, dtype=np.float64) + 0.5
    yy = (np.arange(h, dtype=np.float32) + 0.5)[:, None]
    xx = (np.arange(w, dtype=np.float32) + 0.5)[None, :]
    curves = [plane.y(x_img).astype(np.float32)[None, :] for plane in planes]
    superficial, deep, inter = curves

    # Subcutaneous fat: dark lobules separated by a network of thin bright septa.
    septa_field = _smooth_noise(rng, (h, w), 1.1 / mm, 0.45 / mm)
    breaks = _smooth_noise(rng, (h, w), 2.5 / mm, 1.0 / mm)
    septa = np.exp(-((septa_field / 0.12) ** 2)) * np.clip(0.4 + breaks, 0.0, 1.0)
    fat = 0.4 + 2.5 * septa

    # Muscle: fascicles separated by bright perimysium striations, oblique (pennate).
    def muscle(top: np.ndarray, pennation_deg: float) -> np.ndarray:
        v = yy - top - math.tan(math.radians(pennation_deg)) * xx
        v_min, v_max = float(v.min()) - 2, float(v.max()) + 2
        spacing = 0.75 / mm
        positions = [v_min]
        while positions[-1] < v_max:
            positions.append(positions[-1] + spacing * rng.uniform(0.5, 1.5))
        grid = np.arange(v_min, v_max, 0.25, dtype=np.float32)
        profile = np.zeros_like(grid)
        for position in positions:
            width = rng.uniform(0.7, 1.6)
            profile += rng.uniform(0.4, 1.0) * np.exp(-(((grid - position) / width) ** 2))
        striations = np.interp(v, grid, profile).astype(np.float32)
        segments = _smooth_noise(rng, (h, w), 3.5 / mm, 0.6 / mm)
        return 0.75 + 3.0 * striations * np.clip(0.45 + 0.6 * segments, 0.0, 1.0)

    muscle_upper = muscle(deep, rng.uniform(8, 14))
    muscle_lower = muscle(inter, -rng.uniform(6, 12))

    depth_mm = yy * mm
    echo = np.where(yy < deep, fat, np.where(yy < inter, muscle_upper, muscle_lower))
    # Skin: a thin bright entry echo over a moderately bright dermis of uneven depth.
    dermis_depth_mm = 1.3 + 0.2 * _smooth_noise(rng, (1, w), 2.0 / mm, 0.3)
    dermis = 1.3 * np.exp(0.3 * _smooth_noise(rng, (h, w), 0.8 / mm, 0.2 / mm))
    skin = dermis + 5.0 * np.exp(-(((depth_mm - 0.12) / 0.1) ** 2))
    echo = np.where(depth_mm < dermis_depth_mm, skin, echo)
    # Loose connective tissue just under the superficial fascia is a bit brighter.
    echo = echo + 0.4 * ((yy > superficial) & (yy < deep))
    # Scatterer density varies slowly.
    echo = echo * np.exp(0.15 * _smooth_noise(rng, (h, w), 4.0 / mm, 2.0 / mm))

    for plane, curve in zip(planes, curves, strict=True):
        along = _smooth_noise(rng, (1, w), 3.0 / mm, 0.3)[0]
        amplitude = FASCIA_AMPLITUDE * np.clip(0.8 + 0.3 * along, 0.35, 1.2)
        sigma = plane.thickness_px
        # A doubled plane is two epimysia with a thin gap: the space the fluid opens.
        offsets = (-0.28 / mm, 0.28 / mm) if plane.doubled else (0.0,)
        for offset in offsets:
            echo = echo + amplitude * np.exp(-0.5 * ((yy - curve - offset) / sigma) ** 2)
    return echo.astype(np.float32)


def make_speckle(
    *, seed: int, width_px: int, height_px: int, mm_per_px_x: float, mm_per_px_y: float
) -> tuple[np.ndarray, ...]:
    """Complex speckle fields, unit power: two static (compounded), two for temporal change.

    Returns:
        Eight ``(height_px, width_px)`` float32 arrays: real and imaginary parts of the two
        static fields, then of the two that blend in over time (``speckle_envelope``).
    """
    h, w = height_px, width_px
    rng = _rng(seed, _SPECKLE_STREAM)
    sigma_x = max(1.0, 0.26 / mm_per_px_x)  # laterally wider point spread
    sigma_y = max(0.6, 0.1 / mm_per_px_y)
    fields = []
    for _ in range(4):
        real = rng.standard_normal((h, w), dtype=np.float32)
        imag = rng.standard_normal((h, w), dtype=np.float32)
        real = cv2.GaussianBlur(real, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
        imag = cv2.GaussianBlur(imag, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
        power = math.sqrt(float(np.mean(real**2 + imag**2)))
        fields += [real / power, imag / power]
    return tuple(field.astype(np.float32) for field in fields)


def speckle_envelope(speckle: tuple[np.ndarray, ...], index: int) -> np.ndarray:
    """Speckle amplitude of frame ``index`` (mean ~0.9), region-sized float32.

    Parameters:
        speckle: the fields of ``make_speckle``.
        index: frame index (0-based).
    """
    ar, ai, br, bi, j1r, j1i, j2r, j2i = speckle
    # Speckle decorrelates slowly over time (tissue micro-motion, noise) ...
    theta = 0.45 * index
    c, s = 0.4 * math.cos(theta), 0.4 * math.sin(theta)
    keep = math.sqrt(1.0 - 0.4**2)
    first = cv2.magnitude(keep * ar + c * j1r + s * j2r, keep * ai + c * j1i + s * j2i)
    second = cv2.magnitude(keep * br + c * j2r - s * j1r, keep * bi + c * j2i - s * j1i)
    # ... and, as on a scanner with spatial compounding, two looks are averaged.
    return 0.5 * (first + second)


def make_depth_gain(*, height_px: int, mm_per_px_y: float) -> np.ndarray:
    """Attenuation with depth, partly compensated by TGC, as a ``(height_px, 1)`` column."""
    depth_mm = (np.arange(height_px, dtype=np.float32) + 0.5) * mm_per_px_y
    attenuation = np.exp(-0.055 * depth_mm)  # ~0.5 dB/mm round trip
    tgc = np.exp(0.04 * depth_mm) * (1.0 + 0.15 * np.exp(-depth_mm / 2.0))
    return (attenuation * tgc).astype(np.float32)[:, None]
