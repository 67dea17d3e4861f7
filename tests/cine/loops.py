"""Small synthetic multi-frame loops for engine tests (made in tmp folders, never bundled)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from usannotate.samples.dicom_writer import UltrasoundRegion, write_jpeg_cine


def distinct_frames(n_frames: int, rows: int = 96, columns: int = 128, seed: int = 0):
    """Frames that differ visibly from each other (a moving bar plus the frame number)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(20, 90, size=(rows, columns), dtype=np.uint8)
    for index in range(n_frames):
        grey = base.copy()
        x = (index * 7) % (columns - 10)
        grey[:, x : x + 10] = 230
        cv2.putText(grey, str(index), (4, rows - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2)
        yield np.repeat(grey[:, :, None], 3, axis=2)


def write_jpeg_loop(path: Path, n_frames: int, *, rows: int = 96, columns: int = 128) -> Path:
    """A JPEG-baseline YBR_FULL_422 loop with one calibrated region, 0.2 mm/px."""
    region = UltrasoundRegion(0, 8, columns - 1, rows - 1, mm_per_px_x=0.2, mm_per_px_y=0.2)
    write_jpeg_cine(
        path,
        distinct_frames(n_frames, rows, columns),
        frame_time_ms=20.0,
        regions=[region],
        quality=90,
    )
    return path
