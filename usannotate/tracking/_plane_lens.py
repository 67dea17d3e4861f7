"""Where injected fluid has opened a fascial plane: the middle of the dark lens (no Qt).

Hydrodissection pushes the plane's layers apart: along the fluid, the plane is no longer
a bright line (nor two lines a fraction of a mm apart) but a dark (anechoic) lens several
mm thick wrapped by a bright wall on each side. The plane runs through the middle of the
lens. :func:`find_lens` finds that middle across the line the clicks draw, column by
column (or row by row for a plane steeper than 45 degrees): in each one the dark run the
clicked line passes through, when bright walls bound it on both sides, and the midpoint
of its two edges. Where the fluid stops showing dark but the walls go on (the needle's
reverberations fill the lens next to its tip), the two walls are followed on from the
lens's end and the middle is theirs. :func:`follow_lens` then makes the snap's ridge
response, inside the lens and over its walls, a narrow crest on that middle, so the path
follows the gap's middle instead of one wall; on from the lens's ends, where it goes on
unseen, an even response, so the path crosses straight.

Hand-written rather than a segmentation from scikit-image: the lens is found by its
edges along each column (a 1-D run), where a region segmentation would need a seed, and
its middle is the midpoint of the two edges (a distance transform's ridge branches at
the lens's tips and at the needle crossing it).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Lens", "LensSettings", "find_lens", "follow_lens"]

# Followed on from an end of the lens, its walls may part by this much more than there
# (px): more, one of them has gone off along the needle's shaft.
_WIDEN_PX = 3.0


@dataclass(frozen=True)
class LensSettings:
    """How the fluid that opened a plane is told from the tissue.

    Attributes
    ----------
    dark_fraction
        A pixel is anechoic (fluid) when its despeckled grey is under this fraction of
        the tissue's median grey around the clicks.
    anechoic_fraction
        A stretch of lens must be, on average inside, under this fraction of the
        tissue's median grey (fluid is anechoic; a fat lobule is only dark: 0.22-0.27 on
        the hard sample loops, their fluid 0.06-0.17).
    elongation
        A stretch of lens must be at least this many times longer than thick (fluid
        spreads along the plane).
    wall_fraction
        Each wall must be at least this bright against the tissue's median grey.
    wall_mm
        How far beyond each edge of the dark run its wall is looked for (mm).
    thickness_mm
        Thinnest and thickest lens counted (mm): thinner, the plane's own line(s) still
        show; thicker, it is not fluid along a plane.
    length_mm
        Shortest stretch of lens along the plane counted (mm).
    bridge_mm
        Longest stretch without lens (the needle and its reverberations crossing it)
        bridged between two stretches of lens (mm).
    shaft_mm
        Thickest bright line inside the fluid bridged across (mm): the needle's shaft
        (0.3 mm) and its reverberations, as wide again once despeckled.
    through_mm
        Farthest the clicked line passes from the fluid where the lens is counted (mm):
        the plane is clicked through the fluid.
    follow_mm
        Farthest the lens's two walls are followed on from an end of it where the fluid
        does not show dark (mm): the needle's reverberations filling it.
    tip_mm
        How far on from an end of the lens its tip goes on unseen (mm).
    unseen_strength
        The ridge response, the same everywhere, where the lens goes on unseen: the path
        goes straight across, not along a wall or the needle.
    """

    dark_fraction: float = 0.35
    anechoic_fraction: float = 0.2
    elongation: float = 1.5
    wall_fraction: float = 1.5
    wall_mm: float = 0.6
    thickness_mm: tuple[float, float] = (0.5, 6.0)
    length_mm: float = 1.0
    bridge_mm: float = 0.8
    shaft_mm: float = 0.8
    tip_mm: float = 1.0
    follow_mm: float = 4.0
    through_mm: float = 1.0
    unseen_strength: float = 0.3


@dataclass(frozen=True)
class Lens:
    """The fluid lens across the clicked line, in a window's pixel-centre coordinates.

    ``columns`` are the window's columns (rows when ``transposed``) where the lens shows;
    ``middle``, ``top`` and ``bottom`` the across coordinate (row, or column when
    ``transposed``) of its middle and of its two edges there. ``unseen`` are the columns
    on from either end of the lens where its middle does not show: its thin tips (a
    fraction of a mm) and where the needle's shaft and reverberations fill it.
    """

    columns: np.ndarray
    middle: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    transposed: bool
    unseen: np.ndarray

    def holds(self, point: np.ndarray) -> bool:
        """True when ``point`` ((x, y), window pixel-centre) lies inside the lens."""
        along, across = (point[1], point[0]) if self.transposed else (point[0], point[1])
        k = np.searchsorted(self.columns, round(float(along)))
        if k >= len(self.columns) or self.columns[k] != round(float(along)):
            return False
        return bool(self.top[k] <= across <= self.bottom[k])


def find_lens(
    window: np.ndarray,
    smooth: np.ndarray,
    clicks: np.ndarray,
    scale: float,
    reach_px: float,
    settings: LensSettings = LensSettings(),  # frozen: a shared default is safe
) -> Lens | None:
    """The fluid lens the clicked line passes through, or None.

    Parameters
    ----------
    window
        ``(rows, columns)`` uint8 frame window around the clicks.
    smooth
        The same window lightly smoothed (float32): where the walls are measured.
    clicks
        ``(N, 2)`` ``(x, y)`` clicks in the window's pixel-centre coordinates.
    scale
        mm per px.
    reach_px
        Farthest the dark run may lie from the clicked line (px).
    settings
        See :class:`LensSettings`.
    """
    d = clicks[-1] - clicks[0]
    transposed = abs(d[1]) > abs(d[0])
    if transposed:  # a steep plane: its lens is crossed by rows, not columns
        window, smooth, clicks = window.T, smooth.T, clicks[:, ::-1]
    order = np.argsort(clicks[:, 0], kind="stable")
    xs, ys = clicks[order, 0], clicks[order, 1]
    if xs[-1] - xs[0] < 2:
        return None
    # Speckle and the needle's thin bright lines removed, the fluid stays dark.
    despeckled = cv2.GaussianBlur(
        cv2.medianBlur(np.ascontiguousarray(window), 5).astype(np.float32), (0, 0), 1.5
    )
    tissue = float(np.median(despeckled))
    if tissue <= 0:
        return None
    dark_level = settings.dark_fraction * tissue
    wall_level = settings.wall_fraction * tissue
    wall = max(2, round(settings.wall_mm / scale))
    shaft = max(1, round(settings.shaft_mm / scale))
    through = settings.through_mm / scale
    thinnest, thickest = (t / scale for t in settings.thickness_mm)
    rows = despeckled.shape[0]
    found: list[tuple[int, float, float]] = []
    some_dark: dict[int, tuple[float, float]] = {}  # fluid near the clicked line: its run
    for column in range(max(0, int(np.ceil(xs[0]))), min(despeckled.shape[1], int(xs[-1]) + 1)):
        near = float(np.interp(column, xs, ys))
        run = _dark_run(despeckled[:, column], dark_level, near, shaft)
        if run is None:
            continue
        top, bottom, distance = run
        if distance > reach_px:
            continue
        some_dark[column] = (top, bottom)
        # The clicked line goes through the fluid (a dark run beside a clicked line is
        # tissue: a fat lobule beside the superficial fascia).
        if distance > through or not thinnest <= bottom - top <= thickest:
            continue
        above = smooth[max(0, int(top) - wall) : int(top) + 1, column]
        below = smooth[int(np.ceil(bottom)) : min(rows, int(np.ceil(bottom)) + wall + 1), column]
        if len(above) and len(below) and min(above.max(), below.max()) >= wall_level:
            inside = despeckled[int(np.ceil(top)) : int(bottom) + 1, column]
            found.append((column, top, bottom, float(inside.mean()) / tissue))
    if not found:
        return None
    columns, tops, bottoms, darkness = (np.array(v) for v in zip(*found, strict=True))
    keep = _lens_stretches(
        columns,
        bottoms - tops,
        darkness,
        settings,
        settings.length_mm / scale,
        max(1, round(settings.bridge_mm / scale)),
    )
    if not keep.any():
        return None
    columns, tops, bottoms = columns[keep], tops[keep], bottoms[keep]
    first, last = max(0, int(np.ceil(xs[0]))), min(despeckled.shape[1], int(xs[-1]) + 1) - 1
    columns, tops, bottoms = _follow_walls(
        smooth,
        (columns, tops, bottoms),
        (first, last),
        (wall, wall_level, thinnest),
        settings.follow_mm / scale,
    )
    return Lens(
        columns=columns.astype(np.int64),
        middle=_smoothed_middle(columns, 0.5 * (tops + bottoms)),
        top=tops,
        bottom=bottoms,
        transposed=transposed,
        unseen=_unseen(columns, tops, bottoms, some_dark, (first, last), settings.tip_mm / scale),
    )


def follow_lens(
    strength: np.ndarray, lens: Lens, scale: float, wall_mm: float, unseen_strength: float
) -> tuple[np.ndarray, np.ndarray]:
    """``strength`` with, in the lens's columns, a narrow crest on its middle only (a new
    array): the path follows the middle of the opened plane, not a wall; and the mask of
    the lens and its walls (where the path may go however far from the clicked line)."""
    out = strength.copy()
    inside = np.zeros(strength.shape, dtype=bool)
    view = out.T if lens.transposed else out
    inside_view = inside.T if lens.transposed else inside
    sigma = max(1.0, 0.1 / scale)
    pad = max(2.0, wall_mm / scale)
    across = np.arange(view.shape[0], dtype=np.float64)
    for column, middle, top, bottom in zip(
        lens.columns, lens.middle, lens.top, lens.bottom, strict=True
    ):
        # The whole column: a path that skirts the lens (along a wall and the line
        # beyond it) must not be cheaper than one through its middle.
        view[:, column] = np.exp(-0.5 * ((across - middle) / sigma) ** 2)
        inside_view[(across >= top - pad) & (across <= bottom + pad), column] = True
    view[:, lens.unseen] = unseen_strength
    return out, inside


def _dark_run(
    profile: np.ndarray, level: float, near: float, bridge: int
) -> tuple[float, float, float] | None:
    """The run of ``profile`` under ``level`` nearest the position ``near``, bright gaps
    of up to ``bridge`` px inside it bridged (the needle's shaft and reverberations
    crossing the fluid): its two edges (sub-pixel, where the profile crosses ``level``)
    and its distance from ``near``."""
    dark = profile < level
    if not dark.any():
        return None
    padded = np.concatenate([[False], dark, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    starts, ends = edges[::2], edges[1::2] - 1  # inclusive indices of each run
    joined = np.flatnonzero(starts[1:] - ends[:-1] - 1 > bridge)
    starts, ends = starts[np.r_[0, joined + 1]], ends[np.r_[joined, len(ends) - 1]]
    distance = np.maximum(0.0, np.maximum(starts - near, near - ends))
    k = int(np.argmin(distance))
    start, end = int(starts[k]), int(ends[k])
    if start == 0 or end == len(profile) - 1:
        return None  # the run goes on past the window: not a lens between two walls
    top = start - (level - profile[start]) / max(profile[start - 1] - profile[start], 1e-6)
    bottom = end + (level - profile[end]) / max(profile[end + 1] - profile[end], 1e-6)
    return float(top), float(bottom), float(distance[k])


def _follow_walls(
    smooth: np.ndarray,
    lens: tuple[np.ndarray, np.ndarray, np.ndarray],
    span: tuple[int, int],
    walls: tuple[int, float, float],
    longest: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lens (columns, top and bottom edges) with its two walls followed on from each
    end, where the fluid no longer shows dark but the walls still do (the needle's
    reverberations fill it): the crest of each wall at most 1 px from the last one's, on
    while both are bright, apart (not the tip) and no wider than at the end plus 3 px
    (a wall that went off along the needle's shaft), for at most ``longest`` columns."""
    columns, tops, bottoms = lens
    wall, wall_level, thinnest = walls
    rows = smooth.shape[0]
    known = set(columns.tolist())

    def crest(column: int, centre: float, low: int, high: int) -> tuple[int, float] | None:
        middle = int(np.rint(centre))
        a, b = max(0, middle + low), min(rows, middle + high + 1)
        if b <= a:
            return None
        k = a + int(np.argmax(smooth[a:b, column]))
        return k, float(smooth[k, column])

    extra: list[tuple[int, float, float]] = []
    for index, step in ((0, -1), (len(columns) - 1, 1)):
        end = int(columns[index])
        up = crest(end, tops[index], -wall, 0)
        down = crest(end, bottoms[index], 0, wall)
        if up is None or down is None:
            continue
        top, bottom = float(up[0]), float(down[0])
        widest = bottom - top + _WIDEN_PX
        for k in range(1, int(longest) + 1):
            column = end + step * k
            if not span[0] <= column <= span[1] or column in known:
                break
            up, down = crest(column, top, -1, 1), crest(column, bottom, -1, 1)
            if up is None or down is None or min(up[1], down[1]) < wall_level:
                break
            if not thinnest + 2 <= down[0] - up[0] <= widest:
                break  # the walls met (the tip), or one went off along the needle
            top, bottom = float(up[0]), float(down[0])
            extra.append((column, top + 1.0, bottom - 1.0))  # the fluid's edges inside
    if not extra:
        return columns, tops, bottoms
    added = [np.array(v) for v in zip(*extra, strict=True)]
    every = np.concatenate([columns, added[0]])
    order = np.argsort(every, kind="stable")
    return (
        every[order],
        np.concatenate([tops, added[1]])[order],
        np.concatenate([bottoms, added[2]])[order],
    )


def _unseen(
    columns: np.ndarray,
    tops: np.ndarray,
    bottoms: np.ndarray,
    some_dark: dict[int, tuple[float, float]],
    span: tuple[int, int],
    tip: float,
) -> np.ndarray:
    """The columns on from each end of the lens ``columns`` where it goes on unseen:
    within ``tip`` columns of an end (its thin tip), and on while some fluid shows within
    the lens's last extent across (the needle in it); and the gaps between stretches."""
    lens = set(columns.tolist())
    unseen: set[int] = set()
    for index, step in ((0, -1), (len(columns) - 1, 1)):
        end, top, bottom = int(columns[index]), tops[index], bottoms[index]
        for k in range(1, span[1] - span[0] + 1):
            column = end + step * k
            if not span[0] <= column <= span[1] or column in lens:
                break
            run = some_dark.get(column)
            if k > tip and (run is None or run[1] < top or run[0] > bottom):
                break
            unseen.add(column)
    # Between two stretches of lens, whatever does not show is the lens.
    inner = np.setdiff1d(np.arange(int(columns.min()), int(columns.max()) + 1), columns)
    unseen.update(inner.tolist())
    return np.array(sorted(unseen), dtype=np.int64)


def _lens_stretches(
    columns: np.ndarray,
    thickness: np.ndarray,
    darkness: np.ndarray,
    settings: LensSettings,
    shortest: float,
    bridge: int,
) -> np.ndarray:
    """Which ``columns`` (increasing) belong to stretches of lens: at least ``shortest``
    long (gaps of up to ``bridge`` columns bridged), lens on most of their columns,
    longer than thick and anechoic on average (a fat lobule between two septa beside
    the superficial fascia is round and only dark)."""
    keep = np.zeros(len(columns), dtype=bool)
    breaks = np.flatnonzero(np.diff(columns) > bridge + 1) + 1
    for piece in np.split(np.arange(len(columns)), breaks):
        length = columns[piece[-1]] - columns[piece[0]] + 1
        if (
            length >= shortest
            and len(piece) >= 0.6 * length
            and length >= settings.elongation * float(np.median(thickness[piece]))
            and float(np.mean(darkness[piece])) <= settings.anechoic_fraction
        ):
            keep[piece] = True
    return keep


def _smoothed_middle(columns: np.ndarray, middle: np.ndarray, half: int = 3) -> np.ndarray:
    """The middle smoothed along the lens (a running median, then a mean): an edge found
    a pixel off in one column must not kink the line."""
    if len(middle) <= 2 * half:
        return middle
    padded = np.concatenate([np.repeat(middle[:1], half), middle, np.repeat(middle[-1:], half)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    median = np.median(windows, axis=1)
    padded = np.concatenate([np.repeat(median[:1], half), median, np.repeat(median[-1:], half)])
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1).mean(axis=1)
