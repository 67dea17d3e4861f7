"""The needle found in a frame: its shaft detected, its entry and tip proposed (no Qt).

An in-plane needle is the longest straight bright line of a B-mode frame, steeper than
the fascia (which run nearly level) and above its own reverberations (fainter copies
always deeper). :func:`find_needle`:

1. a ridge filter (scikit-image's Sato, bright ridges, at the shaft's thickness from the
   calibration) over the image region, lightly despeckled;
2. straight segments on the strongest ridges (OpenCV's probabilistic Hough transform,
   gaps of a few mm bridged: a dim or partly visible shaft breaks up), kept when their
   angle is that of a needle (``min_angle_deg``-``max_angle_deg`` from level) and, when
   a previous needle is given, near it;
3. the segment with the most ridge along it, or the shallowest of those nearly as
   strong and parallel to it (the shaft, not a reverberation); its centre line refined
   across it (the tracker's ridge fit); when that line shows no shaft (a steep stretch
   of fascia), the next strongest lines not parallel to it, up to three in all;
4. the entry where that line enters the region on its shallow side; the shaft the
   stretches along the axis brighter than the tissue beside it, from the entry on, over
   dim gaps of any length as long as what follows is a long stretch as bright as the
   shaft near the entry (the faded middle of a steep needle), a short blip (a fascia
   crossing) skipped; the tip where the brightness along the axis falls most steeply
   near the end of that (a smoothed derivative, sub-pixel).

Deterministic, CPU only; None when nothing in the frame looks like a needle.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.filters import sato

from usannotate.tracking._trackers import _sample_along, _shaft_ridge

__all__ = ["NeedleFinderSettings", "NeedleSuggestion", "find_needle"]

_DEFAULT_MM_PER_PX = 0.1
# Least contrast of a shaft against the tissue beside it (grey levels).
_MIN_CONTRAST_GREY = 25.0
# How bright (against the shaft near the entry) a long stretch beyond a dim gap must be
# to be taken for the rest of the shaft rather than a fascia along the axis.
_REST_OF_SHAFT = 0.7
# Lines tried as the shaft, strongest first.
_CANDIDATES = 3
_FALLBACK_STEEPER_DEG = 5.0
# Dips along the shaft closed before its bright stretches are counted (mm): a speckle
# grain, or a fascia crossing the tissue beside the shaft.
_CLOSE_MM = 0.2
# How far back from the end of the bright stretch the tip's brightness drop is looked
# for (mm): the bright stretch may go on over the fluid's far wall or a fascia.
_DROP_BACK_MM = 2.5


@dataclass(frozen=True)
class NeedleFinderSettings:
    """How the needle is looked for.

    Attributes
    ----------
    shaft_sigma_mm
        Scale of the ridge filter (mm): about half the shaft's thickness on the image.
    min_angle_deg, max_angle_deg
        Angles from level that a needle may have (degrees); a wavy fascia's stretches
        reach 10 degrees, so a needle flatter than ``min_angle_deg`` is not found.
    min_length_mm
        Shortest visible shaft looked for (mm).
    max_gap_mm
        Longest gap bridged between two pieces of one straight line when lines are
        looked for, and how far from the entry the shaft's first bright stretch may
        start (mm). Along the axis, a dim gap of any length is bridged when a long
        stretch as bright as the shaft follows.
    dark_after_mm
        Unused since the tip is found where the brightness falls most steeply (kept so
        that settings written for earlier versions still construct).
    near_px, near_deg
        With a previous needle: how far (px, from its line) and how differently
        angled (degrees) the shaft found may be.
    """

    shaft_sigma_mm: float = 0.15
    min_angle_deg: float = 12.0
    max_angle_deg: float = 75.0
    min_length_mm: float = 2.5
    max_gap_mm: float = 3.0
    dark_after_mm: float = 3.0
    near_px: float = 15.0
    near_deg: float = 8.0


@dataclass(frozen=True)
class NeedleSuggestion:
    """A needle proposed on a frame.

    Attributes
    ----------
    points
        ``(2, 2)`` float64: the entry, then the tip, ``(x, y)`` px with ``(0, 0)`` at the
        top-left corner of the top-left pixel.
    contrast
        How much brighter the shaft is than the tissue beside it (grey levels).
    angle_deg
        The shaft's angle from level (degrees, positive: deeper towards the tip).
    """

    points: np.ndarray
    contrast: float
    angle_deg: float


def find_needle(
    grey: np.ndarray,
    bounds: tuple[float, float, float, float] | None = None,
    mm_per_px: float | None = None,
    near: np.ndarray | None = None,
    settings: NeedleFinderSettings = NeedleFinderSettings(),  # frozen: shared default
) -> NeedleSuggestion | None:
    """The needle on a frame, or None.

    Parameters
    ----------
    grey
        ``(rows, columns)`` uint8 frame (or ``(rows, columns, 3)`` RGB).
    bounds
        ``(x_min, y_min, x_max, y_max)`` px (corner convention, exclusive maxima) of the
        image region to search, e.g. the calibrated region; None: the whole frame.
    mm_per_px
        The calibration (mm per px); None: about 0.1 mm per px.
    near
        ``(2, 2)`` entry and tip of the needle on a nearby frame (same convention): only
        a shaft close to its line and angle is returned.
    settings
        What to look for.

    Raises
    ------
    ValueError
        A frame that is not a uint8 image, or ``near`` not two finite points.
    """
    grey = _as_grey(grey)
    rows, columns = grey.shape
    scale = mm_per_px if mm_per_px and mm_per_px > 0 else _DEFAULT_MM_PER_PX
    if bounds is None:
        bounds = (0.0, 0.0, float(columns), float(rows))
    bx0, by0 = max(0, math.floor(bounds[0])), max(0, math.floor(bounds[1]))
    bx1, by1 = min(columns, math.ceil(bounds[2])), min(rows, math.ceil(bounds[3]))
    if bx1 - bx0 < 16 or by1 - by0 < 16:
        return None
    if near is not None:
        near = np.asarray(near, dtype=np.float64)
        if near.shape != (2, 2) or not np.isfinite(near).all():
            raise ValueError(f"near must be the needle's (entry, tip), got {near!r}")
        near = near - 0.5
    window = grey[by0:by1, bx0:bx1]
    offset = np.array([bx0, by0], dtype=np.float64)

    smooth = cv2.GaussianBlur(window, (0, 0), 0.8)
    sigma = max(0.8, settings.shaft_sigma_mm / scale)
    ridge = sato(smooth.astype(np.float32), sigmas=[sigma], black_ridges=False, mode="reflect")
    segments = _segments(ridge, scale, settings)
    if not segments:
        return None
    # The region in the pixel-centre convention: corner bounds minus half a pixel.
    box = (bx0 - 0.5, by0 - 0.5, bx1 - 0.5, by1 - 0.5)
    # The strongest line may be a steep stretch of fascia: the next lines not parallel
    # to it are tried in turn (a few at most), and the first that passes as a shaft wins.
    # A line tried after the strongest must be clearly steeper than the fascia's
    # steepest stretches, or a fascia would stand in for a needle the frame lacks.
    for rank, (a, b) in enumerate(_pick(segments, ridge, near, offset, settings)[:_CANDIDATES]):
        found = _propose(grey, a + offset, b + offset, box, scale, settings)
        if found is not None and (
            rank == 0 or abs(found.angle_deg) >= settings.min_angle_deg + _FALLBACK_STEEPER_DEG
        ):
            return found
    return None


def _propose(
    grey: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    box: tuple[float, float, float, float],
    scale: float,
    settings: NeedleFinderSettings,
) -> NeedleSuggestion | None:
    """The needle along the line through ``a`` and ``b`` (pixel-centre coordinates),
    or None when that line shows no shaft."""
    if a[1] > b[1]:
        a, b = b, a  # from the shallow end (the entry side) to the deep end
    axis = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
    length = float(np.linalg.norm(b - a))
    refined = _shaft_ridge(grey, a, axis, length, max_turn_deg=settings.near_deg)
    if refined is not None:
        origin, axis = refined
        a = origin + float(np.dot(a - origin, axis)) * axis
    entry = _enter(a, -axis, box)
    far = _enter(a, axis, box)
    span = float(np.dot(far - entry, axis))
    tip_at, contrast = _tip(grey, entry, axis, span, scale, settings)
    if tip_at is None or tip_at < max(8.0, settings.min_length_mm / scale):
        return None  # no shaft, or too short a stretch of one to be sure of
    tip = entry + tip_at * axis
    angle = math.degrees(math.atan2(axis[1], abs(axis[0])))
    if not settings.min_angle_deg <= abs(angle) <= settings.max_angle_deg:
        return None  # the refined line is too flat for a needle: a piece of fascia
    return NeedleSuggestion(np.stack([entry, tip]) + 0.5, contrast, angle)


def _as_grey(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError(
            f"the frame must be a uint8 (rows, columns) or (rows, columns, 3) array, got "
            f"{frame.dtype} of shape {frame.shape}"
        )
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(frame)


def _segments(
    ridge: np.ndarray, scale: float, settings: NeedleFinderSettings
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Straight segments along the strongest ridges, at a needle's angle."""
    top = float(ridge.max())
    if top <= 0:
        return []
    level = max(float(np.percentile(ridge, 97.0)), 0.15 * top)
    mask = (ridge > level).astype(np.uint8) * 255
    min_length = max(8.0, settings.min_length_mm / scale)
    lines = cv2.HoughLinesP(
        mask,
        rho=1,
        theta=math.radians(0.5),
        threshold=max(8, round(0.5 * min_length)),
        minLineLength=min_length,
        maxLineGap=max(3.0, settings.max_gap_mm / scale),
    )
    if lines is None:
        return []
    found = []
    for x1, y1, x2, y2 in lines.reshape(-1, 4).astype(np.float64):
        angle = abs(math.degrees(math.atan2(y2 - y1, x2 - x1)))
        angle = min(angle, 180.0 - angle)
        if settings.min_angle_deg <= angle <= settings.max_angle_deg:
            found.append((np.array([x1, y1]), np.array([x2, y2])))
    return found


def _along(ridge: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Sum of the ridge response along a segment (sampled every px)."""
    n = max(2, round(float(np.linalg.norm(b - a))) + 1)
    t = np.linspace(0.0, 1.0, n)
    xs = (a[0] + t * (b[0] - a[0])).astype(np.float32)
    ys = (a[1] + t * (b[1] - a[1])).astype(np.float32)
    values = cv2.remap(
        ridge.astype(np.float32),
        xs[None, :],
        ys[None, :],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return float(values.sum())


def _pick(
    segments: list[tuple[np.ndarray, np.ndarray]],
    ridge: np.ndarray,
    near: np.ndarray | None,
    offset: np.ndarray,
    settings: NeedleFinderSettings,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Candidate shafts, likeliest first (see the module's docstring, step 3)."""
    if near is not None:
        entry, tip = near - offset
        direction = (tip - entry) / max(float(np.linalg.norm(tip - entry)), 1e-9)
        normal = np.array([-direction[1], direction[0]])
        kept = []
        for a, b in segments:
            d = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
            turn = math.degrees(math.acos(min(1.0, abs(float(np.dot(d, direction))))))
            away = max(abs(float(np.dot(a - entry, normal))), abs(float(np.dot(b - entry, normal))))
            if turn <= settings.near_deg and away <= settings.near_px:
                kept.append((a, b))
        segments = kept
        if not segments:
            return []
    scored = [(_along(ridge, a, b), a, b) for a, b in segments]
    scored.sort(key=lambda item: -item[0])
    candidates: list[tuple[np.ndarray, np.ndarray]] = []
    while scored:
        choice, scored = _shaft_among(scored)
        candidates.append(choice)
    return candidates


def _shaft_among(
    scored: list[tuple[float, np.ndarray, np.ndarray]],
) -> tuple[tuple[np.ndarray, np.ndarray], list[tuple[float, np.ndarray, np.ndarray]]]:
    """The shaft of the strongest segment's family of parallel lines, and the segments
    not parallel to it (``scored`` sorted strongest first)."""
    best_score, best_a, best_b = scored[0]
    d = (best_b - best_a) / max(float(np.linalg.norm(best_b - best_a)), 1e-9)
    normal = np.array([-d[1], d[0]])
    if normal[1] < 0:
        normal = -normal  # pointing deeper
    # A reverberation is a fainter copy of the shaft, parallel and deeper: prefer the
    # shallowest strong parallel segment.
    choice, choice_depth = (best_a, best_b), 0.0
    rest = []
    for score, a, b in scored[1:]:
        e = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
        if abs(float(np.dot(e, d))) < math.cos(math.radians(3.0)):
            rest.append((score, a, b))
            continue
        if score < 0.5 * best_score:
            continue
        depth = float(np.dot(0.5 * (a + b) - best_a, normal))
        if depth < choice_depth - 2.0:
            choice, choice_depth = (a, b), depth
    return choice, rest


def _enter(point: np.ndarray, direction: np.ndarray, box: tuple[float, ...]) -> np.ndarray:
    """Where the ray from ``point`` along ``direction`` leaves the box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    ts = []
    for k, (low, high) in enumerate(((x0, x1), (y0, y1))):
        if direction[k] > 1e-12:
            ts.append((high - point[k]) / direction[k])
        elif direction[k] < -1e-12:
            ts.append((low - point[k]) / direction[k])
    t = max(0.0, min(ts)) if ts else 0.0
    return point + t * direction


def _tip(
    grey: np.ndarray,
    entry: np.ndarray,
    axis: np.ndarray,
    span: float,
    scale: float,
    settings: NeedleFinderSettings,
) -> tuple[float | None, float]:
    """Distance from the entry to the tip along the axis (px), and the shaft's contrast;
    None when the axis shows no bright shaft."""
    step = 0.5
    stations = np.arange(0.0, span + 1e-9, step)
    if len(stations) < 8:
        return None, 0.0
    normal = np.array([-axis[1], axis[0]])
    if normal[1] > 0:
        normal = -normal  # towards the probe: away from the reverberations
    offsets = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 6.0, 10.0, 14.0])
    samples = _sample_along(grey, entry, axis, normal, stations, offsets)
    band = samples[:5].mean(axis=0)
    # The tissue beside the shaft, on its shallow side (the reverberations lie deeper):
    # the darkest of three lines, since a fascia crossing the shaft lies on one of them.
    tissue = cv2.GaussianBlur(samples[5:], (0, 0), sigmaX=2.0, sigmaY=0.1).min(axis=0)
    contrast = cv2.GaussianBlur((band - tissue)[None, :], (0, 0), 2.0)[0]
    strong = float(np.percentile(contrast, 90))
    if strong < 10.0:
        return None, strong
    level = 0.4 * strong
    bright = contrast > level
    long_run = max(2, round(settings.min_length_mm / scale / step))
    near_entry = round(settings.max_gap_mm / scale / step)
    # Short dips are closed first: a fascia crossing the tissue lines beside the shaft,
    # or a speckle grain, breaks a run for a moment.
    bright = _close_gaps(bright, max(1, round(_CLOSE_MM / scale / step)))
    edges = np.flatnonzero(np.diff(np.concatenate([[0], bright.astype(np.int8), [0]])))
    runs = [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True) if b - a >= 2]
    # The shaft starts at the entry and goes on, over dim stretches,
    # as long as what follows a gap is long: a fascia or a septum crossing the axis
    # beyond the tip is a short bright blip, the rest of a shaft is not.
    first = next((run for run in runs if run[0] <= near_entry), None)
    if first is None:
        first = next((run for run in runs if run[1] - run[0] >= long_run), None)
    if first is None:
        return None, strong
    shaft_level = float(np.median(contrast[first[0] : first[1]]))
    end = first[1]
    for start, stop in runs:
        if start < end or stop - start < long_run:
            continue  # a blip: a fascia crossing the axis, a grain of speckle
        # A long stretch as bright as the shaft is the rest of it, however long the
        # dim gap before it (the middle of a steep needle sends little back); a long
        # stretch much dimmer is something else along the axis: the shaft ended.
        if float(np.median(contrast[start:stop])) < _REST_OF_SHAFT * shaft_level:
            break
        end = stop
    # A fascia just beyond the tip continues the bright run at its own, lower
    # contrast: the shaft ends where its own brightness does.
    strong_enough = np.flatnonzero(contrast[first[0] : end] >= _REST_OF_SHAFT * shaft_level)
    if strong_enough.size:
        end = first[0] + int(strong_enough[-1]) + 1
    # A needle stands out of the tissue beside it by far more than the tissue varies;
    # a line picked out of speckle or noise does not.
    shaft = contrast[first[0] : end]
    if float(np.median(shaft)) < max(_MIN_CONTRAST_GREY, 1.5 * float(np.std(samples[5:]))):
        return None, strong
    # The tip: the steepest fall of the brightness along the axis near the end of the
    # bright stretch (sub-sample), where the metal ends and the tissue or fluid begins.
    drop = _drop(band, end - 1, round(_DROP_BACK_MM / scale / step), first[0])
    if drop is not None:
        return float(drop * step), strong
    return float(stations[end - 1]), strong


def _close_gaps(mask: np.ndarray, gap: int) -> np.ndarray:
    """A 1-D boolean mask with its False stretches of at most ``gap`` samples between
    True ones set (a morphological closing that leaves the ends alone)."""
    out = mask.copy()
    true = np.flatnonzero(mask)
    if true.size < 2:
        return out
    for a, b in itertools.pairwise(true):
        if 1 < b - a <= gap + 1:
            out[a:b] = True
    return out


def _drop(band: np.ndarray, last: int, window: int, start: int) -> float | None:
    """Where the brightness along the shaft falls most steeply near sample ``last``
    (a smoothed derivative, sub-sample by a parabola through its peak), or None."""
    lo, hi = max(start + 1, last - window), min(len(band) - 2, last + window // 5)
    if hi - lo < 3:
        return None
    slope = np.gradient(cv2.GaussianBlur(band.astype(np.float32)[None, :], (0, 0), 2.0)[0])
    k = lo + int(np.argmin(slope[lo : hi + 1]))
    if slope[k] >= 0:
        return None
    y0, y1, y2 = slope[k - 1], slope[k], slope[k + 1]
    denominator = y0 - 2.0 * y1 + y2
    shift = 0.5 * (y0 - y2) / denominator if abs(denominator) > 1e-9 else 0.0
    return k + float(np.clip(shift, -0.5, 0.5))
