"""The fast lossless codecs (imagecodecs) against pydicom's own, and frames encoded on
several threads written in order."""

from __future__ import annotations

import threading

import numpy as np
import pydicom
import pytest
from pydicom.pixels import get_encoder
from pydicom.pixels.decoders import RLELosslessDecoder
from pydicom.uid import JPEGLSLossless, RLELossless

import usannotate
from tests.cine.dicom_factory import make_planted_loop
from tests.deid.test_output import DCIODVFY, _dciodvfy_errors
from usannotate._pipeline import map_in_order
from usannotate.deid import DeidentifyOptions, _codecs, deidentify_file


def _frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    speckle = rng.integers(0, 256, (48, 300), dtype=np.uint8)
    runs = np.zeros((40, 333), np.uint8)  # odd width: odd-length segments get padded
    runs[:, 100:260] = 7  # a run longer than 128
    runs[5:9, :] = np.arange(333) % 3  # short runs and literals mixed
    colour = rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)
    colour[:, :20] = (10, 200, 30)
    return {"speckle": speckle, "runs": runs, "colour": colour}


def _kwargs(frame: np.ndarray) -> dict[str, object]:
    samples = 1 if frame.ndim == 2 else 3
    return {
        "rows": frame.shape[0],
        "columns": frame.shape[1],
        "samples_per_pixel": samples,
        "bits_allocated": 8,
        "bits_stored": 8,
        "pixel_representation": 0,
        "photometric_interpretation": "RGB" if samples == 3 else "MONOCHROME2",
        "number_of_frames": 1,
        "planar_configuration": 0,
    }


@pytest.mark.parametrize("name", list(_frames()))
def test_jpegls_frame_is_byte_for_byte_pydicoms(name):
    frame = _frames()[name]
    ours = _codecs.jpegls_frame(frame)
    theirs = get_encoder(JPEGLSLossless).encode(frame, validate=False, **_kwargs(frame))
    assert ours == theirs


@pytest.mark.parametrize("plugin", ["pydicom", "pylibjpeg"])
@pytest.mark.parametrize("name", list(_frames()))
def test_rle_frame_decodes_to_the_same_pixels_with_pydicoms_decoders(name, plugin):
    frame = _frames()[name]
    encoded = _codecs.rle_frame(frame)
    assert len(encoded) % 2 == 0
    decoder = RLELosslessDecoder
    assert plugin in decoder.available_plugins
    ds = pydicom.Dataset()
    for keyword, value in {
        "Rows": frame.shape[0],
        "Columns": frame.shape[1],
        "SamplesPerPixel": 1 if frame.ndim == 2 else 3,
        "PhotometricInterpretation": "MONOCHROME2" if frame.ndim == 2 else "RGB",
        "BitsAllocated": 8,
        "BitsStored": 8,
        "HighBit": 7,
        "PixelRepresentation": 0,
        "PlanarConfiguration": 0,
        "NumberOfFrames": 1,
    }.items():
        setattr(ds, keyword, value)
    ds.PixelData = pydicom.encaps.encapsulate([encoded])
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = RLELossless
    decoded, _ = decoder.as_array(ds, decoding_plugin=plugin)
    np.testing.assert_array_equal(decoded, frame)


@pytest.mark.parametrize("encoding", ["jpeg-ls", "rle"])
def test_threads_write_the_same_file_in_order_as_one(tmp_path, encoding):
    case = make_planted_loop(tmp_path, n_frames=23, rows=64, columns=96)
    written = {}
    for workers in (1, 3):
        out = tmp_path / f"out_{workers}.dcm"
        done = []
        deidentify_file(
            case.path,
            out,
            DeidentifyOptions(encoding=encoding, workers=workers),
            progress=lambda d, t, done=done: done.append((d, t)),
        )
        assert done == [(i, 23) for i in range(1, 24)]
        written[workers] = pydicom.dcmread(out).PixelData
        with usannotate.open_cine(case.path) as before, usannotate.open_cine(out) as after:
            keep = usannotate.deid.clean_pixel_mask(before).keep
            for index in range(before.n_frames):
                np.testing.assert_array_equal(after.frame(index)[keep], before.frame(index)[keep])
    assert written[1] == written[3]


def test_rle_output_passes_dciodvfy(tmp_path):
    assert DCIODVFY, "dciodvfy is missing: run `bash .ci/setup` (apt-get install dicom3tools)"
    case = make_planted_loop(tmp_path, jpeg=True)
    out = tmp_path / "out.dcm"
    deidentify_file(case.path, out, DeidentifyOptions(encoding="rle", workers=2))
    assert not (_dciodvfy_errors(out) - _dciodvfy_errors(case.path))


def test_a_failure_midway_stops_the_threads_and_leaves_nothing(tmp_path):
    case = make_planted_loop(tmp_path, n_frames=30, rows=64, columns=96)
    out = tmp_path / "out.dcm"

    def progress(done, total):
        if done == 7:
            raise KeyboardInterrupt  # what a cancel raises through the progress callback

    before = set(threading.enumerate())
    with pytest.raises(KeyboardInterrupt):
        deidentify_file(case.path, out, DeidentifyOptions(workers=3), progress=progress)
    assert not out.exists()
    assert not list(tmp_path.glob(".*"))
    leftover = [t for t in threading.enumerate() if t not in before and "deid" in t.name]
    assert not leftover


def test_map_in_order_keeps_the_order_and_raises_at_the_items_turn():
    def work(item):
        if item == 5:
            raise ValueError(item)
        return item * item

    results = map_in_order(work, range(10), 3)
    assert [next(results) for _ in range(5)] == [0, 1, 4, 9, 16]
    with pytest.raises(ValueError, match="5"):
        next(results)
    assert list(map_in_order(work, range(5), 1)) == [0, 1, 4, 9, 16]


def test_without_imagecodecs_pydicoms_encoders_write_the_same_file(tmp_path, monkeypatch):
    case = make_planted_loop(tmp_path, n_frames=5, rows=64, columns=96)
    jpeg_ls = DeidentifyOptions(encoding="jpeg-ls")
    fast = tmp_path / "fast.dcm"
    deidentify_file(case.path, fast, jpeg_ls)
    monkeypatch.setattr(_codecs, "imagecodecs", None)
    assert not _codecs.available()
    slow = tmp_path / "slow.dcm"
    deidentify_file(case.path, slow, jpeg_ls)
    assert pydicom.dcmread(slow).PixelData == pydicom.dcmread(fast).PixelData  # CharLS both
