"""The phantom's screen: echo amplitude to grey levels, and the frame around the image.

Around the image: black, a banner with made-up patient and scan details (burned in, as on
a real scanner), a depth scale and the probe orientation marker.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from usannotate.samples.dicom_writer import UltrasoundRegion
from usannotate.samples.params import PhantomParams

__all__ = ["make_static_frame", "to_grey"]

# Display mapping (log compression): amplitude _AMPLITUDE_WHITE maps to 255 and the
# dynamic range below it to 0..255.
_DYNAMIC_RANGE_DB = 50.0
_AMPLITUDE_WHITE = 48.0
_GREY_SCALE = 255.0 / _DYNAMIC_RANGE_DB * 20.0 / math.log(10.0)
_GREY_OFFSET = 255.0 - _GREY_SCALE * math.log(_AMPLITUDE_WHITE)


def to_grey(amplitude: np.ndarray) -> np.ndarray:
    """Log-compress echo amplitudes (float32) to display grey levels (uint8, same shape)."""
    grey = cv2.log(np.maximum(amplitude, 1e-6))
    grey = grey * _GREY_SCALE + _GREY_OFFSET
    return np.clip(grey, 0, 255).astype(np.uint8)


def make_static_frame(
    params: PhantomParams, region: UltrasoundRegion, banner_px: int, mm_per_px_y: float
) -> np.ndarray:
    """The grey frame without the image: black, the banner text and the depth scale.

    Parameters:
        params: the loop's parameters (frame size, banner details, scan settings).
        region: the ultrasound region (left black here, the image goes in it).
        banner_px: height of the banner at the top (px).
        mm_per_px_y: the region's vertical calibration (mm per px), for the depth scale.

    Returns:
        ``(rows, columns)`` uint8.
    """
    p = params
    r = region
    frame = np.zeros((p.rows, p.columns), dtype=np.uint8)
    date = f"{p.study_date[:4]}-{p.study_date[4:6]}-{p.study_date[6:]}"
    fps = round(1000.0 / p.frame_time_ms)
    lines = (
        f"{p.patient_name}  ID {p.patient_id}  {date}  {p.probe} {p.footprint_mm:g}mm  MSK",
        f"FR {fps}Hz  D {p.depth_mm / 10:.1f}cm  G 55  DR {_DYNAMIC_RANGE_DB:g}  SYNTHETIC",
    )
    font = cv2.FONT_HERSHEY_SIMPLEX
    line_height = banner_px / 2.0
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
            y = round(r.y0 + depth / mm_per_px_y)
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
