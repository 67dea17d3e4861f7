"""COCO (read by pycocotools), YOLO segmentation and index masks of annotated loops."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from pycocotools.coco import COCO

from tests.export.conftest import mark_sample
from tests.test_cli import run_cli
from usannotate.annotations import ShapeKind
from usannotate.export._imageset import Mark, polygon_area
from usannotate.export.masks import mask_of
from usannotate.sidecar import load_sidecar, sidecar_path_for

# pycocotools' own mask decoder warns about NumPy 2's copy keyword.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pycocotools")


@pytest.fixture(scope="module")
def two_loops(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("two") / "loops"
    mark_sample(folder, "a", "loop_a.dcm")
    mark_sample(folder, "b", "loop_b.dcm")
    return folder


def _objects(dicom: Path):
    return load_sidecar(sidecar_path_for(dicom)).annotations


def test_coco_loads_in_pycocotools_and_says_where_marks_come_from(two_loops, tmp_path):
    out = tmp_path / "coco"
    result = run_cli("export", "coco", str(two_loops), "-o", str(out), "--frames", "all")
    assert result.returncode == 0, result.stderr
    coco = COCO(str(out / "annotations" / "train.json"))
    images = coco.loadImgs(coco.getImgIds())
    loops = {p.name: _objects(p) for p in sorted(two_loops.glob("*.dcm"))}
    assert {i["loop"] for i in images} == set(loops)
    for image in images:
        assert (out / "images" / image["file_name"]).is_file()
    n_b = load_sidecar(sidecar_path_for(two_loops / "loop_b.dcm")).dicom.n_frames
    assert sorted(i["frame"] for i in images if i["loop"] == "loop_b.dcm") == list(range(n_b))
    categories = {c["label_id"]: c for c in coco.loadCats(coco.getCatIds())}
    assert categories["needle"]["keypoints"] == ["entry", "tip"]
    assert categories["needle"]["skeleton"] == [[1, 2]]
    by_image = {i["id"]: i for i in images}
    seen_sources = set()
    for ann in coco.loadAnns(coco.getAnnIds()):
        image = by_image[ann["image_id"]]
        annotations = loops[image["loop"]]
        obj = annotations.get(ann["attributes"]["track_id"])
        points, source = obj.geometry(image["frame"])
        assert ann["attributes"]["source"] == source.value
        assert ann["attributes"]["keyframe"] == (source.value == "keyframe")
        seen_sources.add(source.value)
        if obj.kind is ShapeKind.REGION:
            mask = coco.annToMask(ann)
            assert ann["area"] == pytest.approx(polygon_area(points), abs=0.01)
            assert mask.sum() == pytest.approx(ann["area"], rel=0.03)
            x, y, w, h = ann["bbox"]
            assert (x, y) == pytest.approx(points.min(axis=0), abs=1e-3)
            assert (x + w, y + h) == pytest.approx(points.max(axis=0), abs=1e-3)
        else:
            keypoints = np.reshape(ann["keypoints"], (-1, 3))
            assert len(keypoints) == len(categories[obj.label_id]["keypoints"])
            np.testing.assert_allclose(keypoints[0, :2], points[0], atol=1e-3)
            np.testing.assert_allclose(keypoints[-1, :2], points[-1], atol=1e-3)
    assert seen_sources == {"keyframe", "tracked", "interpolated"}


def test_coco_val_split_keeps_each_loop_whole(two_loops, tmp_path):
    out = tmp_path / "coco"
    result = run_cli("export", "coco", str(two_loops), "-o", str(out), "--val-fraction", "0.5")
    assert result.returncode == 0, result.stderr
    train = COCO(str(out / "annotations" / "train.json"))
    val = COCO(str(out / "annotations" / "val.json"))
    train_loops = {i["loop"] for i in train.loadImgs(train.getImgIds())}
    val_loops = {i["loop"] for i in val.loadImgs(val.getImgIds())}
    assert len(train_loops) == len(val_loops) == 1
    assert not train_loops & val_loops
    # annotated: the frames where some track is stored
    for coco in (train, val):
        for image in coco.loadImgs(coco.getImgIds()):
            annotations = _objects(two_loops / image["loop"])
            assert any(image["frame"] in o.frames for o in annotations.objects)


def test_yolo_polygons_are_the_regions_normalised(two_loops, tmp_path):
    out = tmp_path / "yolo"
    result = run_cli("export", "yolo", str(two_loops / "loop_b.dcm"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {0: "Injected fluid"}
    assert (Path(data["path"]) / data["train"]).is_dir()
    annotations = _objects(two_loops / "loop_b.dcm")
    doc = load_sidecar(sidecar_path_for(two_loops / "loop_b.dcm")).dicom
    fluid = next(o for o in annotations.objects if o.label_id == "fluid.injectate")
    rows = list(csv.DictReader((out / "sources.csv").open()))
    assert {r["track_id"] for r in rows} == {fluid.id}
    for frame in fluid.frames:
        text = (out / "labels" / "train" / f"loop_b_f{frame:05d}.txt").read_text()
        (line,) = text.splitlines()
        cls, *values = line.split()
        assert cls == "0"
        points = np.reshape([float(v) for v in values], (-1, 2)) * [doc.columns, doc.rows]
        np.testing.assert_allclose(points, fluid.frames[frame], atol=1e-3 * doc.columns)
        assert (out / "images" / "train" / f"loop_b_f{frame:05d}.png").is_file()
    sources = {int(r["frame"]): r["source"] for r in rows}
    assert all(sources[f] == "keyframe" for f in fluid.frames)


def test_masks_fill_regions_to_their_area(two_loops, tmp_path):
    out = tmp_path / "masks"
    dicom = two_loops / "loop_b.dcm"
    result = run_cli("export", "masks", str(dicom), "-o", str(out), "--line-width-px", "5")
    assert result.returncode == 0, result.stderr
    labelmap = json.loads((out / "labelmap.json").read_text())
    assert labelmap["background"] == 0
    indices = {entry["id"]: entry["index"] for entry in labelmap["labels"]}
    assert sorted(indices.values()) == list(range(1, len(indices) + 1))
    listed = json.loads((out / "frames.json").read_text())
    annotations = _objects(dicom)
    doc = load_sidecar(sidecar_path_for(dicom)).dicom
    stored = sorted({f for o in annotations.objects for f in o.frames})
    assert [e["frame"] for e in listed] == stored
    for entry in listed:
        mask = cv2.imread(str(out / entry["mask"]), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (doc.rows, doc.columns)
        assert mask.dtype == np.uint8
        present = {o.label_id for o in annotations.objects if o.exists_on(entry["frame"])}
        assert set(np.unique(mask)) - {0} == {indices[label] for label in present}
        assert {t["source"] for t in entry["tracks"]} <= {"keyframe", "tracked", "interpolated"}
    # Each region alone fills its polygon's area within 1%, and the needle is drawn
    # as a 5 px wide line between its ends.
    fluid = next(o for o in annotations.objects if o.kind is ShapeKind.REGION)
    needle = next(o for o in annotations.objects if o.kind is ShapeKind.NEEDLE)
    label_set = annotations.label_set
    for frame, points in fluid.frames.items():
        alone = mask_of(
            (doc.rows, doc.columns),
            [Mark(fluid.id, label_set[fluid.label_id], points, fluid.source(frame))],
            {fluid.label_id: 1},
            5,
        )
        assert alone.sum() == pytest.approx(polygon_area(points), rel=0.01)
    points = needle.frames[min(needle.frames)]
    line = mask_of(
        (doc.rows, doc.columns),
        [Mark(needle.id, label_set["needle"], points, needle.source(min(needle.frames)))],
        {"needle": 1},
        5,
    )
    length = float(np.hypot(*(points[1] - points[0])))
    # 5 px wide along its length, and a round cap of 5 px diameter at each end
    assert line.sum() == pytest.approx(5 * length + np.pi * 2.5**2, rel=0.03)


def test_keyframes_only(tmp_path):
    from usannotate.annotations import FrameSource
    from usannotate.sidecar import save_sidecar

    dicom = mark_sample(tmp_path / "loops")
    doc = load_sidecar(sidecar_path_for(dicom))
    last = max(f for o in doc.annotations.objects for f in o.frames)
    for obj in doc.annotations.objects:  # the last frame: every mark tracked, none keyed
        if last in obj.frames:
            obj.set_points(last, obj.frames[last], FrameSource.TRACKED)
    save_sidecar(doc, sidecar_path_for(dicom))
    out = tmp_path / "masks"
    result = run_cli("export", "masks", str(dicom), "-o", str(out), "--frames", "keyframes")
    assert result.returncode == 0, result.stderr
    listed = [e["frame"] for e in json.loads((out / "frames.json").read_text())]
    keyframes = sorted({f for o in doc.annotations.objects for f in o.keyframes()})
    assert listed == keyframes
    assert last not in listed


@pytest.mark.parametrize("width", [1, 3, 4, 5, 8])
@pytest.mark.parametrize("angle_deg", [0, 17, 45, 80])
def test_lines_are_as_wide_as_asked(width, angle_deg):
    from usannotate.export.masks import draw_line

    angle = np.radians(angle_deg)
    line = np.array([[40.3, 30.7], [40.3 + 200 * np.cos(angle), 30.7 + 200 * np.sin(angle)]])
    mask = np.zeros((300, 300), dtype=np.uint8)
    draw_line(mask, line, width, 1)
    band = width * 200 + np.pi * width**2 / 4
    # A 1 px band at 45 degrees holds one or two diagonals of pixel centres, depending on
    # where it lies (wider bands at 45 degrees: up to 6% off, 1% at other angles):
    # sampling at pixel centres cannot do better.
    assert mask.sum() == pytest.approx(band, rel=0.45 if width == 1 else 0.07)


def test_a_square_fills_exactly_its_pixels():
    """(0, 0) is the image's top-left corner: a square from (10, 10) to (20, 20) covers
    pixels 10..19 in both directions, 100 px, no more."""
    from usannotate.annotations import default_label_set

    label = default_label_set()["fluid.injectate"]
    square = np.array([[10, 10], [20, 10], [20, 20], [10, 20]], dtype=float)
    mask = mask_of((40, 40), [Mark("t", label, square, None)], {label.id: 7}, 3)
    assert mask.sum() == 700
    assert np.all(mask[10:20, 10:20] == 7)


def test_bad_options_are_one_line(two_loops, tmp_path):
    result = run_cli("export", "coco", str(two_loops), "-o", str(tmp_path), "--val-fraction", "1.5")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    result = run_cli("export", "masks", str(tmp_path / "nowhere"), "-o", str(tmp_path / "m"))
    assert result.returncode == 2
    assert "nowhere: no such file or folder" in result.stderr


def test_lines_cover_exactly_the_pixels_within_half_the_width():
    """Every pixel whose centre is within width / 2 of the polyline, and no other, long
    segments (drawn in pieces) and short ones alike: checked against every pixel centre
    of the image measured to every segment."""
    import itertools

    from usannotate.export.masks import draw_line

    rng = np.random.default_rng(8)
    rows, columns = 90, 140
    ys, xs = np.mgrid[0:rows, 0:columns] + 0.5
    centres = np.column_stack([xs.ravel(), ys.ravel()])
    for trial in range(40):
        points = rng.uniform(-10, 150, (int(rng.integers(1, 6)), 2))
        width = [1, 3, 4, 7][trial % 4]
        mask = np.zeros((rows, columns), dtype=np.uint8)
        draw_line(mask, points, width, 1)
        ends = points if len(points) > 1 else np.vstack([points, points])
        nearest = np.full(len(centres), np.inf)
        for start, end in itertools.pairwise(ends):
            step = end - start
            along = np.clip((centres - start) @ step / max(step @ step, 1e-12), 0.0, 1.0)
            foot = start + along[:, None] * step
            nearest = np.minimum(nearest, np.hypot(*(centres - foot).T))
        expected = (nearest <= width / 2).reshape(rows, columns)
        # Centres exactly on the band's edge may fall either way by rounding.
        edge = np.isclose(nearest, width / 2, atol=1e-9).reshape(rows, columns)
        assert np.array_equal(mask.astype(bool) | edge, expected | edge), trial
