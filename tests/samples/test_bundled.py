"""The sample loop offered to a first-time user: committed where there is one, else made."""

from __future__ import annotations

from pathlib import Path

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
    assert path.read_bytes() == (REPOSITORY_SAMPLES / bundled.FIRST_SAMPLE).read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [bundled.FIRST_SAMPLE]  # no leftovers
    modified = path.stat().st_mtime_ns
    assert bundled.sample_loop_path(cache_dir=tmp_path) == path
    assert path.stat().st_mtime_ns == modified  # made once, then reused
