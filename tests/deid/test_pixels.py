"""Clean Pixel Data: black outside the regions on every frame, or over static overlays."""

from __future__ import annotations

import numpy as np
import pytest

import usannotate
from tests.cine.dicom_factory import make_planted_loop
from usannotate.deid import DeidentifyError, DeidentifyOptions, clean_pixel_mask, deidentify_file
from usannotate.deid.pixels import GROW_PX


def _inside(region, rows, columns):
    x0, y0, x1, y1 = region
    keep = np.zeros((rows, columns), bool)
    keep[y0 : y1 + 1, x0 : x1 + 1] = True
    return keep


@pytest.mark.parametrize("encoding", ["jpeg-ls", "rle", "jpeg2000"])
def test_banner_is_black_and_the_image_unchanged_on_every_frame(tmp_path, encoding):
    case = make_planted_loop(tmp_path)
    out = tmp_path / "clean.dcm"
    deidentify_file(case.path, out, DeidentifyOptions(encoding=encoding))
    n, rows, columns, _ = case.expected.shape
    inside = _inside(case.region, rows, columns)
    assert case.text_mask[~inside].any()  # the banner text lies outside the region
    with usannotate.open_cine(out) as loop:
        assert loop.n_frames == n
        assert loop.photometric_interpretation == "RGB"
        for index in range(n):
            frame = loop.frame(index)
            assert not frame[~inside].any(), index  # all black outside the region
            np.testing.assert_array_equal(frame[inside], case.expected[index][inside])


def test_mask_from_regions_is_the_region(tmp_path):
    case = make_planted_loop(tmp_path)
    with usannotate.open_cine(case.path) as loop:
        mask = clean_pixel_mask(loop)
    assert mask.method == "regions"
    np.testing.assert_array_equal(mask.keep, _inside(case.region, *mask.keep.shape))


def test_whole_image_region_blacks_out_the_static_text_only(tmp_path):
    case = make_planted_loop(tmp_path, whole_image_region=True)
    with usannotate.open_cine(case.path) as loop:
        mask = clean_pixel_mask(loop)
    assert mask.method == "static overlay"
    assert not mask.keep[case.text_mask].any()  # every text pixel goes black
    # The moving image is kept except a GROW_PX margin around the text.
    size = 2 * GROW_PX + 1
    import cv2

    near_text = cv2.dilate(case.text_mask.astype(np.uint8), np.ones((size, size), np.uint8))
    assert mask.keep[near_text == 0].all()
    out = tmp_path / "clean.dcm"
    result = deidentify_file(case.path, out)
    assert result.pixel_method == "static overlay"
    with usannotate.open_cine(out) as loop:
        for index in range(loop.n_frames):
            frame = loop.frame(index)
            assert not frame[case.text_mask].any()
            np.testing.assert_array_equal(
                frame[near_text == 0], case.expected[index][near_text == 0]
            )


def test_lossy_source_static_text_found_despite_jpeg_noise(tmp_path):
    case = make_planted_loop(tmp_path, whole_image_region=True, jpeg=True)
    out = tmp_path / "clean.dcm"
    deidentify_file(case.path, out)
    with usannotate.open_cine(out) as loop:
        for index in range(loop.n_frames):
            assert loop.frame(index)[case.text_mask].max() < 40


def test_single_frame_without_trusted_region_is_refused(tmp_path):
    case = make_planted_loop(tmp_path, n_frames=1, whole_image_region=True)
    out = tmp_path / "clean.dcm"
    with pytest.raises(DeidentifyError, match="cannot be cleaned"):
        deidentify_file(case.path, out)
    assert not out.exists()


def _colour_loop(tmp_path, colour_frames: set[int], n: int = 4):
    """A native RGB loop, grey (R = G = B) except on ``colour_frames``, with a region."""
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian

    from tests.cine import dicom_factory as f

    frames = f.grey_to_rgb(f.grey_frames(n))
    for index in colour_frames:
        frames[index, 10:20, 10:30] = (200, 40, 40)  # a colour Doppler patch
    ds = f.base_dataset(
        "colour",
        ExplicitVRLittleEndian,
        rows=f.ROWS,
        columns=f.COLUMNS,
        n_frames=n,
        photometric="RGB",
        samples=3,
        frame_time_ms=40.0,
    )
    ds.SequenceOfUltrasoundRegions = Sequence([f.ultrasound_region((2, 4, 60, 44))])
    f.set_native_pixels(ds, f.native_pixel_bytes(frames, bits_allocated=8))
    return f.write(ds, tmp_path / "colour.dcm"), frames


@pytest.mark.parametrize(
    ("colour_frames", "photometric"),
    [(set(), "MONOCHROME2"), ({2}, "RGB"), ({0}, "RGB")],
    ids=["all grey", "colour from frame 2 (started grey, written again)", "colour first"],
)
def test_colour_loop_written_grey_only_when_every_frame_is(tmp_path, colour_frames, photometric):
    path, frames = _colour_loop(tmp_path, colour_frames)
    out = tmp_path / "out.dcm"
    deidentify_file(path, out)
    inside = _inside((2, 4, 60, 44), frames.shape[1], frames.shape[2])
    with usannotate.open_cine(out) as loop:
        assert loop.photometric_interpretation == photometric
        for index in range(loop.n_frames):
            np.testing.assert_array_equal(loop.frame(index)[inside], frames[index][inside])
    assert not list(tmp_path.glob(".*.tmp"))  # the abandoned grey attempt left nothing


def test_is_grey_looks_at_the_kept_pixels_only():
    from usannotate.deid import PixelMask

    keep = np.zeros((20, 30), bool)
    keep[5:15, 5:25] = True
    mask = PixelMask(keep, "regions")
    frame = np.repeat(np.arange(600, dtype=np.uint8).reshape(20, 30, 1), 3, axis=2)
    assert mask.is_grey(frame)
    frame[0, 0] = (255, 0, 0)  # colour in the banner, blacked out anyway
    assert mask.is_grey(frame)
    frame[10, 20, 2] += 1  # one sample off grey where the image is kept
    assert not mask.is_grey(frame)
    assert not mask.is_grey(frame, np.ascontiguousarray(frame[..., 0]))


def _masks():
    from usannotate.deid import PixelMask

    box = np.zeros((20, 30), bool)
    box[5:15, 5:25] = True  # one rectangle: only it is written
    ring = box.copy()
    ring[8:10, 8:10] = False  # not a rectangle: the masked AND over the frame
    return [PixelMask(box, "regions"), PixelMask(ring, "static overlay")]


@pytest.mark.parametrize("which", [0, 1])
def test_clean_into_a_reused_buffer_gives_what_apply_gives_on_every_frame(which):
    mask = _masks()[which]
    assert (mask.rectangle is not None) == (which == 0)
    rng = np.random.default_rng(3)
    grey_out = np.zeros((20, 30), np.uint8)
    colour_out = np.zeros((20, 30, 3), np.uint8)
    for _ in range(3):  # the same buffers, frame after frame
        grey = rng.integers(0, 256, (20, 30, 1), np.uint8)
        frame = np.repeat(grey, 3, axis=2)
        assert mask.clean_into(frame, grey_out, check_grey=True)
        np.testing.assert_array_equal(grey_out, mask.apply(np.ascontiguousarray(frame[..., 0])))
        colour = rng.integers(0, 256, (20, 30, 3), np.uint8)
        assert mask.clean_into(colour, colour_out, check_grey=False)
        np.testing.assert_array_equal(colour_out, mask.apply(colour))


@pytest.mark.parametrize("which", [0, 1])
def test_clean_into_says_when_a_kept_pixel_has_colour(which):
    mask = _masks()[which]
    frame = np.repeat(np.arange(600, dtype=np.uint8).reshape(20, 30, 1), 3, axis=2)
    out = np.zeros((20, 30), np.uint8)
    frame[0, 0] = (255, 0, 0)  # colour in the banner, blacked out anyway
    assert mask.clean_into(frame, out, check_grey=True)
    frame[12, 20, 1] += 1  # one sample off grey where the image is kept
    assert not mask.clean_into(frame, out, check_grey=True)
    assert mask.clean_into(frame, out, check_grey=False)  # not asked: the red plane
