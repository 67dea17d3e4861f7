"""Paths of the bundled sample loops used by the GUI tests."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
SAMPLE_A = SAMPLES / "hydrodissection_linear_a.dcm"
SAMPLE_B = SAMPLES / "hydrodissection_linear_b.dcm"
