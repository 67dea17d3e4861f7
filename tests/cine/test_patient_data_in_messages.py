"""Issue 10, item 2: no patient data in any message, whatever the file's header holds.

Files carry made-up patient data (``dicom_factory.PLANTED_PATIENT``); a length field
that lies makes a value swallow the elements after it. Every message (the exception,
the command's stderr, its stdout, warnings, log records) is searched for the planted
values. A short seeded fuzz run of :mod:`tests.cine.header_fuzz` checks the same over
every kind of mutation (``benchmarks/fuzz_dicom.py`` runs it long).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import usannotate
from tests.cine import dicom_factory as factory
from tests.cine import header_fuzz
from usannotate.cine import CineError, CorruptDicomError
from usannotate.cine._header_values import checked_text, checked_uid, decoder_reason

REPO = Path(__file__).resolve().parents[2]
#: Trials of the quick fuzz run: every seed file with every mutation kind, twice.
QUICK_TRIALS = 2 * len(header_fuzz.MUTATIONS) * 9

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _leaks(text: str) -> list[str]:
    return [piece for piece in factory.PLANTED_PIECES if piece in text.upper()]


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "usannotate.cli", *map(str, args)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        cwd=REPO,
        check=False,
    )


def _planted(folder: Path, make=factory.make_jpegls_lossless_mono2_8bit) -> Path:
    case = make(folder / "plain")
    return factory.with_planted_patient(case.path, folder / "loop.dcm")


def _with_length(path: Path, tag: bytes, new_length: int, dest: Path) -> Path:
    """A copy of ``path`` whose explicit VR element ``tag`` (4 bytes, little endian, with
    a 2-byte length) claims ``new_length`` bytes."""
    data = bytearray(path.read_bytes())
    at = data.find(tag)
    assert at > 0
    struct.pack_into("<H", data, at + 6, new_length)
    dest.write_bytes(bytes(data))
    return dest


def test_transfer_syntax_uid_of_552_bytes_is_never_quoted(tmp_path: Path) -> None:
    """The issue's file: the Transfer Syntax UID's length says 552 instead of 22, so the
    value read holds the header after it, patient name and ID included."""
    source = _planted(tmp_path)
    path = _with_length(source, b"\x02\x00\x10\x00UI", 552, tmp_path / "ts552.dcm")
    assert factory.PLANTED_PATIENT["PatientName"].encode() in path.read_bytes()[:700]

    with pytest.raises(CorruptDicomError) as caught:
        usannotate.open_cine(path)
    message = str(caught.value)
    assert message == "ts552.dcm: the transfer syntax UID of the file meta header is damaged"

    sidecar = tmp_path / "ts552.usannotate.json"
    sidecar.write_text("{}")
    runs = [
        _cli("info", path),
        _cli("info", path, "--json"),
        _cli("frame", path, "--index", "0", "--output", tmp_path / "f.png"),
        _cli("validate", sidecar, "--dicom", path),
        _cli("measure", path, "--sidecar", sidecar),
    ]
    for proc in runs:
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr == f"usannotate: {message}\n"
        assert not _leaks(proc.stdout + proc.stderr)


def test_a_scanner_detail_that_swallows_the_next_element_is_not_shown(tmp_path: Path) -> None:
    """Manufacturer's length covers InstitutionName (the hospital) too: info shows no
    manufacturer rather than the swallowed bytes."""
    source = _planted(tmp_path)
    ds_bytes = source.read_bytes()
    manufacturer = ds_bytes.find(b"\x08\x00\x70\x00LO")
    institution = ds_bytes.find(b"\x08\x00\x80\x00LO")
    assert 0 < manufacturer < institution
    (old,) = struct.unpack_from("<H", ds_bytes, manufacturer + 6)
    (hospital,) = struct.unpack_from("<H", ds_bytes, institution + 6)
    assert manufacturer + 8 + old == institution  # adjacent
    path = _with_length(source, b"\x08\x00\x70\x00LO", old + 8 + hospital, tmp_path / "swallow.dcm")
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert loop.scan_info.manufacturer == ""
        loop.frame(0)
    human, as_json = _cli("info", path), _cli("info", path, "--json")
    assert human.returncode == as_json.returncode == 0, human.stderr + as_json.stderr
    assert json.loads(as_json.stdout)["manufacturer"] == ""
    assert not _leaks(human.stdout + human.stderr + as_json.stdout + as_json.stderr)


def test_frame_write_errors_name_the_output_file_only(tmp_path: Path) -> None:
    """The output's folders may be named after the patient: only the file is named."""
    path = _planted(tmp_path, factory.make_explicit_le_mono2_8bit)
    output = tmp_path / "ZZTESTPATIENT^ALICE" / "missing" / "frame.png"
    proc = _cli("frame", path, "--index", "0", "--output", output)
    assert proc.returncode == 2
    assert proc.stderr == (
        "usannotate: frame.png: could not write the PNG (is the folder writable?)\n"
    )
    wrong = _cli("frame", path, "--index", "0", "--output", tmp_path / "ZZTESTPATIENT" / "f.jpg")
    assert wrong.returncode == 2
    assert wrong.stderr == "usannotate: f.jpg: the output must be a .png file\n"


def test_checked_values() -> None:
    assert checked_uid("1.2.840.10008.1.2.4.80\0") == "1.2.840.10008.1.2.4.80"
    assert checked_uid("1.2.840.10008.1.2.4.80\0\x02\0\x12\0UI ZZTEST") is None
    assert checked_uid("1." + "2" * 70) is None
    assert checked_text("usannotate factory") == "usannotate factory"
    assert checked_text("factory\x08\x00\x80\x00LO\x12\x00ZZSECRET HOSPITAL") == ""
    assert checked_text("x" * 65) == ""


def test_decoder_complaints_keep_plain_words_only() -> None:
    assert decoder_reason(RuntimeError("JPEG-LS: invalid marker\nat 12")) == (
        "JPEG-LS: invalid marker at 12"
    )
    quoted = ValueError("Unsupported value 'ZZTESTPATIENT^ALICE' for (0028,0004)")
    assert decoder_reason(quoted) == "Unsupported value"
    assert decoder_reason(ValueError(b"\xff\xd8\x00ZZ")) == "ValueError"
    assert len(decoder_reason(ValueError("word " * 100))) <= 120


def test_cine_errors_are_one_bounded_line() -> None:
    error = CineError("/data/ZZTESTPATIENT/loop.dcm", "first\nsecond\x00 " + "x" * 400)
    text = str(error)
    assert text.startswith("loop.dcm: first second")
    assert "\n" not in text
    assert text.isprintable()
    assert len(text) <= len("loop.dcm: ") + 300


def test_seeded_fuzz_of_headers_leaks_nothing(tmp_path: Path) -> None:
    """Every seed file (one per transfer syntax family) under every mutation kind: no
    message quotes the planted patient data, none is a traceback, all are one line."""
    report = header_fuzz.run(QUICK_TRIALS, seed=20251001, folder=tmp_path)
    assert report.total_trials == QUICK_TRIALS
    assert all(report.trials[m] > 0 for m in header_fuzz.MUTATIONS)
    assert report.total_failures == 0, "\n".join(report.examples)
