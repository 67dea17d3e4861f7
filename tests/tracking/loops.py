"""The sample loops for the tracking tests: bundled or hard (generated), decoded once, truth."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np

from usannotate.cine import open_cine

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_dicoms"


class TruthLoop:
    """A loop decoded once (RGB frames), with its truth."""

    def __init__(self, path: Path) -> None:
        loop = open_cine(path)
        self.path = path
        self.frames = [loop.frame(i) for i in range(loop.n_frames)]
        loop.close()
        self.truth = json.loads(path.with_name(f"{path.stem}.truth.json").read_text("utf-8"))
        self.mm_per_px = float(self.truth["mm_per_px_x"])
        frames = self.truth["frames"]
        self.first_needle = next(f["index"] for f in frames if f["needle"])
        self.first_fluid = next(f["index"] for f in frames if f["fluid"])

    def frame(self, index: int) -> np.ndarray:
        return self.frames[index]

    def needle(self, index: int) -> np.ndarray | None:
        needle = self.truth["frames"][index]["needle"]
        return None if needle is None else np.array([needle["entry"], needle["tip"]])

    def plane(self, index: int, name: str) -> np.ndarray:
        for plane in self.truth["frames"][index]["fascial_planes"]:
            if plane["name"] == name:
                return np.array(plane["points"])
        raise KeyError(name)

    def fluid(self, index: int) -> np.ndarray:
        return np.array(self.truth["frames"][index]["fluid"]["outline"])


def distance_to_polyline(points: np.ndarray, polyline: np.ndarray, closed: bool) -> np.ndarray:
    """Each point's distance to the polyline (px)."""
    if closed:
        polyline = np.vstack([polyline, polyline[:1]])
    a, b = polyline[:-1], polyline[1:]
    ab = b - a
    t = ((points[:, None, :] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-12)
    nearest = a + np.clip(t, 0.0, 1.0)[..., None] * ab
    return np.linalg.norm(points[:, None, :] - nearest, axis=-1).min(axis=1)


def densified(points: np.ndarray, closed: bool, step_px: float = 1.0) -> np.ndarray:
    """The polyline sampled every ``step_px`` (px)."""
    ends = np.vstack([points, points[:1]]) if closed else points
    pieces = []
    for a, b in itertools.pairwise(ends):
        n = max(1, int(np.ceil(np.linalg.norm(b - a) / step_px)))
        pieces.append(a + (np.arange(n) / n)[:, None] * (b - a))
    if not closed:
        pieces.append(ends[-1:])
    return np.vstack(pieces)


def area(points: np.ndarray) -> float:
    """Polygon area (px²)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def boundary_distance(shown: np.ndarray, truth: np.ndarray) -> float:
    """Symmetric mean boundary distance between two closed outlines (px)."""
    return 0.5 * float(
        distance_to_polyline(densified(shown, True), truth, True).mean()
        + distance_to_polyline(densified(truth, True), shown, True).mean()
    )
