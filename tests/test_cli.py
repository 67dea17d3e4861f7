"""The `usannotate` command line: info, frame, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydicom.data import get_testdata_file

import usannotate
from usannotate.cli import main

YBR_CINE = get_testdata_file("examples_ybr_color.dcm")
CONTRACT_KEYS = {
    "n_frames",
    "rows",
    "columns",
    "photometric_interpretation",
    "transfer_syntax_uid",
    "frame_time_ms",
    "frame_time_source",
    "burned_in_annotation",
    "regions",
}
REGION_KEYS = {"bounds", "data_type", "units_x", "units_y", "mm_per_px_x", "mm_per_px_y"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a fresh interpreter, no standard input."""
    return subprocess.run(
        [sys.executable, "-m", "usannotate.cli", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def test_info_json_has_the_contract_keys(capsys):
    assert main(["info", YBR_CINE, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info.keys() >= CONTRACT_KEYS
    assert info["n_frames"] == 30
    assert (info["rows"], info["columns"]) == (240, 320)
    assert info["photometric_interpretation"] == "YBR_FULL_422"
    assert info["transfer_syntax_uid"] == "1.2.840.10008.1.2.4.50"
    assert info["frame_time_ms"] == pytest.approx(33.333)
    assert info["frame_time_source"] == "FrameTime"
    [region] = info["regions"]
    assert region.keys() >= REGION_KEYS
    assert region["units_x"] == region["units_y"] == "cm"
    assert region["data_type"] == "tissue"
    assert len(region["bounds"]) == 4
    assert region["mm_per_px_x"] == pytest.approx(0.5105, abs=1e-3)
    assert region["within_image"] is False  # spans x 84..595 of a 320-wide image
    assert any("extends beyond" in w for w in info["warnings"])


def test_info_human_summary(capsys):
    assert main(["info", YBR_CINE]) == 0
    out = capsys.readouterr().out
    assert "examples_ybr_color.dcm" in out
    assert "30 (33.333 ms/frame from FrameTime" in out
    assert "mm/px" in out


def test_info_of_uncalibrated_file_says_px(capsys):
    assert main(["info", get_testdata_file("examples_rgb_color.dcm")]) == 0
    assert "none (measurements in px)" in capsys.readouterr().out


def test_frame_writes_the_display_pixels(tmp_path):
    out = tmp_path / "frame7.png"
    result = run_cli("frame", YBR_CINE, "--index", "7", "--output", str(out))
    assert result.returncode == 0, result.stderr
    png = cv2.cvtColor(cv2.imread(str(out), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    with usannotate.open_cine(YBR_CINE) as loop:
        assert np.array_equal(png, loop.frame(7))
    assert png.shape == (240, 320, 3)


def test_frame_of_palette_image_is_colour(tmp_path):
    out = tmp_path / "palette.png"
    assert (
        main(["frame", get_testdata_file("examples_palette.dcm"), "--index", "0", "-o", str(out)])
        == 0
    )
    image = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert image.shape == (350, 800, 3)
    assert np.any(image[..., 0] != image[..., 2])


def _one_clean_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a DICOM file"),
        (b"hello, this is text and not an image\n" * 20, "not a DICOM file"),
    ],
    ids=["empty", "png", "text"],
)
def test_bad_input_exits_2_with_one_line(tmp_path, content, problem):
    path = tmp_path / "scan.dcm"
    path.write_bytes(content)
    _one_clean_line(run_cli("info", str(path)), "scan.dcm", problem)


def test_truncated_file_and_missing_file(tmp_path):
    data = Path(YBR_CINE).read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[:20000])  # inside the header
    _one_clean_line(run_cli("info", str(cut)), "cut.dcm", "cut short")
    cut.write_bytes(data[: len(data) // 2])  # inside the frames
    result = run_cli("frame", str(cut), "--index", "29", "-o", str(tmp_path / "x.png"))
    _one_clean_line(result, "cut.dcm", "frame index 29", "declares 30 frames but only")
    _one_clean_line(run_cli("info", str(tmp_path / "absent.dcm")), "absent.dcm", "no such file")


def test_index_out_of_range_exits_2(tmp_path):
    result = run_cli("frame", YBR_CINE, "--index", "30", "-o", str(tmp_path / "x.png"))
    _one_clean_line(result, "examples_ybr_color.dcm", "0 to 29 (0-based)")


def test_unwritable_output_exits_2(tmp_path):
    result = run_cli(
        "frame", YBR_CINE, "--index", "0", "-o", str(tmp_path / "no" / "dir" / "x.png")
    )
    _one_clean_line(result, "could not write")


def test_unknown_transfer_syntax_exits_2(tmp_path):
    data = Path(get_testdata_file("examples_rgb_color.dcm")).read_bytes()
    patched = data.replace(b"1.2.840.10008.1.2.1\x00", b"1.2.3.4.5.6.7.8.9.10")
    assert patched != data
    path = tmp_path / "odd.dcm"
    path.write_bytes(patched)
    _one_clean_line(run_cli("info", str(path)), "odd.dcm", "1.2.3.4.5.6.7.8.9.10")


def test_warning_for_missing_frames_goes_to_stderr(tmp_path):
    """A native loop cut short opens what is there and says so."""
    import pydicom

    ds = pydicom.dcmread(get_testdata_file("examples_rgb_color.dcm"))
    ds.NumberOfFrames = 3
    frame = ds.PixelData
    ds.PixelData = frame * 2  # only two of the three declared frames
    path = tmp_path / "short.dcm"
    ds.save_as(path)
    result = run_cli("info", str(path), "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["n_frames"] == 2
    assert "warning: short.dcm" in result.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_one_text_with_one_usage_line(flag):
    """It printed the viewer's help and then a second usage line for the subcommands."""
    result = run_cli(flag)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("usage:") == 1
    assert out.startswith("usage: usannotate [-h] [--version] [PATH | COMMAND ...]\n")
    assert "usannotate [PATH]" in out  # the viewer
    for command in ("info", "frame", "validate", "measure"):
        assert f"\n  {command} " in out, command
    assert result.stderr == ""


def test_info_says_when_the_frame_time_is_assumed(tmp_path, capsys):
    """It said '33.333 ms/frame from assumed'."""
    from tests.cine import dicom_factory as factory

    untimed = factory.ALL_CASES["timing_none_assumed"](tmp_path).path
    assert main(["info", str(untimed)]) == 0
    out = capsys.readouterr().out
    assert "33.333 ms/frame, assumed (the file gives no frame time), 30.00 fps" in out
    assert "from assumed" not in out
    assert main(["info", YBR_CINE]) == 0
    assert "33.333 ms/frame from FrameTime, 30.00 fps" in capsys.readouterr().out
