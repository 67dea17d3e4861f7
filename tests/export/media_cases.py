"""Annotated loops for the media export tests: a sample loop marked from its truth, and
the planted-patient-data loop with a needle and fluid."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import usannotate
from tests.cine.dicom_factory import PlantedCase, make_planted_loop
from usannotate.annotations import AnnotatedObject, FrameSource, default_label_set
from usannotate.sidecar import new_document, save_sidecar, sidecar_path_for

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
PLANE_LABELS = {
    "superficial_fascia": "fascia.superficial",
    "deep_fascia": "fascia.deep",
    "interfascial_plane": "fascia.interfascial",
}
ANNOTATOR = "ZZANNOTATOR^HELEN"


def annotated_sample(folder: Path, name: str = "loop_a.dcm") -> tuple[Path, dict]:
    """Sample loop a copied to ``folder``: planes and fluid keyframed every 10 frames
    (interpolated between), the needle keyframed on its first two frames and tracked
    on the three after. Returns the DICOM and the truth."""
    dicom = folder / name
    shutil.copy(SAMPLES / "hydrodissection_linear_a.dcm", dicom)
    truth = json.loads((SAMPLES / "hydrodissection_linear_a.truth.json").read_text())
    labels = default_label_set()
    with usannotate.open_cine(dicom) as loop:
        doc = new_document(loop, labels, ANNOTATOR)
    needle = doc.annotations.add(AnnotatedObject("needle", labels["needle"].kind))
    fluid = doc.annotations.add(AnnotatedObject("fluid.injectate", labels["fluid.injectate"].kind))
    planes = {
        key: doc.annotations.add(AnnotatedObject(label, labels[label].kind))
        for key, label in PLANE_LABELS.items()
    }
    frames = truth["frames"]
    for frame in [*frames[::10], frames[-1]]:
        for plane in frame["fascial_planes"]:
            planes[plane["name"]].set_points(frame["index"], plane["points"])
        if frame["fluid"]:
            fluid.set_points(frame["index"], frame["fluid"]["outline"])
    with_needle = [f for f in frames if f["needle"]]
    for k, frame in enumerate(with_needle[:5]):
        points = [frame["needle"]["entry"], frame["needle"]["tip"]]
        needle.set_points(
            frame["index"], points, FrameSource.TRACKED if k >= 2 else FrameSource.KEYFRAME
        )
    save_sidecar(doc, sidecar_path_for(dicom))
    return dicom, truth


def annotated_planted(folder: Path) -> PlantedCase:
    """The planted loop (patient data in header and banner) with a needle on frames 1
    and 3 (interpolated on 2) and a fluid region on frame 2, by an annotator."""
    case = make_planted_loop(folder, n_frames=6)
    labels = default_label_set()
    with usannotate.open_cine(case.path) as loop:
        doc = new_document(loop, labels, ANNOTATOR)
    needle = doc.annotations.add(AnnotatedObject("needle", labels["needle"].kind))
    needle.set_points(1, [(20.0, 30.0), (60.0, 50.0)])
    needle.set_points(3, [(22.0, 31.0), (64.0, 55.0)])
    fluid = doc.annotations.add(AnnotatedObject("fluid.injectate", labels["fluid.injectate"].kind))
    fluid.set_points(2, [(70.0, 50.0), (100.0, 50.0), (100.0, 70.0), (70.0, 70.0)])
    save_sidecar(doc, sidecar_path_for(case.path))
    return case
