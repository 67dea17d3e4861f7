"""Curves of a loop's measurements against time as a PNG (no Qt): fluid area, tip depth.

Drawn with OpenCV and Pillow rather than matplotlib, which is not a dependency and would
be one only for two line plots: axes, ticks, one line per track in its label's colour,
keyframes as dots, a legend.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from usannotate.annotations import Row
from usannotate.annotations.measurements import is_fluid_label
from usannotate.export.media_text import text_rgba

__all__ = ["CurveSeries", "curve_series", "draw_curves"]

#: What the teaching case plots: (measurement, title) per panel.
PANELS = (("area", "Injected fluid area"), ("tip_depth", "Needle tip depth"))


@dataclass(frozen=True)
class CurveSeries:
    """One track's values of one measurement over the loop."""

    title: str
    colour: tuple[int, int, int]
    unit: str
    times_s: np.ndarray
    values: np.ndarray
    keyframe: np.ndarray  # bool per value


def curve_series(
    rows: list[Row], frame_time_ms: float, colours: dict[str, tuple[int, int, int]], group_of
) -> dict[str, list[CurveSeries]]:
    """The plotted series by measurement (``area`` of fluid regions, needle ``tip_depth``)
    from the loop's measurement rows. ``group_of(label_id)``: the label's group."""
    picked: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in rows:
        if row.measurement == "tip_depth" or (
            row.measurement == "area" and is_fluid_label(row.label_id, group_of(row.label_id))
        ):
            picked[(row.measurement, row.object_id)].append(row)
    out: dict[str, list[CurveSeries]] = defaultdict(list)
    for (measurement, _), series in picked.items():
        series.sort(key=lambda r: r.frame)
        out[measurement].append(
            CurveSeries(
                series[0].label_name,
                colours.get(series[0].label_id, (200, 200, 200)),
                series[0].unit,
                np.array([r.frame * frame_time_ms / 1000.0 for r in series]),
                np.array([r.value for r in series]),
                np.array([r.source == "keyframe" for r in series]),
            )
        )
    return out


def _nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    span = max(high - low, 1e-9)
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * step >= raw:
            step *= m
            break
    return np.arange(math.floor(low / step) * step, high + step / 2, step)


def _paste(canvas: np.ndarray, rgba: np.ndarray, x: int, y: int) -> None:
    h, w = rgba.shape[:2]
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + h, canvas.shape[0]), min(x + w, canvas.shape[1])
    if y0 >= y1 or x0 >= x1:
        return
    patch = rgba[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    alpha = patch[..., 3:4] / 255.0
    roi = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (patch[..., :3] * alpha + roi * (1 - alpha) + 0.5).astype(np.uint8)


def _text(canvas, text, x, y, colour=(230, 230, 230), size=14, anchor="left") -> None:
    rgba = text_rgba([text], colour, size, plate_alpha=0, bold=False)
    if anchor == "right":
        x -= rgba.shape[1]
    elif anchor == "centre":
        x -= rgba.shape[1] // 2
    _paste(canvas, rgba, x, y - rgba.shape[0] // 2)


#: The events' colour on the curves (coral: far from every label colour of the default set).
EVENT_COLOUR = (255, 96, 96)


def _draw_events(canvas, events, duration_s, xs, ys, panel: int) -> None:
    """Each event as a dashed line over the panel (titles in the first panel only,
    staggered so neighbours do not overlap)."""
    (x0, x1), (y0, y1) = xs, ys
    t_high = max(duration_s, 1e-3)
    for j, (t, title) in enumerate(sorted(events)):
        x = round(x0 + (x1 - x0) * min(max(t / t_high, 0.0), 1.0))
        for y in range(y0, y1, 8):
            cv2.line(canvas, (x, y), (x, min(y + 4, y1)), EVENT_COLOUR, 1)
        if panel == 0:  # on a dark plate at the top, where the lines rarely are
            rgba = text_rgba([title], EVENT_COLOUR, 12, plate_alpha=210, bold=False)
            right_side = x > (x0 + x1) / 2
            left = x - 3 - rgba.shape[1] if right_side else x + 3
            _paste(canvas, rgba, left, y0 + 3 + 17 * (j % 3))


def draw_curves(
    panels: dict[str, list[CurveSeries]],
    duration_s: float,
    width: int = 900,
    events: Sequence[tuple[float, str]] = (),
) -> np.ndarray:
    """The panels stacked, ``(h, width, 3)`` uint8 RGB on the app's dark grey (label
    colours are made to read on the image, some nearly white); a panel with no series
    says so. ``events``: ``(time s, title)``, each a dashed coral line across every panel,
    its title at the top of the first one."""
    panel_h, left, right, top = 260, 80, 24, 34
    canvas = np.full((panel_h * len(PANELS) + 30, width, 3), 24, np.uint8)
    for k, (measurement, title) in enumerate(PANELS):
        y_top = k * panel_h + top
        y_bottom = (k + 1) * panel_h - 26
        series = panels.get(measurement, [])
        unit = series[0].unit if series else ""
        _text(canvas, f"{title}" + (f" ({unit})" if unit else ""), left, y_top - 18, size=16)
        cv2.rectangle(canvas, (left, y_top), (width - right, y_bottom), (120, 120, 120), 1)
        _draw_events(canvas, events, duration_s, (left, width - right), (y_top, y_bottom), k)
        if not series:
            _text(
                canvas,
                "not marked in this loop",
                (left + width - right) // 2,
                (y_top + y_bottom) // 2,
                (150, 150, 150),
                anchor="centre",
            )
            continue
        values = np.concatenate([s.values for s in series])
        low, high = min(0.0, float(values.min())), float(values.max()) * 1.08 or 1.0
        t_high = max(duration_s, 1e-3)

        def to_xy(t, v, low=low, high=high, t_high=t_high, y_top=y_top, y_bottom=y_bottom):
            x = left + (width - right - left) * np.asarray(t) / t_high
            y = y_bottom - (y_bottom - y_top) * (np.asarray(v) - low) / (high - low)
            return x, y

        for tick in _nice_ticks(low, high):
            if tick < low or tick > high:
                continue
            _, y = to_xy(0.0, tick)
            cv2.line(canvas, (left, int(y)), (width - right, int(y)), (60, 60, 60), 1)
            _text(canvas, f"{tick:g}", left - 6, int(y), anchor="right", size=12)
        for tick in _nice_ticks(0.0, t_high):
            if tick > t_high:
                continue
            x, _ = to_xy(tick, low)
            cv2.line(canvas, (int(x), y_bottom), (int(x), y_bottom + 4), (120, 120, 120), 1)
            _text(canvas, f"{tick:g} s", int(x), y_bottom + 13, anchor="centre", size=12)
        for j, s in enumerate(series):
            x, y = to_xy(s.times_s, s.values)
            pts = np.round(np.stack([x, y], axis=1) * 16).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [pts], False, s.colour, 2, cv2.LINE_AA, shift=4)
            for xi, yi in zip(x[s.keyframe], y[s.keyframe], strict=True):
                cv2.circle(canvas, (int(xi), int(yi)), 4, s.colour, -1, cv2.LINE_AA)
            _text(canvas, s.title, left + 8, y_top + 14 + 18 * j, s.colour)
    return canvas
