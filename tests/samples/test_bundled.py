"""The sample loop offered to a first-time user: committed where there is one, else made."""

from __future__ import annotations

from pathlib import Path

import pydicom

from tests.samples.test_phantom import assert_same_loop_pixels
from usannotate.samples import bundled

REPOSITORY_SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"


def test_a_source_checkout_opens_the_committed_sample(tmp_path):
    path = bundled.sample_loop_path(cache_dir=tmp_path)
    assert path == REPOSITORY_SAMPLES / bundled.FIRST_SAMPLE
    assert not any(tmp_path.iterdir())  # nothing generated


def test_an_installed_wheel_generates_the_same_file_once(tmp_path, monkeypatch):
    monkeypatch.setattr(bundled, "sample_folders", list)  # no committed copy anywhere
    path = bundled.sample_loop_path(cache_dir=tmp_path)
    assert path.parent == tmp_path
    committed = REPOSITORY_SAMPLES / bundled.FIRST_SAMPLE
    made, kept = pydicom.dcmread(path), pydicom.dcmread(committed)
    # The same loop: the same header and frames. Not the same bytes: OpenCV's filters
    # round floats by the CPU's instruction set and its text drawing changes between
    # releases, so JPEG frames made elsewhere come out a few bytes apart (and
    # LossyImageCompressionRatio with them).
    made.PixelData = kept.PixelData = b""
    del made.LossyImageCompressionRatio, kept.LossyImageCompressionRatio
    assert made == kept
    assert_same_loop_pixels(path, committed)
    assert [p.name for p in tmp_path.iterdir()] == [bundled.FIRST_SAMPLE]  # no leftovers
    modified = path.stat().st_mtime_ns
    assert bundled.sample_loop_path(cache_dir=tmp_path) == path
    assert path.stat().st_mtime_ns == modified  # made once, then reused
