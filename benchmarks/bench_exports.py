"""Export speed: each format of a 600-frame loop with 4 tracks, against the 10 s target.

    .venv/bin/python benchmarks/bench_exports.py            # 600 frames
    .venv/bin/python benchmarks/bench_exports.py --quick    # 60 frames, a smoke check

Makes the synthetic phantom loop (640 x 480 JPEG, in benchmarks/data/, git-ignored) and a
sidecar from its truth: the needle, the fluid and two fascial planes, keyframes every 10
frames and every frame between them tracked, so every frame is stored (the worst case for
the SR, which writes each stored frame of each track). Each export runs the function the
CLI and the window call (``usannotate.export.run.run_export``), in this process, timed
with ``time.perf_counter``; the peer is ``usannotate measure``'s table of the same loop
(the measurements every export starts from). Each figure is wall time and, beside it,
the CPU time of this process (``time.process_time``, all its threads): on a machine
other work keeps busy the wall time grows with the load, the CPU time much less, so the
pair says how much of a slow figure is the load. Results:
benchmarks/results/exports.json and exports.md. Run it niced (``nice -n 10``) on a
shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
DATA = HERE / "data"
RESULTS = HERE / "results"
TARGET_S = 10.0


def make_loop(n_frames: int, tracked: bool = True) -> Path:
    """The phantom loop and its sidecar: 4 tracks, keyframes every 10 frames and, when
    ``tracked``, every frame between them tracked (else interpolated)."""
    import usannotate
    from usannotate.annotations import AnnotatedObject, FrameSource, default_label_set
    from usannotate.samples import make_sample_loop
    from usannotate.sidecar import new_document, save_sidecar, sidecar_path_for

    DATA.mkdir(parents=True, exist_ok=True)
    dicom = DATA / f"exports_{n_frames}f.dcm"
    truth_path = dicom.with_name(dicom.stem + ".truth.json")
    if not dicom.exists() or not truth_path.exists():
        print(f"making {dicom.name} ...", file=sys.stderr, flush=True)
        make_sample_loop(dicom, n_frames=n_frames, seed=11)
    truth = json.loads(truth_path.read_text())
    labels = default_label_set()
    with usannotate.open_cine(dicom) as loop:
        doc = new_document(loop, labels, "Bench^Exports")
    add = doc.annotations.add
    needle = add(AnnotatedObject("needle", labels["needle"].kind))
    fluid = add(AnnotatedObject("fluid.injectate", labels["fluid.injectate"].kind))
    planes = [
        add(AnnotatedObject(i, labels[i].kind)) for i in ("fascia.superficial", "fascia.deep")
    ]
    for frame in truth["frames"]:
        index = frame["index"]
        if not tracked and index % 10:
            continue
        source = FrameSource.KEYFRAME if index % 10 == 0 else FrameSource.TRACKED
        if frame["needle"]:
            needle.set_points(index, [frame["needle"]["entry"], frame["needle"]["tip"]], source)
        if frame["fluid"]:
            fluid.set_points(index, frame["fluid"]["outline"], source)
        for plane, marked in zip(planes, frame["fascial_planes"], strict=False):
            plane.set_points(index, marked["points"], source)
    sidecar = sidecar_path_for(dicom)
    sidecar.unlink(missing_ok=True)
    save_sidecar(doc, sidecar)
    return dicom


def run(n_frames: int) -> dict[str, object]:
    from usannotate.export import FrameChoice, annotated_loop, loop_measurements
    from usannotate.export.run import ExportFormat, ExportRequest, run_export

    timings_keyframed: dict[str, float] = {}
    cpu_keyframed: dict[str, float] = {}
    out = Path(tempfile.mkdtemp(prefix="bench_exports_"))
    try:
        dicom = make_loop(n_frames, tracked=False)
        for case, all_frames in (("sr", False), ("sr --all-frames", True)):
            print(f"export {case} (keyframes every 10 frames) ...", file=sys.stderr, flush=True)
            request = ExportRequest(
                format=ExportFormat.SR,
                loops=(dicom,),
                output=out / "k.sr.dcm",
                all_frames=all_frames,
            )
            started, cpu = time.perf_counter(), time.process_time()
            run_export(request)
            timings_keyframed[case] = round(time.perf_counter() - started, 2)
            cpu_keyframed[case] = round(time.process_time() - cpu, 2)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    dicom = make_loop(n_frames)
    with annotated_loop(dicom) as work:
        stored = sum(len(o.frames) for o in work.annotations.objects)
        started, cpu = time.perf_counter(), time.process_time()
        rows = loop_measurements(work.annotations, work.loop.n_frames, work.calibration_for)
        measure_s = time.perf_counter() - started
        measure_cpu_s = time.process_time() - cpu
    cases = {
        "sr": {"single": True, "name": "out.sr.dcm"},
        "sr --all-frames": {"single": True, "name": "all.sr.dcm", "all_frames": True},
        "cvat": {"single": True, "name": "out.xml"},
        "coco": {"single": False, "name": "coco"},
        "yolo": {"single": False, "name": "yolo"},
        "masks": {"single": False, "name": "masks"},
    }
    timings: dict[str, float] = {}
    cpu_s: dict[str, float] = {}
    out = Path(tempfile.mkdtemp(prefix="bench_exports_"))
    try:
        for case, options in cases.items():
            kind = ExportFormat(case.split()[0])
            request = ExportRequest(
                format=kind,
                loops=(dicom,),
                output=out / options["name"],
                single=options["single"],
                frames=FrameChoice.ANNOTATED,
                all_frames=options.get("all_frames", False),
            )
            print(f"export {case} ...", file=sys.stderr, flush=True)
            started, cpu = time.perf_counter(), time.process_time()
            run_export(request)
            timings[case] = round(time.perf_counter() - started, 2)
            cpu_s[case] = round(time.process_time() - cpu, 2)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "n_frames": n_frames,
        "tracks": 4,
        "stored_frames": stored,
        "measure_rows": len(rows),
        "measure_s": round(measure_s, 2),
        "measure_cpu_s": round(measure_cpu_s, 2),
        "export_s": timings,
        "export_cpu_s": cpu_s,
        "keyframed_export_s": timings_keyframed,
        "keyframed_export_cpu_s": cpu_keyframed,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "target_s": TARGET_S,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }


def markdown(results: dict[str, object]) -> str:
    load = ", ".join(str(v) for v in results.get("load_average", []))
    lines = [
        f"Loop: {results['n_frames']} frames, 640 x 480 JPEG, {results['tracks']} tracks, "
        f"{results['stored_frames']} stored frames; `measure` table "
        f"({results['measure_rows']} rows): {results['measure_s']} s "
        f"({results['measure_cpu_s']} s CPU). Python {results['python']}, "
        f"{results['date']}; load average at the end (1, 5, 15 min): {load}.",
    ]

    def table(wall: dict[str, float], cpu: dict[str, float]) -> list[str]:
        rows = ["", "| export | seconds | CPU seconds | under 10 s |", "|---|---|---|---|"]
        for case, seconds in wall.items():
            met = "yes" if seconds < TARGET_S else "**no**"
            rows.append(f"| {case} | {seconds} | {cpu.get(case, '')} | {met} |")
        return rows

    lines += table(results["export_s"], results["export_cpu_s"])  # type: ignore[arg-type]
    lines += [
        "",
        "The same loop with keyframes every 10 frames and nothing tracked (60 stored frames "
        "per track):",
    ]
    lines += table(
        results["keyframed_export_s"],  # type: ignore[arg-type]
        results["keyframed_export_cpu_s"],  # type: ignore[arg-type]
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 frames, a smoke check")
    options = parser.parse_args()
    results = run(60 if options.quick else 600)
    RESULTS.mkdir(exist_ok=True)
    suffix = "_quick" if options.quick else ""
    (RESULTS / f"exports{suffix}.json").write_text(json.dumps(results, indent=1) + "\n")
    text = markdown(results)
    (RESULTS / f"exports{suffix}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
