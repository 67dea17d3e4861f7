"""A writer process for the crash test: saves a long loop's sidecar again and again.

    python crash_writer.py SIDECAR LOG FIRST_GENERATION

Reads SIDECAR (the previous writer's last save: a save never replaces a version it did
not read), writes "ready" to LOG, then for generation g = FIRST_GENERATION, +1, ...: moves
every point by an amount that depends on g, saves, and appends g to LOG once the save
returned.
The test SIGKILLs it at random moments.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
if os.environ.get("USANNOTATE_CODE"):  # benchmarks/crash_sidecar.py --code: another checkout
    sys.path.insert(0, os.environ["USANNOTATE_CODE"])

from tests.sidecar.docs import NOW, empty_document
from usannotate.annotations import AnnotatedObject
from usannotate.sidecar import SidecarDocument, load_sidecar, save_sidecar

N_FRAMES = 600
#: (label id, points per frame): 4 fascial planes, 3 regions, 2 needles, 1 target.
SHAPES = [("fascia.superficial", 20)] * 4 + [("fluid", 40)] * 3 + [("needle", 2)] * 2
SHAPES += [("target", 1)]


def _base_points() -> list[list[np.ndarray]]:
    rng = np.random.default_rng(0)
    return [
        [np.round(rng.uniform(10, 400, (count, 2)), 3) for _ in range(N_FRAMES)]
        for _, count in SHAPES
    ]


BASE = _base_points()


def offset(generation: int) -> float:
    return (generation % 97) * 0.5


def build(generation: int) -> SidecarDocument:
    """The document of ``generation`` (a 600-frame loop, ten objects)."""
    doc = empty_document()
    doc.dicom = replace(doc.dicom, n_frames=N_FRAMES)
    for number, (label_id, _) in enumerate(SHAPES):
        obj = AnnotatedObject(label_id, doc.label_set[label_id].kind, id=f"object-{number}")
        doc.annotations.add(obj)
    set_generation(doc, generation)
    return doc


def set_generation(doc: SidecarDocument, generation: int) -> None:
    shift = offset(generation)
    for obj, frames in zip(doc.annotations.objects, BASE, strict=True):
        obj.frames = {f: points + shift for f, points in enumerate(frames)}
    doc.annotator = f"generation {generation}"
    doc.extra.top["generation"] = generation


def main(sidecar: str, log: str, first: int) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    doc = load_sidecar(sidecar)
    os.write(fd, b"ready\n")
    generation = first
    while True:
        set_generation(doc, generation)
        save_sidecar(doc, sidecar, now=NOW)
        os.write(fd, f"{generation}\n".encode())
        generation += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
