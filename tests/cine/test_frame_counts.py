"""An encapsulated loop reports the frames really in the file, not what its header says.

Issue 9: a JPEG cine cut short (an interrupted copy) said "120 frames / 4.00 s" with no
warning, and asking for frame 8 then failed. Every file here is made with the project's
DICOM factory and then cut short, or given a NumberOfFrames larger than its data, in
each layout scanners write: one fragment per frame with or without a Basic Offset
Table, an Extended Offset Table, several fragments per frame, RLE.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import usannotate
from tests.cine import dicom_factory as factory
from usannotate.cine import CorruptDicomError, _fileio
from usannotate.cli import main

#: Fragments per frame of each JPEG layout of :func:`dicom_factory.make_jpeg_cine`.
FRAGMENTS_PER_FRAME = {
    "no_bot": 1,
    "bot": 1,
    "extended": 1,
    "fragmented_bot": 2,
    "fragmented_no_bot": 3,
}
FRAME_TIME_MS = 40.0


def _frames_complete_before(case: factory.Case, cut: int, per_frame: int) -> int:
    """How many whole frames the first ``cut`` bytes of ``case``'s file hold."""
    fragments = factory.fragments_of(case.path.read_bytes())
    ends = [offset + 8 + len(data) for offset, data in fragments]
    last_fragment_ends = ends[per_frame - 1 :: per_frame]
    return sum(1 for end in last_fragment_ends if end <= cut)


def _cut_points(case: factory.Case, per_frame: int) -> dict[str, int]:
    """Where to cut the file: inside a fragment, inside an item header, exactly between
    two fragments (inside a frame when it has several), one byte before the end."""
    fragments = factory.fragments_of(case.path.read_bytes())
    k = len(fragments) // 3 + 1  # a fragment a third of the way in
    offset, data = fragments[k]
    last_offset, last_data = fragments[-1]
    return {
        "inside_a_fragment": offset + 8 + len(data) // 2,
        "inside_an_item_header": offset + 5,
        "between_two_fragments": offset,
        "last_byte_missing": last_offset + 8 + len(last_data) - 1,
    }


def _assert_frames_shown(loop: usannotate.CineLoop, case: factory.Case) -> None:
    for i in range(loop.n_frames):
        pixels = loop.frame(i)
        if case.alternative is not None and np.array_equal(pixels, case.alternative[i]):
            continue
        assert np.array_equal(pixels, case.expected[i]), f"frame {i} is shown wrong"
    with pytest.raises(IndexError):
        loop.frame(loop.n_frames)


def _assert_reports(path: Path, case: factory.Case, present: int, declared: int) -> None:
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert loop.n_frames == present
        assert loop.declared_frames == declared
        assert loop.duration_ms == pytest.approx(present * FRAME_TIME_MS)
        said = [w for w in loop.warnings if f"declares {declared} frames" in w]
        assert said, loop.warnings
        assert f"only {present} " in said[0], said[0]
        _assert_frames_shown(loop, case)


@pytest.mark.parametrize("layout", list(FRAGMENTS_PER_FRAME))
@pytest.mark.parametrize(
    "where",
    ["inside_a_fragment", "inside_an_item_header", "between_two_fragments", "last_byte_missing"],
)
def test_jpeg_loop_cut_short_reports_the_frames_there(
    tmp_path: Path, layout: str, where: str
) -> None:
    case = factory.make_jpeg_cine(tmp_path / "good", 30, layout=layout)
    per_frame = FRAGMENTS_PER_FRAME[layout]
    cut = _cut_points(case, per_frame)[where]
    present = _frames_complete_before(case, cut, per_frame)
    assert 0 < present < 30
    path = factory.cut_short(case.path, tmp_path / f"cut-{layout}-{where}.dcm", cut)
    _assert_reports(path, case, present, 30)


@pytest.mark.parametrize("offset_table", [True, False], ids=["bot", "no_bot"])
def test_rle_loop_cut_short_reports_the_frames_there(tmp_path: Path, offset_table: bool) -> None:
    case = factory.make_rle_cine(tmp_path / "good", 12, offset_table=offset_table)
    fragments = factory.fragments_of(case.path.read_bytes())
    offset, data = fragments[5]
    path = factory.cut_short(case.path, tmp_path / "cut-rle.dcm", offset + 8 + len(data) // 2)
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert (loop.n_frames, loop.declared_frames) == (5, 12)
        assert any("declares 12 frames but only 5 " in w for w in loop.warnings), loop.warnings
        for i in range(5):
            assert np.array_equal(loop.frame(i), case.expected[i])


@pytest.mark.parametrize("layout", list(FRAGMENTS_PER_FRAME))
def test_number_of_frames_larger_than_the_fragments(tmp_path: Path, layout: str) -> None:
    """NumberOfFrames 7 over 4 frames of data; the offset tables (when there are) list
    the 4 frames that are really there."""
    case = factory.make_jpeg_cine(tmp_path / "good", 4, layout=layout)
    path = factory.with_number_of_frames(case.path, tmp_path / f"claims-7-{layout}.dcm", 7)
    _assert_reports(path, case, 4, 7)


@pytest.mark.parametrize("offset_table", [True, False], ids=["bot", "no_bot"])
def test_rle_number_of_frames_larger_than_the_fragments(tmp_path: Path, offset_table: bool) -> None:
    case = factory.make_rle_cine(tmp_path / "good", 4, offset_table=offset_table)
    path = factory.with_number_of_frames(case.path, tmp_path / "claims-7-rle.dcm", 7)
    with usannotate.open_cine(path, prefetch_frames=0) as loop:
        assert (loop.n_frames, loop.declared_frames) == (4, 7)
        assert any("declares 7 frames but only 4 " in w for w in loop.warnings), loop.warnings
        for i in range(4):
            assert np.array_equal(loop.frame(i), case.expected[i])


def test_complete_loops_have_no_warning(tmp_path: Path) -> None:
    for layout in FRAGMENTS_PER_FRAME:
        case = factory.make_jpeg_cine(tmp_path, 6, layout=layout)
        with usannotate.open_cine(case.path, prefetch_frames=0) as loop:
            assert (loop.n_frames, loop.declared_frames, loop.warnings) == (6, 6, [])


def test_single_frame_cut_inside_its_data_is_refused_at_open(tmp_path: Path) -> None:
    case = factory.make_jpeg_baseline_single_frame_odd_size(tmp_path / "good")
    [(offset, data)] = factory.fragments_of(case.path.read_bytes())
    path = factory.cut_short(case.path, tmp_path / "one-frame-cut.dcm", offset + 8 + len(data) // 2)
    with pytest.raises(CorruptDicomError) as raised:
        usannotate.open_cine(path)
    assert str(raised.value).startswith(path.name)
    assert "cut short" in str(raised.value)


def test_the_issue_case_120_frames_cut_to_a_third(tmp_path: Path, capsys) -> None:
    """The report: info said 120 frames / 4.80 s, and `frame --index 8` then failed."""
    case = factory.make_jpeg_cine(tmp_path / "good", 120)
    cut = case.path.stat().st_size // 3
    present = _frames_complete_before(case, cut, 1)
    path = factory.cut_short(case.path, tmp_path / "loop-cut.dcm", cut)

    assert main(["info", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    info = json.loads(out)
    assert (info["n_frames"], info["declared_frames"]) == (present, 120)
    assert info["duration_ms"] == pytest.approx(present * FRAME_TIME_MS)
    assert any("declares 120 frames" in w for w in info["warnings"])
    assert f"declares 120 frames but only {present} " in err

    assert main(["info", str(path)]) == 0
    out, _ = capsys.readouterr()
    assert f"frames        {present} (" in out

    png = tmp_path / "last.png"
    assert main(["frame", str(path), "--index", str(present - 1), "--output", str(png)]) == 0
    assert png.stat().st_size > 0
    capsys.readouterr()
    assert main(["frame", str(path), "--index", str(present), "--output", str(png)]) == 2
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1
    assert "out of range" in err


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = _fileio.PositionalFile.read_at

    def counting(self: _fileio.PositionalFile, offset: int, length: int) -> bytes | None:
        sizes.append(length)
        return real(self, offset, length)

    monkeypatch.setattr(_fileio.PositionalFile, "read_at", counting)
    return sizes


@pytest.mark.parametrize("layout", ["no_bot", "bot", "extended"])
def test_counting_reads_item_headers_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    """Opening reads 8-byte item headers (and the offset table), never fragment data: a
    walk over every header without a table, a few headers with one."""
    case = factory.make_jpeg_cine(tmp_path, 120, layout=layout)
    sizes = _count_reads(monkeypatch)
    with usannotate.open_cine(case.path, prefetch_frames=0) as loop:
        assert loop.n_frames == 120
    table_bytes = 4 * 120 if layout == "bot" else 0
    pixel_element_header = 12
    assert [s for s in sizes if s not in (8, pixel_element_header, table_bytes)] == []
    assert len(sizes) <= (120 + 4 if layout == "no_bot" else 6)
