"""The metadata panel describes the loop and shows patient identifiers only on request."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStyle, QStyleOptionButton, QWidget

import usannotate
from usannotate.ui.docks.details import MetadataPanel

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicoms" / "hydrodissection_linear_a.dcm"
NBSP = "\u00a0"


@pytest.fixture
def panel(qtbot):
    widget = MetadataPanel()
    qtbot.addWidget(widget)
    widget.resize(420, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _open(path):
    return usannotate.open_cine(path, prefetch_frames=0)


def _value(panel: MetadataPanel, key: str) -> str:
    label = panel.findChild(QLabel, key)
    assert label is not None, key
    return label.text().replace(NBSP, " ")


def _all_text(panel: MetadataPanel) -> str:
    """Every label's text and every widget's tooltip: what the screen can show."""
    texts = [label.text() for label in panel.findChildren(QLabel)]
    texts += [widget.toolTip() for widget in panel.findChildren(QWidget)]
    return "\n".join(texts)


def _check(qtbot, panel: MetadataPanel, checked: bool) -> None:
    """Toggle "Show patient details" with a real click."""
    box = panel.patient_checkbox
    if box.isChecked() != checked:
        option = QStyleOptionButton()
        box.initStyleOption(option)
        indicator = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=indicator.center())
    assert box.isChecked() == checked


def test_sample_loop_fields(panel):
    with _open(SAMPLE) as loop:
        panel.set_loop(loop)
    assert _value(panel, "file") == "hydrodissection_linear_a.dcm"
    assert _value(panel, "frames") == "60"
    assert _value(panel, "frame_rate") == "30.00 fps"
    assert _value(panel, "timing_source") == "FrameTime tag"
    assert _value(panel, "frame_time") == "33.333 ms"
    assert _value(panel, "duration") == "2.00 s"
    assert _value(panel, "image_size") == "640 x 480 px"
    assert _value(panel, "photometric") == "YBR_FULL_422"
    assert _value(panel, "transfer_syntax") == "JPEG Baseline (Process 1)"
    assert panel.findChild(QLabel, "transfer_syntax").toolTip() == "1.2.840.10008.1.2.4.50"
    assert _value(panel, "burned_in") == "Yes"
    assert _value(panel, "manufacturer") == "usannotate synthetic"
    assert _value(panel, "model") == "usannotate phantom"
    assert _value(panel, "probe") == "L12-5"
    assert _value(panel, "calibration") == (
        "Region 1: 2D tissue, 0.090 x 0.090 mm/px, [110, 52, 529, 471]"
    )
    assert not panel.warnings_label.isVisibleTo(panel)
    assert not panel.placeholder.isVisibleTo(panel)


def test_assumed_timing_and_two_regions(panel):
    with _open(get_testdata_file("examples_palette.dcm")) as loop:
        panel.set_loop(loop)
    assert _value(panel, "frames") == "1"
    assert _value(panel, "frame_rate") == "30.00 fps"
    assert _value(panel, "timing_source").startswith("assumed 30 fps")
    assert panel.findChild(QLabel, "timing_source").styleSheet()  # attention colour
    assert _value(panel, "photometric") == "PALETTE COLOR"
    assert _value(panel, "transfer_syntax") == "Explicit VR Little Endian"
    assert _value(panel, "burned_in") == "Not stated"
    assert _value(panel, "image_size") == "800 x 350 px"
    assert _value(panel, "calibration").splitlines() == [
        "Region 1: 2D tissue, 0.262 x 0.262 mm/px, [120, 60, 800, 518]",
        "Region 2: waveform ecg trace, units s x none, no mm, [176, 522, 743, 576]",
    ]


def test_ybr_cine_from_a_real_scanner(panel):
    with _open(get_testdata_file("examples_ybr_color.dcm")) as loop:
        panel.set_loop(loop)
    assert _value(panel, "frames") == "30"
    assert _value(panel, "duration") == "1.00 s"
    assert _value(panel, "manufacturer") == "SonoSite, Inc."
    assert _value(panel, "model") == "Turbo"
    assert _value(panel, "timing_source") == "FrameTime tag"
    assert not panel.findChild(QLabel, "timing_source").styleSheet()


def test_warnings_and_no_calibration(panel, tmp_path):
    # A multi-frame file cut short: it opens with the frames that are there, and says so.
    data = Path(get_testdata_file("rtdose.dcm")).read_bytes()
    cut = tmp_path / "cut_short.dcm"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    with _open(cut) as loop:
        assert loop.warnings
        panel.set_loop(loop)
    assert panel.warnings_label.isVisibleTo(panel)
    assert "cut short" in panel.warnings_label.text()
    assert panel.warnings_label.styleSheet()
    assert _value(panel, "calibration") == "none — measurements in px"
    assert _value(panel, "probe") == "—"

    with _open(SAMPLE) as loop:
        panel.set_loop(loop)
    assert not panel.warnings_label.isVisibleTo(panel)


def test_patient_details_only_when_asked(qtbot, panel):
    with _open(SAMPLE) as loop:
        panel.set_loop(loop)
    box = panel.patient_checkbox
    assert box.text() == "Show patient details"
    assert not box.isChecked()
    assert "identif" in box.toolTip() or "patient" in box.toolTip()
    assert "SYNTHETIC^DEMO" not in _all_text(panel)
    assert not panel.findChild(QLabel, "patient_name").isVisibleTo(panel)

    _check(qtbot, panel, True)
    assert _value(panel, "patient_name") == "SYNTHETIC^DEMO"
    assert _value(panel, "patient_id") == "000000"
    assert _value(panel, "study_date") == "2026-01-01"
    assert _value(panel, "birth_date") == "—"
    assert panel.findChild(QLabel, "patient_name").isVisibleTo(panel)

    _check(qtbot, panel, False)
    assert "SYNTHETIC^DEMO" not in _all_text(panel)
    assert "000000" not in _all_text(panel)
    assert not panel.findChild(QLabel, "patient_name").isVisibleTo(panel)


def test_another_loop_keeps_the_choice_and_shows_its_own_patient(qtbot, panel):
    with _open(SAMPLE) as loop:
        panel.set_loop(loop)
    _check(qtbot, panel, True)
    with _open(get_testdata_file("examples_ybr_color.dcm")) as loop:
        panel.set_loop(loop)
    assert panel.patient_checkbox.isChecked()
    assert _value(panel, "patient_name") == "PLA"
    assert _value(panel, "study_date") == "2016-05-03"
    assert "SYNTHETIC^DEMO" not in _all_text(panel)

    _check(qtbot, panel, False)
    with _open(SAMPLE) as loop:
        panel.set_loop(loop)
    assert not panel.patient_checkbox.isChecked()
    assert "SYNTHETIC^DEMO" not in _all_text(panel)


def test_no_loop(qtbot, panel):
    with _open(SAMPLE) as loop:
        panel.set_loop(loop)
    _check(qtbot, panel, True)
    panel.set_loop(None)
    assert panel.placeholder.isVisibleTo(panel)
    assert panel.placeholder.text() == "No loop open"
    text = _all_text(panel)
    assert "SYNTHETIC^DEMO" not in text
    assert "hydrodissection_linear_a.dcm" not in text
