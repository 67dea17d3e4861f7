"""Render synthetic ultrasound loops of a needle hydrodissecting a fascial plane, with truth.

``HydrodissectionPhantom`` ties the parts together: the static tissue (``_tissue``), the
needle (``_needle``), the fluid (``_fluid``) and the screen around the image
(``_screen``); ``writer.make_sample_loop`` writes a loop and its truth to disk.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np

from usannotate.samples._fluid import add_fluid, plan_fluid
from usannotate.samples._hard import (
    add_grey_noise,
    probe_shift_px,
    shadow_under_needle,
    sharpen_speckle,
)
from usannotate.samples._needle import draw_needle, plan_needle
from usannotate.samples._points import round_points, shoelace_area
from usannotate.samples._screen import make_static_frame, to_grey
from usannotate.samples._tissue import (
    make_depth_gain,
    make_echo,
    make_planes,
    make_speckle,
    speckle_envelope,
)
from usannotate.samples.dicom_writer import UltrasoundRegion
from usannotate.samples.params import PLANE_NAMES, PhantomParams
from usannotate.samples.truth import COORDINATE_SYSTEM, TRUTH_FORMAT, TRUTH_VERSION

__all__ = ["HydrodissectionPhantom"]

# Spacing of the truth points along each plane (px).
_PLANE_POINT_STEP_PX = 8


class HydrodissectionPhantom:
    """A synthetic linear-probe B-mode loop: tissue, fascial planes, needle and fluid.

    The static tissue (echogenicity, speckle) is computed once at construction; each frame
    then only adds a temporal speckle change, tissue motion, the fluid and the needle, so
    rendering costs a few milliseconds per frame.

    Parameters:
        params: what to render.

    Raises:
        ValueError: the needle at ``params.needle_angle_deg`` never reaches the target
            plane inside the image.
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
        self._planes = make_planes(
            seed=p.seed,
            depth_mm=p.depth_mm,
            plane_depths_mm=p.plane_depths_mm,
            region_x0=x0,
            width_px=width,
            mm_per_px=self.mm_per_px_y,
        )
        self._target = self._planes[PLANE_NAMES.index(p.target_plane)]
        self._plane_x = np.append(
            np.arange(x0, x1 + 1, _PLANE_POINT_STEP_PX, dtype=np.float64), float(x1 + 1)
        )
        self._needle = plan_needle(
            target=self._target,
            target_name=p.target_plane,
            region=self.region,
            width_px=width,
            n_frames=p.n_frames,
            needle_angle_deg=p.needle_angle_deg,
            mm_per_px_y=self.mm_per_px_y,
        )
        self._fluid = plan_fluid(
            needle_arrival_frame=self._needle.arrival_frame,
            n_frames=p.n_frames,
            fluid_length_mm=p.fluid_length_mm,
            fluid_thickness_mm=p.fluid_thickness_mm,
            region=self.region,
            width_px=width,
            plane=self._target,
            needle_target_x=float(self._needle.target[0]),
            mm_per_px_x=self.mm_per_px_x,
            mm_per_px_y=self.mm_per_px_y,
            irregularity=p.fluid_irregularity,
            seed=p.seed,
        )
        self._echo = make_echo(
            seed=p.seed,
            planes=self._planes,
            region_x0=x0,
            width_px=width,
            height_px=height,
            mm_per_px=self.mm_per_px_y,
        )
        self._speckle = make_speckle(
            seed=p.seed,
            width_px=width,
            height_px=height,
            mm_per_px_x=self.mm_per_px_x,
            mm_per_px_y=self.mm_per_px_y,
        )
        self._depth_gain = make_depth_gain(height_px=height, mm_per_px_y=self.mm_per_px_y)
        self._static_frame = make_static_frame(p, self.region, self.banner_px, self.mm_per_px_y)

    # ----------------------------------------------------------------- the plan
    @property
    def needle_start(self) -> int:
        """First frame that shows the needle."""
        return self._needle.start_frame

    @property
    def needle_arrival(self) -> int:
        """First frame with the needle tip at its target."""
        return self._needle.arrival_frame

    @property
    def needle_entry(self) -> np.ndarray:
        """Where the shaft enters the region, (x, y) image px."""
        return self._needle.entry

    @property
    def needle_target(self) -> np.ndarray:
        """Where the needle's straight path first meets the target plane, (x, y) image px."""
        return self._needle.target

    @property
    def needle_direction(self) -> np.ndarray:
        """Unit vector from the entry to the target."""
        return self._needle.direction

    @property
    def needle_length(self) -> float:
        """Distance from the entry to the target (px)."""
        return self._needle.length_px

    @property
    def fluid_start(self) -> int:
        """First frame that shows fluid."""
        return self._fluid.start_frame

    @property
    def fluid_length_px(self) -> float:
        """Length of the fluid lens on the last frame (px)."""
        return self._fluid.length_px

    @property
    def fluid_thickness_px(self) -> float:
        """Thickness of the fluid lens on the last frame (px)."""
        return self._fluid.thickness_px

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

    def frame_truth(self, index: int) -> dict[str, Any]:
        """Ground truth of frame ``index`` (0-based), as stored in the truth JSON.

        Returns:
            ``{"index", "fascial_planes": [{"name", "points"}], "needle": {"entry", "tip"}
            or None, "fluid": {"outline", "area_mm2"} or None}``; points ``[x, y]`` in px,
            corner convention, rounded to 0.01 px.
        """
        self._check_index(index)
        dx, probe_dy = probe_shift_px(self.params, index)
        dy = self.motion_px(index) + probe_dy
        r = self.region
        planes = [
            {
                "name": plane.name,
                "points": round_points(
                    np.stack([self._plane_x, r.y0 + dy + plane.y(self._plane_x - dx)], axis=1)
                ),
            }
            for plane in self._planes
        ]
        tip = self._needle.tip(index, self.mm_per_px_x)
        needle = None
        if tip is not None:
            entry = self._needle.entry
            if dx != 0.0 or probe_dy != 0.0:
                # The probe moves over a still needle: the needle moves on the image, and
                # it still enters where its line crosses the region's left edge.
                shift = np.array([dx, probe_dy])
                direction = self._needle.direction
                tip = tip + shift
                entry = entry + shift - (dx / direction[0]) * direction
            entry_xy, tip_xy = round_points(np.stack([entry, tip]))
            needle = {"entry": entry_xy, "tip": tip_xy}
        outline = self._fluid.outline(index, dy)
        if outline is not None and dx != 0.0:
            outline = outline + np.array([dx, 0.0])
        fluid = None
        if outline is not None:
            rounded = round_points(outline)
            area_px = shoelace_area(np.asarray(rounded))
            area_mm2 = round(area_px * self.mm_per_px_x * self.mm_per_px_y, 4)
            fluid = {"outline": rounded, "area_mm2": area_mm2}
        return {
            "index": index,
            "fascial_planes": planes,
            "needle": needle,
            "fluid": fluid,
        }

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

        p = self.params
        speckle = sharpen_speckle(speckle_envelope(self._speckle, index), p.speckle_power)
        amplitude = self._echo * speckle

        dx, probe_dy = probe_shift_px(p, index)
        dy = self.motion_px(index) + probe_dy
        if dy != 0.0 or dx != 0.0:
            shift = np.float32([[1, 0, dx], [0, 1, dy]])
            amplitude = cv2.warpAffine(
                amplitude,
                shift,
                (self._width, self._height),
                flags=cv2.INTER_CUBIC,  # sharper than linear: speckle keeps its contrast
                borderMode=cv2.BORDER_REFLECT,
            )

        fluid = truth["fluid"]
        if fluid is not None:
            amplitude = add_fluid(
                amplitude,
                speckle,
                fluid["outline"],
                origin,
                self.mm_per_px_x,
                self.mm_per_px_y,
            )

        needle = truth["needle"]
        amplitude = shadow_under_needle(
            amplitude, needle, origin, p.needle_shadow, self.mm_per_px_x
        )
        amplitude *= self._depth_gain
        image = add_grey_noise(to_grey(amplitude), p.noise_grey, p.seed, index)

        if needle is not None:
            draw_needle(
                image,
                needle,
                origin,
                speckle,
                self.mm_per_px_y,
                brightness=p.needle_brightness,
                dropout=p.needle_dropout,
            )

        frame = self._static_frame.copy()
        frame[r.y0 : r.y1 + 1, r.x0 : r.x1 + 1] = image
        return cv2.merge([frame, frame, frame])

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
        parameters = p.identity()
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
