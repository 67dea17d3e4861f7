"""The phantom's needle: a straight path to the target plane, the tip's advance, the drawn shaft."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from usannotate.samples._points import SUB_PIXEL_SHIFT, to_cv
from usannotate.samples._tissue import Plane
from usannotate.samples.dicom_writer import UltrasoundRegion

__all__ = ["NeedlePath", "draw_needle", "plan_needle"]

# Needle, in display grey levels (0..255).
_NEEDLE_GREY = 235
_NEEDLE_TIP_GREY = 255
_REVERB_DECAY = 0.55
_REVERB_COUNT = 4


@dataclass(frozen=True, eq=False)
class NeedlePath:
    """Where and when the needle goes; points (x, y) in image px, corner convention.

    Attributes:
        start_frame: first frame that shows the needle.
        arrival_frame: first frame with the tip at ``target``.
        entry: where the shaft enters the region (its left edge).
        target: where the straight path first meets the target plane.
        direction: unit vector from ``entry`` to ``target``.
        length_px: distance from ``entry`` to ``target`` (px).
    """

    start_frame: int
    arrival_frame: int
    entry: np.ndarray
    target: np.ndarray
    direction: np.ndarray
    length_px: float

    def tip(self, index: int, mm_per_px_x: float) -> np.ndarray | None:
        """The tip on frame ``index`` (0-based), or None before the needle appears.

        The tip shows 3 mm in on the first frame and eases in to ``target`` by
        ``arrival_frame``, where it stays.
        """
        if index < self.start_frame:
            return None
        start = min(3.0 / mm_per_px_x, 0.5 * self.length_px)
        span = self.arrival_frame - self.start_frame
        progress = min(1.0, (index - self.start_frame) / span)
        eased = progress * progress * (3.0 - 2.0 * progress)
        length = start + (self.length_px - start) * eased
        return self.entry + length * self.direction


def plan_needle(
    *,
    target: Plane,
    target_name: str,
    region: UltrasoundRegion,
    width_px: int,
    n_frames: int,
    needle_angle_deg: float,
    mm_per_px_y: float,
) -> NeedlePath:
    """Fix the needle's path to the target plane and its timing.

    Parameters:
        target: the plane the needle aims at (without motion).
        target_name: its name, for the message.
        region: the ultrasound region.
        width_px: the region's width (px).
        n_frames: number of frames of the loop.
        needle_angle_deg: shaft angle against the image x axis (positive = going down).
        mm_per_px_y: the region's vertical calibration (mm per px).

    Raises:
        ValueError: the needle at that angle never reaches the plane inside the image.
    """
    r = region
    n = n_frames
    start_frame = max(1, round(0.05 * n))
    arrival_frame = max(start_frame + 1, round(0.45 * n))

    tan = math.tan(math.radians(needle_angle_deg))
    # Aim so the needle enters ~3 mm under the skin at the region's left edge, but
    # keep the target within 30-60 % of the width so the fluid has room on both sides.
    entry_depth = 3.0 / mm_per_px_y
    run = 0.6 * width_px
    for _ in range(4):
        target_depth = float(target.y(np.array([r.x0 + run]))[0])
        run = float(
            np.clip(
                (target_depth - entry_depth) / tan,
                0.3 * width_px,
                0.6 * width_px,
            )
        )
    target_depth = float(target.y(np.array([r.x0 + run]))[0])
    entry_y = r.y0 + max(target_depth - run * tan, 1.0 / mm_per_px_y)
    entry_x = float(r.x0)
    # Where the straight path first meets the (wavy) target plane.
    xs = np.linspace(entry_x, r.x1 + 1.0, 8 * width_px + 1)
    below = entry_y + (xs - entry_x) * tan - (r.y0 + target.y(xs))
    if not (below >= 0.0).any():
        raise ValueError(
            f"a needle at {needle_angle_deg} degrees does not reach the "
            f"{target_name} inside the image; change the angle or the plane depths"
        )
    crossing = int(np.argmax(below >= 0.0))
    target_x = float(xs[crossing])
    entry = np.array([entry_x, entry_y])
    target_xy = np.array([target_x, entry_y + (target_x - entry_x) * tan])
    return NeedlePath(
        start_frame=start_frame,
        arrival_frame=arrival_frame,
        entry=entry,
        target=target_xy,
        direction=np.array([1.0, tan]) / math.hypot(1.0, tan),
        length_px=float(np.linalg.norm(target_xy - entry)),
    )


def draw_needle(
    image: np.ndarray,
    needle: dict[str, Any],
    origin: tuple[float, float],
    speckle: np.ndarray,
    mm_per_px_y: float,
    *,
    brightness: float = 1.0,
    dropout: float = 0.0,
) -> None:
    """Blend the needle, its reverberations and its tip into the region image, in place.

    Parameters:
        image: ``(height, width)`` uint8 grey region image.
        needle: the frame truth's ``{"entry", "tip"}`` (image px, corner convention).
        origin: the region's top-left corner (image px).
        speckle: the frame's speckle envelope (region-sized), to grain the reverberations.
        mm_per_px_y: the region's vertical calibration (mm per px).
        brightness: the needle's reflection (1 = as bright as ever; a steep needle
            sends less of the beam back).
        dropout: how much of the shaft's middle fades (0 = none), the tip still shown.
    """
    entry = np.asarray(needle["entry"], dtype=np.float64)
    tip = np.asarray(needle["tip"], dtype=np.float64)
    thickness = max(2, round(0.3 / mm_per_px_y))
    spacing = 0.8 / mm_per_px_y
    # Reverberations: fainter, grainy copies of the shaft, equally spaced below it.
    reverb = np.zeros_like(image)
    for k in range(_REVERB_COUNT, 0, -1):
        offset = np.array([0.0, k * spacing])
        a, b = to_cv(np.stack([entry + offset, tip + offset]), origin)
        grey = round(_NEEDLE_GREY * _REVERB_DECAY**k)
        cv2.line(
            reverb,
            tuple(a),
            tuple(b),
            grey,
            max(1, thickness - 1),
            cv2.LINE_AA,
            SUB_PIXEL_SHIFT,
        )
    layer = reverb.astype(np.float32) * np.clip(0.3 + 0.8 * speckle, 0.0, 1.4)
    shaft = np.zeros_like(image)
    a, b = to_cv(np.stack([entry, tip]), origin)
    cv2.line(shaft, tuple(a), tuple(b), _NEEDLE_GREY, thickness, cv2.LINE_AA, SUB_PIXEL_SHIFT)
    radius = round(0.8 * thickness * (1 << SUB_PIXEL_SHIFT))
    cv2.circle(shaft, tuple(b), radius, _NEEDLE_TIP_GREY, -1, cv2.LINE_AA, SUB_PIXEL_SHIFT)
    layer = np.maximum(layer, shaft.astype(np.float32)).clip(0.0, 255.0)
    if brightness != 1.0 or dropout != 0.0:
        layer = layer * _visibility(layer.shape, entry, tip, origin, brightness, dropout)
    # Screen blend: bright over anything, the fainter copies still show over tissue.
    blended = 255.0 - (255.0 - image.astype(np.float32)) * (255.0 - layer) / 255.0
    np.copyto(image, np.clip(np.round(blended), 0, 255).astype(np.uint8))


def _visibility(
    shape: tuple[int, ...],
    entry: np.ndarray,
    tip: np.ndarray,
    origin: tuple[float, float],
    brightness: float,
    dropout: float,
) -> np.ndarray:
    """How much of the needle's reflection shows at each pixel: ``brightness`` times a
    fade over the middle of the shaft (by ``dropout``), never over its last fifth."""
    height, width = shape
    axis = tip - entry
    length = max(float(np.hypot(*axis)), 1e-9)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    along = ((xs + origin[0] + 0.5 - entry[0]) * axis[0]) + (
        (ys + origin[1] + 0.5 - entry[1]) * axis[1]
    )
    s = along / (length * length)
    fade = np.exp(-(((s - 0.45) / 0.18) ** 2)) * (s < 0.8)
    return (brightness * (1.0 - dropout * fade)).astype(np.float32)
