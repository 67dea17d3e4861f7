"""Redraw time of a frame with 50 marks in the real view (offscreen Qt).

    .venv/bin/python benchmarks/bench_redraw.py

A 1024x768 frame of the synthetic phantom in a 1400x900 view, with 50 marks of every
kind (20 fascial planes of 20 points, 15 fluid / avoid regions of 40 points, 10 needles,
5 points), all labelled. Measures a full viewport repaint (frame + overlays + marks) and
the time to rebuild the marks for the next frame as playback does (no render cache),
median of 200 runs each. Target: redraw
under 8 ms. Results go to benchmarks/results/redraw.json and .md.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    import numpy as np
    from PySide6.QtWidgets import QApplication

    import usannotate
    from usannotate.annotations import AnnotatedObject, Annotations, default_label_set
    from usannotate.ui.viewer.marks import AnnotationLayer
    from usannotate.ui.viewer.view import CineView

    app = QApplication.instance() or QApplication([])
    labels = default_label_set()
    by_kind = {
        kind: [lab for lab in labels if lab.kind == kind] for kind in {lab.kind for lab in labels}
    }
    rng = np.random.default_rng(0)
    model = Annotations(labels)
    plan = [("polyline", 20, 20), ("region", 15, 40), ("needle", 10, 2), ("point", 5, 1)]
    for kind_name, count, n_points in plan:
        kind_labels = [
            lab for kind, labs in by_kind.items() if kind.value == kind_name for lab in labs
        ]
        for k in range(count):
            label = kind_labels[k % len(kind_labels)]
            obj = model.add(AnnotatedObject(label.id, label.kind))
            centre = rng.uniform([100, 100], [900, 650])
            if kind_name == "region":
                angles = np.linspace(0, 2 * np.pi, n_points, endpoint=False)
                pts = centre + np.c_[60 * np.cos(angles), 25 * np.sin(angles)]
            elif kind_name == "polyline":
                xs = np.linspace(0, 1000, n_points)
                pts = np.c_[xs, centre[1] + 8 * np.sin(xs / 90 + k)]
            else:
                pts = centre + rng.uniform(-80, 80, size=(n_points, 2))
            obj.set_points(0, pts)
            obj.set_points(1, pts + 1.5)
    loop_path = HERE / "data" / "phantom_600f_1024x768_jpeg.dcm"
    if not loop_path.exists():
        from usannotate.samples import make_sample_loop

        loop_path.parent.mkdir(parents=True, exist_ok=True)
        make_sample_loop(loop_path, rows=768, columns=1024, n_frames=600, seed=7, write_truth=False)
    view = CineView()
    view.resize(1400, 900)
    view.show()
    with usannotate.open_cine(loop_path) as loop:
        view.set_regions(loop.regions, (loop.columns, loop.rows))
        view.show_frame(loop.frame(0).copy(), 0)
    layer = AnnotationLayer(view.scene())
    app.processEvents()  # the window must be exposed, or repaint() paints nothing
    repaint, rebuild = [], []
    for run in range(200):
        layer.show(model, 0)  # a frame on screen: marks cache their rendering
        view.viewport().repaint()
        painted = view.frame_item.paint_count
        start = time.perf_counter()
        view.viewport().repaint()
        repaint.append((time.perf_counter() - start) * 1e3)
        assert view.frame_item.paint_count == painted + 1, "the repaint did not paint"
        start = time.perf_counter()
        layer.show(model, run % 2, cache=False)  # as during playback
        painted = view.frame_item.paint_count
        view.viewport().repaint()
        assert view.frame_item.paint_count == painted + 1, "the repaint did not paint"
        rebuild.append((time.perf_counter() - start) * 1e3)
    result = {
        "marks": len(model.objects),
        "redraw_ms_median": round(statistics.median(repaint), 2),
        "redraw_ms_p95": round(sorted(repaint)[189], 2),
        "new_frame_marks_and_redraw_ms_median": round(statistics.median(rebuild), 2),
        "new_frame_marks_and_redraw_ms_p95": round(sorted(rebuild)[189], 2),
    }
    report = (
        f"Redraw of a 1024x768 frame with {result['marks']} marks in a 1400x900 view "
        "(offscreen), median of 200:\n\n"
        "| measurement | median | p95 |\n|---|---|---|\n"
        f"| repaint (frame + overlays + marks) | {result['redraw_ms_median']} ms | "
        f"{result['redraw_ms_p95']} ms |\n"
        f"| playback: marks rebuilt for the next frame + repaint | "
        f"{result['new_frame_marks_and_redraw_ms_median']} ms | "
        f"{result['new_frame_marks_and_redraw_ms_p95']} ms |\n\nTarget: redraw under 8 ms.\n"
    )
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "redraw.json").write_text(json.dumps(result, indent=2) + "\n")
    (results / "redraw.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
