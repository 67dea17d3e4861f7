"""Files shaped like the ones a new user opened from real scanners (issue 9), written with
the project's DICOM factory: a JPEG loop with a damaged frame, a JPEG loop cut short,
ALOKA-like layouts with three calibration regions, a SonoSite-like 19 cm deep scan with
burned-in text.

Kept apart from :mod:`tests.cine.dicom_factory` (whose pixel-exact format cases these
reuse) because they are about layout and damage, not about decoding rules. No pytest
here: the module is importable from a plain script (the screenshots use it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import JPEGBaseline8Bit

from tests.cine.dicom_factory import base_dataset, jpeg_encode, set_encapsulated_pixels, write

#: PhysicalUnitsX/YDirection codes (PS3.3 C.8.5.5.1.15).
UNITS = {"cm": 3, "s": 4, "cm/s": 7}
#: RegionSpatialFormat / RegionDataType codes (PS3.3 C.8.5.5.1.1 and .2).
SPATIAL_FORMATS = {"2d": 1, "m-mode": 2, "spectral": 3}
DATA_TYPES = {"tissue": 1, "color_flow": 2, "pw_spectral_doppler": 3}


@dataclass(frozen=True)
class RegionSpec:
    """One SequenceOfUltrasoundRegions item: inclusive pixel bounds and its axes."""

    bounds: tuple[int, int, int, int]
    delta_x: float  # PhysicalDeltaX, in ``units_x`` per pixel
    delta_y: float
    units_x: str = "cm"
    units_y: str = "cm"
    spatial_format: str = "2d"
    data_type: str = "tissue"
    reference_pixel: tuple[int, int] = (0, 0)

    def to_item(self) -> Dataset:
        item = Dataset()
        x0, y0, x1, y1 = self.bounds
        item.RegionSpatialFormat = SPATIAL_FORMATS[self.spatial_format]
        item.RegionDataType = DATA_TYPES[self.data_type]
        item.RegionFlags = 0
        item.RegionLocationMinX0 = x0
        item.RegionLocationMinY0 = y0
        item.RegionLocationMaxX1 = x1
        item.RegionLocationMaxY1 = y1
        item.ReferencePixelX0, item.ReferencePixelY0 = self.reference_pixel
        item.PhysicalUnitsXDirection = UNITS[self.units_x]
        item.PhysicalUnitsYDirection = UNITS[self.units_y]
        item.ReferencePixelPhysicalValueX = 0.0
        item.ReferencePixelPhysicalValueY = 0.0
        item.PhysicalDeltaX = self.delta_x
        item.PhysicalDeltaY = self.delta_y
        return item


@dataclass(frozen=True)
class ScannerCase:
    """A written file, its frames' count and what the tests need to know about it."""

    path: Path
    n_frames: int
    rows: int
    columns: int
    #: 0-based frames whose data cannot be decoded (damaged or missing in the file)
    damaged_frames: tuple[int, ...] = ()
    #: ``(x0, y0, x1, y1)`` image px (corner convention) of the burned-in text boxes
    burned_in_text: tuple[tuple[float, float, float, float], ...] = ()


# ------------------------------------------------------------------------- pictures


def speckle_frames(n_frames: int, rows: int, columns: int, seed: int = 9) -> np.ndarray:
    """Grey tissue-like frames (speckle, a moving bright band), ``(n, rows, columns, 3)``."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.integers(0, 140, (rows, columns)).astype(np.uint8), (3, 3), 0)
    frames = np.empty((n_frames, rows, columns, 3), np.uint8)
    for index in range(n_frames):
        grey = base.copy()
        y = (rows // 3 + 3 * index) % (rows - 8)
        grey[y : y + 6] = 200
        frames[index] = grey[..., None]
    return frames


def _burn_text(
    frames: np.ndarray, lines: Sequence[tuple[str, int, int]]
) -> tuple[tuple[float, float, float, float], ...]:
    """Write white ``(text, x, baseline_y)`` lines into every frame, as scanners burn in
    their banner and settings; returns each line's box in image px."""
    boxes = []
    for text, x, baseline in lines:
        (width, height), below = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        for frame in frames:
            cv2.putText(frame, text, (x, baseline), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255,) * 3, 1)
        boxes.append(
            (float(x), float(baseline - height), float(x + width), float(baseline + below))
        )
    return tuple(boxes)


def _write_jpeg_loop(
    path: Path,
    frames: np.ndarray,
    *,
    regions: Sequence[RegionSpec] = (),
    frame_time_ms: float = 40.0,
    codestreams: list[bytes] | None = None,
    manufacturer: str = "usannotate factory",
) -> Path:
    """A JPEG-baseline YBR_FULL_422 US multi-frame file of ``frames`` (RGB)."""
    n_frames, rows, columns = frames.shape[:3]
    ds = base_dataset(
        path.stem,
        JPEGBaseline8Bit,
        rows=rows,
        columns=columns,
        n_frames=n_frames,
        photometric="YBR_FULL_422",
        samples=3,
        frame_time_ms=frame_time_ms,
    )
    ds.Manufacturer = manufacturer
    ds.BurnedInAnnotation = "YES"
    ds.LossyImageCompression = "01"
    if regions:
        ds.SequenceOfUltrasoundRegions = DicomSequence([r.to_item() for r in regions])
    if codestreams is None:
        codestreams = [
            jpeg_encode(f, quality=85, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422)
            for f in frames
        ]
    set_encapsulated_pixels(ds, encapsulate(codestreams))
    return write(ds, path)


# ------------------------------------------------------------------------ damaged loops


def make_jpeg_loop_with_damaged_frame(
    folder: Path, n_frames: int = 12, damaged: int = 5, *, rows: int = 96, columns: int = 128
) -> ScannerCase:
    """A JPEG loop whose frame ``damaged`` (0-based) is a JPEG start with garbage after
    it, as a faulty export writes it: every other frame is fine."""
    frames = speckle_frames(n_frames, rows, columns)
    codestreams = [
        jpeg_encode(f, quality=85, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422) for f in frames
    ]
    garbage = np.random.default_rng(5).integers(0, 256, len(codestreams[damaged]), np.uint8)
    codestreams[damaged] = b"\xff\xd8" + garbage.tobytes()[2:-2] + b"\xff\xd9"
    path = _write_jpeg_loop(folder / "damaged_frame.dcm", frames, codestreams=codestreams)
    return ScannerCase(path, n_frames, rows, columns, damaged_frames=(damaged,))


def make_jpeg_loop_cut_short(
    folder: Path,
    n_frames: int = 120,
    keep_bytes: int = 400_000,
    *,
    rows: int = 240,
    columns: int = 320,
) -> ScannerCase:
    """A 120-frame JPEG loop of which only the first ``keep_bytes`` were copied (a
    transfer stopped early). Which frames a reader then offers is the engine's business:
    ``damaged_frames`` lists the frames whose data is not (wholly) in the file."""
    frames = speckle_frames(n_frames, rows, columns, seed=3)
    codestreams = [
        jpeg_encode(f, quality=92, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422) for f in frames
    ]
    whole = _write_jpeg_loop(folder / "whole.dcm", frames, codestreams=codestreams)
    data = whole.read_bytes()
    whole.unlink()
    cut = folder / "cut_short.dcm"
    cut.write_bytes(data[:keep_bytes])
    # Frame k is whole when its fragment ends within the kept bytes.
    end = data.index(codestreams[0]) if codestreams[0] in data else 0
    complete = 0
    for codestream in codestreams:
        end = data.index(codestream, end) + len(codestream)
        if end > keep_bytes:
            break
        complete += 1
    return ScannerCase(
        cut, n_frames, rows, columns, damaged_frames=tuple(range(complete, n_frames))
    )


# ------------------------------------------------------------------------ scanner layouts


def make_aloka_like_side_by_side(folder: Path) -> ScannerCase:
    """An ALOKA-like 640 x 480 screen with three 2-D regions side by side (a triplex
    layout: B-mode, colour box, B-mode), each too narrow for a long caption."""
    rows, columns = 480, 640
    frames = speckle_frames(3, rows, columns)
    frames[:, :40] = 0  # the banner
    text = _burn_text(frames, [("ALOKA  UST-5412  7.5MHz", 8, 26), ("DR 65  G 70", 430, 26)])
    regions = [
        RegionSpec((10, 50, 214, 470), 0.015, 0.015, reference_pixel=(102, 0)),
        RegionSpec(
            (218, 50, 422, 470), 0.015, 0.015, data_type="color_flow", reference_pixel=(102, 0)
        ),
        RegionSpec((426, 50, 630, 470), 0.015, 0.015, reference_pixel=(102, 0)),
    ]
    path = _write_jpeg_loop(
        folder / "aloka_side_by_side.dcm", frames, regions=regions, manufacturer="ALOKA"
    )
    return ScannerCase(path, 3, rows, columns, burned_in_text=text)


def make_aloka_like_stacked(folder: Path) -> ScannerCase:
    """An ALOKA-like B-mode over M-mode over spectral Doppler: three regions one above
    another, the lower two short and not in cm on both axes."""
    rows, columns = 480, 640
    frames = speckle_frames(3, rows, columns, seed=4)
    frames[:, :36] = 0
    text = _burn_text(frames, [("ALOKA  UST-5299  3.5MHz", 8, 24)])
    regions = [
        RegionSpec((60, 40, 580, 260), 0.03, 0.03, reference_pixel=(260, 0)),
        RegionSpec(
            (60, 266, 580, 360),
            0.004,
            0.03,
            units_x="s",
            spatial_format="m-mode",
            reference_pixel=(0, 0),
        ),
        RegionSpec(
            (60, 366, 580, 472),
            0.004,
            0.9,
            units_x="s",
            units_y="cm/s",
            spatial_format="spectral",
            data_type="pw_spectral_doppler",
            reference_pixel=(0, 53),
        ),
    ]
    path = _write_jpeg_loop(
        folder / "aloka_stacked.dcm", frames, regions=regions, manufacturer="ALOKA"
    )
    return ScannerCase(path, 3, rows, columns, burned_in_text=text)


def make_sonosite_like_deep(folder: Path) -> ScannerCase:
    """A SonoSite-like 800 x 600 loop 19 cm deep: the sector's region runs from the skin
    line to the bottom, the banner and the settings column left of it are burned in."""
    rows, columns = 600, 800
    frames = speckle_frames(4, rows, columns, seed=7)
    frames[:, :50] = 0
    frames[:, :, :150] = 0
    text = _burn_text(
        frames,
        [
            ("SonoSite  C60x  Abd", 10, 20),
            ("2026-01-01  09:00", 10, 42),
            ("Gen", 10, 110),
            ("THI", 10, 140),
            ("MB On", 10, 170),
            ("Dyn 0", 10, 200),
            ("Depth 19.0", 10, 380),
        ],
    )
    # 19 cm over the 550 rows from the skin line (y = 50) down.
    mm_per_px = 190.0 / 550.0
    regions = [
        RegionSpec(
            (150, 50, 749, 599), mm_per_px / 10.0, mm_per_px / 10.0, reference_pixel=(300, 0)
        )
    ]
    path = _write_jpeg_loop(
        folder / "sonosite_deep.dcm", frames, regions=regions, manufacturer="SonoSite, Inc."
    )
    return ScannerCase(path, 4, rows, columns, burned_in_text=text)
