"""Hydrodissection measures against the sample loops' truth, with a plain peer, and speed.

    nice .venv/bin/python benchmarks/bench_hydro.py

On the two bundled synthetic loops the marks are entered from the truth: the planes that
are not the target, the target plane as the two layers the fluid splits it into (its
upper and lower sides, the plane beyond), the needle and the fluid. The truth of the
plane separation on a frame is the lens' largest vertical thickness (the phantom draws
it so; on the last frame it is the generator's ``fluid_thickness_mm``).

- ours: ``plane_separation`` and ``fluid_thickness`` of ``frame_hydro_rows`` (mm,
  perpendicular to the plane), ``plane_separation_at_tip`` against the lens' thickness
  at the tip's column; error mean / max (mm) over every frame with fluid.
- peer: the outline's vertical extent (max y - min y, times mm per px): what a caliper
  straight down the image gives, ignoring the plane's slope.
- speed: ms per frame of ``frame_hydro_rows`` beside ``measure_frame`` (median of runs).

Results go to benchmarks/results/hydro.json and hydro.md.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import usannotate  # noqa: E402
from usannotate.annotations import AnnotatedObject, Annotations, ShapeKind, measure_frame  # noqa: E402
from usannotate.annotations.hydro import frame_hydro_rows  # noqa: E402
from usannotate.annotations.labels import default_label_set  # noqa: E402

SAMPLES = HERE.parent / "sample_dicoms"
RESULTS = HERE / "results"
LABELS = {
    "superficial_fascia": "fascia.superficial",
    "deep_fascia": "fascia.deep",
    "interfascial_plane": "fascia.interfascial",
}


def _sides(outline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = (len(outline) + 2) // 2
    return outline[:n], np.vstack([outline[:1], outline[n:][::-1], outline[n - 1 : n]])


def _annotations(truth: dict) -> Annotations:
    annotations = Annotations(default_label_set())
    target = truth["target_plane"]
    others = {
        name: annotations.add(AnnotatedObject(label, ShapeKind.POLYLINE))
        for name, label in LABELS.items()
        if name != target
    }
    layers = [annotations.add(AnnotatedObject(LABELS[target], ShapeKind.POLYLINE)) for _ in "ul"]
    needle = annotations.add(AnnotatedObject("needle", ShapeKind.NEEDLE))
    fluid = annotations.add(AnnotatedObject("fluid.injectate", ShapeKind.REGION))
    for item in truth["frames"]:
        f = item["index"]
        planes = {p["name"]: np.array(p["points"]) for p in item["fascial_planes"]}
        for name, obj in others.items():
            obj.set_points(f, planes[name])
        if item["needle"] is not None:
            needle.set_points(f, [item["needle"]["entry"], item["needle"]["tip"]])
        if item["fluid"] is not None:
            outline = np.array(item["fluid"]["outline"])
            fluid.set_points(f, outline)
            plane = planes[target]
            for obj, side in zip(layers, _sides(outline), strict=True):
                left = plane[plane[:, 0] < side[0, 0] - 1]
                right = plane[plane[:, 0] > side[-1, 0] + 1]
                obj.set_points(f, np.vstack([left, side, right]))
    return annotations


def _errors(values: list[float]) -> dict[str, float]:
    return {
        "mean_mm": round(float(np.mean(values)), 4),
        "max_mm": round(float(np.max(values)), 4),
    }


def main() -> int:
    report: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "loops": {},
    }
    speeds_ours, speeds_base = [], []
    for stem in ("hydrodissection_linear_a", "hydrodissection_linear_b"):
        truth = json.loads((SAMPLES / f"{stem}.truth.json").read_text(encoding="utf-8"))
        mm_y = truth["mm_per_px_y"]
        annotations = _annotations(truth)
        sep, thick, tip, peer = [], [], [], []
        with usannotate.open_cine(SAMPLES / f"{stem}.dcm", prefetch_frames=0) as loop:
            cal_for = loop.calibration_for_points
            for item in truth["frames"]:
                if item["fluid"] is None:
                    continue
                outline = np.array(item["fluid"]["outline"])
                upper, lower = _sides(outline)
                expected = float(((lower[:, 1] - upper[:, 1]) * mm_y).max())
                rows = {
                    (r.label_id, r.measurement): r
                    for r in frame_hydro_rows(annotations, item["index"], cal_for)
                }
                sep.append(abs(rows["fluid.injectate", "plane_separation"].value - expected))
                thick.append(abs(rows["fluid.injectate", "fluid_thickness"].value - expected))
                peer.append(abs((outline[:, 1].max() - outline[:, 1].min()) * mm_y - expected))
                tip_x = item["needle"]["tip"][0] if item["needle"] else None
                at_tip = rows.get(("needle", "plane_separation_at_tip"))
                if tip_x is not None and at_tip is not None and upper[2, 0] < tip_x < upper[-3, 0]:
                    local = float(np.interp(tip_x, upper[:, 0], (lower[:, 1] - upper[:, 1]) * mm_y))
                    tip.append(abs(at_tip.value - local))
            frames = [i["index"] for i in truth["frames"] if i["fluid"] is not None]
            for _ in range(5):
                started = time.perf_counter()
                for f in frames:
                    frame_hydro_rows(annotations, f, cal_for)
                speeds_ours.append(1000 * (time.perf_counter() - started) / len(frames))
                started = time.perf_counter()
                for f in frames:
                    measure_frame(annotations, f, cal_for)
                speeds_base.append(1000 * (time.perf_counter() - started) / len(frames))
        report["loops"][stem] = {
            "frames_with_fluid": len(sep),
            "plane_separation": _errors(sep),
            "fluid_thickness": _errors(thick),
            "plane_separation_at_tip": _errors(tip) if tip else None,
            "tip_frames": len(tip),
            "peer_vertical_extent": _errors(peer),
        }
    report["ms_per_frame"] = {
        "frame_hydro_rows": round(statistics.median(speeds_ours), 3),
        "measure_frame": round(statistics.median(speeds_base), 3),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hydro.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    lines = [
        "Hydrodissection measures against the phantom's truth (error in mm: mean / max "
        f"over the frames with fluid); Python {report['python']}.",
        "",
        "| loop | frames | plane separation | fluid thickness | separation at tip (frames) "
        "| peer: vertical extent |",
        "|---|---|---|---|---|---|",
    ]
    for stem, r in report["loops"].items():
        tip = r["plane_separation_at_tip"]
        tip_text = f"{tip['mean_mm']} / {tip['max_mm']} ({r['tip_frames']})" if tip else "-"
        lines.append(
            f"| {stem} | {r['frames_with_fluid']} | {r['plane_separation']['mean_mm']} / "
            f"{r['plane_separation']['max_mm']} | {r['fluid_thickness']['mean_mm']} / "
            f"{r['fluid_thickness']['max_mm']} | {tip_text} | "
            f"{r['peer_vertical_extent']['mean_mm']} / {r['peer_vertical_extent']['max_mm']} |"
        )
    ms = report["ms_per_frame"]
    lines += [
        "",
        f"- ms per frame: frame_hydro_rows {ms['frame_hydro_rows']}, measure_frame "
        f"{ms['measure_frame']} (median of 5 runs)",
    ]
    (RESULTS / "hydro.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
