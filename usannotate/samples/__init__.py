"""Synthetic ultrasound sample loops (needle hydrodissection) with ground truth; no Qt."""

from usannotate.samples.dicom_writer import UltrasoundRegion, write_jpeg_cine
from usannotate.samples.params import PLANE_NAMES, PhantomParams
from usannotate.samples.phantom import HydrodissectionPhantom
from usannotate.samples.truth import (
    COORDINATE_SYSTEM,
    TRUTH_FORMAT,
    TRUTH_VERSION,
    dumps_truth,
    truth_path_for,
)
from usannotate.samples.writer import (
    BUNDLED_SAMPLES,
    HARD_SAMPLES,
    make_hard_loop,
    make_sample_loop,
    write_bundled_samples,
)

__all__ = [
    "BUNDLED_SAMPLES",
    "COORDINATE_SYSTEM",
    "HARD_SAMPLES",
    "PLANE_NAMES",
    "TRUTH_FORMAT",
    "TRUTH_VERSION",
    "HydrodissectionPhantom",
    "PhantomParams",
    "UltrasoundRegion",
    "dumps_truth",
    "make_hard_loop",
    "make_sample_loop",
    "truth_path_for",
    "write_bundled_samples",
    "write_jpeg_cine",
]
