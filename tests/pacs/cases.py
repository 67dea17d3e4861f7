"""DICOM files for the PACS tests and benchmark, made with tests/cine/dicom_factory.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, generate_uid

from tests.cine import dicom_factory as factory


def series_of_loops(
    folder: Path, n_instances: int, *, name: str, patient_id: str = "TEST-PACS-1"
) -> list[Path]:
    """``n_instances`` small grey loops (explicit little endian) of one study and one
    series, each with its own SOP Instance UID and 2 + i frames."""
    study = generate_uid(entropy_srcs=["pacs-study", name])
    series = generate_uid(entropy_srcs=["pacs-series", name])
    paths = []
    for i in range(n_instances):
        path = factory.worklist_loop(folder / f"{name}_{i}.dcm", n_frames=2 + i)
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.PatientID = patient_id
        ds.StudyDate = "20250314"
        ds.StudyDescription = f"PACS test {name}"
        ds.SeriesNumber = 1
        ds.InstanceNumber = i + 1
        factory.write(ds, path)
        paths.append(path)
    return paths


def with_patient_id(source: Path, path: Path, patient_id: str) -> Path:
    """A copy of ``source`` as a new instance (new SOP Instance UID) of ``patient_id``."""
    ds = pydicom.dcmread(source)
    ds.PatientID = patient_id
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return factory.write(ds, path)


def jpeg_loop(path: Path, *, n_frames: int, rows: int, columns: int, quality: int = 85) -> Path:
    """A JPEG baseline RGB loop (YBR_FULL_422, one fragment per frame) with moving speckle,
    as a scanner writes it: every frame a real encoded picture of its own."""
    ds = factory.base_dataset(
        path.stem,
        JPEGBaseline8Bit,
        rows=rows,
        columns=columns,
        n_frames=n_frames,
        photometric="YBR_FULL_422",
        samples=3,
        frame_time_ms=33.3,
    )
    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, size=(rows, columns), dtype=np.uint8)
    y = np.linspace(0, 1, rows, dtype=np.float32)[:, None]
    encoded = []
    for i in range(n_frames):
        speckle = np.roll(base, i * 3, axis=1).astype(np.float32)
        grey = np.clip(speckle * (1.0 - 0.7 * y) * 0.6, 0, 255).astype(np.uint8)
        encoded.append(factory.jpeg_encode(np.dstack([grey, grey, grey]), quality=quality))
    factory.set_encapsulated_pixels(ds, encapsulate(encoded, has_bot=False))
    return factory.write(ds, path)


def without_study_uid(source: Path, path: Path) -> Path:
    """A copy of ``source`` (new SOP Instance UID) with no Study Instance UID: a file
    Orthanc refuses to store, by STOW-RS and by C-STORE alike."""
    ds = pydicom.dcmread(source)
    del ds.StudyInstanceUID
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
    return path
