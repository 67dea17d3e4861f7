"""Tests of the synthetic sample loops: DICOM tags, pixels against the truth, determinism."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.encaps import generate_frames
from pydicom.pixels import pixel_array
from pydicom.uid import JPEGBaseline8Bit, UltrasoundMultiFrameImageStorage

from usannotate.samples import (
    BUNDLED_SAMPLES,
    COORDINATE_SYSTEM,
    PLANE_NAMES,
    TRUTH_FORMAT,
    HydrodissectionPhantom,
    PhantomParams,
    make_sample_loop,
    truth_path_for,
)

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_dicoms"
SMALL = {"rows": 240, "columns": 320, "n_frames": 12, "seed": 7, "needle_angle_deg": 27.5}


@pytest.fixture(scope="module")
def small_loop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A small loop written once for the module: (dicom path, truth document)."""
    path = tmp_path_factory.mktemp("loop") / "small.dcm"
    truth = make_sample_loop(path, **SMALL)
    return path, truth


def _decoded_frames(path: Path) -> list[np.ndarray]:
    """Every frame as (rows, columns) grey uint8, decoded with OpenCV from its fragment."""
    ds = pydicom.dcmread(path)
    grey = []
    for fragment in generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames)):
        bgr = cv2.imdecode(np.frombuffer(fragment, np.uint8), cv2.IMREAD_COLOR)
        assert bgr is not None
        grey.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    return grey


def assert_same_loop_pixels(made: Path, kept: Path) -> None:
    """The frames of ``made`` are those of ``kept`` (a committed sample) up to what
    differs between machines and OpenCV releases: within the ultrasound region a mean
    difference under half a level (float rounding by instruction set), outside it (the
    burned-in banner and depth labels) the same text rows and within 10% of the ink
    (OpenCV 5.1 draws the banner's glyphs otherwise than 5.0, which made the samples)."""
    [region] = pydicom.dcmread(kept, stop_before_pixels=True).SequenceOfUltrasoundRegions
    scan = (
        slice(region.RegionLocationMinY0, region.RegionLocationMaxY1 + 1),
        slice(region.RegionLocationMinX0, region.RegionLocationMaxX1 + 1),
    )
    old_frames, new_frames = _decoded_frames(kept), _decoded_frames(made)
    assert len(old_frames) == len(new_frames)
    for old, new in zip(old_frames, new_frames, strict=True):
        assert np.abs(old[scan].astype(int) - new[scan].astype(int)).mean() < 0.5
        old[scan] = new[scan] = 0
        ink_old, ink_new = old > 100, new > 100
        assert ink_old.sum() > 500  # the banner and the depth labels are there
        assert abs(int(ink_new.sum()) - int(ink_old.sum())) < 0.1 * ink_old.sum()
        rows_old, rows_new = ink_old.any(axis=1), ink_new.any(axis=1)
        assert np.mean(rows_old == rows_new) > 0.98  # the text on the same lines


def _pixel_at(image: np.ndarray, xy: np.ndarray) -> int:
    """Value of the pixel containing point (x, y), corner convention."""
    return int(image[math.floor(xy[1]), math.floor(xy[0])])


def _region_median(image: np.ndarray, bounds: list[int]) -> float:
    x0, y0, x1, y1 = bounds
    return float(np.median(image[y0 : y1 + 1, x0 : x1 + 1]))


def test_dicom_tags_match_truth(small_loop: tuple[Path, dict]) -> None:
    path, truth = small_loop
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    assert ds.SOPClassUID == UltrasoundMultiFrameImageStorage
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID == truth["sop_instance_uid"]
    assert ds.Modality == "US"
    assert ds.PhotometricInterpretation == "YBR_FULL_422"
    assert (ds.SamplesPerPixel, ds.PlanarConfiguration) == (3, 0)
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (8, 8, 7, 0)
    assert (ds.Rows, ds.Columns) == (truth["rows"], truth["columns"]) == (240, 320)
    assert int(ds.NumberOfFrames) == truth["n_frames"] == 12
    assert float(ds.FrameTime) == pytest.approx(truth["frame_time_ms"]) == 33.3333
    assert ds.FrameIncrementPointer == 0x00181063
    assert int(ds.CineRate) == int(ds.RecommendedDisplayFrameRate) == 30
    assert ds.BurnedInAnnotation == "YES"
    assert ds.LossyImageCompression == "01"
    assert ds.PatientName == "SYNTHETIC^DEMO"
    assert ds.PatientID == "000000"
    assert ds.Manufacturer == "usannotate synthetic"
    assert ds["PixelData"].is_undefined_length

    (region,) = ds.SequenceOfUltrasoundRegions
    bounds = [
        region.RegionLocationMinX0,
        region.RegionLocationMinY0,
        region.RegionLocationMaxX1,
        region.RegionLocationMaxY1,
    ]
    assert bounds == truth["region_bounds"]
    assert (region.RegionSpatialFormat, region.RegionDataType, region.RegionFlags) == (1, 1, 0)
    assert (region.PhysicalUnitsXDirection, region.PhysicalUnitsYDirection) == (3, 3)
    assert region.PhysicalDeltaX * 10 == pytest.approx(truth["mm_per_px_x"], rel=1e-9)
    assert region.PhysicalDeltaY * 10 == pytest.approx(truth["mm_per_px_y"], rel=1e-9)
    assert region.ReferencePixelY0 == 0
    assert 0 < region.ReferencePixelX0 < bounds[2] - bounds[0]


def test_frames_decode_and_match_pydicom(small_loop: tuple[Path, dict]) -> None:
    path, truth = small_loop
    frames = _decoded_frames(path)
    assert len(frames) == truth["n_frames"]
    assert all(frame.shape == (240, 320) for frame in frames)
    # pydicom's own decoder (YBR -> RGB) agrees with OpenCV on the fragment.
    rgb = pixel_array(path, index=truth["n_frames"] - 1)
    assert rgb.shape == (240, 320, 3)
    difference = np.abs(rgb.astype(int).mean(axis=2) - frames[-1].astype(int))
    assert difference.max() <= 3


def test_banner_and_black_surround(small_loop: tuple[Path, dict]) -> None:
    path, truth = small_loop
    frame = _decoded_frames(path)[0]
    x0, y0, _, y1 = truth["region_bounds"]
    assert frame[: y0 - 4].max() > 200  # white banner text
    assert frame[y0 + 16 : y1 + 1, : x0 - 2].max() < 16  # black left of the image
    assert frame[y1 + 3 :].max() < 16  # black below it
    assert _region_median(frame, truth["region_bounds"]) > 30  # tissue is not black


def test_needle_pixels_are_bright(small_loop: tuple[Path, dict]) -> None:
    path, truth = small_loop
    frames = _decoded_frames(path)
    checked = 0
    for item, image in zip(truth["frames"], frames, strict=True):
        if item["needle"] is None:
            continue
        entry = np.asarray(item["needle"]["entry"])
        tip = np.asarray(item["needle"]["tip"])
        samples = [_pixel_at(image, entry + t * (tip - entry)) for t in np.linspace(0.05, 0.95, 25)]
        tissue = _region_median(image, truth["region_bounds"])
        assert min(samples) > tissue + 90, (item["index"], samples, tissue)
        checked += 1
    assert checked >= 8


def test_fluid_interior_is_dark(small_loop: tuple[Path, dict]) -> None:
    path, truth = small_loop
    image = _decoded_frames(path)[-1]
    item = truth["frames"][-1]
    outline = np.asarray(item["fluid"]["outline"], dtype=np.float32)
    tip_x = item["needle"]["tip"][0]
    inside = []
    left, top = np.floor(outline.min(axis=0)).astype(int)
    right, bottom = np.ceil(outline.max(axis=0)).astype(int)
    ys, xs = np.mgrid[top:bottom, left:right]
    for x, y in zip(xs.ravel() + 0.5, ys.ravel() + 0.5, strict=True):
        # Right of the tip: away from the needle and its reverberations.
        if x > tip_x + 4 and cv2.pointPolygonTest(outline, (x, y), True) > 2.5:
            inside.append(image[int(y), int(x)])
    assert len(inside) > 30
    tissue = _region_median(image, truth["region_bounds"])
    assert np.median(inside) < 0.3 * tissue, (np.median(inside), tissue)
    assert np.percentile(inside, 90) < tissue


def test_truth_geometry_is_consistent(small_loop: tuple[Path, dict]) -> None:
    _, truth = small_loop
    assert truth["format"] == TRUTH_FORMAT
    assert truth["version"] == 1
    assert truth["coordinate_system"] == COORDINATE_SYSTEM
    assert truth["generator"]["seed"] == SMALL["seed"]
    assert len(truth["frames"]) == truth["n_frames"]
    x0, y0, x1, y1 = truth["region_bounds"]
    mm2_per_px2 = truth["mm_per_px_x"] * truth["mm_per_px_y"]
    previous_area = 0.0
    fluid_seen = False
    for index, item in enumerate(truth["frames"]):
        assert item["index"] == index
        assert [plane["name"] for plane in item["fascial_planes"]] == list(PLANE_NAMES)
        for plane in item["fascial_planes"]:
            points = np.asarray(plane["points"])
            assert points[0, 0] == x0
            assert points[-1, 0] == x1 + 1
            assert np.diff(points[:, 0]).max() <= 8
            assert (points[:, 1] > y0).all()
            assert (points[:, 1] < y1 + 1).all()
        if item["needle"] is not None:
            (ex, ey), (tx, ty) = item["needle"]["entry"], item["needle"]["tip"]
            angle = math.degrees(math.atan2(ty - ey, tx - ex))
            assert angle == pytest.approx(truth["needle_angle_deg"], abs=0.1)
            assert x0 <= tx <= x1 + 1
            assert y0 <= ty <= y1 + 1
        if item["fluid"] is None:
            assert not fluid_seen, "fluid disappeared"
            continue
        fluid_seen = True
        outline = np.asarray(item["fluid"]["outline"])
        assert len(outline) >= 8
        assert not np.array_equal(outline[0], outline[-1])
        x, y = outline[:, 0], outline[:, 1]
        area_px = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        assert area_px * mm2_per_px2 == pytest.approx(item["fluid"]["area_mm2"], rel=0.01)
        assert item["fluid"]["area_mm2"] > previous_area
        previous_area = item["fluid"]["area_mm2"]
    assert fluid_seen
    assert truth["frames"][0]["needle"] is None
    # Once arrived, the tip sits on the target plane, inside the fluid.
    last = truth["frames"][-1]
    tip = np.asarray(last["needle"]["tip"])
    (plane,) = [p for p in last["fascial_planes"] if p["name"] == truth["target_plane"]]
    points = np.asarray(plane["points"])
    assert abs(np.interp(tip[0], points[:, 0], points[:, 1]) - tip[1]) < 1.5
    outline = np.asarray(last["fluid"]["outline"], dtype=np.float32)
    assert cv2.pointPolygonTest(outline, (float(tip[0]), float(tip[1])), False) > 0


def test_truth_file_is_written_beside_the_dicom(small_loop: tuple[Path, dict]) -> None:
    path, truth = small_loop
    truth_path = truth_path_for(path)
    assert truth_path.name == "small.truth.json"
    assert json.loads(truth_path.read_text(encoding="utf-8")) == truth
    assert list(truth)[:4] == ["format", "version", "coordinate_system", "generator"]


def test_regeneration_is_deterministic(tmp_path: Path) -> None:
    arguments = {"rows": 160, "columns": 200, "n_frames": 5, "seed": 3}
    make_sample_loop(tmp_path / "one.dcm", **arguments)
    make_sample_loop(tmp_path / "two.dcm", **arguments)
    make_sample_loop(tmp_path / "other.dcm", **{**arguments, "seed": 4})
    one = (tmp_path / "one.dcm").read_bytes()
    assert one == (tmp_path / "two.dcm").read_bytes()
    assert one != (tmp_path / "other.dcm").read_bytes()
    assert (tmp_path / "one.truth.json").read_bytes() == (tmp_path / "two.truth.json").read_bytes()


def test_write_truth_false_writes_only_the_dicom(tmp_path: Path) -> None:
    path = tmp_path / "bench.dcm"
    result = make_sample_loop(path, rows=160, columns=200, n_frames=4, write_truth=False)
    assert result is None
    assert path.exists()
    assert not truth_path_for(path).exists()


def test_rendered_frames_are_rgb_and_pixels_follow_the_truth() -> None:
    phantom = HydrodissectionPhantom(PhantomParams(**SMALL))
    frame = phantom.render(11)
    assert frame.shape == (240, 320, 3)
    assert frame.dtype == np.uint8
    assert np.array_equal(frame[..., 0], frame[..., 2])
    with pytest.raises(IndexError, match="0-based"):
        phantom.render(12)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="target_plane"):
        PhantomParams(target_plane="skin")
    with pytest.raises(ValueError, match="needle_angle_deg"):
        PhantomParams(needle_angle_deg=85.0)


@pytest.mark.parametrize("name", sorted(BUNDLED_SAMPLES))
def test_bundled_samples_are_up_to_date(name: str, tmp_path: Path) -> None:
    bundled = SAMPLE_DIR / name
    assert bundled.exists(), f"{bundled} is missing: run python -m usannotate.samples"
    fresh = tmp_path / name
    make_sample_loop(fresh, **BUNDLED_SAMPLES[name])
    assert truth_path_for(fresh).read_text(encoding="utf-8") == truth_path_for(bundled).read_text(
        encoding="utf-8"
    )
    old_ds, new_ds = pydicom.dcmread(bundled), pydicom.dcmread(fresh)
    assert old_ds.SOPInstanceUID == new_ds.SOPInstanceUID
    # Pixels compared decoded and with a tolerance, so a different OpenCV build's
    # float rounding or text drawing does not count as a change; a changed generator does.
    assert_same_loop_pixels(fresh, bundled)
