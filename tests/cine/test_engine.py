"""The cine engine's own behaviour: fast paths, laziness, cache, prefetch, privacy."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import pixel_array

import usannotate
from tests.cine import dicom_factory
from tests.cine.loops import write_jpeg_loop
from usannotate.cine import CineError, CorruptDicomError, _fileio, _frames, _jpeg

JPEG_BASELINE_FILES = [
    "examples_ybr_color.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "SC_rgb_dcmtk_+eb+cy+np.dcm",
    "SC_rgb_dcmtk_+eb+cy+n1.dcm",
    "SC_rgb_dcmtk_+eb+cy+n2.dcm",
    "SC_rgb_dcmtk_+eb+cy+s2.dcm",
    "SC_rgb_dcmtk_+eb+cy+s4.dcm",
    "SC_rgb_small_odd_jpeg.dcm",
    "SC_jpeg_no_color_transform.dcm",
    "SC_jpeg_no_color_transform_2.dcm",
    "SC_rgb_jpeg_app14_dcmd.dcm",
    "SC_rgb_jpeg_dcmd.dcm",
]


@pytest.fixture
def no_pydicom_fallback(monkeypatch):
    """Fail loudly if a frame goes through pydicom instead of the fast path."""

    def refuse(self, index, data):
        raise AssertionError(f"frame {index} left the fast path")

    monkeypatch.setattr(_frames.FrameDecoder, "_decode_with_pydicom", refuse)


@pytest.mark.parametrize("name", JPEG_BASELINE_FILES)
def test_jpeg_frames_equal_pydicom_exactly(name):
    """Fast path or not, every JPEG baseline frame is pydicom's (libjpeg-turbo) pixels."""
    path = get_testdata_file(name)
    reference = pixel_array(path, decoding_plugin="pillow")
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        frames = np.stack([loop.frame(i) for i in range(loop.n_frames)])
    reference = reference.reshape(frames.shape)
    assert np.array_equal(frames, reference)


@pytest.mark.parametrize("decoder", ["simplejpeg", "opencv"])
@pytest.mark.parametrize(
    "name", ["examples_ybr_color.dcm", "SC_jpeg_no_color_transform.dcm", "grey (factory)"]
)
def test_both_fast_decoders_give_pydicoms_pixels(
    monkeypatch, tmp_path, no_pydicom_fallback, name, decoder
):
    """simplejpeg decodes the fast path; OpenCV where it has no wheel: the same pixels."""
    assert _jpeg.simplejpeg is not None  # a dependency: the fast path uses it
    if decoder == "opencv":
        monkeypatch.setattr(_jpeg, "simplejpeg", None)
    if name.startswith("grey"):
        path = dicom_factory.make_jpeg_baseline_mono2(tmp_path).path
    else:
        path = get_testdata_file(name)
    reference = pixel_array(path, decoding_plugin="pillow")
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        frames = np.stack([loop.frame(i) for i in range(loop.n_frames)])
    if reference.shape[-1] != 3:  # grey samples: shown as R = G = B
        reference = np.repeat(reference[..., None], 3, axis=-1)
    assert np.array_equal(frames, reference.reshape(frames.shape))


def test_ultrasound_cine_takes_the_fast_path(no_pydicom_fallback):
    path = get_testdata_file("examples_ybr_color.dcm")
    reference = pixel_array(path, decoding_plugin="pillow")
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert loop.n_frames == 30
        for index in (0, 17, 29):
            assert np.array_equal(loop.frame(index), reference[index])


def test_rgb_jpeg_without_markers_is_relabelled_not_colour_converted(no_pydicom_fallback):
    """SC_jpeg_no_color_transform: RGB samples that libjpeg would treat as YCbCr."""
    path = get_testdata_file("SC_jpeg_no_color_transform.dcm")
    header = _jpeg.parse_header(pydicom.dcmread(path).PixelData[16:])
    assert header is not None
    assert header.libjpeg_transforms
    with usannotate.open_cine(path) as loop:
        assert np.array_equal(loop.frame(0), pixel_array(path, decoding_plugin="pillow"))


def test_sample_loop_fast_path_equals_pydicom(tmp_path, no_pydicom_fallback):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 12)
    reference = pixel_array(path, decoding_plugin="pillow")
    with usannotate.open_cine(path) as loop:
        for index in range(12):
            assert np.array_equal(loop.frame(index), reference[index]), index


@pytest.mark.parametrize(
    "name", ["examples_rgb_color.dcm", "SC_rgb_small_odd.dcm", "MR_small_bigendian.dcm"]
)
def test_native_frames_read_by_offset_equal_pydicom(name):
    path = get_testdata_file(name)
    reference = pixel_array(path)
    with usannotate.open_cine(path) as loop:
        frame = loop.frame(0)
    if reference.ndim == 3:
        assert np.array_equal(frame, reference)
    else:  # 16-bit grey: the display is a monotonic mapping of the stored values
        order = np.argsort(reference, axis=None, kind="stable")
        assert np.all(np.diff(frame[..., 0].ravel()[order].astype(int)) >= 0)


def _count_reads(monkeypatch) -> list[int]:
    sizes: list[int] = []
    real = _fileio.PositionalFile.read_at

    def counting(self, offset, length):
        sizes.append(length)
        return real(self, offset, length)

    monkeypatch.setattr(_fileio.PositionalFile, "read_at", counting)
    return sizes


@pytest.mark.parametrize("n_frames", [3, 120])
def test_open_reads_no_frame_data(tmp_path, monkeypatch, n_frames):
    """Opening touches the header and offset table only, whatever the loop length."""
    path = write_jpeg_loop(tmp_path / f"loop{n_frames}.dcm", n_frames)
    sizes = _count_reads(monkeypatch)
    loop = usannotate.open_cine(path)
    assert loop.n_frames == n_frames
    # The element header, the offset table item, and the last frame's item header and
    # the delimiter after it (is the last frame all there?): no fragment data.
    assert sum(sizes) <= 12 + 8 + 4 * n_frames + 2 * 8
    sizes.clear()
    loop.frame(n_frames - 1)
    one_frame = max(sizes)
    assert one_frame < os.path.getsize(path) / max(2, n_frames // 2)
    loop.close()


def test_open_without_offset_table_reads_item_headers_only(tmp_path, monkeypatch):
    """Empty Basic Offset Table (common on scanners): opening walks the 8-byte item
    headers to count the frames really there; a frame then reads its own data only."""
    source = write_jpeg_loop(tmp_path / "bot.dcm", 40)
    ds = pydicom.dcmread(source)
    frames = [pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=40)]
    fragments = list(frames[0])
    ds.PixelData = pydicom.encaps.encapsulate(fragments, has_bot=False)
    path = tmp_path / "no_bot.dcm"
    ds.save_as(path, enforce_file_format=True)
    reference = pixel_array(path, decoding_plugin="pillow")
    sizes = _count_reads(monkeypatch)
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        opened = len(sizes)
        assert all(size in (8, 12) for size in sizes)  # headers, never fragment data
        assert opened <= 40 + 3
        assert np.array_equal(loop.frame(2), reference[2])
        assert len(sizes) - opened == 1  # frame 2's bytes, nothing else
        assert np.array_equal(loop.frame(39), reference[39])


def test_cache_is_bounded_in_bytes(tmp_path):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 20)
    frame_bytes = 96 * 128 * 3
    with usannotate.open_cine(path, cache_bytes=5 * frame_bytes, prefetch_frames=0) as loop:
        for index in range(20):
            loop.frame(index)
        assert len(loop.cache) == 5
        assert loop.cache.nbytes <= 5 * frame_bytes
        assert 19 in loop.cache
        assert 14 not in loop.cache


def test_frames_are_read_only_and_cached(tmp_path):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 4)
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        first = loop.frame(1)
        assert loop.frame(1) is first
        with pytest.raises(ValueError, match="read-only"):
            first[0, 0, 0] = 1


def test_prefetch_decodes_ahead_in_direction_of_travel(tmp_path):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 30)
    with usannotate.open_cine(path, prefetch_frames=4) as loop:
        loop.frame(10)
        loop.frame(11)
        loop._prefetcher.worker().submit(lambda: None).result()  # wait for the queue to drain
        for future in list(loop._prefetcher.pending.values()):
            future.result()
        assert all(i in loop.cache for i in (12, 13, 14, 15))
        loop.frame(5)  # jump back: travel is now backwards
        for future in list(loop._prefetcher.pending.values()):
            future.result()
        assert all(i in loop.cache for i in (4, 3, 2, 1))


def test_prefetch_follows_the_pace_of_a_playback_that_skips_frames(tmp_path):
    """A playhead moving 3 frames at a time has the frames it lands on decoded ahead, not
    the ones between (decoding those took the cores the screen needed)."""
    path = write_jpeg_loop(tmp_path / "loop.dcm", 60)
    with usannotate.open_cine(path, prefetch_frames=4) as loop:
        for index in (0, 3, 6, 9, 12):
            loop.frame(index)
            for future in list(loop._prefetcher.pending.values()):
                future.result()
        assert all(i in loop.cache for i in (15, 18, 21, 24))  # where it will land
        assert not any(i in loop.cache for i in (22, 23))  # stepped over
        loop.frame(13)  # then one at a time again, backwards after that
        loop.frame(12)
        for future in list(loop._prefetcher.pending.values()):
            future.result()
        assert all(i in loop.cache for i in (11, 10, 9, 8))


def test_prefetched_frames_equal_direct_decode(tmp_path):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 16)
    with usannotate.open_cine(path, prefetch_frames=8) as loop:
        shown = [loop.frame(i).copy() for i in range(16)]
        for index, frame in enumerate(shown):
            assert np.array_equal(frame, loop.decode_frame(index))


def test_a_jpeg_frame_decodes_into_a_given_buffer_with_the_same_pixels(tmp_path):
    """A stream of frames (a video export) decodes into kept buffers; a buffer of the
    wrong size or a read-only one is left alone and a new array comes back."""
    path = write_jpeg_loop(tmp_path / "loop.dcm", 3)
    with usannotate.open_cine(path) as loop:
        buffer = np.zeros((loop.rows, loop.columns, 3), np.uint8)
        for index in range(3):
            frame = loop.decode_frame(index, buffer)
            assert np.may_share_memory(frame, buffer)
            np.testing.assert_array_equal(frame, loop.decode_frame(index))
            np.testing.assert_array_equal(buffer, loop.decode_frame(index))
        for unusable in (np.zeros((loop.rows, loop.columns + 1, 3), np.uint8), buffer[:, ::-1]):
            frame = loop.decode_frame(1, unusable)
            assert not np.may_share_memory(frame, unusable)
            np.testing.assert_array_equal(frame, loop.decode_frame(1))
        buffer.flags.writeable = False
        assert not np.may_share_memory(loop.decode_frame(2, buffer), buffer)


def test_fast_chroma_changes_only_the_colour_a_video_subsamples_again(tmp_path):
    """A video export decodes with the colour replicated, not interpolated: on grey
    speckle with a colour blob (a Doppler box's look) the colour differs a little, the
    luma by at most a step, and after 4:2:0 subsampling (what H.264 keeps of the
    colour) the two decodes' colour planes are within half a step on average."""
    from usannotate.samples.dicom_writer import write_jpeg_cine

    rows, columns = 64, 96
    grey = np.random.default_rng(1).integers(30, 120, (rows, columns)).astype(np.float64)
    yy, xx = np.mgrid[:rows, :columns]
    blob = np.exp(-(((xx - 60) / 14.0) ** 2 + ((yy - 30) / 10.0) ** 2))
    frame = np.stack(
        [grey + 150 * blob, grey * (1 - 0.5 * blob), grey + 120 * blob * (xx < 60)], axis=2
    )
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    path = tmp_path / "colour.dcm"
    write_jpeg_cine(path, [frame, frame], frame_time_ms=20.0, regions=[], quality=95)
    with usannotate.open_cine(path) as loop:
        exact = loop.decode_frame(0)
        fast = loop.decode_frame(0, fast_chroma=True)
    assert fast.shape == exact.shape
    assert np.any(fast != exact)  # the flag reaches the decoder

    def luma(rgb):
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV)[..., 0].astype(int)

    def chroma_420(rgb):  # the U and V planes of OpenCV's I420 picture
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)[rows:].astype(int)

    assert np.abs(luma(fast) - luma(exact)).max() <= 2
    assert np.abs(chroma_420(fast) - chroma_420(exact)).mean() < 0.5


@pytest.mark.parametrize("make", [dicom_factory.make_rgb_planar0, dicom_factory.make_rle_rgb])
def test_fast_chroma_leaves_other_syntaxes_alone(tmp_path, make):
    case = make(tmp_path)
    with usannotate.open_cine(case.path) as loop:
        for index in range(loop.n_frames):
            np.testing.assert_array_equal(
                loop.decode_frame(index, fast_chroma=True), loop.decode_frame(index)
            )


def test_index_out_of_range_says_frames_are_zero_based(tmp_path):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 3)
    with usannotate.open_cine(path) as loop:
        with pytest.raises(IndexError, match=r"0 to 2 \(0-based\)"):
            loop.frame(3)
        with pytest.raises(IndexError):
            loop.frame(-1)


def test_closed_loop_refuses_frames(tmp_path):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 3)
    loop = usannotate.open_cine(path)
    loop.close()
    with pytest.raises(CineError, match="closed"):
        loop.frame(0)


def test_metadata_identity_and_calibration(tmp_path):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 5)
    with usannotate.open_cine(path) as loop:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert loop.identity.sop_instance_uid == ds.SOPInstanceUID
        assert loop.burned_in_annotation is True
        assert loop.frame_time_ms == pytest.approx(20.0)
        assert loop.frame_time_source == "FrameTime"
        assert loop.frame_start_times_ms()[4] == pytest.approx(80.0)
        [region] = loop.regions
        assert region.mm_per_px_x == pytest.approx(0.2)
        calibration = loop.calibration_for_points([(10.5, 20.5), (100.0, 90.0)])
        assert calibration.unit == "mm"
        assert calibration.mm_per_px_y == pytest.approx(0.2)
        assert loop.calibration_for_points([(10.0, 2.0)]).unit == "px"  # in the banner


def test_patient_details_never_in_repr_or_logs(tmp_path, caplog):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 3)
    caplog.set_level(logging.DEBUG)
    with usannotate.open_cine(path) as loop:
        loop.frame(0)
        assert loop.patient.name == "SYNTHETIC^DEMO"
        text = repr(loop.patient) + str(loop.patient) + repr(loop)
    assert "SYNTHETIC" not in text
    assert "000000" not in text
    assert "SYNTHETIC" not in caplog.text


def test_damaged_later_frame_raises_without_breaking_the_others(tmp_path):
    path = write_jpeg_loop(tmp_path / "loop.dcm", 6)
    data = bytearray(Path(path).read_bytes())
    ds = pydicom.dcmread(path)
    last = list(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=6))[-1]
    start = bytes(data).rfind(last)
    data[start : start + len(last)] = b"\x00" * len(last)  # not a JPEG any more
    Path(path).write_bytes(bytes(data))
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert loop.frame(0).shape == (96, 128, 3)
        with pytest.raises(CorruptDicomError, match=r"loop\.dcm: frame 5"):
            loop.frame(5)


def test_loops_dropped_without_close_clean_up_quietly(tmp_path, monkeypatch):
    """The last reference may drop on the prefetch thread; cleanup must not try to join it."""
    import gc
    import sys
    import time

    problems: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: problems.append(info.exc_value))
    path = write_jpeg_loop(tmp_path / "loop.dcm", 12)
    for _ in range(8):
        loop = usannotate.open_cine(path, prefetch_frames=6)
        loop.frame(0)
        del loop
    time.sleep(0.3)
    gc.collect()
    assert problems == []
