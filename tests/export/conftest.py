"""Annotated loops for the export tests (a sample loop marked from its ground truth) and
each test's own settings folder (the de-identification key)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import ExplicitVRLittleEndian

import usannotate
from tests.cine import dicom_factory
from usannotate.annotations import AnnotatedObject, FrameSource, default_label_set
from usannotate.sidecar import new_document, save_sidecar, sidecar_path_for

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
PLANE_LABELS = {
    "superficial_fascia": "fascia.superficial",
    "deep_fascia": "fascia.deep",
    "interfascial_plane": "fascia.interfascial",
}


def mark_sample(folder: Path, sample: str = "b", name: str = "loop_b.dcm") -> Path:
    """Copy sample loop ``sample`` into ``folder`` and mark it from its truth: needle,
    fluid, a target and three planes on every 5th frame with the needle and fluid in
    view; every other needle frame tracked; a gap in the fluid after its 2nd frame; the
    needle is named."""
    folder.mkdir(parents=True, exist_ok=True)
    dicom = folder / name
    shutil.copy(SAMPLES / f"hydrodissection_linear_{sample}.dcm", dicom)
    truth = json.loads((SAMPLES / f"hydrodissection_linear_{sample}.truth.json").read_text())
    labels = default_label_set()
    with usannotate.open_cine(dicom) as loop:
        doc = new_document(loop, labels, "Test^Annotator")
    add = doc.annotations.add
    needle = add(AnnotatedObject("needle", labels["needle"].kind, name="22G spinal needle"))
    fluid = add(AnnotatedObject("fluid.injectate", labels["fluid.injectate"].kind))
    target = add(AnnotatedObject("target", labels["target"].kind))
    planes = {
        key: add(AnnotatedObject(label, labels[label].kind)) for key, label in PLANE_LABELS.items()
    }
    frames = [f for f in truth["frames"] if f["needle"] and f["fluid"]][::5]
    for k, frame in enumerate(frames):
        index = frame["index"]
        source = FrameSource.TRACKED if k % 2 else FrameSource.KEYFRAME
        needle.set_points(index, [frame["needle"]["entry"], frame["needle"]["tip"]], source)
        fluid.set_points(index, frame["fluid"]["outline"])
        target.set_points(index, [np.add(frame["needle"]["tip"], (4.0, 6.0))])
        for plane in frame["fascial_planes"]:
            planes[plane["name"]].set_points(index, plane["points"])
    fluid.mark_absent(sorted(fluid.frames)[1] + 1)
    save_sidecar(doc, sidecar_path_for(dicom))
    return dicom


@pytest.fixture
def marked(tmp_path: Path) -> Path:
    """Sample loop b, marked (see :func:`mark_sample`)."""
    return mark_sample(tmp_path / "loops")


def uncalibrated_loop(folder: Path) -> Path:
    """A 10-frame grey loop without calibration regions, a needle marked on two frames."""
    ds = dicom_factory.base_dataset(
        "uncalibrated",
        ExplicitVRLittleEndian,
        rows=64,
        columns=80,
        n_frames=10,
        photometric="MONOCHROME2",
        frame_time_ms=40.0,
    )
    frames = dicom_factory.grey_frames(10, 64, 80)
    dicom_factory.set_native_pixels(ds, dicom_factory.native_pixel_bytes(frames, bits_allocated=8))
    dicom = dicom_factory.write(ds, folder / "uncalibrated.dcm")
    labels = default_label_set()
    with usannotate.open_cine(dicom) as loop:
        doc = new_document(loop, labels, "Test^Annotator")
    needle = doc.annotations.add(AnnotatedObject("needle", labels["needle"].kind))
    needle.set_points(2, [(10.0, 5.0), (40.0, 30.0)])
    needle.set_points(6, [(10.0, 5.0), (44.0, 34.0)])
    save_sidecar(doc, sidecar_path_for(dicom))
    return dicom


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch):
    """platformdirs' config folder (the de-identification key; the CLI run in a subprocess
    too) points at a fresh folder for each test."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder
