"""Sidecar save and load speed on a long loop, side by side with plain ``json``, in one run.

    .venv/bin/python benchmarks/bench_sidecar.py            # 600 frames x 10 shapes
    .venv/bin/python benchmarks/bench_sidecar.py --quick    # 60 frames, for a smoke check

The document: 600 frames with ten objects marked on every frame, at realistic point
counts: four fascial planes (polylines, 20 points), three fluid regions (40 points), two
needles (2 points) and a target (1 point): 6,000 frame entries, 123,000 points.

Measured (median of several runs, in a temporary folder on the same disk):

- ``save``: :func:`save_sidecar` over the file the document was last saved to (Ctrl+S,
  or a save after an autosave): validate, serialise, write, fsync, rename, fsync folder.
- ``save over an unknown file``: the same, over a valid sidecar the document was not read
  from (the existing file is loaded and checked first: it might be damaged or foreign).
- ``autosave``: :func:`write_recovery`.
- ``load``: :func:`load_sidecar`: parse, validate (schema and consistency), build.
- peers: plain ``json.dump(document_to_json(doc), indent=2)`` (no validation, not atomic, no
  fsync) and ``json.load`` of the same file; jsonschema validating every frame entry
  itself (what the quick check replaces).

Results go to benchmarks/results/sidecar.json and sidecar.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

from usannotate.annotations import (  # noqa: E402
    AnnotatedObject,
    Annotations,
    Label,
    LabelSet,
    ShapeKind,
)
from usannotate.sidecar import (  # noqa: E402
    DicomReference,
    SidecarCalibration,
    SidecarConflictError,
    SidecarDocument,
    document_to_json,
    load_sidecar,
    save_sidecar,
    schema_problems,
    write_recovery,
)

TARGET_MS = 200.0
SHAPES = (
    [("fascia", ShapeKind.POLYLINE, 20)] * 4
    + [("fluid", ShapeKind.REGION, 40)] * 3
    + [("needle", ShapeKind.NEEDLE, 2)] * 2
    + [("target", ShapeKind.POINT, 1)]
)


def make_document(
    n_frames: int, columns: int = 1024, rows: int = 768, keyframe_every: int = 1
) -> SidecarDocument:
    """Ten objects on every frame; each drifts a little from frame to frame. With
    ``keyframe_every`` > 1 only every so many frames (and the last) are keyframes and the
    frames between are interpolated (computed when saving)."""
    labels = LabelSet(
        "bench",
        [
            Label("fascia", "Fascia", ShapeKind.POLYLINE, "#ffcc00", "1"),
            Label("fluid", "Injected fluid", ShapeKind.REGION, "#3399ff", "2"),
            Label("needle", "Needle", ShapeKind.NEEDLE, "#00ff66", "n"),
            Label("target", "Target", ShapeKind.POINT, "#ff3366", "t"),
        ],
    )
    rng = np.random.default_rng(7)
    objects = []
    for number, (label_id, kind, count) in enumerate(SHAPES):
        obj = AnnotatedObject(label_id, kind, id=f"object{number:02d}", name=f"{label_id} {number}")
        start = rng.uniform((100, 100), (columns - 100, rows - 100), (count, 2))
        drift = np.cumsum(rng.normal(0, 0.4, (n_frames, 1, 2)), axis=0)
        for frame in range(n_frames):
            if frame % keyframe_every == 0 or frame == n_frames - 1:
                obj.frames[frame] = np.clip(start + drift[frame], 0, (columns, rows))
        objects.append(obj)
    moment = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    return SidecarDocument(
        annotations=Annotations(labels, objects),
        dicom=DicomReference("1.2.3.4.5", "bench.dcm", rows, columns, n_frames, 33.333),
        calibration=SidecarCalibration("none"),
        annotator="benchmark",
        created=moment,
        modified=moment,
        app_version="bench",
    )


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm-up: imports, caches, the OS file cache
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000.0)
    return round(statistics.median(times), 1)


def run(n_frames: int, runs: int) -> dict[str, object]:
    doc = make_document(n_frames)
    n_points = sum(len(p) for o in doc.annotations.objects for p in o.frames.values())
    with tempfile.TemporaryDirectory(dir=HERE) as folder:
        path = Path(folder) / "bench.usannotate.json"
        other = Path(folder) / "other.usannotate.json"
        plain = Path(folder) / "plain.json"
        save_sidecar(doc, path)
        save_sidecar(load_sidecar(path), other)

        def save_over_unknown() -> None:
            # A file this document did not read: it is hashed, read and checked, and the
            # save refused with both versions (no lost update).
            doc.disk_stamp = None
            with contextlib.suppress(SidecarConflictError):
                save_sidecar(doc, other)

        def plain_dump() -> None:
            with open(plain, "w", encoding="utf-8") as f:
                json.dump(document_to_json(doc), f, indent=2, ensure_ascii=False)

        def plain_load() -> None:
            with open(plain, encoding="utf-8") as f:
                json.load(f)

        measured = {
            "save_ms": median_ms(lambda: save_sidecar(doc, path), runs),
            "save_over_unknown_file_ms": median_ms(save_over_unknown, runs),
            "autosave_ms": median_ms(lambda: write_recovery(doc, path), runs),
            "load_ms": median_ms(lambda: load_sidecar(path), runs),
            "peer_plain_json_dump_ms": median_ms(plain_dump, runs),
            "peer_plain_json_load_ms": median_ms(plain_load, runs),
        }
        data = json.loads(path.read_text(encoding="utf-8"))
        measured["peer_jsonschema_every_entry_ms"] = median_ms(
            lambda: schema_problems(data, exhaustive=True), max(1, runs // 3)
        )
        measured["quick_schema_check_ms"] = median_ms(lambda: schema_problems(data), runs)
        size = path.stat().st_size
        # Keyframes every 10 frames: the file lists every frame, 9 in 10 interpolated.
        sparse = make_document(n_frames, keyframe_every=10)
        sparse_path = Path(folder) / "sparse.usannotate.json"
        measured["save_keyframes_every_10_ms"] = median_ms(
            lambda: save_sidecar(sparse, sparse_path), runs
        )
        measured["load_keyframes_every_10_ms"] = median_ms(lambda: load_sidecar(sparse_path), runs)
    return {
        "n_frames": n_frames,
        "n_objects": len(SHAPES),
        "n_frame_entries": n_frames * len(SHAPES),
        "n_points": n_points,
        "file_mb": round(size / 1e6, 2),
        "runs": runs,
        **measured,
        "target_ms": TARGET_MS,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def report(r: dict[str, object]) -> str:
    ok = {True: "met", False: "missed"}
    lines = [
        f"Sidecar of {r['n_frames']} frames x {r['n_objects']} objects "
        f"({r['n_frame_entries']} frame entries, {r['n_points']} points, {r['file_mb']} MB); "
        f"median of {r['runs']} runs; {r['machine']['cpus']} CPUs, "  # type: ignore[index]
        f"Python {r['machine']['python']}.",  # type: ignore[index]
        "",
        "| operation | usannotate (ms) | peer (ms) |",
        "|---|---|---|",
        f"| save (validate, write, fsync, rename) | {r['save_ms']} | "
        f"{r['peer_plain_json_dump_ms']} (`json.dump(indent=2)`, no checks, no fsync) |",
        f"| save over a file someone else saved (checked, refused: a conflict) | "
        f"{r['save_over_unknown_file_ms']} | |",
        f"| autosave to the recovery file | {r['autosave_ms']} | |",
        f"| save, keyframes every 10 frames (interpolated entries computed and written) | "
        f"{r['save_keyframes_every_10_ms']} | |",
        f"| load, keyframes every 10 frames (interpolated entries skipped) | "
        f"{r['load_keyframes_every_10_ms']} | |",
        f"| load (parse, validate, build) | {r['load_ms']} | "
        f"{r['peer_plain_json_load_ms']} (`json.load`, no checks) |",
        f"| schema check of every frame entry | {r['quick_schema_check_ms']} (quick check) | "
        f"{r['peer_jsonschema_every_entry_ms']} (jsonschema on each entry) |",
        "",
        f"- Save under {TARGET_MS:.0f} ms: **{ok[r['save_ms'] < TARGET_MS]}** ({r['save_ms']} ms)",  # type: ignore[operator]
        f"- Load under {TARGET_MS:.0f} ms: **{ok[r['load_ms'] < TARGET_MS]}** ({r['load_ms']} ms)",  # type: ignore[operator]
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 frames, 3 runs")
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    n_frames, runs = (60, 3) if options.quick else (600, options.runs)
    results = run(n_frames, runs)
    text = report(results)
    print(text)
    suffix = "_quick" if options.quick else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"sidecar{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"sidecar{suffix}.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
