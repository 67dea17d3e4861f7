"""What determines a synthetic loop: ``PhantomParams``, validated; equal parameters, equal files."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from usannotate.samples.dicom_writer import format_ds

__all__ = ["HARD_FIELDS", "PLANE_NAMES", "PhantomParams"]

#: Fascial planes from superficial to deep.
PLANE_NAMES = ("superficial_fascia", "deep_fascia", "interfascial_plane")

#: The fields that make a loop harder, with their allowed ranges (the default first).
_HARD_RANGES = (
    ("needle_brightness", 0.1, 1.0),
    ("needle_dropout", 0.0, 1.0),
    ("speckle_power", 1.0, 3.0),
    ("noise_grey", 0.0, 60.0),
    ("probe_motion_px", 0.0, 10.0),
    ("needle_shadow", 0.0, 0.9),
    ("fluid_irregularity", 0.0, 1.0),
)
HARD_FIELDS = tuple(name for name, _, _ in _HARD_RANGES)


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

    The last fields make a loop harder to mark (issue 15); their defaults leave it as
    it always was, and a loop whose hard fields are all at their defaults has the same
    pixels, UIDs and truth file as before they existed (``identity``):

        needle_brightness: the needle's reflection (0.1-1; 1 = bright shaft and tip); a
            steep needle reflects little of the beam back.
        needle_dropout: how much of the shaft's middle fades out (0-1; 1 = a stretch of
            the shaft invisible): a partly visible needle, its tip still showing.
        speckle_power: speckle contrast as a power of the envelope (1-3; 1 = as before).
        noise_grey: standard deviation of grey noise added to every pixel of the image
            (display grey levels, 0-60), new on every frame.
        probe_motion_px: amplitude of the whole image moving (probe sliding and tilting:
            lateral, and half of it axial, px, 0-10); planes, fluid and needle move with
            it in the truth.
        needle_shadow: how much the tissue under the shaft is darkened (0-0.9).
        fluid_irregularity: how far the bolus departs from a smooth lens (0-1): lobes and
            an uneven thickness along its length, changing as it grows.
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
    needle_brightness: float = 1.0
    needle_dropout: float = 0.0
    speckle_power: float = 1.0
    noise_grey: float = 0.0
    probe_motion_px: float = 0.0
    needle_shadow: float = 0.0
    fluid_irregularity: float = 0.0

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
        for name, low, high in _HARD_RANGES:
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"{name} must be within {low:g}-{high:g}, got {value!r}")
        if self.plane_depths_mm is not None and not (
            len(self.plane_depths_mm) == len(PLANE_NAMES)
            and 0 < self.plane_depths_mm[0] < self.plane_depths_mm[1] < self.plane_depths_mm[2]
            and self.plane_depths_mm[2] < self.depth_mm
        ):
            raise ValueError(
                f"plane_depths_mm must be 3 increasing depths within (0, depth_mm), "
                f"got {self.plane_depths_mm}"
            )

    @property
    def is_hard(self) -> bool:
        """True when any of the hard fields departs from its default."""
        return any(getattr(self, name) != _DEFAULTS[name] for name in HARD_FIELDS)

    def identity(self) -> dict[str, Any]:
        """The fields that identify the loop (its UIDs, the truth's ``parameters``): every
        field, less the hard ones while they are all at their defaults, so the loops made
        before they existed keep their files byte for byte."""
        fields = dataclasses.asdict(self)
        if not self.is_hard:
            for name in HARD_FIELDS:
                del fields[name]
        return fields


_DEFAULTS = {f.name: f.default for f in dataclasses.fields(PhantomParams)}
