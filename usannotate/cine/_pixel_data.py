"""Where each frame's bytes are in the file: native offsets and encapsulated fragments.

Nothing here reads pixel data at open time beyond the offset tables, so opening a
600-frame loop costs what opening a 1-frame loop costs.
"""

from __future__ import annotations

import itertools
import struct
import threading
from dataclasses import dataclass

from usannotate.cine._fileio import PositionalFile
from usannotate.cine.errors import CorruptDicomError

PIXEL_DATA_TAG = (0x7FE0, 0x0010)
_ITEM = (0xFFFE, 0xE000)
_SEQUENCE_DELIMITER = (0xFFFE, 0xE0DD)
_LONG_VRS = {
    b"OB",
    b"OW",
    b"OF",
    b"OD",
    b"OL",
    b"OV",
    b"SQ",
    b"UN",
    b"UT",
    b"UC",
    b"UR",
    b"SV",
    b"UV",
}
UNDEFINED_LENGTH = 0xFFFFFFFF


@dataclass(frozen=True)
class PixelDataElement:
    """Position of the Pixel Data value in the file; ``length`` None when undefined."""

    value_offset: int
    length: int | None
    vr: str = "OB"


def read_pixel_data_header(
    file: PositionalFile, offset: int, *, little_endian: bool, implicit_vr: bool
) -> PixelDataElement | None:
    """Parse the Pixel Data element header at ``offset``; None if another tag is there."""
    header = file.read_at(offset, 12) or file.read_at(offset, 8)
    if header is None:
        return None
    order = "<" if little_endian else ">"
    group, element = struct.unpack(order + "HH", header[:4])
    if (group, element) != PIXEL_DATA_TAG:
        return None
    vr = header[4:6]
    # Some writers declare explicit VR but write implicit VR: trust the bytes.
    if implicit_vr or not (vr.isalpha() and vr.isupper()):
        (length,) = struct.unpack(order + "L", header[4:8])
        value_offset, vr = offset + 8, b"OW"
    elif vr in _LONG_VRS:
        if len(header) < 12:
            return None
        (length,) = struct.unpack(order + "L", header[8:12])
        value_offset = offset + 12
    else:
        (length,) = struct.unpack(order + "H", header[6:8])
        value_offset = offset + 8
    return PixelDataElement(
        value_offset, None if length == UNDEFINED_LENGTH else length, vr.decode("ascii")
    )


@dataclass
class _Fragment:
    data_offset: int
    length: int
    complete: bool  # False when the file ends inside it


#: More fragments than this in one frame is a damaged (or hostile) file, not a scanner's.
MAX_FRAGMENTS_PER_FRAME = 10_000


def _starts_stream(first_bytes: bytes) -> bool:
    """A JPEG / JPEG-LS (SOI), JPEG 2000 codestream (SOC) or JP2 file starts here."""
    return first_bytes[:2] in (b"\xff\xd8", b"\xff\x4f") or first_bytes[:4] == b"\x00\x00\x00\x0c"


def _ends_stream(last_bytes: bytes) -> bool:
    """The fragment ends with an end-of-image / end-of-codestream marker (FF D9), padding
    allowed."""
    return last_bytes.rstrip(b"\x00")[-2:] == b"\xff\xd9"


class FragmentIndex:
    """Maps frame index -> list of fragments of an encapsulated Pixel Data value, and
    counts the frames really in the file (:attr:`n_frames`).

    Uses the Extended Offset Table or the Basic Offset Table when they are consistent
    and the file holds every frame they list; otherwise it walks the item headers. A
    frame is there when all of its fragments are complete in the file.

    Counting costs 8-byte item header reads, never fragment data: with a table, the
    last frame's headers only; without one, every item header (one small read per
    frame). Only where headers cannot tell where frames end (several fragments per
    frame with no usable table, or a file that ends early) are the codec's start and
    end markers read too (a few bytes at each end of each fragment).
    """

    def __init__(
        self,
        file: PositionalFile,
        value_offset: int,
        n_frames: int,
        path: str,
        *,
        one_fragment_per_frame: bool = False,
        extended_offsets: tuple[list[int], list[int]] | None = None,
    ) -> None:
        self._file = file
        self._path = path
        self._n_frames = n_frames  # as declared (bounded by what the file could hold)
        self._one_per_frame = one_fragment_per_frame
        self._lock = threading.Lock()
        bot_header = self._item_header(value_offset)
        if bot_header is None or bot_header[0] != _ITEM:
            raise CorruptDicomError(
                path, "the compressed pixel data does not start with an offset table item"
            )
        bot_length = bot_header[1]
        self._first_item = value_offset + 8 + bot_length
        if self._first_item > file.size:
            raise CorruptDicomError(
                path, "the pixel data offset table runs past the end of the file"
            )
        self._bot: list[int] | None = None
        self._eot = None
        if (
            extended_offsets is not None
            and len(extended_offsets[1]) == n_frames
            and self._valid_offsets(extended_offsets[0])
        ):
            self._eot = extended_offsets
        elif bot_length and bot_length % 4 == 0:
            raw = file.read_at(value_offset + 8, bot_length)
            offsets = list(struct.unpack(f"<{bot_length // 4}L", raw)) if raw else []
            if self._valid_offsets(offsets):
                self._bot = offsets
        # Walked fragment list and the index of the fragment that starts each frame.
        self._fragments: list[_Fragment] = []
        self._frame_starts: list[int] = []
        self._scan_pos = self._first_item
        self._scan_done = False
        self._scan_end = ""  # why the walk stopped: "delimiter", "end of file", "damaged"
        self._previous_ended = False
        #: Why there are fewer frames than declared ("" when all are there).
        self.shortfall = ""
        #: Frames really in the file: each one's fragments all complete.
        self.n_frames = self._count_frames()

    def _valid_offsets(self, offsets: list[int]) -> bool:
        return (
            len(offsets) == self._n_frames
            and offsets[0] == 0
            and all(b > a for a, b in itertools.pairwise(offsets))
            and self._first_item + offsets[-1] < self._file.size
        )

    def _item_header(self, offset: int) -> tuple[tuple[int, int], int] | None:
        raw = self._file.read_at(offset, 8)
        if raw is None:
            return None
        group, element, length = struct.unpack("<HHL", raw)
        return (group, element), length

    # ----------------------------------------------------------- counting
    def _count_frames(self) -> int:
        if self._eot is not None:
            last = self._n_frames - 1
            start = self._first_item + self._eot[0][last]
            return self._n_frames if self._item_is_whole(start) else self._cut(last)
        if self._bot is not None:
            last = self._n_frames - 1
            whole = self._last_frame_is_whole(self._first_item + self._bot[last])
            return self._n_frames if whole else self._cut(last)
        if self._one_per_frame or self._n_frames == 1:
            return self._count_by_headers()
        walked = self._walk_headers(self._first_item, self._n_frames + 1)
        if len(walked) == self._n_frames and walked[-1].complete:
            # As many complete items as frames: one fragment each (what scanners write).
            self._adopt_one_per_frame(walked)
            return self._n_frames
        return self._count_by_markers()

    def _cut(self, present: int) -> int:
        self.shortfall = "the file is cut short"
        return present

    def _item_is_whole(self, offset: int) -> bool:
        """Whether the item at ``offset`` lies in the file (a damaged tag counts as whole:
        reading that frame says what is wrong)."""
        header = self._item_header(offset)
        if header is None:
            return False
        return header[0] != _ITEM or offset + 8 + header[1] <= self._file.size

    def _last_frame_is_whole(self, start: int) -> bool:
        """Whether the fragments from ``start`` to the end of the pixel data are complete
        (item headers only; damage is left for reading the frame to report)."""
        pos, count = start, 0
        while count <= MAX_FRAGMENTS_PER_FRAME:
            header = self._item_header(pos)
            if header is None:
                return count > 0  # the file ends after a whole item: no delimiter
            tag, length = header
            if tag != _ITEM:
                return count > 0 or tag != _SEQUENCE_DELIMITER
            if length == UNDEFINED_LENGTH or pos + 8 + length > self._file.size:
                return False
            pos += 8 + length
            count += 1
        return True

    def _walk_headers(self, start: int, limit: int) -> list[_Fragment]:
        """Up to ``limit`` fragments from ``start``, reading 8-byte item headers only;
        stops after an incomplete one and sets ``_scan_end``."""
        fragments: list[_Fragment] = []
        pos = start
        self._scan_end = ""
        while len(fragments) < limit:
            header = self._item_header(pos)
            if header is None:
                self._scan_end = "end of file"
                break
            tag, length = header
            if tag == _SEQUENCE_DELIMITER:
                self._scan_end = "delimiter"
                break
            if tag != _ITEM:
                if not fragments and pos == self._first_item:
                    raise CorruptDicomError(
                        self._path,
                        f"found tag ({tag[0]:04X},{tag[1]:04X}) where a pixel data fragment "
                        "item (FFFE,E000) should be",
                    )
                self._scan_end = "damaged"
                break
            fragment = self._fragment(pos + 8, length)
            fragments.append(fragment)
            if not fragment.complete or length == UNDEFINED_LENGTH:
                self._scan_end = "end of file"
                break
            pos += 8 + length
        return fragments

    def _adopt_one_per_frame(self, walked: list[_Fragment]) -> None:
        """Each of ``walked`` (complete fragments) is one frame; nothing is left to walk."""
        self._fragments = walked
        self._frame_starts = list(range(len(walked)))
        self._scan_done = True

    def _count_by_headers(self) -> int:
        """One fragment per frame (RLE), or a single frame made of all the fragments."""
        if self._n_frames == 1:
            walked = self._walk_headers(self._first_item, MAX_FRAGMENTS_PER_FRAME + 1)
            if len(walked) > MAX_FRAGMENTS_PER_FRAME:
                raise CorruptDicomError(
                    self._path,
                    f"frame 0 is split into more than {MAX_FRAGMENTS_PER_FRAME} fragments",
                )
            self._fragments = walked
            self._frame_starts = [0] if walked else []
            self._scan_done = True
            whole = bool(walked) and all(f.complete for f in walked)
            return 1 if whole else self._shortfall_of(0)
        walked = self._walk_headers(self._first_item, self._n_frames)
        complete = [f for f in walked if f.complete and f.length != UNDEFINED_LENGTH]
        self._adopt_one_per_frame(complete)
        if len(complete) == self._n_frames:
            return self._n_frames
        return self._shortfall_of(len(complete))

    def _count_by_markers(self) -> int:
        """Frame boundaries from the codec's start / end markers (reads a few bytes of
        every fragment)."""
        self._fragments, self._frame_starts = [], []
        self._scan_pos, self._scan_done, self._previous_ended = self._first_item, False, False
        self._scan_until(self._n_frames)
        started = len(self._frame_starts)
        if started > self._n_frames:  # the next frame began: every declared one ended
            return self._n_frames
        if not started:
            return self._shortfall_of(0)
        last = self._fragments[self._frame_starts[-1] :]
        whole = all(f.complete for f in last) and (
            self._scan_end == "delimiter" or self._previous_ended
        )
        present = started if whole else started - 1
        return present if present == self._n_frames else self._shortfall_of(present)

    def _shortfall_of(self, present: int) -> int:
        self.shortfall = {
            "delimiter": "the pixel data holds no more",
            "damaged": "the pixel data is damaged after them",
        }.get(self._scan_end, "the file is cut short")
        return present

    # ------------------------------------------------------------- frames
    def frame_bytes(self, index: int) -> bytes:
        """The concatenated fragments of frame ``index`` (0-based)."""
        fragments = self._fragments_of(index)
        parts = []
        for fragment in fragments:
            if not fragment.complete:
                raise CorruptDicomError(
                    self._path, f"frame {index} is cut short: the file ends inside its data"
                )
            data = self._file.read_at(fragment.data_offset, fragment.length)
            if data is None:
                raise CorruptDicomError(self._path, f"frame {index} could not be read")
            parts.append(data)
        return b"".join(parts)

    def _fragments_of(self, index: int) -> list[_Fragment]:
        if self._eot is not None:
            start = self._first_item + self._eot[0][index]
            header = self._item_header(start)
            if header is None or header[0] != _ITEM:
                raise CorruptDicomError(self._path, f"frame {index}: bad extended offset table")
            # The item's own length bounds the read; the table's length only repeats it.
            return [self._fragment(start + 8, header[1])]
        if self._bot is not None:
            start = self._first_item + self._bot[index]
            end = self._first_item + self._bot[index + 1] if index + 1 < self._n_frames else None
            return self._walk(start, end, index)
        with self._lock:
            self._scan_until(index + 1)
            if index >= len(self._frame_starts):
                raise CorruptDicomError(
                    self._path,
                    f"frame {index} is missing: the file holds only "
                    f"{len(self._frame_starts)} of {self._n_frames} frames",
                )
            first = self._frame_starts[index]
            last = (
                self._frame_starts[index + 1]
                if index + 1 < len(self._frame_starts)
                else len(self._fragments)
            )
            return self._fragments[first:last]

    def _fragment(self, data_offset: int, length: int) -> _Fragment:
        return _Fragment(data_offset, length, data_offset + length <= self._file.size)

    def _walk(self, start: int, end: int | None, index: int) -> list[_Fragment]:
        """Fragments from ``start`` up to ``end`` (or the sequence delimiter / end of file)."""
        fragments: list[_Fragment] = []
        pos = start
        while end is None or pos < end:
            header = self._item_header(pos)
            if header is None:
                break  # end of file without a sequence delimiter: keep what is there
            tag, length = header
            if tag == _SEQUENCE_DELIMITER:
                break
            if tag != _ITEM:
                raise CorruptDicomError(
                    self._path,
                    f"frame {index}: found tag ({tag[0]:04X},{tag[1]:04X}) where a pixel data "
                    "fragment item (FFFE,E000) should be",
                )
            fragments.append(self._fragment(pos + 8, length))
            if len(fragments) > MAX_FRAGMENTS_PER_FRAME:
                raise CorruptDicomError(
                    self._path,
                    f"frame {index} is split into more than {MAX_FRAGMENTS_PER_FRAME} fragments",
                )
            pos += 8 + length
            if length == UNDEFINED_LENGTH:
                break
        if not fragments:
            raise CorruptDicomError(self._path, f"frame {index} is missing from the pixel data")
        return fragments

    def _scan_until(self, n_starts: int) -> None:
        """Walk item headers until ``n_starts`` frames have begun and the last one ended."""
        while not self._scan_done and len(self._frame_starts) <= n_starts:
            raw = self._file.read_at(self._scan_pos, 12) or self._file.read_at(self._scan_pos, 8)
            if raw is None:
                self._scan_done, self._scan_end = True, "end of file"  # no delimiter
                break
            group, element, length = struct.unpack("<HHL", raw[:8])
            if (group, element) == _SEQUENCE_DELIMITER:
                self._scan_done, self._scan_end = True, "delimiter"
                break
            if (group, element) != _ITEM:
                self._scan_done, self._scan_end = True, "damaged"
                if not self._fragments:
                    raise CorruptDicomError(
                        self._path,
                        f"found tag ({group:04X},{element:04X}) where a pixel data fragment "
                        "item (FFFE,E000) should be",
                    )
                break
            fragment = self._fragment(self._scan_pos + 8, length)
            if self._n_frames == 1:
                starts = not self._fragments
            elif self._one_per_frame or not self._fragments:
                starts = True
            else:
                # A new frame starts where the previous fragment closed its stream and
                # this one opens a new stream; either alone occurs inside JPEG 2000 data.
                starts = self._previous_ended and _starts_stream(raw[8:12])
            if starts:
                self._frame_starts.append(len(self._fragments))
            elif len(self._fragments) - self._frame_starts[-1] >= MAX_FRAGMENTS_PER_FRAME:
                self._scan_done = True
                raise CorruptDicomError(
                    self._path,
                    f"frame {len(self._frame_starts) - 1} is split into more than "
                    f"{MAX_FRAGMENTS_PER_FRAME} fragments",
                )
            self._fragments.append(fragment)
            tail = self._file.read_at(fragment.data_offset + max(0, length - 3), min(3, length))
            self._previous_ended = tail is not None and _ends_stream(tail)
            if not fragment.complete or length == UNDEFINED_LENGTH:
                self._scan_done, self._scan_end = True, "end of file"
                break
            self._scan_pos += 8 + length
