"""COCO: the marks' attributes, the loop's case details and the frame's events."""

from __future__ import annotations

import json

import pytest
from pycocotools.coco import COCO

from tests.export.details_cases import CASE, mark_with_details
from tests.test_cli import run_cli
from usannotate.annotations.details import attribute_value
from usannotate.sidecar import load_sidecar, sidecar_path_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


def test_coco_holds_attributes_case_details_and_events(tmp_path):
    dicom, info = mark_with_details(tmp_path / "loops")
    out = tmp_path / "coco"
    result = run_cli("export", "coco", str(dicom), "-o", str(out))
    assert result.returncode == 0, result.stderr
    path = out / "annotations" / "train.json"
    coco = COCO(str(path))  # pycocotools still reads it
    document = json.loads(path.read_text())
    fields = {f["id"]: f for f in document["info"]["case_fields"]}
    assert fields["injectate_volume_ml"]["unit"] == "ml"
    assert "left" in fields["side"]["choices"]
    details = load_sidecar(sidecar_path_for(dicom)).annotations.details
    images = {img["id"]: img for img in coco.loadImgs(coco.getImgIds())}
    for image in images.values():
        assert image["case"] == CASE
        events = [e.type for e in info["events"] if e.frame == image["frame"]]
        assert image.get("events", []) == events
    assert any("events" in image for image in images.values())
    seen_tip = set()
    for ann in coco.loadAnns(coco.getAnnIds()):
        attributes = ann["attributes"]
        frame = images[ann["image_id"]]["frame"]
        track = attributes["track_id"]
        assert attributes["confidence"] == ("high" if track == info["needle"] else "medium")
        if track == info["needle"]:
            expected = attribute_value(details, track, "tip_visible", frame)
            assert attributes.get("tip_visible") == expected
            seen_tip.add(attributes.get("tip_visible"))
        if track == info["fluid"]:
            assert attributes["spread"] == "along_plane"
        assert attributes["source"] in ("keyframe", "tracked", "interpolated")  # kept
    assert seen_tip == {True, False}
