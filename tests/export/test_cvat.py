"""CVAT for video 1.1 XML: structure of the export, round trip, a CVAT-written file read."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tests.export.conftest import mark_sample, uncalibrated_loop
from tests.test_cli import run_cli
from usannotate.annotations import FrameSource
from usannotate.sidecar import load_sidecar, sidecar_path_for

TRACK_SHAPES = {"polyline", "polygon", "points"}

# A file as CVAT (2.x) writes "CVAT for video 1.1", after its documentation's layout
# (docs: "CVAT for video export"): meta with the task, segments, owner and labels; each
# track lists every frame, keyframe="0" for the frames CVAT interpolated, outside="1"
# where the object left the view. Frames 0-9 of the 80 x 64 px loop.
CVAT_WRITTEN = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <id>7</id>
      <name>needle study</name>
      <size>10</size>
      <mode>interpolation</mode>
      <overlap>5</overlap>
      <bugtracker></bugtracker>
      <created>2024-03-04 10:11:12.345678+00:00</created>
      <updated>2024-03-04 11:12:13.456789+00:00</updated>
      <subset>default</subset>
      <start_frame>0</start_frame>
      <stop_frame>9</stop_frame>
      <frame_filter></frame_filter>
      <segments>
        <segment>
          <id>9</id>
          <start>0</start>
          <stop>9</stop>
          <url>http://localhost:8080/api/jobs/9</url>
        </segment>
      </segments>
      <owner>
        <username>admin</username>
        <email></email>
      </owner>
      <assignee></assignee>
      <labels>
        <label>
          <name>Injected fluid</name>
          <color>#56b4e9</color>
          <type>polygon</type>
          <attributes>
          </attributes>
        </label>
        <label>
          <name>Needle</name>
          <color>#ffffff</color>
          <type>polyline</type>
          <attributes>
          </attributes>
        </label>
        <label>
          <name>Target / trigger point</name>
          <color>#cc79a7</color>
          <type>points</type>
          <attributes>
          </attributes>
        </label>
      </labels>
      <original_size>
        <width>80</width>
        <height>64</height>
      </original_size>
    </task>
    <dumped>2024-03-04 11:20:00.000000+00:00</dumped>
    <source>uncalibrated.mp4</source>
  </meta>
  <track id="0" label="Injected fluid" source="manual">
    <polygon frame="1" keyframe="1" outside="0" occluded="0"
        points="10.00,10.00;30.00,10.00;30.00,20.00;10.00,20.00" z_order="0">
    </polygon>
    <polygon frame="2" keyframe="0" outside="0" occluded="0"
        points="10.00,10.00;31.00,10.00;31.00,21.00;10.00,21.00" z_order="0">
    </polygon>
    <polygon frame="3" keyframe="1" outside="0" occluded="0"
        points="10.00,10.00;32.00,10.00;32.00,22.00;10.00,22.00" z_order="0">
    </polygon>
    <polygon frame="4" keyframe="1" outside="1" occluded="0"
        points="10.00,10.00;32.00,10.00;32.00,22.00;10.00,22.00" z_order="0">
    </polygon>
    <polygon frame="6" keyframe="1" outside="0" occluded="0"
        points="12.00,12.00;34.00,12.00;34.00,24.00;12.00,24.00" z_order="0">
    </polygon>
    <polygon frame="7" keyframe="1" outside="1" occluded="0"
        points="12.00,12.00;34.00,12.00;34.00,24.00;12.00,24.00" z_order="0">
    </polygon>
  </track>
  <track id="1" label="Needle" source="manual">
    <polyline frame="0" keyframe="1" outside="0" occluded="0"
        points="5.50,4.25;40.00,30.00" z_order="0">
    </polyline>
    <polyline frame="9" keyframe="1" outside="0" occluded="0"
        points="5.50,4.25;44.00,34.00" z_order="0">
    </polyline>
  </track>
  <track id="2" label="Target / trigger point" source="manual">
    <points frame="9" keyframe="1" outside="0" occluded="0"
        points="45.00,35.00" z_order="0">
    </points>
  </track>
</annotations>
"""


def _export(dicom: Path, out: Path) -> ET.Element:
    result = run_cli("export", "cvat", str(dicom), "--output", str(out))
    assert result.returncode == 0, result.stderr
    return ET.parse(out).getroot()


def test_export_has_cvat_video_structure(marked, tmp_path):
    root = _export(marked, tmp_path / "loop.xml")
    doc = load_sidecar(sidecar_path_for(marked))
    assert root.tag == "annotations"
    assert [child.tag for child in root][:2] == ["version", "meta"]
    assert root.findtext("version") == "1.1"
    task = root.find("meta/task")
    n = doc.dicom.n_frames
    assert task.findtext("size") == str(n)
    assert task.findtext("mode") == "interpolation"
    assert (task.findtext("start_frame"), task.findtext("stop_frame")) == ("0", str(n - 1))
    assert task.findtext("original_size/width") == str(doc.dicom.columns)
    assert task.findtext("original_size/height") == str(doc.dicom.rows)
    labels = {lab.findtext("name"): lab.findtext("color") for lab in task.iter("label")}
    used = {doc.annotations.label_set[o.label_id] for o in doc.annotations.objects}
    assert labels == {label.name: label.colour for label in used}

    tracks = root.findall("track")
    assert len(tracks) == len(doc.annotations.objects)
    for track, obj in zip(tracks, doc.annotations.objects, strict=True):
        assert set(track.attrib) == {"id", "label", "source"}
        assert track.get("label") == doc.annotations.label_set[obj.label_id].name
        shapes = list(track)
        assert {s.tag for s in shapes} <= TRACK_SHAPES
        assert len({s.tag for s in shapes}) == 1
        for shape in shapes:
            assert {"frame", "keyframe", "outside", "occluded", "points"} <= set(shape.attrib)
            for pair in shape.get("points").split(";"):
                x, y = (float(v) for v in pair.split(","))
                assert 0 <= x <= doc.dicom.columns
                assert 0 <= y <= doc.dicom.rows
        visible = {int(s.get("frame")): s for s in shapes if s.get("outside") == "0"}
        assert sorted(visible) == sorted(obj.frames)  # stored frames, tracked ones too
        for frame, shape in visible.items():
            attributes = {a.get("name"): a.text for a in shape.findall("attribute")}
            assert attributes["tracked"] == ("true" if frame in obj.tracked else "false")
            assert attributes["track_id"] == obj.id  # the sidecar's object, for the import
            assert (attributes["name"] or "") == obj.name
            assert shape.get("keyframe") == "1"
            points = np.array([p.split(",") for p in shape.get("points").split(";")], float)
            np.testing.assert_allclose(points, obj.frames[frame], atol=5e-4)
            if obj.kind.value == "needle":
                assert shape.tag == "polyline"
                assert len(points) == 2
                assert attributes["kind"] == "needle"
        outside = sorted(int(s.get("frame")) for s in shapes if s.get("outside") == "1")
        assert outside[-1] == max(obj.frames) + 1  # leaves the view after its last frame
        if obj.absent:  # a gap: out of view from the frame after the stored one before it
            before = max(f for f in obj.frames if f < min(obj.absent))
            assert before + 1 in outside


def test_round_trip_gives_the_same_tracks(marked, tmp_path):
    xml = tmp_path / "loop.xml"
    _export(marked, xml)
    back = tmp_path / "back.usannotate.json"
    result = run_cli("import", "cvat", str(xml), "--dicom", str(marked), "-o", str(back))
    assert result.returncode == 0, result.stderr
    original = load_sidecar(sidecar_path_for(marked)).annotations.objects
    imported = load_sidecar(back).annotations.objects
    assert len(imported) == len(original)
    assert any(obj.name for obj in original)  # the sample names its needle
    for obj, twin in zip(original, imported, strict=True):
        assert twin == obj, obj.label_id  # the same id and name, frames, gaps, points


def test_a_file_written_by_cvat_is_read_with_its_coordinates(tmp_path):
    dicom = uncalibrated_loop(tmp_path)
    xml = tmp_path / "cvat.xml"
    xml.write_text(CVAT_WRITTEN)
    back = tmp_path / "cvat.usannotate.json"
    result = run_cli("import", "cvat", str(xml), "--dicom", str(dicom), "-o", str(back))
    assert result.returncode == 0, result.stderr
    fluid, needle, target = load_sidecar(back).annotations.objects
    assert (fluid.label_id, needle.label_id, target.label_id) == (
        "fluid.injectate",
        "needle",
        "target",
    )
    # CVAT's keyframes stay keyframes, its interpolated frame 2 is ours to interpolate,
    # the outside shape at 4 is a gap (a keyframe follows), the one at 7 ends the track.
    assert sorted(fluid.frames) == [1, 3, 6]
    assert fluid.absent == {4}
    assert fluid.source(2) is FrameSource.INTERPOLATED
    assert fluid.points(5) is None
    assert fluid.points(8) is None
    # (x, y), (0, 0) the image's top-left corner in both: the points are CVAT's numbers.
    np.testing.assert_array_equal(fluid.frames[1], [[10, 10], [30, 10], [30, 20], [10, 20]])
    np.testing.assert_array_equal(needle.frames[0], [[5.5, 4.25], [40, 30]])
    np.testing.assert_array_equal(target.frames[9], [[45, 35]])
    measured = run_cli("measure", str(dicom), "--sidecar", str(back), "--format", "json")
    areas = {
        r["frame"]: (r["value"], r["unit"])
        for r in json.loads(measured.stdout)["rows"]
        if r["measurement"] == "area"
    }
    assert areas[1] == (200.0, "px2")  # 20 x 10 px, corner to corner


def test_unknown_labels_are_listed_or_added(tmp_path):
    dicom = uncalibrated_loop(tmp_path)
    xml = tmp_path / "cvat.xml"
    xml.write_text(CVAT_WRITTEN.replace('"Needle"', '"Spinal needle"'))
    back = tmp_path / "cvat.usannotate.json"
    result = run_cli("import", "cvat", str(xml), "--dicom", str(dicom), "-o", str(back))
    assert result.returncode == 2
    assert "'Spinal needle'" in result.stderr
    assert "--add-labels" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not back.exists()
    result = run_cli(
        "import", "cvat", str(xml), "--dicom", str(dicom), "-o", str(back), "--add-labels"
    )
    assert result.returncode == 0, result.stderr
    labels = load_sidecar(back).annotations.label_set
    added = next(label for label in labels if label.name == "Spinal needle")
    assert added.kind.value == "polyline"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("<annotations><version>1.1</version><meta/>", "not well-formed"),
        ('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><annotations/>', "entities"),
        ("<annotations><version>2.0</version></annotations>", "not CVAT XML 1.1"),
        (
            CVAT_WRITTEN.replace('<polyline frame="0"', '<box frame="0"')
            .replace('</polyline>\n    <polyline frame="9"', '</box>\n    <box frame="9"')
            .replace("</polyline>", "</box>"),
            "box",
        ),
        (CVAT_WRITTEN.replace('frame="9"', 'frame="99"'), "frame 99 is outside"),
    ],
    ids=["cut-short", "entities", "version", "box", "frame"],
)
def test_bad_files_are_one_line(tmp_path, text, says):
    dicom = uncalibrated_loop(tmp_path)
    xml = tmp_path / "bad.xml"
    xml.write_text(text)
    back = tmp_path / "bad.usannotate.json"
    result = run_cli("import", "cvat", str(xml), "--dicom", str(dicom), "-o", str(back))
    assert result.returncode == 2
    assert says in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert not back.exists()


def test_export_and_import_load_no_qt(marked, tmp_path):
    """The export and import subcommands, like every subcommand, never import Qt."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from usannotate import cli\n"
        "dicom, out = sys.argv[1], sys.argv[2]\n"
        "assert cli.main(['export', 'sr', dicom, '-o', out + '/r.dcm']) == 0\n"
        "assert cli.main(['export', 'cvat', dicom, '-o', out + '/c.xml']) == 0\n"
        "assert cli.main(['export', 'masks', dicom, '-o', out + '/m']) == 0\n"
        "assert cli.main(['import', 'cvat', out + '/c.xml', '--dicom', dicom,\n"
        "                 '-o', out + '/s.json']) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "                ('PySide6', 'shiboken6', 'pyqtgraph') or m.startswith('usannotate.ui'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(marked), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_a_folder_gives_one_file_per_loop(tmp_path):
    folder = tmp_path / "loops"
    mark_sample(folder, "a", "loop_a.dcm")
    mark_sample(folder, "b", "loop_b.dcm")
    out = tmp_path / "xml"
    result = run_cli("export", "cvat", str(folder), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["loop_a.cvat.xml", "loop_b.cvat.xml"]
    assert "[2/2] loop_b.dcm" in result.stderr


def test_a_track_copied_in_cvat_gets_an_id_of_its_own(marked, tmp_path):
    xml = tmp_path / "loop.xml"
    root = _export(marked, xml)
    copied = ET.fromstring(ET.tostring(root.find("track")))  # CVAT copies attributes too
    copied.set("id", "99")
    root.append(copied)
    xml.write_bytes(ET.tostring(root))
    back = tmp_path / "back.usannotate.json"
    result = run_cli("import", "cvat", str(xml), "--dicom", str(marked), "-o", str(back))
    assert result.returncode == 0, result.stderr
    original = load_sidecar(sidecar_path_for(marked)).annotations.objects
    imported = load_sidecar(back).annotations.objects
    assert [o.id for o in imported[:-1]] == [o.id for o in original]
    twin = imported[-1]
    assert twin.id not in {o.id for o in original}
    assert twin.same_work(original[0])  # the copy, with its name, under a new id
