"""`usannotate deidentify`: files and folders, the sidecar carried, clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

import usannotate
from tests.cine.dicom_factory import PLANTED_PIECES, make_planted_loop
from tests.test_cli import run_cli
from usannotate.annotations import AnnotatedObject, default_label_set
from usannotate.sidecar import load_sidecar, new_document, save_sidecar, sidecar_path_for

ANNOTATOR = "ZZANNOTATOR^HELEN"


def _annotated(case_path: Path) -> None:
    """A sidecar with a needle on two frames, an annotator and an unknown key."""
    labels = default_label_set()
    with usannotate.open_cine(case_path) as loop:
        doc = new_document(loop, labels, ANNOTATOR)
    needle = doc.annotations.add(AnnotatedObject("needle", labels["needle"].kind))
    needle.set_points(1, [(20.0, 30.0), (60.0, 50.0)])
    needle.set_points(3, [(22.0, 31.0), (64.0, 55.0)])
    save_sidecar(doc, sidecar_path_for(case_path))
    path = sidecar_path_for(case_path)
    data = json.loads(path.read_text())
    data["zz_unknown"] = "ZZUNKNOWN-ALICE"
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("keep", [False, True], ids=["annotator dropped", "--keep-annotator"])
def test_sidecar_is_carried_to_the_new_uid_and_validates(tmp_path, keep):
    case = make_planted_loop(tmp_path)
    _annotated(case.path)
    out = tmp_path / "out" / "teaching_case.dcm"
    args = ["deidentify", str(case.path), "--output", str(out)]
    result = run_cli(*args, *(["--keep-annotator"] if keep else []))
    assert result.returncode == 0, result.stderr
    assert "usannotate: deidentify: 6/6 frames written" in result.stderr  # progress
    sidecar = out.parent / "teaching_case.usannotate.json"
    assert sidecar.exists()
    assert sidecar.name in result.stdout
    checked = run_cli("validate", str(sidecar), "--dicom", str(out))
    assert checked.returncode == 0, checked.stderr
    doc = load_sidecar(sidecar, dicom_uid=pydicom.dcmread(out).SOPInstanceUID)
    assert doc.annotator == (ANNOTATOR if keep else "")
    assert doc.dicom.file_name == out.name
    needle = doc.annotations.objects[0]
    assert sorted(needle.frames) == [1, 3]
    data = sidecar.read_bytes()
    assert b"ZZUNKNOWN" not in data
    assert case.path.name.encode() not in data
    for planted in (*case.strings, *case.dates):
        assert planted.encode() not in data
    assert (ANNOTATOR.encode() in data) == keep


def test_folder_keeps_its_structure_shows_progress_and_skips_other_files(tmp_path):
    src = tmp_path / "archive"
    (src / "day1").mkdir(parents=True)
    (src / "day2" / "probe").mkdir(parents=True)
    a = make_planted_loop(src / "day1", "a")
    b = make_planted_loop(src / "day2" / "probe", "b", whole_image_region=True)
    (src / "day1" / "notes.txt").write_text("not a loop")
    (src / "day1" / "README").write_text("no ending, not DICOM either")
    out = tmp_path / "clean"
    result = run_cli("deidentify", str(src), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "2 loops de-identified, 0 failed" in result.stdout
    assert "3/3 files" in result.stderr  # README (no ending) was tried, then skipped
    for case, rel in ((a, "day1/a.dcm"), (b, "day2/probe/b.dcm")):
        written = out / rel
        data = written.read_bytes()
        for planted in case.strings:
            assert planted.encode() not in data
    assert not (out / "day1" / "notes.txt").exists()


def test_folder_goes_on_past_a_bad_file_and_exits_2(tmp_path):
    src = tmp_path / "archive"
    src.mkdir()
    make_planted_loop(src, "good")
    make_planted_loop(src, "single", n_frames=1, whole_image_region=True)
    out = tmp_path / "clean"
    result = run_cli("deidentify", str(src), "--output", str(out))
    assert result.returncode == 2
    assert (out / "good.dcm").exists()
    assert not (out / "single.dcm").exists()
    assert "single.dcm: " in result.stderr
    assert "1 loops de-identified, 1 failed" in result.stdout


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: Path(get_testdata_file("examples_palette.dcm")), "cannot be cleaned"),
        (lambda tmp: tmp / "missing.dcm", "no such file"),
        (lambda tmp: (tmp / "text.dcm").write_text("hello") and tmp / "text.dcm", "not a DICOM"),
    ],
    ids=["single frame, regions past the image", "missing", "not DICOM"],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, make, says):
    path = make(tmp_path)
    out = tmp_path / "out.dcm"
    result = run_cli("deidentify", str(path), "--output", str(out))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if "deidentify: " not in line]
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_messages_never_quote_patient_data(tmp_path):
    case = make_planted_loop(tmp_path, n_frames=1, whole_image_region=True)
    result = run_cli("deidentify", str(case.path), "--output", str(tmp_path / "o.dcm"))
    assert result.returncode == 2
    for piece in (*PLANTED_PIECES, *case.strings):
        assert piece not in result.stderr + result.stdout


def test_output_inside_the_input_folder_is_refused(tmp_path):
    src = tmp_path / "archive"
    src.mkdir()
    make_planted_loop(src, "a")
    result = run_cli("deidentify", str(src), "--output", str(src / "clean"))
    assert result.returncode == 2
    assert "inside the input folder" in result.stderr


def test_bad_key_file_is_one_line(tmp_path):
    case = make_planted_loop(tmp_path)
    empty = tmp_path / "empty.key"
    empty.write_bytes(b"")
    result = run_cli(
        "deidentify", str(case.path), "--output", str(tmp_path / "o.dcm"), "--key-file", str(empty)
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "usannotate: empty.key: the key file is empty"


def test_the_cli_offers_the_library_encodings_with_its_default(tmp_path):
    """The CLI names the encodings without importing de-identification; they agree, and a
    file de-identified without --encoding is RLE (the default, within 2x the decode)."""
    from pydicom.uid import RLELossless

    from usannotate.cli import _subcommand_parser
    from usannotate.deid import DEFAULT_ENCODING, ENCODINGS

    parser = _subcommand_parser()
    deidentify = next(
        action.choices["deidentify"]
        for action in parser._subparsers._group_actions  # argparse keeps them here
        if hasattr(action, "choices") and "deidentify" in (action.choices or {})
    )
    encoding = next(a for a in deidentify._actions if a.dest == "encoding")
    assert set(encoding.choices) == set(ENCODINGS)
    assert encoding.default == DEFAULT_ENCODING == "rle"
    case = make_planted_loop(tmp_path)
    out = tmp_path / "out.dcm"
    assert run_cli("deidentify", str(case.path), "--output", str(out)).returncode == 0
    assert pydicom.dcmread(out).file_meta.TransferSyntaxUID == RLELossless
