"""Render synthetic ultrasound loops of a needle hydrodissecting a fascial plane, with truth."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from usannotate.samples.dicom_writer import UltrasoundRegion, format_ds, write_jpeg_cine

__all__ = [
    "BUNDLED_SAMPLES",
    "COORDINATE_SYSTEM",
    "PLANE_NAMES",
    "TRUTH_FORMAT",
    "TRUTH_VERSION",
    "HydrodissectionPhantom",
    "PhantomParams",
    "dumps_truth",
    "make_sample_loop",
    "truth_path_for",
    "write_bundled_samples",
]

TRUTH_FORMAT = "usannotate-synthetic-truth"
TRUTH_VERSION = 1
COORDINATE_SYSTEM = (
    "Points are [x, y] = (column, row) in image pixels, floats, with (0, 0) at the top-left "
    "corner of the top-left pixel, so a pixel's centre is at +0.5; frame indices are 0-based; "
    "region_bounds are inclusive pixel indices [x0, y0, x1, y1] as in DICOM "
    "SequenceOfUltrasoundRegions."
)
#: Fascial planes from superficial to deep.
PLANE_NAMES = ("superficial_fascia", "deep_fascia", "interfascial_plane")

# Default plane depths as fractions of the imaging depth, superficial to deep.
_PLANE_DEPTH_FRACTIONS = (0.17, 0.33, 0.58)
# Spacing of the truth points along each plane (px).
_PLANE_POINT_STEP_PX = 8
# Points per side of the fluid lens outline.
_LENS_POINTS_PER_SIDE = 40
# Display mapping (log compression): amplitude _AMPLITUDE_WHITE maps to 255 and the
# dynamic range below it to 0..255.
_DYNAMIC_RANGE_DB = 50.0
_AMPLITUDE_WHITE = 48.0
# Echo amplitudes relative to muscle (1.0); specular fascia is ~20 dB above tissue.
_FASCIA_AMPLITUDE = 13.0
_FLUID_AMPLITUDE = 0.05
# Needle, in display grey levels (0..255).
_NEEDLE_GREY = 235
_NEEDLE_TIP_GREY = 255
_REVERB_DECAY = 0.55
_REVERB_COUNT = 4
_SUB_PIXEL_SHIFT = 4  # cv2 drawing: coordinates in 1/16 px


@dataclass(frozen=True)
class PhantomParams:
    """Everything that determines a synthetic loop; equal parameters give equal pixels.

    Attributes:
        rows, columns: frame size (px).
        n_frames: number of frames (>= 4).
        seed: random seed for tissue, speckle and plane shapes.
        frame_time_ms: time between frames (ms); stored to 6 significant digits, as the
            DICOM FrameTime is.
        needle_angle_deg: needle shaft angle against the image x axis (degrees, 5-70),
            positive = the tip deeper than the entry; the needle enters from the left.
        depth_mm: imaging depth = height of the ultrasound region (mm).
        footprint_mm: probe footprint = width of the ultrasound region (mm), clipped to
            what fits in the frame.
        target_plane: the fascial plane the needle aims at and the fluid spreads along,
            one of ``PLANE_NAMES``.
        plane_depths_mm: depth of each plane under the skin (mm), superficial to deep;
            ``None`` for the default fractions of ``depth_mm`` jittered by the seed.
        fluid_length_mm, fluid_thickness_mm: size of the fluid lens in the last frame (mm).
        motion_amplitude_px: vertical tissue motion (breathing / probe pressure) amplitude
            (px); the planes and fluid move with it, the needle does not.
        motion_period_s: period of that motion (s).
        probe: probe name for the banner and TransducerData.
        patient_name, patient_id, study_date: made-up banner and DICOM identifiers.
    """

    rows: int = 480
    columns: int = 640
    n_frames: int = 60
    seed: int = 0
    frame_time_ms: float = 1000.0 / 30.0
    needle_angle_deg: float = 30.0
    depth_mm: float = 38.0
    footprint_mm: float = 38.0
    target_plane: str = "interfascial_plane"
    plane_depths_mm: tuple[float, float, float] | None = None
    fluid_length_mm: float = 18.0
    fluid_thickness_mm: float = 3.0
    motion_amplitude_px: float = 0.8
    motion_period_s: float = 2.0
    probe: str = "L12-5"
    patient_name: str = "SYNTHETIC^DEMO"
    patient_id: str = "000000"
    study_date: str = "20260101"

    def __post_init__(self) -> None:
        # The truth must carry the frame time the DICOM file will state.
        object.__setattr__(self, "frame_time_ms", float(format_ds(self.frame_time_ms)))
        if self.plane_depths_mm is not None:
            object.__setattr__(self, "plane_depths_mm", tuple(self.plane_depths_mm))
        if self.rows < 120 or self.columns < 160:
            raise ValueError(
                f"frame size must be at least 160 x 120 px, got {self.columns} x {self.rows}"
            )
        if self.n_frames < 4:
            raise ValueError(f"n_frames must be at least 4, got {self.n_frames}")
        if not 5.0 <= self.needle_angle_deg <= 70.0:
            raise ValueError(
                f"needle_angle_deg must be within 5-70 degrees, got {self.needle_angle_deg}"
            )
        if self.target_plane not in PLANE_NAMES:
            raise ValueError(
                f"target_plane must be one of {PLANE_NAMES}, got {self.target_plane!r}"
            )
        if self.frame_time_ms <= 0 or self.depth_mm <= 0 or self.footprint_mm <= 0:
            raise ValueError("frame_time_ms, depth_mm and footprint_mm must be positive")
        if self.plane_depths_mm is not None and not (
            len(self.plane_depths_mm) == len(PLANE_NAMES)
            and 0 < self.plane_depths_mm[0] < self.plane_depths_mm[1] < self.plane_depths_mm[2]
            and self.plane_depths_mm[2] < self.depth_mm
        ):
            raise ValueError(
                f"plane_depths_mm must be 3 increasing depths within (0, depth_mm), "
                f"got {self.plane_depths_mm}"
            )


@dataclass(frozen=True)
class _Plane:
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


def _to_cv(points: np.ndarray, origin: tuple[float, float]) -> np.ndarray:
    """Convert corner-convention points (x, y) to cv2 fixed-point pixel-centre coordinates.

    cv2 puts pixel (c, r) at the integer point (c, r), i.e. at our (c + 0.5, r + 0.5).
    """
    shifted = (np.asarray(points, dtype=np.float64) - np.asarray(origin) - 0.5) * (
        1 << _SUB_PIXEL_SHIFT
    )
    return np.round(shifted).astype(np.int32)


def _shoelace_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _round_points(points: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 2), round(float(y), 2)] for x, y in points]


class HydrodissectionPhantom:
    """A synthetic linear-probe B-mode loop: tissue, fascial planes, needle and fluid.

    The static tissue (echogenicity, speckle) is computed once at construction; each frame
    then only adds a temporal speckle change, tissue motion, the fluid and the needle, so
    rendering costs a few milliseconds per frame.

    Parameters:
        params: what to render.
    """

    def __init__(self, params: PhantomParams) -> None:
        self.params = params
        p = params
        self.banner_px = max(28, round(p.rows * 0.1))
        y0 = self.banner_px + 4
        y1 = p.rows - 9
        height = y1 - y0 + 1
        # Round the calibration so the truth, the DICOM and a reader agree to the digit.
        mm_per_px = round(p.depth_mm / height, 5)
        width = min(round(p.footprint_mm / mm_per_px), p.columns - 48)
        x0 = (p.columns - width) // 2
        x1 = x0 + width - 1
        self.mm_per_px_x = mm_per_px
        self.mm_per_px_y = mm_per_px
        self.region = UltrasoundRegion(
            x0=x0,
            y0=y0,
            x1=x1,
            y1=y1,
            mm_per_px_x=mm_per_px,
            mm_per_px_y=mm_per_px,
            reference_px_x0=width // 2,
            reference_px_y0=0,
        )
        self._width = width
        self._height = height
        self._planes = self._make_planes()
        self._target = self._planes[PLANE_NAMES.index(p.target_plane)]
        self._plane_x = np.append(
            np.arange(x0, x1 + 1, _PLANE_POINT_STEP_PX, dtype=np.float64), float(x1 + 1)
        )
        self._plan_needle_and_fluid()
        self._echo = self._make_echo()
        self._speckle = self._make_speckle()
        self._depth_gain = self._make_depth_gain()
        self._static_frame = self._make_static_frame()
        self._grey_scale = 255.0 / _DYNAMIC_RANGE_DB * 20.0 / math.log(10.0)
        self._grey_offset = 255.0 - self._grey_scale * math.log(_AMPLITUDE_WHITE)

    # ----------------------------------------------------------------- construction
    def _make_planes(self) -> list[_Plane]:
        p = self.params
        rng = _rng(p.seed, 1)
        mm = self.mm_per_px_y
        if p.plane_depths_mm is None:
            depths = [
                (fraction + rng.uniform(-0.02, 0.02)) * p.depth_mm
                for fraction in _PLANE_DEPTH_FRACTIONS
            ]
        else:
            depths = list(p.plane_depths_mm)
            rng.uniform(size=3)  # keep the stream aligned with the default branch
        centre_x = self.region.x0 + self._width / 2.0
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
                _Plane(
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

    def _plan_needle_and_fluid(self) -> None:
        """Fix the needle path, its timing, and the fluid timing and size."""
        p = self.params
        r = self.region
        n = p.n_frames
        self.needle_start = max(1, round(0.05 * n))
        self.needle_arrival = max(self.needle_start + 1, round(0.45 * n))
        self.fluid_start = min(n - 1, self.needle_arrival + max(1, round(0.03 * n)))

        tan = math.tan(math.radians(p.needle_angle_deg))
        # Aim so the needle enters ~3 mm under the skin at the region's left edge, but
        # keep the target within 30-60 % of the width so the fluid has room on both sides.
        entry_depth = 3.0 / self.mm_per_px_y
        run = 0.6 * self._width
        for _ in range(4):
            target_depth = float(self._target.y(np.array([r.x0 + run]))[0])
            run = float(
                np.clip(
                    (target_depth - entry_depth) / tan,
                    0.3 * self._width,
                    0.6 * self._width,
                )
            )
        target_depth = float(self._target.y(np.array([r.x0 + run]))[0])
        entry_y = r.y0 + max(target_depth - run * tan, 1.0 / self.mm_per_px_y)
        entry_x = float(r.x0)
        # Where the straight path first meets the (wavy) target plane.
        xs = np.linspace(entry_x, r.x1 + 1.0, 8 * self._width + 1)
        below = entry_y + (xs - entry_x) * tan - (r.y0 + self._target.y(xs))
        if not (below >= 0.0).any():
            raise ValueError(
                f"a needle at {p.needle_angle_deg} degrees does not reach the "
                f"{p.target_plane} inside the image; change the angle or the plane depths"
            )
        crossing = int(np.argmax(below >= 0.0))
        target_x = float(xs[crossing])
        self.needle_entry = np.array([entry_x, entry_y])
        self.needle_target = np.array([target_x, entry_y + (target_x - entry_x) * tan])
        self.needle_direction = np.array([1.0, tan]) / math.hypot(1.0, tan)
        self.needle_length = float(np.linalg.norm(self.needle_target - self.needle_entry))

        max_length_px = p.fluid_length_mm / self.mm_per_px_x
        self.fluid_length_px = min(max_length_px, 0.8 * self._width)
        self.fluid_thickness_px = p.fluid_thickness_mm / self.mm_per_px_y

    def _make_echo(self) -> np.ndarray:
        """Static echogenicity of the tissue in the region (linear amplitude, muscle ~ 1)."""
        p = self.params
        h, w = self._height, self._width
        mm = self.mm_per_px_y
        rng = _rng(p.seed, 2)
        x_img = self.region.x0 + np.arange(w, dtype=np.float64) + 0.5
        yy = (np.arange(h, dtype=np.float32) + 0.5)[:, None]
        xx = (np.arange(w, dtype=np.float32) + 0.5)[None, :]
        curves = [plane.y(x_img).astype(np.float32)[None, :] for plane in self._planes]
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

        for plane, curve in zip(self._planes, curves, strict=True):
            along = _smooth_noise(rng, (1, w), 3.0 / mm, 0.3)[0]
            amplitude = _FASCIA_AMPLITUDE * np.clip(0.8 + 0.3 * along, 0.35, 1.2)
            sigma = plane.thickness_px
            # A doubled plane is two epimysia with a thin gap: the space the fluid opens.
            offsets = (-0.28 / mm, 0.28 / mm) if plane.doubled else (0.0,)
            for offset in offsets:
                echo = echo + amplitude * np.exp(-0.5 * ((yy - curve - offset) / sigma) ** 2)
        return echo.astype(np.float32)

    def _make_speckle(self) -> tuple[np.ndarray, ...]:
        """Complex speckle fields, unit power: two static (compounded), two for temporal change."""
        h, w = self._height, self._width
        rng = _rng(self.params.seed, 3)
        sigma_x = max(1.0, 0.26 / self.mm_per_px_x)  # laterally wider point spread
        sigma_y = max(0.6, 0.1 / self.mm_per_px_y)
        fields = []
        for _ in range(4):
            real = rng.standard_normal((h, w), dtype=np.float32)
            imag = rng.standard_normal((h, w), dtype=np.float32)
            real = cv2.GaussianBlur(real, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
            imag = cv2.GaussianBlur(imag, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
            power = math.sqrt(float(np.mean(real**2 + imag**2)))
            fields += [real / power, imag / power]
        return tuple(field.astype(np.float32) for field in fields)

    def _make_depth_gain(self) -> np.ndarray:
        """Attenuation with depth, partly compensated by TGC, as a column vector."""
        depth_mm = (np.arange(self._height, dtype=np.float32) + 0.5) * self.mm_per_px_y
        attenuation = np.exp(-0.055 * depth_mm)  # ~0.5 dB/mm round trip
        tgc = np.exp(0.04 * depth_mm) * (1.0 + 0.15 * np.exp(-depth_mm / 2.0))
        return (attenuation * tgc).astype(np.float32)[:, None]

    def _make_static_frame(self) -> np.ndarray:
        """The grey frame without the image: black, the banner text and the depth scale."""
        p = self.params
        r = self.region
        frame = np.zeros((p.rows, p.columns), dtype=np.uint8)
        date = f"{p.study_date[:4]}-{p.study_date[4:6]}-{p.study_date[6:]}"
        fps = round(1000.0 / p.frame_time_ms)
        lines = (
            f"{p.patient_name}  ID {p.patient_id}  {date}  {p.probe} {p.footprint_mm:g}mm  MSK",
            f"FR {fps}Hz  D {p.depth_mm / 10:.1f}cm  G 55  DR {_DYNAMIC_RANGE_DB:g}  SYNTHETIC",
        )
        font = cv2.FONT_HERSHEY_SIMPLEX
        line_height = self.banner_px / 2.0
        for number, text in enumerate(lines):
            (text_w, text_h), _ = cv2.getTextSize(text, font, 1.0, 1)
            scale = min(0.5 * line_height / text_h, 0.94 * p.columns / text_w)
            baseline_y = round(line_height * (number + 0.72))
            cv2.putText(frame, text, (8, baseline_y), font, scale, 255, 1, cv2.LINE_AA)

        # Depth scale right of the region: a tick every 5 mm, labelled every cm.
        margin = p.columns - 1 - r.x1
        if margin >= 24:
            tick_x = r.x1 + 6
            for depth in range(0, int(p.depth_mm) + 1, 5):
                y = round(r.y0 + depth / self.mm_per_px_y)
                if y > r.y1:
                    break
                length = 8 if depth % 10 == 0 else 4
                cv2.line(frame, (tick_x, y), (tick_x + length, y), 200, 1)
                if depth % 10 == 0 and depth > 0 and margin >= 32:
                    cv2.putText(
                        frame,
                        str(depth // 10),
                        (tick_x + 11, y + 4),
                        font,
                        0.35,
                        200,
                        1,
                        cv2.LINE_AA,
                    )
        # Probe orientation marker, top left of the image.
        if r.x0 >= 14:
            cv2.circle(frame, (r.x0 - 8, r.y0 + 6), 3, 255, -1, cv2.LINE_AA)
        return frame

    # ----------------------------------------------------------------- per frame
    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.params.n_frames:
            raise IndexError(
                f"frame index {index} out of range 0..{self.params.n_frames - 1} (0-based)"
            )

    def motion_px(self, index: int) -> float:
        """Vertical tissue displacement of frame ``index`` (px, positive = down)."""
        p = self.params
        t_s = index * p.frame_time_ms / 1000.0
        return p.motion_amplitude_px * math.sin(2.0 * math.pi * t_s / p.motion_period_s)

    def _needle_tip(self, index: int) -> np.ndarray | None:
        if index < self.needle_start:
            return None
        start = min(3.0 / self.mm_per_px_x, 0.5 * self.needle_length)
        span = self.needle_arrival - self.needle_start
        progress = min(1.0, (index - self.needle_start) / span)
        eased = progress * progress * (3.0 - 2.0 * progress)
        length = start + (self.needle_length - start) * eased
        return self.needle_entry + length * self.needle_direction

    def _fluid_outline(self, index: int, dy: float) -> np.ndarray | None:
        if index < self.fluid_start:
            return None
        n = self.params.n_frames
        progress = (index - self.fluid_start + 1) / (n - self.fluid_start)
        length = self.fluid_length_px * (0.12 + 0.88 * progress**0.7)
        thickness = self.fluid_thickness_px * (0.2 + 0.8 * progress**0.8)
        r = self.region
        half = length / 2.0
        centre = self.needle_target[0] + 0.1 * length
        centre = float(np.clip(centre, r.x0 + half + 3, r.x1 + 1 - half - 3))
        u = -np.cos(np.linspace(0.0, np.pi, _LENS_POINTS_PER_SIDE))  # denser at the tips
        x = centre + half * u
        mid = r.y0 + dy + self._target.y(x)
        profile = 0.5 * thickness * (1.0 - u**2) ** 0.8
        upper = np.stack([x, mid - profile], axis=1)
        lower = np.stack([x, mid + profile], axis=1)[-2:0:-1]
        return np.concatenate([upper, lower])

    def frame_truth(self, index: int) -> dict[str, Any]:
        """Ground truth of frame ``index`` (0-based), as stored in the truth JSON.

        Returns:
            ``{"index", "fascial_planes": [{"name", "points"}], "needle": {"entry", "tip"}
            or None, "fluid": {"outline", "area_mm2"} or None}``; points ``[x, y]`` in px,
            corner convention, rounded to 0.01 px.
        """
        self._check_index(index)
        dy = self.motion_px(index)
        r = self.region
        planes = [
            {
                "name": plane.name,
                "points": _round_points(
                    np.stack([self._plane_x, r.y0 + dy + plane.y(self._plane_x)], axis=1)
                ),
            }
            for plane in self._planes
        ]
        tip = self._needle_tip(index)
        needle = None
        if tip is not None:
            entry_xy, tip_xy = _round_points(np.stack([self.needle_entry, tip]))
            needle = {"entry": entry_xy, "tip": tip_xy}
        outline = self._fluid_outline(index, dy)
        fluid = None
        if outline is not None:
            rounded = _round_points(outline)
            area_px = _shoelace_area(np.asarray(rounded))
            area_mm2 = round(area_px * self.mm_per_px_x * self.mm_per_px_y, 4)
            fluid = {"outline": rounded, "area_mm2": area_mm2}
        return {
            "index": index,
            "fascial_planes": planes,
            "needle": needle,
            "fluid": fluid,
        }

    def _speckle_envelope(self, index: int) -> np.ndarray:
        """Speckle amplitude of frame ``index`` (mean ~0.9), region-sized float32."""
        ar, ai, br, bi, j1r, j1i, j2r, j2i = self._speckle
        # Speckle decorrelates slowly over time (tissue micro-motion, noise) ...
        theta = 0.45 * index
        c, s = 0.4 * math.cos(theta), 0.4 * math.sin(theta)
        keep = math.sqrt(1.0 - 0.4**2)
        first = cv2.magnitude(keep * ar + c * j1r + s * j2r, keep * ai + c * j1i + s * j2i)
        second = cv2.magnitude(keep * br + c * j2r - s * j1r, keep * bi + c * j2i - s * j1i)
        # ... and, as on a scanner with spatial compounding, two looks are averaged.
        return 0.5 * (first + second)

    def render(self, index: int, truth: dict[str, Any] | None = None) -> np.ndarray:
        """Render frame ``index`` (0-based).

        Parameters:
            index: frame index.
            truth: ``frame_truth(index)`` if already computed (the pixels are drawn from
                its rounded coordinates, so they agree with the truth file exactly).

        Returns:
            ``(rows, columns, 3)`` uint8 RGB frame (grey content).
        """
        self._check_index(index)
        if truth is None:
            truth = self.frame_truth(index)
        r = self.region
        origin = (float(r.x0), float(r.y0))

        speckle = self._speckle_envelope(index)
        amplitude = self._echo * speckle

        dy = self.motion_px(index)
        if dy != 0.0:
            shift = np.float32([[1, 0, 0], [0, 1, dy]])
            amplitude = cv2.warpAffine(
                amplitude,
                shift,
                (self._width, self._height),
                flags=cv2.INTER_CUBIC,  # sharper than linear: speckle keeps its contrast
                borderMode=cv2.BORDER_REFLECT,
            )

        fluid = truth["fluid"]
        if fluid is not None:
            outline = _to_cv(np.asarray(fluid["outline"]), origin)
            mask = np.zeros((self._height, self._width), dtype=np.uint8)
            cv2.fillPoly(mask, [outline], 255, cv2.LINE_AA, _SUB_PIXEL_SHIFT)
            inside = mask.astype(np.float32) * (1.0 / 255.0)
            # Sound crosses the fluid unattenuated: everything below it is brighter.
            path_mm = np.cumsum(inside, axis=0) * self.mm_per_px_y
            # The beam is not infinitely thin: soften the enhancement's edges laterally.
            path_mm = cv2.blur(path_mm, (max(1, round(0.6 / self.mm_per_px_x)), 1))
            enhancement = 1.0 + 1.2 * (1.0 - np.exp(-path_mm / 1.5))
            amplitude = amplitude * (1.0 - inside) + inside * _FLUID_AMPLITUDE * speckle
            amplitude *= enhancement
            # The fascia is pushed apart and wraps the fluid as a bright rim.
            rim = np.zeros_like(mask)
            thickness = max(1, round(0.15 / self.mm_per_px_y))
            cv2.polylines(rim, [outline], True, 255, thickness, cv2.LINE_AA, _SUB_PIXEL_SHIFT)
            amplitude += rim.astype(np.float32) * (0.8 * _FASCIA_AMPLITUDE / 255.0) * speckle

        amplitude *= self._depth_gain
        grey = cv2.log(np.maximum(amplitude, 1e-6))
        grey = grey * self._grey_scale + self._grey_offset
        image = np.clip(grey, 0, 255).astype(np.uint8)

        needle = truth["needle"]
        if needle is not None:
            self._draw_needle(image, needle, origin, speckle)

        frame = self._static_frame.copy()
        frame[r.y0 : r.y1 + 1, r.x0 : r.x1 + 1] = image
        return cv2.merge([frame, frame, frame])

    def _draw_needle(
        self,
        image: np.ndarray,
        needle: dict[str, Any],
        origin: tuple[float, float],
        speckle: np.ndarray,
    ) -> None:
        """Blend the needle, its reverberations and its tip into the region image (grey)."""
        entry = np.asarray(needle["entry"], dtype=np.float64)
        tip = np.asarray(needle["tip"], dtype=np.float64)
        thickness = max(2, round(0.3 / self.mm_per_px_y))
        spacing = 0.8 / self.mm_per_px_y
        # Reverberations: fainter, grainy copies of the shaft, equally spaced below it.
        reverb = np.zeros_like(image)
        for k in range(_REVERB_COUNT, 0, -1):
            offset = np.array([0.0, k * spacing])
            a, b = _to_cv(np.stack([entry + offset, tip + offset]), origin)
            grey = round(_NEEDLE_GREY * _REVERB_DECAY**k)
            cv2.line(
                reverb,
                tuple(a),
                tuple(b),
                grey,
                max(1, thickness - 1),
                cv2.LINE_AA,
                _SUB_PIXEL_SHIFT,
            )
        layer = reverb.astype(np.float32) * np.clip(0.3 + 0.8 * speckle, 0.0, 1.4)
        shaft = np.zeros_like(image)
        a, b = _to_cv(np.stack([entry, tip]), origin)
        cv2.line(shaft, tuple(a), tuple(b), _NEEDLE_GREY, thickness, cv2.LINE_AA, _SUB_PIXEL_SHIFT)
        radius = round(0.8 * thickness * (1 << _SUB_PIXEL_SHIFT))
        cv2.circle(shaft, tuple(b), radius, _NEEDLE_TIP_GREY, -1, cv2.LINE_AA, _SUB_PIXEL_SHIFT)
        layer = np.maximum(layer, shaft.astype(np.float32)).clip(0.0, 255.0)
        # Screen blend: bright over anything, the fainter copies still show over tissue.
        blended = 255.0 - (255.0 - image.astype(np.float32)) * (255.0 - layer) / 255.0
        np.copyto(image, np.clip(np.round(blended), 0, 255).astype(np.uint8))

    def frames(self) -> Iterator[np.ndarray]:
        """Yield every frame in order, one at a time (see ``render``)."""
        for index in range(self.params.n_frames):
            yield self.render(index)

    def truth(self, *, sop_instance_uid: str | None = None) -> dict[str, Any]:
        """The whole ground-truth document (see ``sample_dicoms/README.md``).

        Parameters:
            sop_instance_uid: UID of the DICOM file the truth belongs to, if written.

        Returns:
            A JSON-ready dict in a fixed key order.
        """
        p = self.params
        parameters = dataclasses.asdict(p)
        if parameters["plane_depths_mm"] is not None:
            parameters["plane_depths_mm"] = list(parameters["plane_depths_mm"])
        return {
            "format": TRUTH_FORMAT,
            "version": TRUTH_VERSION,
            "coordinate_system": COORDINATE_SYSTEM,
            "generator": {
                "module": __name__,
                "seed": p.seed,
                "parameters": parameters,
            },
            "sop_instance_uid": sop_instance_uid,
            "rows": p.rows,
            "columns": p.columns,
            "n_frames": p.n_frames,
            "frame_time_ms": p.frame_time_ms,
            "mm_per_px_x": self.mm_per_px_x,
            "mm_per_px_y": self.mm_per_px_y,
            "region_bounds": list(self.region.bounds),
            "needle_angle_deg": p.needle_angle_deg,
            "target_plane": p.target_plane,
            "frames": [self.frame_truth(index) for index in range(p.n_frames)],
        }


def truth_path_for(dicom_path: str | Path) -> Path:
    """Return the ground-truth path beside a DICOM file: ``<stem>.truth.json``."""
    dicom_path = Path(dicom_path)
    return dicom_path.with_name(f"{dicom_path.stem}.truth.json")


_NUMBER = r"-?[0-9][0-9.eE+-]*"
_NUMBER_LIST = re.compile(rf"\[\s*(?:{_NUMBER}\s*,\s*)*{_NUMBER}\s*\]")
_POINT = rf"\[{_NUMBER}, {_NUMBER}\]"
_POINT_LIST = re.compile(rf"\[\s*(?:{_POINT},\s*)*{_POINT}\s*\]")


def _join_items(match: re.Match[str]) -> str:
    """``[\\n 1,\\n 2\\n]`` -> ``[1, 2]``; items are numbers or number pairs (no commas)."""
    inner = match.group(0)[1:-1]
    items = re.findall(_POINT, inner) or [item.strip() for item in inner.split(",")]
    return "[" + ", ".join(items) + "]"


def dumps_truth(truth: dict[str, Any]) -> str:
    """Serialise a truth document: indented, each list of numbers or points on one line.

    Parameters:
        truth: the document (``HydrodissectionPhantom.truth``).

    Returns:
        JSON text ending in a newline; the same document always gives the same text.
    """
    text = json.dumps(truth, indent=1, ensure_ascii=True)
    text = _NUMBER_LIST.sub(_join_items, text)  # points first: [x, y]
    return _POINT_LIST.sub(_join_items, text) + "\n"


def make_sample_loop(
    path: str | Path,
    *,
    rows: int = 480,
    columns: int = 640,
    n_frames: int = 60,
    seed: int = 0,
    frame_time_ms: float = 1000.0 / 30.0,
    needle_angle_deg: float = 30.0,
    quality: int = 88,
    write_truth: bool = True,
    **params: Any,
) -> dict[str, Any] | None:
    """Render a synthetic loop and write it as a JPEG DICOM, with its truth JSON beside it.

    Parameters:
        path: output ``.dcm`` file; the truth goes to ``<stem>.truth.json``.
        rows, columns: frame size (px).
        n_frames: number of frames.
        seed: random seed; equal arguments give byte-identical files.
        frame_time_ms: time between frames (ms).
        needle_angle_deg: needle angle against the image x axis (degrees, positive = down).
        quality: JPEG quality, 1-100.
        write_truth: False to skip the truth (e.g. a quick benchmark loop).
        **params: further ``PhantomParams`` fields (``depth_mm``, ``target_plane``, ...).

    Returns:
        The truth document, or None when ``write_truth`` is False.
    """
    phantom = HydrodissectionPhantom(
        PhantomParams(
            rows=rows,
            columns=columns,
            n_frames=n_frames,
            seed=seed,
            frame_time_ms=frame_time_ms,
            needle_angle_deg=needle_angle_deg,
            **params,
        )
    )
    p = phantom.params
    uid = write_jpeg_cine(
        path,
        phantom.frames(),
        frame_time_ms=p.frame_time_ms,
        regions=[phantom.region],
        quality=quality,
        uid_entropy=["usannotate.samples", repr(dataclasses.astuple(p)), str(quality)],
        patient_name=p.patient_name,
        patient_id=p.patient_id,
        study_date=p.study_date,
        transducer=p.probe,
    )
    if not write_truth:
        return None
    truth = phantom.truth(sop_instance_uid=uid)
    truth_path_for(path).write_text(dumps_truth(truth), encoding="utf-8")
    return truth


#: The loops bundled in ``sample_dicoms/``: file name -> ``make_sample_loop`` arguments.
BUNDLED_SAMPLES: dict[str, dict[str, Any]] = {
    "hydrodissection_linear_a.dcm": {
        "rows": 480,
        "columns": 640,
        "n_frames": 60,
        "seed": 20260101,
        "frame_time_ms": 1000.0 / 30.0,
        "needle_angle_deg": 30.0,
        "quality": 84,
        "depth_mm": 38.0,
        "target_plane": "interfascial_plane",
    },
    "hydrodissection_linear_b.dcm": {
        "rows": 384,
        "columns": 512,
        "n_frames": 45,
        "seed": 20260202,
        "frame_time_ms": 40.0,
        "needle_angle_deg": 22.0,
        "quality": 85,
        "depth_mm": 25.0,
        "footprint_mm": 30.0,
        "probe": "L15-4",
        "target_plane": "deep_fascia",
        "fluid_length_mm": 13.0,
        "fluid_thickness_mm": 2.2,
    },
}


def write_bundled_samples(out_dir: str | Path) -> list[Path]:
    """Regenerate the bundled sample loops and their truth files into ``out_dir``.

    Parameters:
        out_dir: destination folder (created if missing).

    Returns:
        The DICOM paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, arguments in BUNDLED_SAMPLES.items():
        make_sample_loop(out_dir / name, **arguments)
        written.append(out_dir / name)
    return written
