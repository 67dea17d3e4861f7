"""``usannotate status`` over a folder of 1,000 sidecars, beside the full readers, in one run.

    nice -n 10 .venv/bin/python benchmarks/bench_status.py            # 1,000 loops
    nice -n 10 .venv/bin/python benchmarks/bench_status.py --loops 100

The folder: ``--loops`` DICOM loops (hard links to one file: with a sidecar the DICOM
is not opened) each with a sidecar of a 300-frame loop (10 s at 30 fps) with four tracks as
an annotator leaves them: two fascial planes (20 points), a needle and the injected fluid
(40 points), keyframes every 10 frames, interpolated entries written (about 0.6 MB each),
statuses mixed. Measured, min and median of 3 runs, with the load average (files in the
page cache, as on a second look):

- ``status``: :func:`usannotate.team.worklist.folder_status` (what ``usannotate status``
  and the Loops list read);
- peers: ``json.loads`` of every sidecar (no checks), and :func:`load_sidecar` (parse,
  validate, build) on 50 of them, scaled to the folder.

Results go to benchmarks/results/status.json and status.md. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import load_average, timed, write_results

from tests.cine.dicom_factory import worklist_loop
from usannotate.annotations import AnnotatedObject, ShapeKind, default_label_set
from usannotate.cine import open_cine
from usannotate.sidecar import load_sidecar, new_document, save_sidecar
from usannotate.sidecar.store import sidecar_path_for
from usannotate.team.worklist import folder_status

TARGET_S = 2.0
N_FRAMES = 300
TRACKS = (
    ("fascia.superficial", ShapeKind.POLYLINE, 20),
    ("fascia.deep", ShapeKind.POLYLINE, 20),
    ("needle", ShapeKind.NEEDLE, 2),
    ("fluid.injectate", ShapeKind.REGION, 40),
)


def make_sidecar_bytes(dicom: Path, rng: np.random.Generator) -> bytes:
    with open_cine(dicom, prefetch_frames=0) as loop:
        doc = new_document(loop, default_label_set(), "A. Sonographer")
    for number, (label, kind, count) in enumerate(TRACKS):
        obj = AnnotatedObject(label, kind, id=f"track{number}")
        base = rng.uniform(20, 400, (count, 2))
        for frame in range(0, N_FRAMES, 10):
            obj.set_points(frame, np.round(base + rng.normal(0, 2, (count, 2)), 3))
        doc.annotations.add(obj)
    path = dicom.with_name("template.usannotate.json")
    save_sidecar(doc, path)
    data = path.read_bytes()
    path.unlink()
    return data


def build(folder: Path, n_loops: int) -> None:
    template = worklist_loop(folder / "template.dcm", n_frames=N_FRAMES, rows=480, columns=640)
    # One file under many names: 1,000 copies of a 90 MB loop would fill the disk.
    sidecar = make_sidecar_bytes(template, np.random.default_rng(7))
    statuses = [b'"in_progress"', b'"done"', b'"reviewed"']
    for number in range(n_loops):
        dicom = folder / f"loop_{number:04d}.dcm"
        os.link(template, dicom)
        data = sidecar.replace(b'"in_progress"', statuses[number % 3], 1)
        sidecar_path_for(dicom).write_bytes(data)
    template.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        build(folder, options.loops)
        sidecars = sorted(folder.glob("*.usannotate.json"))
        size_mb = sidecars[0].stat().st_size / 2**20
        folder_status(folder)  # the page cache warm, as on any second look
        rows = folder_status(folder)
        assert len(rows) == options.loops
        assert all(r.summary for r in rows)
        assert rows[0].summary.annotated_frames == N_FRAMES - 9  # keyed 0..290
        status_t = timed(lambda: folder_status(folder), options.runs)
        status_s = status_t.median_s

        def plain_json() -> None:
            for path in sidecars:
                json.loads(path.read_bytes())

        json_s = timed(plain_json, options.runs).median_s
        sample = sidecars[:50]
        load_s = timed(lambda: [load_sidecar(p) for p in sample], 1).median_s * len(sidecars) / 50
        load = load_average()
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "loops": options.loops,
        "sidecar_mb": round(size_mb, 3),
        "status_s": round(status_s, 3),
        "status_min_s": round(status_t.min_s, 3),
        "load_average": round(load, 2),
        "json_loads_s": round(json_s, 3),
        "load_sidecar_s_scaled": round(load_s, 3),
        "target_s": TARGET_S,
        "met": status_s < TARGET_S,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    met = "**met**" if result["met"] else "**missed**"
    text = (
        f"`usannotate status` over {options.loops} loops, each sidecar {size_mb:.2f} MB "
        f"({N_FRAMES} frames x 4 tracks, keyframes every 10 frames); median of "
        f"{options.runs} runs (status: min {status_t.min_s:.3f} s); {os.cpu_count()} CPUs, "
        f"load average {load:.1f}, Python {platform.python_version()}.\n\n"
        "| reader | seconds |\n|---|---|\n"
        f"| `folder_status` (usannotate status) | {status_s:.3f} |\n"
        f"| `json.loads` of every sidecar (no checks) | {json_s:.3f} |\n"
        f"| `load_sidecar` (parse, validate, build; 50 files, scaled) | {load_s:.3f} |\n\n"
        f"- Status under {TARGET_S:.0f} s: {met} ({status_s:.3f} s)\n"
    )
    suffix = "" if options.loops == 1000 else f"_{options.loops}"
    write_results(f"status{suffix}", result, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
