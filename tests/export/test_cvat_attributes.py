"""CVAT export and import of the label set's attributes (per track and per frame)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.export.details_cases import mark_with_details
from tests.test_cli import run_cli
from usannotate.annotations.detail_edits import SetAttribute
from usannotate.annotations.details import attribute_value
from usannotate.annotations.edits import EditHistory
from usannotate.sidecar import load_sidecar, save_sidecar, sidecar_path_for


@pytest.fixture
def detailed(tmp_path: Path) -> tuple[Path, dict]:
    return mark_with_details(tmp_path / "loops")


def _export(dicom: Path, out: Path) -> ET.Element:
    result = run_cli("export", "cvat", str(dicom), "--output", str(out))
    assert result.returncode == 0, result.stderr
    return ET.parse(out).getroot()


def _import(xml: Path, dicom: Path, back: Path):
    result = run_cli("import", "cvat", str(xml), "--dicom", str(dicom), "-o", str(back))
    return result


def test_the_labels_declare_their_attributes(detailed, tmp_path):
    dicom, _ = detailed
    root = _export(dicom, tmp_path / "loop.xml")
    labels = {label.findtext("name"): label for label in root.iter("label")}
    specs = {
        a.findtext("name"): a for a in labels["Needle"].find("attributes").findall("attribute")
    }
    tip = specs["tip_visible"]
    assert tip.findtext("mutable") == "True"  # per frame: changes along the track
    assert tip.findtext("input_type") == "select"
    assert tip.findtext("values").split("\n") == ["__undefined__", "true", "false"]
    confidence = specs["confidence"]
    assert confidence.findtext("mutable") == "False"  # per track
    assert confidence.findtext("values").split("\n") == ["__undefined__", "low", "medium", "high"]
    fluid = {a.findtext("name") for a in labels["Injected fluid"].iter("attribute")}
    assert {"spread", "confidence"} <= fluid
    assert "tip_visible" not in fluid


def test_shapes_carry_the_value_on_their_frame(detailed, tmp_path):
    dicom, info = detailed
    root = _export(dicom, tmp_path / "loop.xml")
    doc = load_sidecar(sidecar_path_for(dicom))
    details = doc.annotations.details
    needle = next(t for t in root.findall("track") if t.get("label") == "Needle")
    checked = 0
    for shape in needle:
        if shape.get("outside") == "1":
            continue
        frame = int(shape.get("frame"))
        values = {a.get("name"): a.text for a in shape.findall("attribute")}
        assert values["confidence"] == "high"
        expected = attribute_value(details, info["needle"], "tip_visible", frame)
        assert values["tip_visible"] == {True: "true", False: "false"}[expected]
        checked += 1
    assert checked == len(doc.annotations.get(info["needle"]).frames)


def test_attributes_come_back_on_import(detailed, tmp_path):
    """Per-track and per-frame values round-trip, one set between stored frames too
    (it goes out on an interpolated shape, keyframe 0, and the tracks stay the same)."""
    dicom, info = detailed
    path = sidecar_path_for(dicom)
    doc = load_sidecar(path)
    needle = doc.annotations.get(info["needle"])
    between = sorted(needle.frames)[3] + 2
    assert between not in needle.frames
    EditHistory(doc.annotations).push(SetAttribute(needle.id, "tip_visible", True, between))
    save_sidecar(doc, path)
    xml = tmp_path / "loop.xml"
    root = _export(dicom, xml)
    track = next(t for t in root.findall("track") if t.get("label") == "Needle")
    extra = [s for s in track if s.get("frame") == str(between)]
    assert [s.get("keyframe") for s in extra] == ["0"]
    back = tmp_path / "back.usannotate.json"
    result = _import(xml, dicom, back)
    assert result.returncode == 0, result.stderr
    original = load_sidecar(path).annotations
    imported = load_sidecar(back).annotations
    assert imported.details.attributes == original.details.attributes
    for obj, twin in zip(original.objects, imported.objects, strict=True):
        assert twin == obj  # the interpolated shape added no keyframe


def test_a_bad_value_names_the_track_field_and_allowed_values(detailed, tmp_path):
    dicom, _ = detailed
    xml = tmp_path / "loop.xml"
    root = _export(dicom, xml)
    shape = next(s for s in root.find("track") if s.get("outside") == "0")
    next(a for a in shape.findall("attribute") if a.get("name") == "confidence").text = "sure"
    ET.ElementTree(root).write(xml)
    result = _import(xml, dicom, tmp_path / "back.usannotate.json")
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert "track 0" in line
    assert "'sure' is not allowed (one of low, medium, high)" in line
    assert "Traceback" not in result.stderr
