"""The de-identified file: opens with the same frames and mm, valid DICOM, keyed UIDs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import usannotate
from tests.cine import dicom_factory as factory
from tests.cine.dicom_factory import make_planted_loop
from usannotate.deid import DeidentifyOptions, deidentify_file, load_key

SAMPLES = Path(__file__).resolve().parents[2] / "sample_dicoms"
DCIODVFY = shutil.which("dciodvfy")


def _dciodvfy_errors(path: Path) -> set[str]:
    """dciodvfy's error lines (the values they quote taken out: de-identified values differ)."""
    result = subprocess.run(
        [DCIODVFY, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    lines = (result.stdout + result.stderr).splitlines()
    return {re.sub(r"= <[^>]*>", "= <>", line) for line in lines if line.startswith("Error")}


SOURCES = {
    "sample loop (JPEG, YBR_FULL_422)": lambda tmp: SAMPLES / "hydrodissection_linear_a.dcm",
    "planted (native RGB)": lambda tmp: make_planted_loop(tmp).path,
    "planted (JPEG)": lambda tmp: make_planted_loop(tmp, jpeg=True).path,
    "SonoSite (pydicom)": lambda tmp: Path(get_testdata_file("examples_ybr_color.dcm")),
    "palette (factory)": lambda tmp: factory.make_palette_8bit_entries(tmp).path,
    "grey RLE (factory)": lambda tmp: factory.make_rle_mono2_8bit(tmp).path,
    "grey MONOCHROME1 (factory)": lambda tmp: factory.make_mono1_8bit(tmp).path,
}


@pytest.mark.parametrize("shift_dates", [False, True], ids=["removed", "shifted"])
@pytest.mark.parametrize("source", list(SOURCES))
def test_dciodvfy_finds_no_error_the_input_did_not_have(tmp_path, source, shift_dates):
    # Not skipped when missing: .ci/setup installs it (Debian dicom3tools), CI must run it.
    assert DCIODVFY, "dciodvfy is missing: run `bash .ci/setup` (apt-get install dicom3tools)"
    path = SOURCES[source](tmp_path)
    out = tmp_path / "out.dcm"
    try:
        deidentify_file(path, out, DeidentifyOptions(shift_dates=shift_dates))
    except usannotate.deid.DeidentifyError as exc:
        pytest.fail(str(exc))
    new = _dciodvfy_errors(out) - _dciodvfy_errors(path)
    assert not new, sorted(new)


@pytest.mark.parametrize("source", list(SOURCES))
def test_output_opens_with_the_same_frames_size_timing_and_mm(tmp_path, source):
    path = SOURCES[source](tmp_path)
    out = tmp_path / "out.dcm"
    deidentify_file(path, out)
    with usannotate.open_cine(path) as before, usannotate.open_cine(out) as after:
        assert after.n_frames == before.n_frames
        assert (after.rows, after.columns) == (before.rows, before.columns)
        assert after.frame_time_ms == pytest.approx(before.frame_time_ms)
        assert after.frame_time_source == before.frame_time_source
        assert after.regions == before.regions
        points = [(before.columns / 2, before.rows / 2), (before.columns / 2 + 10, before.rows / 2)]
        a, b = before.calibration_for_points(points), after.calibration_for_points(points)
        assert (a.unit, a.mm_per_px_x, a.mm_per_px_y) == (b.unit, b.mm_per_px_x, b.mm_per_px_y)
        grey = before.photometric_interpretation.startswith("MONOCHROME")
        # Colour sources whose cleaned frames are all grey (B-mode) are written grey.
        assert after.photometric_interpretation in (
            ("MONOCHROME2",) if grey else ("MONOCHROME2", "RGB")
        )
        assert after.burned_in_annotation is False
        from usannotate.deid import clean_pixel_mask

        keep = clean_pixel_mask(before).keep
        for index in {0, before.n_frames // 2, before.n_frames - 1}:
            src, dst = before.frame(index), after.frame(index)
            np.testing.assert_array_equal(dst[keep], src[keep])  # lossless where kept
            assert not dst[~keep].any()


def test_same_key_same_uids_and_a_study_stays_one_study(tmp_path, isolated_settings):
    study = pydicom.uid.generate_uid()
    a = make_planted_loop(tmp_path, "a", study_uid=study)
    b = make_planted_loop(tmp_path, "b", study_uid=study)
    runs = {}
    for run in ("first", "second"):
        for case in (a, b):
            target = tmp_path / run / case.path.name
            deidentify_file(case.path, target)
            runs[run, case.path.stem] = pydicom.dcmread(target)
    first_a, first_b = runs["first", "a"], runs["first", "b"]
    assert first_a.StudyInstanceUID == first_b.StudyInstanceUID != study
    assert first_a.SOPInstanceUID != first_b.SOPInstanceUID
    for keyword in (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
    ):
        assert runs["second", "a"][keyword].value == first_a[keyword].value
        assert pydicom.uid.UID(first_a[keyword].value).is_valid
    assert first_a.file_meta.MediaStorageSOPInstanceUID == first_a.SOPInstanceUID
    key_file = isolated_settings / "usannotate" / "deidentify.key"
    assert key_file.exists()  # made on first use, in the user's settings folder
    assert load_key() == key_file.read_bytes()


def test_key_file_gives_other_uids_and_its_own_are_repeatable(tmp_path):
    case = make_planted_loop(tmp_path)
    key_file = tmp_path / "team.key"
    key_file.write_bytes(b"a team's shared secret")
    uids = []
    for name, key in (("default", None), ("team1", key_file), ("team2", key_file)):
        out = tmp_path / name / "out.dcm"
        deidentify_file(case.path, out, DeidentifyOptions(key_file=key and str(key)))
        uids.append(pydicom.dcmread(out).SOPInstanceUID)
    assert uids[0] != uids[1] == uids[2]


def test_a_lossless_source_is_not_called_lossy(tmp_path):
    case = factory.make_rle_mono2_8bit(tmp_path)
    out = tmp_path / "out.dcm"
    deidentify_file(case.path, out, DeidentifyOptions(encoding="rle"))
    ds = pydicom.dcmread(out)
    assert ds.LossyImageCompression == "00"
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.RLELossless


def test_frames_are_streamed_never_the_whole_loop_in_memory(tmp_path, monkeypatch):
    """With the decoder's cache made small, the memory de-identification takes does not
    grow with the loop's length (frames and fragments are written as they come)."""
    import tracemalloc

    from usannotate.deid import run

    monkeypatch.setattr(run, "_CACHE_BYTES", 256 << 10)
    peaks, sizes = {}, {}
    for n in (30, 120):
        case = make_planted_loop(tmp_path / str(n), n_frames=n, rows=128, columns=256)
        sizes[n] = case.expected.nbytes  # noise: encoded about as large as decoded
        out = tmp_path / f"out{n}.dcm"
        tracemalloc.start()
        try:
            deidentify_file(case.path, out)
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert out.stat().st_size > sizes[n] / 2
    assert peaks[120] < 1.3 * peaks[30], peaks
    assert peaks[120] < sizes[120] / 3, (peaks, sizes)
