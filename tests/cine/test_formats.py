"""Every DICOM format a sonographer's archive holds opens and displays right.

Two sources of truth:

* files written by :mod:`dicom_factory` from known numpy arrays (the expected display
  pixels are known without any decoder, except for lossy JPEG baseline);
* the real files bundled with pydicom, compared with pydicom's own decoding plus the
  display rules of the engine's contract (:func:`dicom_factory.reference_display`).

Display rules (``CineLoop.frame(i)``: ``(rows, columns, 3)`` ``uint8`` RGB): 8-bit grey
and colour exact; MONOCHROME1 inverted; YBR converted to RGB; palette applied (16-bit
entries >> 8, +-1); more than 8 bits grey windowed (first window / VOI LUT) or full
stored range mapped to 0..255 (+-1).
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

import usannotate
from tests.cine import dicom_factory as factory
from usannotate.cine import CineError

# ------------------------------------------------------------------------- helpers


class _Cases:
    """Factory cases, each written once per module into one temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._built: dict[str, factory.Case] = {}

    def __getitem__(self, name: str) -> factory.Case:
        if name not in self._built:
            self._built[name] = factory.ALL_CASES[name](self.folder)
        return self._built[name]


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> _Cases:
    return _Cases(tmp_path_factory.mktemp("cine_formats"))


def _diagnosis(actual: np.ndarray, expected: np.ndarray, index: int) -> str:
    """A guess at what went wrong, for the assertion message."""
    want = expected[index]
    hints = []
    for j in range(expected.shape[0]):
        if j != index and np.array_equal(actual, expected[j]):
            hints.append(f"it is frame {j}, not frame {index}")
    if np.array_equal(actual, 255 - want):
        hints.append("it is inverted (MONOCHROME1 handled the wrong way round)")
    if np.array_equal(actual, want[..., ::-1]):
        hints.append("it is BGR, not RGB")
    if (
        actual.ndim == 3
        and actual.shape[2] == 3
        and np.array_equal(actual[..., 0], actual[..., 1])
        and not np.array_equal(want[..., 0], want[..., 1])
    ):
        hints.append("it is grey where colour is expected (palette/colour skipped)")
    return "; ".join(hints)


def assert_display(
    actual: object,
    expected: np.ndarray,
    index: int,
    tolerance: int,
    *,
    alternative: np.ndarray | None = None,
    what: str = "",
) -> None:
    """``actual`` is frame ``index`` of ``expected`` (``(n, rows, columns, 3)``)."""
    assert isinstance(actual, np.ndarray), f"{what}: frame({index}) is {type(actual)}"
    want = expected[index]
    assert actual.shape == want.shape, (
        f"{what}: frame({index}) has shape {actual.shape}, expected {want.shape}"
    )
    assert actual.dtype == np.uint8, f"{what}: frame({index}) dtype is {actual.dtype}"
    if alternative is not None and np.array_equal(actual, alternative[index]):
        return
    diff = np.abs(actual.astype(np.int16) - want.astype(np.int16))
    worst = int(diff.max())
    if worst > tolerance:
        row, col, channel = np.unravel_index(int(diff.argmax()), diff.shape)
        hint = _diagnosis(actual, expected, index)
        pytest.fail(
            f"{what}: frame({index}) differs from the expected display by up to {worst} "
            f"(tolerance {tolerance}); {int(np.count_nonzero(diff > tolerance))} samples "
            f"off; first worst at row {row}, column {col}, channel {channel}: got "
            f"{actual[row, col].tolist()}, expected {want[row, col].tolist()}"
            + (f" -- {hint}" if hint else "")
        )


# -------------------------------------------------------------- factory-made files

FORMAT_IDS = list(factory.FORMAT_CASES)
ALL_IDS = list(factory.ALL_CASES)


@pytest.mark.parametrize("name", FORMAT_IDS)
def test_opens_with_the_right_geometry(cases: _Cases, name: str) -> None:
    case = cases[name]
    header = pydicom.dcmread(case.path, stop_before_pixels=True)
    with usannotate.open_cine(case.path) as loop:
        assert (loop.n_frames, loop.rows, loop.columns) == (
            case.n_frames,
            case.rows,
            case.columns,
        )
        assert isinstance(loop.n_frames, int)
        assert loop.photometric_interpretation == header.PhotometricInterpretation
        assert loop.transfer_syntax_uid == header.file_meta.TransferSyntaxUID


@pytest.mark.parametrize("name", FORMAT_IDS)
def test_every_frame_displays_right(cases: _Cases, name: str) -> None:
    case = cases[name]
    with usannotate.open_cine(case.path) as loop:
        assert loop.n_frames == case.n_frames
        for i in range(case.n_frames):
            assert_display(
                loop.frame(i),
                case.expected,
                i,
                case.tolerance,
                alternative=case.alternative,
                what=name,
            )


@pytest.mark.parametrize("name", FORMAT_IDS)
def test_frame_index_past_the_end_raises_index_error(cases: _Cases, name: str) -> None:
    case = cases[name]
    with usannotate.open_cine(case.path) as loop:
        with pytest.raises(IndexError):
            loop.frame(case.n_frames)
        with pytest.raises(IndexError):
            loop.frame(case.n_frames + 1000)


@pytest.mark.parametrize(
    "name",
    [
        "explicit_le_mono2_8bit",
        "rle_rgb",
        "jpeg_baseline_ybr_full_422",
        "jpeg_baseline_3_fragments_per_frame_no_bot",
        "jpegls_lossless_mono2_8bit",
        "j2k_lossless_ybr_rct",
        "palette_16bit_entries",
        "mono2_16bit_window",
    ],
)
def test_random_access_and_repeated_reads(cases: _Cases, name: str) -> None:
    """Frames read backwards, jumping about and twice are the same frames."""
    case = cases[name]
    n = case.n_frames
    order = [n - 1, 0, n - 1, 1 % n, *reversed(range(n)), *range(n)]
    with usannotate.open_cine(case.path) as loop:
        for i in order:
            assert_display(
                loop.frame(i),
                case.expected,
                i,
                case.tolerance,
                alternative=case.alternative,
                what=f"{name} (order {order})",
            )


class _PlainPathLike:
    """An os.PathLike that is not a pathlib.Path."""

    def __init__(self, path: Path) -> None:
        self._path = str(path)

    def __fspath__(self) -> str:
        return self._path


@pytest.mark.parametrize("as_type", [str, Path, _PlainPathLike], ids=["str", "Path", "PathLike"])
def test_open_cine_takes_str_and_pathlike(cases: _Cases, as_type: type) -> None:
    case = cases["explicit_le_mono2_8bit"]
    loop = usannotate.open_cine(as_type(case.path))
    try:
        assert loop.n_frames == case.n_frames
        assert_display(loop.frame(1), case.expected, 1, 0, what=as_type.__name__)
    finally:
        loop.close()


def test_close_then_context_manager_again(cases: _Cases) -> None:
    """A loop can be closed explicitly, and the file can be opened again afterwards."""
    case = cases["rle_mono2_8bit"]
    loop = usannotate.open_cine(case.path)
    assert_display(loop.frame(2), case.expected, 2, 0, what="before close")
    loop.close()
    with usannotate.open_cine(case.path) as again:
        assert_display(again.frame(3), case.expected, 3, 0, what="reopened")


@pytest.mark.parametrize("name", ALL_IDS)
def test_frame_timing(cases: _Cases, name: str) -> None:
    case = cases[name]
    with usannotate.open_cine(case.path) as loop:
        assert loop.frame_time_source == case.frame_time_source
        assert loop.frame_time_ms == pytest.approx(case.frame_time_ms, abs=1e-3)


@pytest.mark.parametrize("name", list(factory.TIMING_CASES))
def test_timing_cases_display_right_too(cases: _Cases, name: str) -> None:
    case = cases[name]
    with usannotate.open_cine(case.path) as loop:
        assert loop.n_frames == case.n_frames
        for i in range(case.n_frames):
            assert_display(loop.frame(i), case.expected, i, 0, what=name)


# ------------------------------------------------------------ files pydicom bundles

#: bundled file -> why it is here
BUNDLED = {
    "examples_ybr_color.dcm": "30-frame JPEG baseline YBR_FULL_422 ultrasound cine",
    "examples_palette.dcm": "PALETTE COLOR, native",
    "examples_rgb_color.dcm": "RGB ultrasound, native",
    "examples_jpeg2k.dcm": "JPEG 2000 lossless YBR_RCT",
    "examples_overlay.dcm": "12 bits in 16 with a window, overlay not burned in",
    "SC_rgb_jpeg_gdcm.dcm": "JPEG lossless process 14 SV1, RGB",
    "SC_rgb_rle.dcm": "RLE RGB",
    "SC_rgb_rle_2frame.dcm": "RLE RGB, 2 frames",
    "SC_rgb_small_odd.dcm": "3x3 RGB native",
    "SC_rgb_small_odd_big_endian.dcm": "3x3 RGB explicit big endian",
    "SC_ybr_full_422_uncompressed.dcm": "native YBR_FULL_422 (subsampled chroma)",
    "SC_rgb_jpeg.dcm": "JPEG baseline RGB stored without colour transform",
    "SC_rgb_jpeg_dcmtk.dcm": "JPEG baseline YBR_FULL",
    "SC_rgb_dcmtk_+eb+cy+np.dcm": "JPEG baseline YBR_FULL_422",
    "SC_rgb_dcmtk_+eb+cy+s2.dcm": "JPEG baseline YBR_FULL_422",
    "SC_rgb_dcmtk_+eb+cr.dcm": "JPEG baseline RGB, Adobe marker",
    "SC_rgb_jpeg_app14_dcmd.dcm": "JPEG baseline RGB, Adobe APP14",
    "SC_rgb_small_odd_jpeg.dcm": "3x3 JPEG baseline YBR_FULL",
    "SC_rgb_jpeg_lossy_gdcm.dcm": "JPEG baseline YBR_FULL without JFIF",
    "SC_rgb_gdcm_KY.dcm": "JPEG 2000 RGB",
    "SC_rgb_jls_lossy_line.dcm": "JPEG-LS near-lossless RGB, line interleaved",
    "SC_rgb_jls_lossy_sample.dcm": "JPEG-LS near-lossless RGB, sample interleaved",
    "MR_small.dcm": "signed 16-bit with a window",
    "MR_small_implicit.dcm": "signed 16-bit, implicit VR",
    "MR_small_bigendian.dcm": "signed 16-bit, explicit big endian",
    "MR_small_RLE.dcm": "signed 16-bit, RLE",
    "MR_small_jp2klossless.dcm": "signed 16-bit, JPEG 2000 lossless",
    "MR_small_jpeg_ls_lossless.dcm": "signed 16-bit, JPEG-LS lossless",
    "JPEGLSNearLossless_08.dcm": "JPEG-LS near-lossless 8-bit grey",
    "JPEGLSNearLossless_16.dcm": "JPEG-LS near-lossless 16-bit grey",
    "JPEG2000.dcm": "JPEG 2000 signed 16-bit, no window",
    "JPGExtended.dcm": "JPEG extended 12-bit",
    "image_dfl.dcm": "deflated explicit VR little endian",
    "ExplVR_BigEnd.dcm": "explicit big endian RGB, planar configuration 1",
    "CT_small.dcm": "signed 16-bit with rescale, no window",
    "rtdose.dcm": "32-bit grey, 15 frames, implicit VR",
    "rtdose_1frame.dcm": "32-bit grey, 1 frame",
    "rtdose_rle.dcm": "32-bit grey, 15 frames, RLE",
    "rtdose_expb.dcm": "32-bit grey, 15 frames, explicit big endian",
    "693_J2KI.dcm": "JPEG 2000 lossy, 14-bit signed, rescale + window",
    "GDCMJ2K_TextGBR.dcm": "JPEG 2000 lossless YBR_RCT",
}


def _bundled_path(name: str) -> Path:
    folder = Path(pydicom.__file__).parent / "data" / "test_files"
    # never ask pydicom for a file it does not ship: that would try to download it
    assert (folder / name).is_file(), f"{name} is not bundled with pydicom"
    return Path(get_testdata_file(name))


@cache
def _bundled_reference(name: str) -> tuple[np.ndarray, int, pydicom.Dataset]:
    """Expected display frames from pydicom's decoding, and the tolerance."""
    path = _bundled_path(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
        n = int(ds.get("NumberOfFrames") or 1)
        jpeg_baseline = ds.file_meta.TransferSyntaxUID == factory.JPEGBaseline8Bit
        plugin = "pillow" if jpeg_baseline else ""
        expected, _ = factory.expected_from_pydicom(path, n, decoding_plugin=plugin)
    tolerance = 0
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        tolerance = 1 if ds.RedPaletteColorLookupTableDescriptor[2] == 16 else 0
    elif ds.SamplesPerPixel == 1 and ds.BitsStored > 8:
        tolerance = 1
    return expected, tolerance, ds


@pytest.mark.parametrize("name", list(BUNDLED))
def test_bundled_file_displays_like_pydicom(name: str) -> None:
    expected, tolerance, ds = _bundled_reference(name)
    with usannotate.open_cine(_bundled_path(name)) as loop:
        assert (loop.n_frames, loop.rows, loop.columns) == expected.shape[:3]
        assert loop.photometric_interpretation == ds.PhotometricInterpretation
        assert loop.transfer_syntax_uid == ds.file_meta.TransferSyntaxUID
        for i in range(loop.n_frames):
            assert_display(loop.frame(i), expected, i, tolerance, what=name)
        with pytest.raises(IndexError):
            loop.frame(loop.n_frames)


def test_bundled_ultrasound_cine_timing() -> None:
    with usannotate.open_cine(_bundled_path("examples_ybr_color.dcm")) as loop:
        assert loop.n_frames == 30
        assert loop.frame_time_source == "FrameTime"
        assert loop.frame_time_ms == pytest.approx(33.333, abs=1e-3)


def test_bundled_ultrasound_cine_frames_read_out_of_order() -> None:
    expected, _, _ = _bundled_reference("examples_ybr_color.dcm")
    with usannotate.open_cine(_bundled_path("examples_ybr_color.dcm")) as loop:
        for i in (29, 0, 15, 14, 29, 1):
            assert_display(loop.frame(i), expected, i, 0, what="examples_ybr_color")


def test_bundled_file_no_installed_decoder_reads_gives_a_cine_error() -> None:
    """JPEG-lossy.dcm: pylibjpeg rejects its marker layout and Pillow has no 12-bit
    JPEG; the engine must say so with a CineError naming the file, or (if it can
    decode it after all) give a frame of the right shape."""
    path = _bundled_path("JPEG-lossy.dcm")
    error: CineError | None = None
    frame = None
    try:
        with usannotate.open_cine(path) as loop:
            frame = loop.frame(0)
    except CineError as exc:
        error = exc
    if error is not None:
        assert path.name in str(error)
    else:
        assert isinstance(frame, np.ndarray)
        assert frame.shape == (1024, 256, 3)
        assert frame.dtype == np.uint8
