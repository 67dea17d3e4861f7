"""Broken inputs give a CineError that names the file: never another exception, never a
hang, never an allocation of what the file merely claims.

Every broken file is made here, in tmp_path, from a good file written by
:mod:`dicom_factory` (truncated, lengths lied about, tags dropped or mangled).

Where bytes are missing or damaged the engine may refuse at ``open_cine`` or when the
damaged frame is asked for. Frames whose bytes are intact may be shown (then exactly
right) or refused. Frames whose bytes are missing or damaged must never be shown: their
index is out of range (the engine opened only what is really there, where that is
allowed) or ``frame(i)`` raises a CineError.
"""

from __future__ import annotations

import signal
import struct
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest

import usannotate
from tests.cine import dicom_factory as factory
from usannotate.cine import (
    CineError,
    NoPixelDataError,
    NotDicomError,
    UnsupportedDicomError,
)

MEMORY_LIMIT = 50 * 1024 * 1024
HUGE = 0x7FFFFFF0
TIME_LIMIT_S = 20


@pytest.fixture(autouse=True)
def _never_hang() -> Iterator[None]:
    """Fail (instead of hanging the run) if one test takes longer than TIME_LIMIT_S."""

    if not hasattr(signal, "SIGALRM"):  # not on Windows
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError(f"the engine took more than {TIME_LIMIT_S} s on a small file")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TIME_LIMIT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ------------------------------------------------------------------------- helpers


def _assert_names_file(exc: CineError, path: Path, exc_type: type[CineError]) -> None:
    assert isinstance(exc, exc_type), (
        f"{path.name}: raised {type(exc).__name__}, expected {exc_type.__name__}: {exc}"
    )
    assert path.name in str(exc), f"the message does not name the file: {exc!s}"


def check_broken(
    path: Path,
    *,
    case: factory.Case | None = None,
    intact: frozenset[int] | set[int] = frozenset(),
    claimed: int | None = None,
    must_raise: bool = True,
    exc_type: type[CineError] = CineError,
) -> CineError | None:
    """Open ``path`` and read every frame; check the rules in the module docstring.

    ``case``: the undamaged file (its expected display frames). ``intact``: indices of frames
    whose bytes are undamaged. ``claimed``: the frame count the header claims (n_frames
    may not exceed it). ``must_raise``: a CineError is required; when False, opening
    only the intact leading frames (n_frames <= first damaged index) is accepted too.
    Returns the first CineError seen.
    """
    try:
        loop = usannotate.open_cine(path)
    except CineError as exc:
        _assert_names_file(exc, path, exc_type)
        return exc
    first_error: CineError | None = None
    with loop:
        n = loop.n_frames
        assert isinstance(n, int)
        assert n >= 0
        if claimed is not None:
            assert n <= claimed, f"{path.name}: n_frames {n} > the {claimed} claimed"
        for i in range(n):
            try:
                pixels = loop.frame(i)
            except CineError as exc:
                _assert_names_file(exc, path, exc_type)
                first_error = first_error or exc
                continue
            assert i in intact, (
                f"{path.name}: frame {i} is damaged or missing, but frame({i}) returned "
                "pixels instead of raising a CineError"
            )
            assert case is not None
            _assert_shows(pixels, case, i, path)
    if must_raise:
        assert first_error is not None, (
            f"{path.name} is damaged, but it opened and all {n} frames read without a CineError"
        )
    elif first_error is None:
        damaged = [i for i in range(claimed or n) if i not in intact]
        assert not damaged or n <= min(damaged), (
            f"{path.name}: n_frames {n} includes damaged frames {damaged}"
        )
    return first_error


def _assert_shows(pixels: object, case: factory.Case, i: int, path: Path) -> None:
    """``pixels`` is frame ``i`` of the undamaged ``case`` (either colour JPEG rendering)."""
    assert isinstance(pixels, np.ndarray)
    if case.alternative is not None and np.array_equal(pixels, case.alternative[i]):
        return
    np.testing.assert_allclose(
        pixels.astype(np.int16),
        case.expected[i].astype(np.int16),
        rtol=0,
        atol=case.tolerance,
        err_msg=f"{path.name}: intact frame {i} is shown wrong",
    )


def check_broken_within_memory(path: Path, **kwargs: object) -> None:
    """:func:`check_broken`, and the Python heap never grows by MEMORY_LIMIT."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        check_broken(path, **kwargs)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, (
        f"{path.name}: peak traced memory {peak / 1e6:.0f} MB; the file is "
        f"{path.stat().st_size} bytes (a claimed length was allocated?)"
    )


def _assert_warns_when_fewer(path: Path, declared: int) -> None:
    """A loop opened with fewer frames than its header declares says so."""
    try:
        loop = usannotate.open_cine(path)
    except CineError:
        return
    with loop:
        if loop.n_frames < declared:
            assert any(f"declares {declared} frames" in w for w in loop.warnings), loop.warnings


def _good(folder: Path, make) -> tuple[factory.Case, bytes]:
    case = make(folder / "good")
    return case, case.path.read_bytes()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _patch_u32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<I", value) + data[offset + 4 :]


def _native_value_offset(data: bytes) -> tuple[int, int]:
    """(offset of the Pixel Data value, its length) in an explicit VR LE file."""
    tag = factory.pixel_data_offset(data)
    (length,) = struct.unpack_from("<I", data, tag + 8)
    return tag + 12, length


# ---------------------------------------------------------------- not DICOM at all


def _random_bytes() -> bytes:
    return np.random.default_rng(20240611).bytes(4096)


def _png() -> bytes:
    ok, buf = cv2.imencode(".png", factory.grey_frames(1)[0])
    assert ok
    return buf.tobytes()


def _jpeg() -> bytes:
    return factory.jpeg_encode(factory.smooth_rgb_frames(1)[0])


NOT_DICOM = {
    "random_bytes": _random_bytes,
    "png_image": _png,
    "jpeg_image": _jpeg,
    "empty_file": lambda: b"",
    "text_file": lambda: b"Patient scanned 2024-06-11, left TAP block, loop 3\n" * 20,
    "preamble_without_dicm": lambda: b"\x00" * 128 + b"NOPE" + b"\x00" * 200,
}


@pytest.mark.parametrize("kind", list(NOT_DICOM))
def test_not_dicom(tmp_path: Path, kind: str) -> None:
    path = _write(tmp_path, f"not-dicom-{kind}.dcm", NOT_DICOM[kind]())
    check_broken(path, exc_type=NotDicomError)


# ------------------------------------------------------------- truncated in header


@pytest.mark.parametrize(
    "where",
    [
        "in_preamble",
        "in_dicm_prefix",
        "in_file_meta",
        "in_dataset",
        "just_before_pixel_data",
        "in_pixel_data_element_header",
    ],
)
def test_truncated_in_header(tmp_path: Path, where: str) -> None:
    case, data = _good(tmp_path, factory.make_explicit_le_mono2_8bit)
    pixel_tag = factory.pixel_data_offset(data)
    assert data[132:138] == b"\x02\x00\x00\x00UL"
    (meta_length,) = struct.unpack_from("<I", data, 140)
    dataset_start = 144 + meta_length
    cut = {
        "in_preamble": 100,
        "in_dicm_prefix": 130,
        "in_file_meta": (144 + dataset_start) // 2,
        "in_dataset": (dataset_start + pixel_tag) // 2,
        "just_before_pixel_data": pixel_tag,
        "in_pixel_data_element_header": pixel_tag + 6,
    }[where]
    path = _write(tmp_path, f"truncated-header-{where}.dcm", data[:cut])
    check_broken(path, case=case, claimed=case.n_frames)


# ------------------------------------------------------ truncated in the pixel data


@pytest.mark.parametrize(
    ("where", "complete_frames"),
    [("mid_frame", 2), ("at_frame_boundary", 3), ("one_byte_short", 3)],
)
def test_truncated_native_pixel_data(tmp_path: Path, where: str, complete_frames: int) -> None:
    case, data = _good(tmp_path, factory.make_explicit_le_mono2_8bit)  # 4 frames
    start, length = _native_value_offset(data)
    frame_bytes = length // case.n_frames
    cut = {
        "mid_frame": start + int(2.5 * frame_bytes),
        "at_frame_boundary": start + 3 * frame_bytes,
        "one_byte_short": start + length - 1,
    }[where]
    path = _write(tmp_path, f"truncated-pixels-{where}.dcm", data[:cut])
    check_broken(
        path,
        case=case,
        intact=set(range(complete_frames)),
        claimed=case.n_frames,
        must_raise=False,
    )


def _frames_findable_past(data: bytes, frame: int, n_frames: int) -> set[int]:
    """Frames after a damaged ``frame`` that a reader can still locate: all of them
    with a Basic Offset Table, none without one."""
    _, table_length = factory.encapsulated_items(data)[0]
    return set(range(frame + 1, n_frames)) if table_length else set()


def _cut_in_item(data: bytes, frame: int, where: str) -> bytes:
    """Cut encapsulated data inside the item of ``frame`` (one fragment per frame)."""
    items = factory.encapsulated_items(data)
    offset, length = items[1 + frame]  # items[0] is the Basic Offset Table
    cut = {
        "mid_fragment": offset + 8 + length // 2,
        "in_item_header": offset + 5,
        "last_byte_of_fragment_missing": offset + 8 + length - 1,
    }[where]
    return data[:cut]


ENCAPSULATED_MAKERS = {
    "jpeg": factory.make_jpeg_baseline_ybr_full_422,  # 4 frames, BOT
    "jpeg_no_bot": factory.make_jpeg_baseline_mono2,  # 4 frames, no BOT
    "rle": factory.make_rle_mono2_8bit,  # 4 frames
    "jpeg2000": factory.make_j2k_lossless_mono2_8bit,  # 4 frames
    "jpegls": factory.make_jpegls_lossless_mono2_8bit,  # 4 frames
}


@pytest.mark.parametrize("where", ["mid_fragment", "in_item_header"])
@pytest.mark.parametrize("codec", list(ENCAPSULATED_MAKERS))
def test_truncated_encapsulated_pixel_data(tmp_path: Path, codec: str, where: str) -> None:
    case, data = _good(tmp_path, ENCAPSULATED_MAKERS[codec])
    path = _write(tmp_path, f"truncated-{codec}-{where}.dcm", _cut_in_item(data, 2, where))
    check_broken(
        path,
        case=case,
        intact={0, 1},
        claimed=case.n_frames,
        must_raise=False,
    )


@pytest.mark.parametrize("codec", ["jpeg", "rle", "jpeg2000"])
def test_last_fragment_one_byte_short(tmp_path: Path, codec: str) -> None:
    """A decoder may well 'decode' a codestream missing its last byte: the engine
    must notice from the lengths that the last frame is incomplete."""
    case, data = _good(tmp_path, ENCAPSULATED_MAKERS[codec])
    last = case.n_frames - 1
    broken = _cut_in_item(data, last, "last_byte_of_fragment_missing")
    path = _write(tmp_path, f"truncated-{codec}-last-byte.dcm", broken)
    check_broken(
        path,
        case=case,
        intact=set(range(last)),
        claimed=case.n_frames,
        must_raise=False,
    )


def test_missing_sequence_delimiter_only(tmp_path: Path) -> None:
    """Every fragment complete, only the closing (FFFE,E0DD) missing: whatever the
    engine shows must be right; it may refuse with a CineError."""
    case, data = _good(tmp_path, factory.make_jpeg_baseline_ybr_full_422)
    offset, length = factory.encapsulated_items(data)[-1]
    end = offset + 8 + length
    assert data[end : end + 4] == b"\xfe\xff\xdd\xe0"
    path = _write(tmp_path, "no-sequence-delimiter.dcm", data[:end])
    check_broken(
        path,
        case=case,
        intact=set(range(case.n_frames)),
        claimed=case.n_frames,
        must_raise=False,
    )


# --------------------------------------------------------------- no pixel data


def test_no_pixel_data_element(tmp_path: Path) -> None:
    case, _ = _good(tmp_path, factory.make_explicit_le_mono2_8bit)
    ds = pydicom.dcmread(case.path)
    del ds.PixelData
    path = tmp_path / "no-pixel-data.dcm"
    ds.save_as(path, enforce_file_format=True)
    check_broken(path, exc_type=NoPixelDataError)


def test_no_image_at_all(tmp_path: Path) -> None:
    """A DICOM document without any image attributes (think: a structured report)."""
    ds = factory.base_dataset(
        "report",
        factory.ExplicitVRLittleEndian,
        rows=1,
        columns=1,
        n_frames=None,
        photometric="MONOCHROME2",
    )
    for keyword in (
        "Rows",
        "Columns",
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
    ):
        delattr(ds, keyword)
    ds.Modality = "SR"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    path = factory.write(ds, tmp_path / "no-image-report.dcm")
    check_broken(path, exc_type=NoPixelDataError)


# --------------------------------------------------- NumberOfFrames larger than data


def test_number_of_frames_larger_than_native_data(tmp_path: Path) -> None:
    case, _ = _good(tmp_path, factory.make_explicit_le_mono2_8bit)  # 4 frames of data
    ds = pydicom.dcmread(case.path)
    ds.NumberOfFrames = 10
    path = tmp_path / "frames-claimed-10-native-4.dcm"
    ds.save_as(path, enforce_file_format=True)
    check_broken(path, case=case, intact={0, 1, 2, 3}, claimed=10, must_raise=False)


def test_number_of_frames_larger_than_native_data_with_trailing_padding(
    tmp_path: Path,
) -> None:
    """Bytes after the Pixel Data element (Data Set Trailing Padding) are not frames:
    reading a frame by offset must stay inside the element."""
    case, _ = _good(tmp_path, factory.make_explicit_le_mono2_8bit)
    ds = pydicom.dcmread(case.path)
    ds.NumberOfFrames = 10
    frame_bytes = case.rows * case.columns
    ds.add_new(0xFFFCFFFC, "OB", b"\xaa" * (6 * frame_bytes))
    path = tmp_path / "frames-claimed-10-native-4-padded.dcm"
    ds.save_as(path, enforce_file_format=True)
    check_broken(path, case=case, intact={0, 1, 2, 3}, claimed=10, must_raise=False)


@pytest.mark.parametrize("codec", ["jpeg_no_bot", "rle"])
def test_number_of_frames_larger_than_fragments(tmp_path: Path, codec: str) -> None:
    case, _ = _good(tmp_path, ENCAPSULATED_MAKERS[codec])  # 4 frames, 4 fragments
    ds = pydicom.dcmread(case.path)
    ds.NumberOfFrames = 7
    path = tmp_path / f"frames-claimed-7-{codec}-4.dcm"
    ds.save_as(path, enforce_file_format=True)
    check_broken(
        path,
        case=case,
        intact={0, 1, 2, 3},
        claimed=7,
        must_raise=False,
    )


# ---------------------------------------------------------- unknown transfer syntax


@pytest.mark.parametrize("uid", ["1.2.3.4.5", "1.2.840.10008.1.2.4.9999"])
def test_unknown_transfer_syntax(tmp_path: Path, uid: str) -> None:
    case, _ = _good(tmp_path, factory.make_explicit_le_mono2_8bit)
    ds = pydicom.dcmread(case.path)
    ds.file_meta.TransferSyntaxUID = uid
    path = tmp_path / f"unknown-transfer-syntax-{uid}.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=True, force_encoding=True)
    assert path.read_bytes()[128:132] == b"DICM"
    check_broken(path, exc_type=UnsupportedDicomError)


# --------------------------------------------------- lengths far beyond the file


def test_huge_pixel_data_length_native(tmp_path: Path) -> None:
    """Pixel Data claims 2 GiB in a file of a few kB: nothing that size is allocated.
    All frames are physically there, so showing them (right) is accepted, like any
    truncated pixel data; refusing with a CineError is accepted too."""
    case, data = _good(tmp_path, factory.make_explicit_le_mono2_8bit)
    tag = factory.pixel_data_offset(data)
    path = _write(tmp_path, "huge-pixel-data-length.dcm", _patch_u32(data, tag + 8, HUGE))
    check_broken_within_memory(
        path,
        case=case,
        intact=set(range(case.n_frames)),
        claimed=case.n_frames,
        must_raise=False,
    )


def test_huge_length_of_element_before_pixel_data(tmp_path: Path) -> None:
    case, _ = _good(tmp_path, factory.make_explicit_le_mono2_8bit)
    ds = pydicom.dcmread(case.path)
    block = ds.private_block(0x0009, "USANNOTATE TEST", create=True)
    block.add_new(0x10, "OB", b"\x5a" * 64)
    good = tmp_path / "good" / "with-private-ob.dcm"
    ds.save_as(good, enforce_file_format=True)
    data = good.read_bytes()
    ob = data.find(b"\x09\x00\x10\x10OB\x00\x00")
    assert ob > 0
    path = _write(tmp_path, "huge-length-private-element.dcm", _patch_u32(data, ob + 8, HUGE))
    check_broken_within_memory(path, case=case, claimed=case.n_frames)


@pytest.mark.parametrize("codec", ["jpeg", "jpeg_no_bot", "rle"])
def test_huge_fragment_length(tmp_path: Path, codec: str) -> None:
    case, data = _good(tmp_path, ENCAPSULATED_MAKERS[codec])
    offset, _ = factory.encapsulated_items(data)[1 + 1]  # frame 1's fragment
    path = _write(tmp_path, f"huge-fragment-length-{codec}.dcm", _patch_u32(data, offset + 4, HUGE))
    findable = _frames_findable_past(data, 1, case.n_frames)
    # Without an offset table nothing past the damage can be found: opening only the
    # frame before it, with a warning, is what the file really holds.
    check_broken_within_memory(
        path, case=case, intact={0} | findable, claimed=case.n_frames, must_raise=bool(findable)
    )
    _assert_warns_when_fewer(path, case.n_frames)


def test_huge_basic_offset_table_length(tmp_path: Path) -> None:
    case, data = _good(tmp_path, factory.make_jpeg_baseline_ybr_full_422)
    offset, _ = factory.encapsulated_items(data)[0]
    path = _write(tmp_path, "huge-offset-table-length.dcm", _patch_u32(data, offset + 4, HUGE))
    check_broken_within_memory(path, case=case, claimed=case.n_frames)


def test_huge_file_meta_group_length(tmp_path: Path) -> None:
    """(0002,0000) claims 2 GiB of file meta: not allocated. Readers that do not need
    the group length may open the file (then right), or refuse it."""
    case, data = _good(tmp_path, factory.make_explicit_le_mono2_8bit)
    assert data[132:138] == b"\x02\x00\x00\x00UL"
    path = _write(tmp_path, "huge-meta-group-length.dcm", _patch_u32(data, 140, HUGE))
    check_broken_within_memory(
        path,
        case=case,
        intact=set(range(case.n_frames)),
        claimed=case.n_frames,
        must_raise=False,
    )


# ------------------------------------------------------------- zero rows / columns


@pytest.mark.parametrize("keyword", ["Rows", "Columns"])
def test_zero_rows_or_columns(tmp_path: Path, keyword: str) -> None:
    case, _ = _good(tmp_path, factory.make_explicit_le_mono2_8bit)
    ds = pydicom.dcmread(case.path)
    setattr(ds, keyword, 0)
    path = tmp_path / f"zero-{keyword.lower()}.dcm"
    ds.save_as(path, enforce_file_format=True)
    check_broken(path)


@pytest.mark.parametrize("keyword", ["Rows", "Columns"])
def test_zero_rows_or_columns_encapsulated(tmp_path: Path, keyword: str) -> None:
    case, _ = _good(tmp_path, factory.make_jpeg_baseline_mono2)
    ds = pydicom.dcmread(case.path)
    setattr(ds, keyword, 0)
    path = tmp_path / f"zero-{keyword.lower()}-jpeg.dcm"
    ds.save_as(path, enforce_file_format=True)
    check_broken(path)


# ------------------------------------------------------- bad fragment item tags


@pytest.mark.parametrize("codec", ["jpeg", "jpeg_no_bot", "rle", "jpeg2000"])
@pytest.mark.parametrize(
    "tag", [b"\x34\x12\x78\x56", b"\xfe\xff\x0d\xe0"], ids=["garbage_tag", "item_delimiter"]
)
def test_fragment_item_tag_is_not_an_item(tmp_path: Path, codec: str, tag: bytes) -> None:
    """Frame 1's item tag is replaced: by garbage, or by (FFFE,E00D) which has no place
    in encapsulated pixel data."""
    case, data = _good(tmp_path, ENCAPSULATED_MAKERS[codec])
    offset, _ = factory.encapsulated_items(data)[1 + 1]
    broken = data[:offset] + tag + data[offset + 4 :]
    path = _write(tmp_path, f"bad-item-tag-{codec}.dcm", broken)
    findable = _frames_findable_past(data, 1, case.n_frames)
    check_broken(
        path, case=case, intact={0} | findable, claimed=case.n_frames, must_raise=bool(findable)
    )
    _assert_warns_when_fewer(path, case.n_frames)


def test_basic_offset_table_tag_is_not_an_item(tmp_path: Path) -> None:
    case, data = _good(tmp_path, factory.make_jpeg_baseline_ybr_full_422)
    offset, _ = factory.encapsulated_items(data)[0]
    broken = data[:offset] + b"\x34\x12\x78\x56" + data[offset + 4 :]
    path = _write(tmp_path, "bad-offset-table-tag.dcm", broken)
    check_broken(path, case=case, claimed=case.n_frames)
