"""Regression tests for the hostile inputs a code review found (crafted and fuzzed files).

Every file is built here, in a temporary folder, from arrays, from the factory in
:mod:`tests.cine.dicom_factory` or from files bundled with pydicom; nothing is read from
the reviewer's scratch folder. Groups, in the review's order:

1. colour JPEG whose markers contradict the DICOM header (JFIF under "RGB", ids 'R','G','B'
   under "YBR_FULL"): the pixels pydicom's Pillow plugin gives, exactly;
2. a JPEG stream cut short inside a valid item: an error, never a grey-filled frame;
3. JPEG 2000 without a Basic Offset Table (a fragment starting FF 4F, JP2-wrapped frames);
4. grey JPEG with PixelRepresentation 1 or BitsStored 6; 5. PlanarConfiguration 1 on JPEG;
6. 1-bit images; 7. decompression bombs and lying lengths; 8. inputs that gave tracebacks;
9. threads; 10. file descriptors after failed opens; 11. patient data in error messages.

Command-line runs of group 8 start in the background when the module starts (the
interpreter start-up dominates them) and are checked at the end.
"""

from __future__ import annotations

import gc
import io
import itertools
import json
import os
import random
import resource
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_frames, itemize_fragment
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.pixels import pixel_array
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    RLELossless,
)

import usannotate
from tests.cine import dicom_factory as factory
from tests.cine.loops import write_jpeg_loop
from usannotate.cine import CineError, CorruptDicomError, _jpeg

REPO = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
#: Python-level allocations allowed while refusing a bomb (tracemalloc peak).
BOMB_PEAK_BYTES = 200 * MB
#: Address space of a command-line run fed a bomb: far below what the bombs claim.
CLI_ADDRESS_SPACE = int(1.5 * 1024 * MB)
CLI_TIMEOUT_S = 30
SECRET = "ADM^DOE^JANE^123456"
HUGE_FRAMES = 2**31 - 1

# pydicom warns (rightly) about the contradictions these files are made of
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# ---------------------------------------------------------------------- helpers


def _limit_address_space() -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_AS, (CLI_ADDRESS_SPACE, CLI_ADDRESS_SPACE))


def _start_cli(*args: object, limit_memory: bool = False) -> subprocess.Popen[str]:
    """Start ``python -m usannotate.cli ARGS`` (optionally with a bounded address space)."""
    return subprocess.Popen(
        [sys.executable, "-m", "usannotate.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        preexec_fn=_limit_address_space if limit_memory else None,
    )


def _finish_cli(
    proc: subprocess.Popen[str], timeout: float = CLI_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Wait for a started CLI run; kill it and fail if it takes longer than ``timeout``."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"usannotate {' '.join(map(str, proc.args[3:]))} ran over {timeout} s")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _cli(*args: object, limit_memory: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``python -m usannotate.cli ARGS`` to completion."""
    return _finish_cli(_start_cli(*args, limit_memory=limit_memory))


def _assert_bad_input(proc: subprocess.CompletedProcess[str], path: Path) -> None:
    """Exit 2 with exactly one line on stderr that names the file; no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-3000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    assert path.name in lines[0], lines[0]


def _assert_clean_outcome(proc: subprocess.CompletedProcess[str], path: Path) -> None:
    """Exit 0, or exit 2 with one line; never a traceback nor another status."""
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 2), (proc.returncode, proc.stderr[-3000:])
    if proc.returncode == 2:
        _assert_bad_input(proc, path)


def _strict_json(text: str) -> object:
    """``json.loads`` that refuses NaN, Infinity and -Infinity."""

    def refuse(constant: str) -> object:
        raise AssertionError(f"non-standard JSON constant {constant!r} in info --json output")

    return json.loads(text, parse_constant=refuse)


def _open_and_read(path: Path, indices: tuple[int, ...] = (0,)) -> list[np.ndarray]:
    """open_cine + frame(i): frames, or a CineError; any other exception fails the test."""
    try:
        with usannotate.open_cine(path, prefetch_frames=0) as loop:
            return [loop.frame(i) for i in indices if i < loop.n_frames]
    except (CineError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # e.g. a Rust panic, which is no Exception subclass
        pytest.fail(f"{path.name}: {type(exc).__name__} instead of a CineError: {exc}"[:2000])


def _expect_corrupt_or_frames(path: Path, indices: tuple[int, ...] = (0,)) -> None:
    try:
        frames = _open_and_read(path, indices)
    except CineError as exc:
        error = str(exc)
    else:
        error = None
    if error is not None:
        assert error.startswith(path.name), error
        return
    for frame in frames:
        assert frame.dtype == np.uint8
        assert frame.ndim == 3
        assert frame.shape[2] == 3


def _peak_while(action: Callable[[], object]) -> tuple[object, BaseException | None, int]:
    """Run ``action`` under tracemalloc: (result, exception raised, peak bytes)."""
    gc.collect()
    tracemalloc.start()
    result: object = None
    error: BaseException | None = None
    try:
        result = action()
    except Exception as exc:
        error = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, error, peak


def _open_frame_close(path: Path, index: int = 0) -> np.ndarray:
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        return loop.frame(index)


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _no_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_jpeg, "fast_decode", lambda *args, **kwargs: None)


# -------------------------------------------------------------- JPEG byte surgery


def _segments(jpeg: bytes) -> list[tuple[int, int, int]]:
    """``(marker, offset of its FF, total length)`` of each segment up to the first SOS."""
    assert jpeg[:2] == b"\xff\xd8"
    pos, out = 2, []
    while True:
        assert jpeg[pos] == 0xFF
        marker = jpeg[pos + 1]
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        out.append((marker, pos, 2 + length))
        if marker == 0xDA:
            return out
        pos += 2 + length


def _segment(jpeg: bytes, markers: tuple[int, ...]) -> int:
    """Offset of the first segment with one of ``markers``."""
    return next(pos for marker, pos, _ in _segments(jpeg) if marker in markers)


def _set_sof_size(jpeg: bytes, rows: int, columns: int) -> bytes:
    """Rewrite the frame size in a SOF (JPEG) or SOF55 (JPEG-LS) segment."""
    buf = bytearray(jpeg)
    sof = _segment(jpeg, (0xC0, 0xC1, 0xC2, 0xC3, 0xF7))
    buf[sof + 5 : sof + 9] = struct.pack(">HH", rows, columns)
    return bytes(buf)


def _set_component_ids(jpeg: bytes, ids: bytes, *, hide_jfif: bool) -> bytes:
    """Give the colour components new ids (in SOF and SOS); optionally APP0 -> APP15."""
    buf = bytearray(jpeg)
    sof = _segment(jpeg, (0xC0, 0xC1))
    mapping = {}
    for k in range(buf[sof + 9]):
        mapping[buf[sof + 10 + 3 * k]] = ids[k]
        buf[sof + 10 + 3 * k] = ids[k]
    sos = _segment(jpeg, (0xDA,))
    for k in range(buf[sos + 4]):
        buf[sos + 5 + 2 * k] = mapping[buf[sos + 5 + 2 * k]]
    if hide_jfif:
        app0 = _segment(jpeg, (0xE0,))
        buf[app0 + 1] = 0xEF
    return bytes(buf)


def _with_jfif_thumbnail(jpeg: bytes) -> bytes:
    """The JFIF APP0 segment with a 1 x 1 thumbnail (length 19 instead of 16)."""
    app0 = _segment(jpeg, (0xE0,))
    assert jpeg[app0 + 4 : app0 + 9] == b"JFIF\x00"
    body = jpeg[app0 + 4 : app0 + 16]  # identifier, version, units, densities
    thumb = b"\xff\xe0" + struct.pack(">H", 16 + 3) + body + b"\x01\x01" + b"\x80\x80\x80"
    return jpeg[:app0] + thumb + jpeg[app0 + 18 :]


def _with_comment_first(jpeg: bytes) -> bytes:
    """A 300-byte COM segment between SOI and the JFIF APP0 segment."""
    comment = b"\xff\xfe" + struct.pack(">H", 302) + b"x" * 300
    return jpeg[:2] + comment + jpeg[2:]


# ------------------------------------------------------------------ file builders


def _jpeg_dataset(
    name: str,
    codestreams: list[bytes],
    *,
    rows: int,
    columns: int,
    photometric: str,
    samples: int,
    bits_stored: int = 8,
    signed: bool = False,
    planar: int | None = None,
) -> Dataset:
    ds = factory.base_dataset(
        name,
        JPEGBaseline8Bit,
        rows=rows,
        columns=columns,
        n_frames=len(codestreams) if len(codestreams) > 1 else None,
        photometric=photometric,
        samples=samples,
        bits_stored=bits_stored,
        signed=signed,
    )
    if planar is not None:
        ds.PlanarConfiguration = planar
    factory.set_encapsulated_pixels(ds, encapsulate(codestreams))
    return ds


def _colour_source() -> np.ndarray:
    """Colourful 64 x 96 RGB content with noise (many YCbCr combinations)."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:64, 0:96]
    img = np.stack([xx * 255 // 96, yy * 255 // 64, ((xx + yy) * 3) % 256], -1)
    return np.clip(img + rng.integers(-40, 40, img.shape), 0, 255).astype(np.uint8)


def _colour_jpeg() -> bytes:
    jpeg = factory.jpeg_encode(
        _colour_source(), quality=95, sampling=cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444
    )
    assert jpeg[2:4] == b"\xff\xe0"
    assert jpeg[6:11] == b"JFIF\x00"
    return jpeg


COLOUR_JPEG_CASES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "rgb_label_jfif_plain": (lambda j: j, "RGB"),
    "rgb_label_jfif_thumbnail": (_with_jfif_thumbnail, "RGB"),
    "rgb_label_comment_before_jfif": (_with_comment_first, "RGB"),
    "ybr_label_RGB_ids_with_jfif": (
        lambda j: _set_component_ids(j, b"RGB", hide_jfif=False),
        "YBR_FULL",
    ),
    "ybr_label_lowercase_rgb_ids": (
        lambda j: _set_component_ids(j, b"rgb", hide_jfif=True),
        "YBR_FULL",
    ),
}


def _examples_ybr_frames(count: int) -> tuple[Dataset, list[bytes]]:
    """The bundled 30-frame JPEG cine (240 x 320, YBR_FULL_422) and its first frames."""
    ds = pydicom.dcmread(get_testdata_file("examples_ybr_color.dcm"))
    frames = list(generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames)))
    return ds, frames[:count]


def _save_examples_ybr(ds: Dataset, frames: list[bytes], path: Path) -> Path:
    ds.NumberOfFrames = len(frames)
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].is_undefined_length = True
    ds.save_as(path)
    return path


def _j2k_dataset(name: str, n_frames: int, rows: int, columns: int, pixel_data: bytes) -> Dataset:
    ds = factory.base_dataset(
        name,
        JPEG2000Lossless,
        rows=rows,
        columns=columns,
        n_frames=n_frames,
        photometric="MONOCHROME2",
    )
    factory.set_encapsulated_pixels(ds, pixel_data)
    return ds


def _j2k_codestream(image: np.ndarray, *, jp2: bool = False) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG2000", no_jp2=not jp2)
    return buf.getvalue()


def _deflate_parts(parts: list[tuple[bytes, int]]) -> bytes:
    """Raw deflate of the concatenation of ``block * repeat`` for each part.

    Each block is compressed once and ended with a full flush (byte aligned, no
    reference to earlier data), so a block can be repeated by repeating its bytes:
    hundreds of MB of inflated data cost only the compressed size to build.
    """
    out = []
    for block, repeat in parts:
        compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        compressed = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
        out.append(compressed * repeat)
    out.append(zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush())  # final block
    return b"".join(out)


def _write_deflated(
    path: Path,
    header: Dataset,
    *,
    pixel_bytes: int,
    pad_before_pixels: int = 0,
    pad_after_pixels: int = 0,
) -> Path:
    """A Deflated Explicit VR Little Endian file of zeros, built without inflating it.

    ``header`` holds the data elements before Pixel Data (file meta is made here).
    ``pad_before_pixels`` adds a private OB element of that many zero bytes before Pixel
    Data; ``pad_after_pixels`` a Data Set Trailing Padding element after it.
    """
    meta_bytes = _file_meta_bytes(header, DeflatedExplicitVRLittleEndian)
    head = _dataset_bytes(header)
    zero_block = bytes(MB)

    def zeros(n: int) -> list[tuple[bytes, int]]:
        return [(zero_block, n // MB), (bytes(n % MB), 1)]

    parts: list[tuple[bytes, int]] = [(head, 1)]
    if pad_before_pixels:
        creator = b"\x29\x00\x10\x00LO\x08\x00HOSTILE "
        parts += [
            (creator + b"\x29\x00\x00\x10OB\x00\x00" + struct.pack("<L", pad_before_pixels), 1)
        ]
        parts += zeros(pad_before_pixels)
    parts += [(b"\xe0\x7f\x10\x00OB\x00\x00" + struct.pack("<L", pixel_bytes), 1)]
    parts += zeros(pixel_bytes)
    if pad_after_pixels:
        parts += [(b"\xfc\xff\xfc\xffOB\x00\x00" + struct.pack("<L", pad_after_pixels), 1)]
        parts += zeros(pad_after_pixels)
    path.write_bytes(meta_bytes + _deflate_parts(parts))
    return path


def _file_meta_bytes(ds: Dataset, transfer_syntax: str) -> bytes:
    """Preamble, "DICM" and the file meta group for ``ds`` in ``transfer_syntax``."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = transfer_syntax
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    empty = Dataset()
    empty.file_meta = meta
    buf = io.BytesIO()
    empty.save_as(buf, enforce_file_format=True)
    data = buf.getvalue()
    assert data[128:132] == b"DICM"
    assert data[132:140] == b"\x02\x00\x00\x00UL\x04\x00"
    (group_length,) = struct.unpack("<L", data[140:144])
    return data[: 144 + group_length]


def _dataset_bytes(ds: Dataset) -> bytes:
    """``ds``'s data elements (no file meta) encoded as explicit VR little endian."""
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    return fp.getvalue()


def _deflated_header(name: str, *, rows: int, columns: int, n_frames: int) -> Dataset:
    ds = factory.base_dataset(
        name,
        DeflatedExplicitVRLittleEndian,
        rows=rows,
        columns=columns,
        n_frames=n_frames,
        photometric="MONOCHROME2",
    )
    del ds.file_meta
    return ds


# ===================================================== 1. colour JPEG markers vs header


@pytest.mark.parametrize("case", list(COLOUR_JPEG_CASES))
def test_colour_jpeg_markers_contradicting_the_header_equal_pydicom(
    tmp_path: Path, case: str
) -> None:
    transform, photometric = COLOUR_JPEG_CASES[case]
    codestream = transform(_colour_jpeg())
    ds = _jpeg_dataset(case, [codestream], rows=64, columns=96, photometric=photometric, samples=3)
    path = factory.write(ds, tmp_path / f"{case}.dcm")
    reference = pixel_array(path, decoding_plugin="pillow")
    frame = _open_frame_close(path)
    # The colour space is pydicom's choice. Where it is YCbCr, pydicom converts in
    # floating point and libjpeg-turbo (the fast path) in integers: on saturated
    # colours a few samples may differ by 1, and then the frame must be exactly
    # libjpeg's own conversion.
    assert int(np.abs(frame.astype(int) - reference.astype(int)).max()) <= 1
    if not np.array_equal(frame, reference):
        assert np.array_equal(frame, factory.libjpeg_rgb(codestream))


# ==================================================== 2. JPEG stream cut inside an item


def _truncated_stream_file(tmp_path: Path) -> Path:
    """8 frames of the bundled cine; frame 5's JPEG stream cut to 40 % (even length),
    re-encapsulated consistently so only the codestream is short."""
    ds, frames = _examples_ybr_frames(8)
    frames[5] = frames[5][: int(len(frames[5]) * 0.4) // 2 * 2]
    return _save_examples_ybr(ds, frames, tmp_path / "jpeg_truncated_stream.dcm")


def test_truncated_jpeg_stream_is_an_error_not_a_grey_frame(tmp_path: Path) -> None:
    path = _truncated_stream_file(tmp_path)
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert loop.n_frames == 8
        with pytest.raises(CorruptDicomError) as excinfo:
            loop.frame(5)
        assert str(excinfo.value).startswith(path.name)
        for index in (4, 6, 7):
            reference = pixel_array(path, index=index, decoding_plugin="pillow")
            assert np.array_equal(loop.frame(index), reference)


def test_truncated_jpeg_stream_cli_frame_fails_with_one_line(tmp_path: Path) -> None:
    path = _truncated_stream_file(tmp_path)
    proc = _cli("frame", path, "--index", "5", "--output", tmp_path / "out.png")
    _assert_bad_input(proc, path)
    assert not (tmp_path / "out.png").exists()


# ============================================= 3. JPEG 2000 without Basic Offset Table


def test_j2k_fragment_starting_with_ff4f_is_not_a_new_frame(tmp_path: Path) -> None:
    """Frame 0 in two fragments, the second starting with FF 4F (legal inside packet
    data): frame boundaries must not be guessed from those two bytes."""
    rng = np.random.default_rng(0)
    for _ in range(100):
        images = [rng.integers(0, 256, (200, 200), dtype=np.uint8) for _ in range(2)]
        streams = [_j2k_codestream(image) for image in images]
        split = streams[0].find(b"\xff\x4f", 2)
        if split > 0 and split % 2 == 0:  # fragments have even lengths
            break
    else:
        pytest.fail("no J2K codestream with FF 4F at an even offset in 100 tries")
    last = streams[1] + (b"\x00" if len(streams[1]) % 2 else b"")
    body = b"\xfe\xff\x00\xe0\x00\x00\x00\x00"  # empty Basic Offset Table
    for fragment in (streams[0][:split], streams[0][split:], last):
        body += itemize_fragment(fragment)
    body += b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    path = factory.write(_j2k_dataset("j2k_split", 2, 200, 200, body), tmp_path / "j2k_split.dcm")
    reference = pixel_array(path)
    assert all(np.array_equal(reference[i], images[i]) for i in range(2))  # self-check
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert loop.n_frames == 2
        for i in range(2):
            assert np.array_equal(loop.frame(i), factory.grey_to_rgb(reference[i]))


def test_jp2_wrapped_frames_without_offset_table_are_all_found(tmp_path: Path) -> None:
    streams = []
    for k in range(3):
        image = ((np.mgrid[0:32, 0:40][1] * (k + 2)) % 256).astype(np.uint8)
        streams.append(_j2k_codestream(image, jp2=True))
    assert streams[0][:8] == b"\x00\x00\x00\x0c\x6a\x50\x20\x20"
    data = encapsulate(streams, has_bot=False)
    path = factory.write(_j2k_dataset("jp2_no_bot", 3, 32, 40, data), tmp_path / "jp2.dcm")
    reference = pixel_array(path)
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert loop.n_frames == 3
        for i in range(3):
            assert np.array_equal(loop.frame(i), factory.grey_to_rgb(reference[i]))


# =================================== 4. grey JPEG, signed or fewer than 8 bits stored


def _grey_jpeg_file(tmp_path: Path, name: str, *, signed: bool, bits_stored: int) -> Path:
    yy, xx = np.mgrid[0:48, 0:64]
    grey = ((xx * 4 + yy) % 256).astype(np.uint8)  # every value 0..255
    jpeg = factory.jpeg_encode(grey, quality=100)
    ds = _jpeg_dataset(
        name,
        [jpeg],
        rows=48,
        columns=64,
        photometric="MONOCHROME2",
        samples=1,
        bits_stored=bits_stored,
        signed=signed,
    )
    return factory.write(ds, tmp_path / f"{name}.dcm")


GREY_JPEG_CASES = {"signed8": (True, 8), "bits_stored6": (False, 6)}


@pytest.mark.parametrize("case", list(GREY_JPEG_CASES))
def test_grey_jpeg_display_follows_the_stored_values_not_the_raw_stream(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed, bits_stored = GREY_JPEG_CASES[case]
    path = _grey_jpeg_file(tmp_path, case, signed=signed, bits_stored=bits_stored)
    stored = pixel_array(path, decoding_plugin="pillow")
    display = _open_frame_close(path)
    assert np.array_equal(display[..., 0], display[..., 1])
    assert np.array_equal(display[..., 0], display[..., 2])
    grey = display[..., 0].astype(int).ravel()
    values = stored.astype(int).ravel()
    # the display is a function of pydicom's stored values ...
    levels = np.unique(values)
    shown = []
    for value in levels:
        seen = np.unique(grey[values == value])
        assert len(seen) == 1, f"stored value {value} shown as {seen.tolist()}"
        shown.append(int(seen[0]))
    # ... that keeps their order (a raw-byte display breaks it at the sign / mask)
    assert all(a <= b for a, b in itertools.pairwise(shown)), shown
    assert shown[-1] > shown[0]
    # and it is what the engine shows when pydicom decodes the frame
    _no_fast_path(monkeypatch)
    assert np.array_equal(_open_frame_close(path), display)


# ========================================= 5. PlanarConfiguration 1 on JPEG (ignored)


PLANAR_JPEG_FILES = [
    "SC_jpeg_no_color_transform.dcm",  # RGB, ids 0-1-2, no JFIF / Adobe markers
    "SC_rgb_dcmtk_+eb+cy+n1.dcm",  # YBR_FULL, JFIF
    "SC_rgb_dcmtk_+eb+cr.dcm",  # RGB, Adobe transform 0
]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast_path", "pydicom_path"])
@pytest.mark.parametrize("name", PLANAR_JPEG_FILES)
def test_jpeg_with_planar_configuration_1_equals_pydicom(
    tmp_path: Path, name: str, fast_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = get_testdata_file(name)
    ds = pydicom.dcmread(original)
    assert int(ds.PlanarConfiguration) == 0
    ds.PlanarConfiguration = 1
    path = tmp_path / f"planar1_{name}"
    ds.save_as(path)
    # pydicom 3.0 applies PlanarConfiguration 1 to the decoded (always interleaved)
    # JPEG samples and scrambles them: the reference is the same codestream read with
    # the header's PlanarConfiguration 0, i.e. PlanarConfiguration ignored.
    reference = pixel_array(original, decoding_plugin="pillow")
    if not fast_path:
        _no_fast_path(monkeypatch)
    frame = _open_frame_close(path)
    differ = int(np.count_nonzero(frame != reference))
    assert differ == 0, f"{differ} of {frame.size} samples differ from pydicom (Pillow plugin)"


# ================================================================= 6. one-bit images


def test_one_bit_image_is_shown_black_and_white() -> None:
    path = get_testdata_file("liver_1frame.dcm")
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert int(ds.BitsAllocated) == 1  # self-check
    bits = pixel_array(path)
    assert set(np.unique(bits).tolist()) == {0, 1}
    frame = _open_frame_close(Path(path))
    assert set(np.unique(frame).tolist()) == {0, 255}
    assert np.array_equal(frame, factory.grey_to_rgb(bits.astype(np.uint8) * 255))


# ====================================================== 7. bombs and lying lengths


def _jpeg_size_bomb(folder: Path) -> Path:
    """JPEG baseline cine: frame 0's SOF claims 30000 x 30000, Rows/Columns 240 x 320."""
    ds, frames = _examples_ybr_frames(4)
    frames[0] = _set_sof_size(frames[0], 30000, 30000)
    return _save_examples_ybr(ds, frames, folder / "jpeg_sof_bomb.dcm")


def _jpegls_size_bomb(folder: Path) -> Path:
    """JPEG-LS (64 x 64 in the header) whose SOF55 claims 30000 x 30000."""
    ds = pydicom.dcmread(get_testdata_file("MR_small_jpeg_ls_lossless.dcm"))
    (frame,) = generate_frames(ds.PixelData, number_of_frames=1)
    ds.PixelData = encapsulate([_set_sof_size(frame, 30000, 30000)])
    path = folder / "jpegls_sof55_bomb.dcm"
    ds.save_as(path)
    return path


def _j2k_size_bomb(folder: Path) -> Path:
    """JPEG 2000 (64 x 64 in the header) whose SIZ claims 30000 x 30000."""
    ds = pydicom.dcmread(get_testdata_file("MR_small_jp2klossless.dcm"))
    (frame,) = generate_frames(ds.PixelData, number_of_frames=1)
    codestream = bytearray(frame)
    siz = codestream.find(b"\xff\x51")  # SIZ: FF51 Lsiz(2) Rsiz(2) Xsiz(4) Ysiz(4)
    assert codestream[:2] == b"\xff\x4f"
    assert siz == 2
    codestream[siz + 6 : siz + 14] = struct.pack(">LL", 30000, 30000)
    ds.PixelData = encapsulate([bytes(codestream)])
    path = folder / "j2k_siz_bomb.dcm"
    ds.save_as(path)
    return path


SIZE_BOMBS = {"jpeg_sof": _jpeg_size_bomb, "jpegls_sof55": _jpegls_size_bomb}
SIZE_BOMBS["j2k_siz"] = _j2k_size_bomb


@pytest.mark.parametrize("bomb", list(SIZE_BOMBS))
def test_codestream_claiming_a_huge_image_is_refused_without_allocating(
    tmp_path: Path, bomb: str
) -> None:
    path = SIZE_BOMBS[bomb](tmp_path)
    out = tmp_path / "out.png"
    cli = _start_cli("frame", path, "--index", "0", "--output", out, limit_memory=True)
    _, error, peak = _peak_while(lambda: _open_frame_close(path))
    assert isinstance(error, CorruptDicomError), repr(error)
    assert str(error).startswith(path.name)
    assert peak < BOMB_PEAK_BYTES, f"peak {peak / MB:.0f} MB of Python allocations"
    _assert_bad_input(_finish_cli(cli), path)


def _huge_number_of_frames(folder: Path) -> Path:
    ds = pydicom.dcmread(get_testdata_file("examples_ybr_color.dcm"))
    ds.NumberOfFrames = HUGE_FRAMES
    path = folder / "huge_number_of_frames.dcm"
    ds.save_as(path)
    return path


def test_huge_number_of_frames_is_capped_to_what_the_data_can_hold(tmp_path: Path) -> None:
    path = _huge_number_of_frames(tmp_path)
    cli = _start_cli("info", "--json", path, limit_memory=True)
    loop, error, peak = _peak_while(lambda: usannotate.open_cine(path, prefetch_frames=0))
    assert error is None, repr(error)
    assert peak < BOMB_PEAK_BYTES, f"peak {peak / MB:.0f} MB while opening"
    assert isinstance(loop, usannotate.CineLoop)
    with loop:
        assert 1 <= loop.n_frames <= path.stat().st_size // 8
        assert any("frame" in warning.lower() for warning in loop.warnings), loop.warnings
        source = get_testdata_file("examples_ybr_color.dcm")
        assert np.array_equal(loop.frame(0), pixel_array(source, index=0, decoding_plugin="pillow"))
        _, error, peak = _peak_while(lambda: loop.frame(loop.n_frames - 1))
        assert error is None or isinstance(error, CineError), repr(error)
        assert peak < BOMB_PEAK_BYTES
        assert loop.duration_ms < float("inf")
    proc = _finish_cli(cli)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = _strict_json(proc.stdout)
    assert isinstance(info, dict)
    assert 1 <= info["n_frames"] <= path.stat().st_size // 8


FRAMES_600 = (600, 768, 1024)


def test_deflated_loop_inflates_no_more_than_its_pixels_need(tmp_path: Path) -> None:
    """600 frames of 1024 x 768 zeros: ~0.5 MB on disk, 450 MiB of pixels inflated."""
    n, rows, columns = FRAMES_600
    header = _deflated_header("deflate_600", rows=rows, columns=columns, n_frames=n)
    pixel_bytes = n * rows * columns
    path = _write_deflated(tmp_path / "deflate_600.dcm", header, pixel_bytes=pixel_bytes)
    assert path.stat().st_size < 2 * MB

    def read() -> list[np.ndarray]:
        with usannotate.open_cine(path, prefetch_frames=0, cache_bytes=0) as loop:
            assert loop.n_frames == n
            return [loop.frame(0), loop.frame(n - 1)]

    frames, error, peak = _peak_while(read)
    if error is not None:
        assert isinstance(error, CorruptDicomError), repr(error)
    else:
        assert isinstance(frames, list)
        for frame in frames:
            assert frame.shape == (rows, columns, 3)
            assert not frame.any()
    assert peak < 1.2 * pixel_bytes, f"peak {peak / MB:.0f} MB for {pixel_bytes / MB:.0f} MB"


@pytest.mark.parametrize("where", ["before_pixel_data", "after_pixel_data"])
def test_deflated_file_inflating_far_beyond_its_image_is_refused(
    tmp_path: Path, where: str
) -> None:
    """Header: one 16 x 16 frame; 500 MB of zero padding elements deflate into it."""
    header = _deflated_header("deflate_bomb", rows=16, columns=16, n_frames=1)
    padding = {f"pad_{where.split('_')[0]}_pixels": 500 * MB}
    path = _write_deflated(tmp_path / f"bomb_{where}.dcm", header, pixel_bytes=256, **padding)
    assert path.stat().st_size < 2 * MB
    cli = _start_cli("info", "--json", path, limit_memory=True)
    _, error, peak = _peak_while(lambda: _open_frame_close(path))
    assert isinstance(error, CorruptDicomError), repr(error)
    assert str(error).startswith(path.name)
    assert peak < BOMB_PEAK_BYTES, f"peak {peak / MB:.0f} MB of Python allocations"
    _assert_bad_input(_finish_cli(cli), path)


def test_many_empty_fragments_before_a_frame_do_not_hang(tmp_path: Path) -> None:
    """No offset table, 2 frames, 200,000 empty items between them: frame(1) is read or
    refused within seconds (measured in a child process, which is killed if it hangs)."""
    ds, frames = _examples_ybr_frames(2)
    empty = b"\xfe\xff\x00\xe0\x00\x00\x00\x00"
    body = empty + itemize_fragment(frames[0]) + empty * 200_000 + itemize_fragment(frames[1])
    ds.PixelData = body + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    ds["PixelData"].is_undefined_length = True
    ds.NumberOfFrames = 2
    path = tmp_path / "many_items.dcm"
    ds.save_as(path)
    script = (
        "import sys, time\n"
        "import usannotate\n"
        "from usannotate.cine import CineError\n"
        "start = time.monotonic()\n"
        "try:\n"
        "    with usannotate.open_cine(sys.argv[1], prefetch_frames=0) as loop:\n"
        "        loop.frame(1)\n"
        "    outcome = 'frame'\n"
        "except CineError:\n"
        "    outcome = 'CineError'\n"
        "print(outcome, time.monotonic() - start)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    outcome, seconds = proc.stdout.split()
    assert outcome in ("frame", "CineError")
    assert float(seconds) < 5.0, f"frame(1) took {float(seconds):.1f} s"


# ================================================ 8. inputs that gave tracebacks


def _deflate_corrupt(folder: Path) -> Path:
    """The bundled deflated image cut inside its compressed stream (zlib.error)."""
    data = Path(get_testdata_file("image_dfl.dcm")).read_bytes()
    path = folder / "deflate_corrupt.dcm"
    path.write_bytes(data[:832])
    return path


def _factory_bytes(folder: Path, make: Callable[[Path], factory.Case]) -> bytes:
    return make(folder / "good").path.read_bytes()


def _patched(folder: Path, name: str, data: bytes, old: bytes, new: bytes) -> Path:
    assert data.count(old) == 1, old
    path = folder / f"{name}.dcm"
    path.write_bytes(data.replace(old, new))
    return path


def _unknown_vr_in_number_of_frames(folder: Path) -> Path:
    data = _factory_bytes(folder, factory.make_explicit_le_mono2_8bit)
    return _patched(
        folder,
        "unknown_vr_in_numberofframes",
        data,
        b"\x28\x00\x08\x00IS",
        b"\x28\x00\x08\x00I\x08",
    )


def _bad_group_length(folder: Path) -> Path:
    """(0002,0001) OB becomes (0002,0201) with VR bytes 00 00 (fuzzer find)."""
    data = _factory_bytes(folder, factory.make_explicit_le_mono2_8bit)
    return _patched(
        folder,
        "bad_group_length",
        data,
        b"\x02\x00\x01\x00OB\x00\x00",
        b"\x02\x00\x01\x02\x00\x00\x00\x00",
    )


def _odd_length_us(folder: Path) -> Path:
    """Columns (US) with length 193: its value swallows the following elements."""
    data = _factory_bytes(folder, factory.make_explicit_le_mono2_8bit)
    return _patched(
        folder,
        "odd_length_US",
        data,
        b"\x28\x00\x11\x00US\x02\x00",
        b"\x28\x00\x11\x00US\xc1\x00",
    )


def _eot_file(folder: Path, name: str, table: Callable[[bytes], bytes]) -> Path:
    case = factory.make_jpeg_baseline_extended_offset_table(folder / "good")
    ds = pydicom.dcmread(case.path)
    ds.ExtendedOffsetTable = table(ds.ExtendedOffsetTable)
    path = folder / f"{name}.dcm"
    ds.save_as(path)
    return path


def _eot_odd(folder: Path) -> Path:
    return _eot_file(folder, "eot_odd", lambda table: table[:-4])  # not a multiple of 8


def _eot_empty(folder: Path) -> Path:
    return _eot_file(folder, "eot_empty", lambda table: b"")


def _ybr_full_signed(folder: Path) -> Path:
    case = factory.make_ybr_full_native(folder / "good")
    ds = pydicom.dcmread(case.path)
    ds.PixelRepresentation = 1
    path = folder / "ybr_full_signed.dcm"
    ds.save_as(path)
    return path


def _empty_fragment(folder: Path) -> Path:
    """The bundled JPEG Extended image with its only fragment's length set to 0."""
    data = Path(get_testdata_file("JPGExtended.dcm")).read_bytes()
    items = factory.encapsulated_items(data)
    offset, length = items[1]
    assert length > 0
    patched = bytearray(data)
    patched[offset + 4 : offset + 8] = b"\x00\x00\x00\x00"
    path = folder / "empty_fragment.dcm"
    path.write_bytes(bytes(patched))
    return path


def _rle_frame(segments: list[bytes]) -> bytes:
    offsets, position = [], 64
    for segment in segments:
        offsets.append(position)
        position += len(segment)
    header = struct.pack("<16L", len(segments), *offsets, *([0] * (15 - len(segments))))
    return header + b"".join(segments)


def _rle_panic(folder: Path) -> Path:
    """16-bit RLE whose high-byte segment decodes to more bytes than a frame holds
    (pylibjpeg-rle panics with 'index out of bounds': a BaseException, not an Exception)."""
    right = bytes([0x81, 7]) * 2  # two replicate runs of 128: 256 bytes, 16 x 16 pixels
    too_long = bytes([0x81, 7]) * 3  # 384 bytes
    ds = factory.base_dataset(
        "rle_panic",
        RLELossless,
        rows=16,
        columns=16,
        n_frames=2,
        photometric="MONOCHROME2",
        bits_allocated=16,
    )
    frames = [_rle_frame([too_long, right]), _rle_frame([right, right])]
    factory.set_encapsulated_pixels(ds, encapsulate(frames))
    return factory.write(ds, folder / "rle_panic.dcm")


def _frame_time_1e308(folder: Path) -> Path:
    case = factory.make_explicit_le_mono2_8bit(folder / "good")
    ds = pydicom.dcmread(case.path)
    ds.FrameTime = "1e308"  # 4 frames: the duration overflows to infinity
    path = folder / "frame_time_1e308.dcm"
    ds.save_as(path)
    return path


def _physical_delta_inf(folder: Path) -> Path:
    path = write_jpeg_loop(folder / "physical_delta_inf.dcm", 3, rows=48, columns=64)
    ds = pydicom.dcmread(path)
    ds.SequenceOfUltrasoundRegions[0].PhysicalDeltaX = float("inf")
    ds.save_as(path)
    return path


TRACEBACK_CASES: dict[str, Callable[[Path], Path]] = {
    "deflate_corrupt": _deflate_corrupt,
    "unknown_vr_in_numberofframes": _unknown_vr_in_number_of_frames,
    "bad_group_length": _bad_group_length,
    "odd_length_us": _odd_length_us,
    "eot_odd": _eot_odd,
    "eot_empty": _eot_empty,
    "ybr_full_signed": _ybr_full_signed,
    "empty_fragment": _empty_fragment,
    "rle_panic": _rle_panic,
    "frame_time_1e308": _frame_time_1e308,
    "physical_delta_x_inf": _physical_delta_inf,
}


class _Background:
    """Hostile files of group 8 and their command-line runs, started at once."""

    def __init__(self, folder: Path) -> None:
        self.files = {name: build(folder) for name, build in TRACEBACK_CASES.items()}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hostile-cli")
        self.runs: dict[tuple[str, str], Future[subprocess.CompletedProcess[str]]] = {}
        self.pngs: dict[str, Path] = {}
        for name, path in self.files.items():
            self.runs[name, "info"] = self._pool.submit(_cli, "info", "--json", path)
            png = self.pngs[name] = folder / f"{name}.png"
            self.runs[name, "frame"] = self._pool.submit(
                _cli, "frame", path, "--index", "0", "--output", png
            )

    def wait(self) -> None:
        for future in self.runs.values():
            future.exception()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module", autouse=True)
def background(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Background]:
    """Builds group 8's files and starts their CLI runs before the first test."""
    jobs = _Background(tmp_path_factory.mktemp("hostile"))
    yield jobs
    jobs.close()


@pytest.mark.parametrize("case", list(TRACEBACK_CASES))
def test_former_traceback_inputs_raise_only_cine_errors(background: _Background, case: str) -> None:
    _expect_corrupt_or_frames(background.files[case], (0, 1))


@pytest.mark.parametrize("case", list(TRACEBACK_CASES))
def test_former_traceback_inputs_cli_info_json(background: _Background, case: str) -> None:
    path = background.files[case]
    proc = background.runs[case, "info"].result()
    _assert_clean_outcome(proc, path)
    if proc.returncode == 0:
        assert "Infinity" not in proc.stdout
        assert "NaN" not in proc.stdout
        assert isinstance(_strict_json(proc.stdout), dict)


@pytest.mark.parametrize("case", list(TRACEBACK_CASES))
def test_former_traceback_inputs_cli_frame(background: _Background, case: str) -> None:
    path = background.files[case]
    proc = background.runs[case, "frame"].result()
    _assert_clean_outcome(proc, path)
    if proc.returncode == 0:
        assert cv2.imread(str(background.pngs[case])) is not None


# ======================================================================== 9. threads


def test_concurrent_frame_calls_return_the_right_frames(tmp_path: Path) -> None:
    path = write_jpeg_loop(tmp_path / "loop.dcm", 12, rows=96, columns=128)
    with usannotate.open_cine(path, prefetch_frames=0) as reference_loop:
        reference = [reference_loop.decode_frame(i).copy() for i in range(12)]
    errors: list[str] = []
    wrong: list[int] = []
    loop = usannotate.open_cine(path, prefetch_frames=8, cache_bytes=3 * 96 * 128 * 3)

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(2000):
            index = rng.randrange(12)
            try:
                frame = loop.frame(index)
            except BaseException as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                return
            if not np.array_equal(frame, reference[index]):
                wrong.append(index)

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loop.close()
    assert errors == []
    assert wrong == []


def test_close_while_other_threads_read(tmp_path: Path) -> None:
    """Readers see correct frames or a CineError saying the loop is closed; never an
    OSError, nor bytes of another file that reused the closed descriptor number."""
    path = write_jpeg_loop(tmp_path / "loop.dcm", 12, rows=96, columns=128)
    other = write_jpeg_loop(tmp_path / "other.dcm", 12, rows=64, columns=80)
    with usannotate.open_cine(path, prefetch_frames=0) as reference_loop:
        reference = [reference_loop.decode_frame(i).copy() for i in range(12)]
    bad: list[str] = []
    for trial in range(50):
        loop = usannotate.open_cine(path, prefetch_frames=8 if trial % 2 else 0, cache_bytes=0)
        stop = threading.Event()

        def reader(offset: int, loop: usannotate.CineLoop = loop, stop: threading.Event = stop):
            index = offset
            while not stop.is_set():
                try:
                    frame = loop.frame(index % 12)
                except CineError as exc:
                    if "closed" not in str(exc):
                        bad.append(f"{type(exc).__name__}: {exc}")
                    return
                except BaseException as exc:
                    bad.append(f"{type(exc).__name__}: {exc}")
                    return
                if not np.array_equal(frame, reference[index % 12]):
                    bad.append(f"wrong pixels for frame {index % 12}")
                    return
                index += 1

        readers = [threading.Thread(target=reader, args=(k * 5,)) for k in range(2)]
        for thread in readers:
            thread.start()
        time.sleep(0.002)
        loop.close()
        reuse = os.open(other, os.O_RDONLY)  # likely takes the number just freed
        time.sleep(0.002)
        stop.set()
        for thread in readers:
            thread.join()
        os.close(reuse)
    assert bad == [], sorted(set(bad))[:10]


# ========================================================== 10. descriptors after failures


def _layout_mismatch(folder: Path) -> Path:
    """RLE transfer syntax, but a defined-length (native) Pixel Data value."""
    data = _factory_bytes(folder, factory.make_explicit_le_mono2_8bit)
    return _patched(  # same length: RLE Lossless instead of Explicit VR Little Endian
        folder, "layout_mismatch", data, b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2.5\x00"
    )


def _no_offset_table_item(folder: Path) -> Path:
    """Encapsulated Pixel Data whose first item tag is not (FFFE,E000)."""
    case = factory.make_jpeg_baseline_mono2(folder / "good")
    data = case.path.read_bytes()
    offset, _ = factory.encapsulated_items(data)[0]
    patched = bytearray(data)
    patched[offset : offset + 4] = b"\xfe\xff\x0d\xe0"
    path = folder / "no_offset_table_item.dcm"
    path.write_bytes(bytes(patched))
    return path


FAILING_AFTER_HEADER = {
    "eot_odd": _eot_odd,
    "layout_mismatch": _layout_mismatch,
    "no_offset_table_item": _no_offset_table_item,
}


@pytest.mark.parametrize("case", list(FAILING_AFTER_HEADER))
def test_failed_opens_leak_no_file_descriptors(
    tmp_path: Path, case: str, background: _Background
) -> None:
    background.wait()  # its subprocess pipes would change the count
    path = FAILING_AFTER_HEADER[case](tmp_path)
    failures = 0

    def attempt() -> None:
        nonlocal failures
        try:
            usannotate.open_cine(path, prefetch_frames=0).close()
        except Exception:
            failures += 1

    attempt()  # first use may open lazily imported modules' files
    gc.collect()
    before = _fd_count()
    for _ in range(100):
        attempt()
    gc.collect()
    after = _fd_count()
    assert after == before, f"{after - before} descriptors left open by {failures} failures"
    if case != "eot_odd":  # a bad Extended Offset Table may be ignored instead
        assert failures == 101


# ============================================================ 11. patient data in errors


def _admission_id_leak(folder: Path) -> Path:
    """PixelRepresentation (US) with length 2 + 8 + 19: its value swallows the next
    element, AdmissionID = SECRET (19 bytes). pydicom's complaint about the odd length
    quotes those raw bytes."""
    ds = factory.base_dataset(
        "leak", ExplicitVRLittleEndian, rows=4, columns=4, n_frames=None, photometric="MONOCHROME2"
    )
    ds.PatientName = "DOE^JANE"
    ds.AdmissionID = "ADMX"  # placeholder, patched below
    factory.set_native_pixels(ds, bytes(range(16)))
    path = factory.write(ds, folder / "leak.dcm")
    data = bytearray(path.read_bytes())
    value = SECRET.encode()
    swallower = data.find(b"\x28\x00\x03\x01US\x02\x00")
    victim = data.find(b"\x38\x00\x10\x00LO\x04\x00ADMX")
    assert 0 < swallower < victim
    assert victim == swallower + 8 + 2  # adjacent elements
    data[victim : victim + 12] = b"\x38\x00\x10\x00LO" + struct.pack("<H", len(value)) + value
    data[swallower + 6 : swallower + 8] = struct.pack("<H", 2 + 8 + len(value))
    path.write_bytes(bytes(data))
    return path


def test_patient_data_never_appears_in_errors(tmp_path: Path) -> None:
    path = _admission_id_leak(tmp_path)
    assert SECRET.encode() in path.read_bytes()
    secrets = (SECRET, "DOE^JANE", "123456")
    runs = [
        _start_cli("info", path),
        _start_cli("frame", path, "--index", "0", "--output", tmp_path / "o.png"),
    ]
    warnings: list[str] = []
    errors: list[str] = []
    try:
        with usannotate.open_cine(path, prefetch_frames=0) as loop:
            warnings += loop.warnings
            loop.frame(0)
    except CineError as exc:
        errors.append(str(exc))
    except Exception as exc:  # a failure too; report it without quoting the bytes
        leaks = any(secret in str(exc) for secret in secrets)
        pytest.fail(f"{type(exc).__name__} instead of a CineError (quotes the secret: {leaks})")
    for message in warnings + errors:
        assert not any(secret in message for secret in secrets), message
    for message in errors:
        assert message.startswith(path.name), message
    for run in runs:
        proc = _finish_cli(run)
        assert not any(secret in proc.stderr for secret in secrets), proc.stderr
        _assert_clean_outcome(proc, path)
