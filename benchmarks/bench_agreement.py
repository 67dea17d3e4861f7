"""``usannotate agreement`` over 600 frames x 4 tracks, beside a plain implementation, in one run.

    nice -n 10 .venv/bin/python benchmarks/bench_agreement.py

Two raters' sidecars of one 600-frame 640 x 480 loop (calibrated, 0.1 mm per px): a
needle, two fascial planes (20 points) and the injected fluid (40 points), keyframes every
10 frames (interpolated between), the second rater's points moved by a few px of noise.
Measured, min and median of 5 runs, with the load average:

- ``compare``: :func:`usannotate.team.agreement.compare` on the two documents (pairing,
  interpolation, every measurement of every frame);
- ``compare_files``: the same from the files (read, validate, compare);
- peer: the same measurements written plainly: Dice from full-image masks drawn with
  ``cv2.fillPoly`` and distances from every vertex of a curve to every vertex of the
  other, no resampling.

Results go to benchmarks/results/agreement.json and agreement.md. Target: under 1 s.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from _timing import load_average, timed, write_results

from tests.cine.dicom_factory import worklist_loop
from usannotate.annotations import AnnotatedObject, ShapeKind, default_label_set
from usannotate.cine import open_cine
from usannotate.sidecar import new_document, save_sidecar
from usannotate.team.agreement import compare
from usannotate.team.agreement_files import compare_files

TARGET_S = 1.0
N_FRAMES = 600
TRACKS = (
    ("needle", ShapeKind.NEEDLE, 2),
    ("fascia.superficial", ShapeKind.POLYLINE, 20),
    ("fascia.deep", ShapeKind.POLYLINE, 20),
    ("fluid.injectate", ShapeKind.REGION, 40),
)


def shape(kind: ShapeKind, count: int, rng: np.random.Generator) -> np.ndarray:
    if kind == ShapeKind.REGION:
        angle = np.linspace(0, 2 * np.pi, count, endpoint=False)
        return np.column_stack([320 + 60 * np.cos(angle), 240 + 30 * np.sin(angle)])
    if kind == ShapeKind.POLYLINE:
        x = np.linspace(60, 580, count)
        return np.column_stack([x, 150 + 20 * np.sin(x / 90) + rng.uniform(0, 80)])
    return np.array([[500.0, 60.0], [330.0, 200.0]])


def sidecar(dicom: Path, name: str, noise_px: float, seed: int) -> tuple[Path, object]:
    rng = np.random.default_rng(seed)
    with open_cine(dicom, prefetch_frames=0) as loop:
        doc = new_document(loop, default_label_set(), name)
    base_rng = np.random.default_rng(1)  # the same structures for both raters
    for number, (label, kind, count) in enumerate(TRACKS):
        base = shape(kind, count, base_rng)
        obj = AnnotatedObject(label, kind, id=f"{name}{number}")
        for frame in range(0, N_FRAMES, 10):
            drift = np.array([frame * 0.05, frame * 0.02])
            obj.set_points(frame, base + drift + rng.normal(0, noise_px, base.shape))
        doc.annotations.add(obj)
    path = dicom.with_name(f"{dicom.stem}.{name}.usannotate.json")
    save_sidecar(doc, path)
    return path, doc


def plain_peer(doc_a, doc_b, size: tuple[int, int]) -> int:
    """The same comparison without resampling or cropping: full masks, vertex distances."""
    columns, rows = size
    count = 0
    for obj_a, obj_b in zip(doc_a.annotations.objects, doc_b.annotations.objects, strict=True):
        ga, gb = obj_a.all_geometry(N_FRAMES), obj_b.all_geometry(N_FRAMES)
        for frame in sorted(ga.keys() & gb.keys()):
            a, b = ga[frame][0], gb[frame][0]
            if obj_a.kind == ShapeKind.REGION:
                masks = []
                for outline in (a, b):
                    mask = np.zeros((rows, columns), np.uint8)
                    cv2.fillPoly(mask, [np.round(outline - 0.5).astype(np.int32)], 1)
                    masks.append(mask.astype(bool))
                inter = np.count_nonzero(masks[0] & masks[1])
                _ = 2 * inter / (masks[0].sum() + masks[1].sum())
            d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
            _ = (d.min(axis=1).mean() + d.min(axis=0).mean()) / 2
            count += 1
    return count


def main() -> int:
    runs = 5
    with tempfile.TemporaryDirectory() as tmp:
        dicom = worklist_loop(Path(tmp) / "loop.dcm", n_frames=N_FRAMES, rows=480, columns=640,
                              mm_per_px=0.1)  # fmt: skip
        path_a, doc_a = sidecar(dicom, "ann", 0.0, 2)
        path_b, doc_b = sidecar(dicom, "bo", 2.0, 3)
        size = (640, 480)
        with open_cine(dicom, prefetch_frames=0) as loop:
            regions = loop.regions
        report = compare(doc_a.annotations, doc_b.annotations, n_frames=N_FRAMES,
                         image_size=size, regions=regions)  # fmt: skip
        assert report.length_unit == "mm", report.unit_reason
        n_rows = len(report.rows)

        def run_compare() -> None:
            compare(
                doc_a.annotations,
                doc_b.annotations,
                n_frames=N_FRAMES,
                image_size=size,
                regions=regions,
            )

        compare_t = timed(run_compare, runs)
        files_t = timed(lambda: compare_files(path_a, path_b, dicom=dicom), runs)
        peer_t = timed(lambda: plain_peer(doc_a, doc_b, size), 3)
        load = load_average()
        dice = next(s for s in report.summary if s.measurement == "dice")
    compare_s, files_s, peer_s = compare_t.median_s, files_t.median_s, peer_t.median_s
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "frames": N_FRAMES,
        "tracks": len(TRACKS),
        "rows": n_rows,
        "compare_s": round(compare_s, 3),
        "compare_min_s": round(compare_t.min_s, 3),
        "compare_files_s": round(files_s, 3),
        "compare_files_min_s": round(files_t.min_s, 3),
        "plain_peer_s": round(peer_s, 3),
        "plain_peer_min_s": round(peer_t.min_s, 3),
        "load_average": round(load, 2),
        "mean_dice": round(dice.mean, 4),
        "target_s": TARGET_S,
        "met": files_s < TARGET_S,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    met = "**met**" if result["met"] else "**missed**"
    text = (
        f"Agreement of two sidecars, {N_FRAMES} frames x {len(TRACKS)} tracks ({n_rows} "
        f"rows); min and median of {runs} runs (peer: 3); {os.cpu_count()} CPUs, load "
        f"average {load:.1f}, Python {platform.python_version()}.\n\n"
        "| operation | min s | median s |\n|---|---|---|\n"
        f"| `compare` (pairing, interpolation, every measurement) | {compare_t.min_s:.3f} "
        f"| {compare_s:.3f} |\n"
        f"| `compare_files` (read and validate both sidecars, then compare) | "
        f"{files_t.min_s:.3f} | {files_s:.3f} |\n"
        f"| plain peer (full-image masks, vertex-to-vertex distances) | {peer_t.min_s:.3f} "
        f"| {peer_s:.3f} |\n\n"
        f"- Agreement under {TARGET_S:.0f} s: {met} ({files_s:.3f} s from the files)\n"
        f"- Mean Dice of the fluid with 2 px noise: {dice.mean:.4f}\n"
    )
    write_results("agreement", result, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
