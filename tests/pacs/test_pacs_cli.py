"""``usannotate pacs echo|find|pull|push`` against a real Orthanc, by DICOMweb and DIMSE.

The server runs with authentication on (HTTP basic), DICOMweb on, and our AE title known
for C-MOVE (tests/pacs/orthanc.py); the failure cases are the real server's answers:
wrong password, unknown study, a STOW it rejects, the server stopped in mid-pull.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.pacs.cases import with_patient_id, without_study_uid
from tests.pacs.orthanc import CLIENT_AET, PASSWORD, USER
from usannotate import cli
from usannotate.pacs.errors import PacsCancelled
from usannotate.pacs.pull import PullFailed, pull
from usannotate.pacs.servers import parse_server

PROTOCOLS = ["dicomweb", "c-get", "c-move"]


def server_url(loaded, protocol: str) -> str:
    orthanc = loaded.orthanc
    if protocol == "dicomweb":
        return orthanc.dicomweb_url_with_password
    if protocol == "c-get":
        return f"{orthanc.dimse_url}?calling={CLIENT_AET}"
    return f"{orthanc.dimse_url}?calling={CLIENT_AET}&retrieve=move&move_port={orthanc.client_port}"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(["pacs", *args])
    out, err = capsys.readouterr()
    assert PASSWORD not in out
    assert PASSWORD not in err
    return code, out, err


@pytest.mark.parametrize("protocol", ["dicomweb", "c-get"])
def test_echo(pacs, capsys, protocol):
    code, out, err = run(capsys, "echo", server_url(pacs, protocol))
    assert code == 0, err
    assert ("DICOMweb answers" if protocol == "dicomweb" else "C-ECHO answered") in out


@pytest.mark.parametrize("protocol", ["dicomweb", "c-get"])
def test_find_lists_every_study_with_its_series_counts(pacs, capsys, protocol):
    code, out, err = run(capsys, "find", server_url(pacs, protocol), "--json")
    assert code == 0, err
    studies = {s["study_uid"]: s for s in json.loads(out)}
    for sop_uid, path in pacs.files.items():
        ds = pacs.header(sop_uid)
        study = studies[str(ds.StudyInstanceUID)]
        series = {s["series_uid"]: s for s in study["series"]}[str(ds.SeriesInstanceUID)]
        same_series = [
            p
            for uid, p in pacs.files.items()
            if pacs.header(uid).SeriesInstanceUID == ds.SeriesInstanceUID
        ]
        assert series["n_instances"] == len(same_series), path.name
        frames = sum(
            int(pydicom.dcmread(p, stop_before_pixels=True).get("NumberOfFrames", 1) or 1)
            for p in same_series
        )
        assert series["n_frames"] == frames
        assert series["modality"] == "US"
    assert "US" in studies[str(pacs.header(next(iter(pacs.files))).StudyInstanceUID)]["modalities"]


@pytest.mark.parametrize("protocol", ["dicomweb", "c-get"])
def test_find_filters_by_patient_id_and_date(pacs, capsys, protocol):
    url = server_url(pacs, protocol)
    code, out, _ = run(capsys, "find", url, "--patient-id", "TEST-PACS-1", "--json")
    assert code == 0
    found = json.loads(out)
    assert [s["study_uid"] for s in found] == [
        str(pacs.header(_uid(pacs.series_paths[0])).StudyInstanceUID)
    ]
    assert found[0]["series"][0]["n_instances"] == 3
    code, out, _ = run(capsys, "find", url, "--study-date", "20250301-20250331", "--modality", "US")
    assert code == 0
    assert out.count("\nstudy ") + out.startswith("study ") == 1
    assert "3 instances" in out
    code, _, err = run(capsys, "find", url, "--study-date", "March")
    assert code == 2
    assert "YYYYMMDD" in err


def _uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_pull_writes_each_instance_by_its_uid_with_the_original_pixels(
    pacs, capsys, tmp_path, protocol
):
    source = Path(get_testdata_file("examples_ybr_color.dcm"))  # JPEG baseline, 30 frames
    original = pydicom.dcmread(source)
    out_dir = tmp_path / "pulled"
    code, out, err = run(
        capsys,
        "pull",
        server_url(pacs, protocol),
        "--study",
        str(original.StudyInstanceUID),
        "--output",
        str(out_dir),
    )
    assert code == 0, err
    assert "1 of 1 instances in pulled (1 pulled, 0 already there)" in out
    assert "1/1 instances" in err
    pulled = pydicom.dcmread(out_dir / f"{original.SOPInstanceUID}.dcm")
    assert pulled.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert pulled.PixelData == original.PixelData
    assert sorted(os.listdir(out_dir)) == [f"{original.SOPInstanceUID}.dcm"]


@pytest.mark.parametrize("protocol", ["dicomweb", "c-get"])
def test_pull_resumes_skipping_complete_files(pacs, capsys, tmp_path, protocol):
    url = server_url(pacs, protocol)
    series = pydicom.dcmread(pacs.series_paths[0], stop_before_pixels=True)
    args = ["pull", url, "--study", str(series.StudyInstanceUID), "--series",
            str(series.SeriesInstanceUID), "--output", str(tmp_path)]  # fmt: skip
    assert run(capsys, *args)[0] == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(f"{_uid(p)}.dcm" for p in pacs.series_paths)
    kept = {n: (tmp_path / n).stat().st_mtime_ns for n in names[1:]}
    (tmp_path / names[0]).unlink()
    # A damaged copy (cut short by something else) is not taken for complete.
    damaged = tmp_path / names[1]
    damaged.write_bytes(damaged.read_bytes()[:200])
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "3 of 3 instances" in out
    assert "(2 pulled, 1 already there)" in out
    assert (tmp_path / names[2]).stat().st_mtime_ns == kept[names[2]]
    assert pydicom.dcmread(damaged).SOPInstanceUID == names[1][:-4]


@pytest.mark.parametrize("protocol", ["dicomweb", "c-get"])
def test_push_then_find_it(pacs, capsys, tmp_path, protocol):
    url = server_url(pacs, protocol)
    new = with_patient_id(
        Path(get_testdata_file("examples_palette.dcm")), tmp_path / "new.dcm", f"PUSHED-{protocol}"
    )
    code, out, err = run(capsys, "push", url, str(new))
    assert code == 0, err
    assert out.strip() == "OK new.dcm"
    code, out, _ = run(capsys, "find", url, "--patient-id", f"PUSHED-{protocol}", "--json")
    assert code == 0
    [study] = json.loads(out)
    assert study["series"][0]["n_instances"] >= 1


def test_wrong_password_is_one_line_and_never_echoed(pacs, capsys):
    url = pacs.orthanc.dicomweb_url_with_password.replace(PASSWORD, "Wr0ng-Guess")
    for action in (["echo", url], ["find", url], ["pull", url, "--study", "1.2.3", "-o", "x"]):
        code, out, err = run(capsys, *action)
        assert code == 2
        assert out == ""
        assert err.count("\n") == 1
        assert "refused the credentials" in err
        assert "Wr0ng-Guess" not in err
        assert f"{USER}@127.0.0.1" in err


def test_password_from_the_environment(pacs, capsys, monkeypatch):
    monkeypatch.setenv("USANNOTATE_PACS_PASSWORD", PASSWORD)
    url = f"http://{USER}@127.0.0.1:{pacs.orthanc.http_port}/dicom-web"
    code, out, _ = run(capsys, "echo", url)
    assert code == 0
    assert "answers" in out


def test_unknown_study_by_both_protocols(pacs, capsys, tmp_path):
    for protocol in ("dicomweb", "c-get"):
        code, _out, err = run(
            capsys,
            "pull",
            server_url(pacs, protocol),
            "--study",
            "1.2.3.999",
            "-o",
            str(tmp_path / protocol),
        )
        assert code == 2
        assert "no study 1.2.3.999 on this server" in err
        assert err.count("\n") == 1
        assert not (tmp_path / protocol).exists()


def test_unreachable_server_is_one_line(capsys):
    from tests.pacs.orthanc import free_port

    port = free_port()  # nothing listens there
    for url in (
        f"http://{USER}:{PASSWORD}@127.0.0.1:{port}/dicom-web",
        f"dicom://PACS@127.0.0.1:{port}",
    ):
        code, _, err = run(capsys, "echo", url)
        assert code == 2
        assert "cannot reach the server" in err
        assert err.count("\n") == 1


def test_wrong_called_ae_title_is_refused(pacs, capsys):
    url = f"dicom://NOT_ORTHANC@127.0.0.1:{pacs.orthanc.dicom_port}"
    code, _, err = run(capsys, "echo", url)
    assert code == 2
    assert "refused the association" in err


@pytest.mark.parametrize("protocol", ["dicomweb", "c-get"])
def test_a_file_the_server_rejects_is_reported_and_the_others_stored(
    pacs, capsys, tmp_path, protocol
):
    source = Path(get_testdata_file("examples_palette.dcm"))
    refused = without_study_uid(source, tmp_path / "refused.dcm")
    accepted = with_patient_id(source, tmp_path / "accepted.dcm", f"OK-{protocol}")
    not_dicom = tmp_path / "notes.dcm"
    not_dicom.write_text("not a DICOM file")
    code, out, err = run(
        capsys, "push", server_url(pacs, protocol), str(refused), str(accepted), str(not_dicom)
    )
    assert code == 2
    assert out.splitlines() == ["OK accepted.dcm"]
    lines = err.splitlines()
    assert lines[0].startswith("usannotate: pacs push: refused.dcm: refused by the server")
    assert lines[1] == "usannotate: pacs push: notes.dcm: not a DICOM file"


@pytest.mark.parametrize("protocol", ["dicomweb", "c-get"])
def test_server_stopped_mid_pull_leaves_only_whole_files_and_resumes(own_pacs, tmp_path, protocol):
    orthanc = own_pacs.orthanc
    server = parse_server(server_url(own_pacs, protocol))
    series = pydicom.dcmread(own_pacs.series_paths[0], stop_before_pixels=True)
    out_dir = tmp_path / "pulled"

    def stop_after_first(progress) -> None:
        if progress.instances_done == 1 and orthanc.process.poll() is None:
            orthanc.process.kill()  # the server dies: no goodbye on the connection
            orthanc.process.wait()

    with pytest.raises(PullFailed) as caught:
        pull(server, str(series.StudyInstanceUID), out_dir, progress=stop_after_first)
    message = str(caught.value)
    assert "1 of 3 instances in the folder" in message
    assert "run the pull again to resume" in message
    assert PASSWORD not in message
    assert not caught.value.result.complete
    assert [p.name for p in out_dir.iterdir()] == [caught.value.result.files[0].name]
    orthanc.start()
    result = pull(server, str(series.StudyInstanceUID), out_dir)
    assert result.complete
    assert (result.written, result.skipped) == (2, 1)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        f"{_uid(p)}.dcm" for p in own_pacs.series_paths
    )


@pytest.mark.parametrize("protocol", ["dicomweb", "c-get"])
def test_cancelled_pull_keeps_whole_files_only(pacs, tmp_path, protocol):
    server = parse_server(server_url(pacs, protocol))
    series = pydicom.dcmread(pacs.series_paths[0], stop_before_pixels=True)
    done = []

    def cancelled() -> bool:
        return len(done) >= 1

    with pytest.raises(PacsCancelled) as caught:
        pull(
            server,
            str(series.StudyInstanceUID),
            tmp_path,
            progress=lambda p: done.append(p) if p.instances_done else None,
            cancelled=cancelled,
        )
    assert not caught.value.result.complete
    names = [p.name for p in tmp_path.iterdir()]
    assert len(names) == len(caught.value.result.files) < 3
    assert all(pydicom.dcmread(tmp_path / n).SOPInstanceUID == n[:-4] for n in names)


def test_an_instance_the_server_does_not_send_makes_the_pull_fail(pacs, capsys, tmp_path):
    """C-GET offers the ultrasound, secondary capture and SR classes: Orthanc cannot send
    a Raw Data instance back (its C-GET fails), and the pull must not look complete."""
    from tests.cine import dicom_factory as factory

    loop = factory.worklist_loop(tmp_path / "loop.dcm", n_frames=2)
    raw = pydicom.dcmread(loop)
    raw.SOPClassUID = raw.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.66"
    raw.SOPInstanceUID = raw.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    factory.write(raw, tmp_path / "raw.dcm")
    pacs.orthanc.upload(loop)
    pacs.orthanc.upload(tmp_path / "raw.dcm")
    study = str(raw.StudyInstanceUID)
    out = tmp_path / "pulled"
    code, _, err = run(capsys, "pull", server_url(pacs, "c-get"), "--study", study, "-o", str(out))
    assert code == 2
    last = err.splitlines()[-1]
    assert f"C-GET of {raw.SOPInstanceUID} failed" in last
    assert "1 of 2 instances in the folder; run the pull again" in last
    assert [p.name for p in out.iterdir()] == [f"{_uid(loop)}.dcm"]
    # By DICOMweb the same study comes whole.
    code, out_text, err = run(
        capsys, "pull", server_url(pacs, "dicomweb"), "--study", study, "-o", str(out)
    )
    assert code == 0, err
    assert "2 of 2 instances" in out_text
