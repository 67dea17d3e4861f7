"""A track's frame entries as a save writes them: interpolated ones made while writing.

The sidecar lists every frame of a track with its source, so a track with keyframes on
frames 0 and 99,999 is written as 100,000 entries. Building them all first took memory
in proportion to the loop's length (10.9 GB, then a ``MemoryError``, for 10^8 frames);
here the stored entries (keyframes, tracked frames, gaps) are built up front, to be
checked before anything is written, and the interpolated ones a batch of points at a
time while the file is written, so memory follows the stored frames. The text is the
one :func:`usannotate.sidecar.encode.document_to_json` gives, byte for byte.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

import numpy as np

from usannotate.annotations import AnnotatedObject, FrameSource
from usannotate.sidecar._jsonfmt import RawJSON, StreamedList, one_line, points_json
from usannotate.sidecar._keys import ABSENT

#: Interpolated points, and entries, made and turned into text at a time.
BATCH_POINTS = 1 << 17
BATCH_ENTRIES = 4096
#: What the schema check of a save sees for points that are made while writing.
_PLACEHOLDER = [[0.0, 0.0]]
_INTERPOLATED = FrameSource.INTERPOLATED.value


class StreamedFrames(StreamedList):
    """The ``frames`` list of one object, for writing.

    ``checked_entries()`` gives every entry the save must check before writing (stored
    and gap entries with their points as JSON text, and interpolated entries that carry
    unknown keys, with placeholder points); ``line_batches()`` the text of every entry,
    in frame order, interpolated ones made on the way.
    """

    def __init__(
        self, obj: AnnotatedObject, frame_extra: dict[tuple[str, int], dict[str, Any]]
    ) -> None:
        self._obj = obj
        self._extra = {f: e for (oid, f), e in frame_extra.items() if oid == obj.id and e}
        stored = sorted(obj.frames)
        texts = points_json([obj.frames[f] for f in stored])
        self._stored_text = dict(zip(stored, texts, strict=True))
        self._absent = sorted(obj.absent)
        self._absent_set = set(obj.absent)
        self._stretches = list(obj._stretches())  # (frame, source, next stored or None)

    def __bool__(self) -> bool:
        return bool(self._stored_text or self._absent)

    # ------------------------------------------------------------ entries
    def _entry(self, frame: int, source: str, points: str | None) -> dict[str, Any]:
        entry: dict[str, Any] = {"frame": int(frame), "source": source}
        if points is not None:
            entry["points"] = RawJSON(points)
        unknown = self._extra.get(frame)
        if unknown:
            for key in sorted(unknown):
                if key in entry:
                    raise ValueError(f"the unknown key {key!r} has the name of a sidecar key")
                entry[key] = unknown[key]
        return entry

    def _line(self, frame: int, source: str, points: str | None) -> str:
        if points is not None and frame not in self._extra:  # the common case, quickly
            return f'{{"frame": {frame}, "source": "{source}", "points": {points}}}'
        return one_line(self._entry(frame, source, points))

    def checked_entries(self) -> list[dict[str, Any]]:
        """Every entry but the interpolated ones without unknown keys, in frame order,
        as the schema check of a save sees them: points as a placeholder (the points
        themselves are checked, more strictly, by ``consistency_problems``)."""
        tracked = self._obj.tracked
        keyframe, tracked_source = FrameSource.KEYFRAME.value, FrameSource.TRACKED.value
        entries = {
            frame: {
                "frame": frame,
                "source": tracked_source if frame in tracked else keyframe,
                "points": _PLACEHOLDER,
            }
            for frame in self._stored_text
        }
        if not (self._absent or self._extra):
            return list(entries.values())  # in frame order already
        for frame in self._absent:
            entries[frame] = self._entry(frame, ABSENT, None)
        for frame in self._extra:
            if frame in entries and frame not in self._absent_set:
                entries[frame] = {**self._entry(frame, self._source(frame), None)}
                entries[frame]["points"] = _PLACEHOLDER
            elif frame not in entries and self._interpolated(frame):
                entries[frame] = {**self._entry(frame, _INTERPOLATED, None)}
                entries[frame]["points"] = _PLACEHOLDER
        return [entries[f] for f in sorted(entries)]

    def _source(self, frame: int) -> str:
        tracked = frame in self._obj.tracked
        return (FrameSource.TRACKED if tracked else FrameSource.KEYFRAME).value

    def _interpolated(self, frame: int) -> bool:
        i = bisect.bisect_right(self._stretches, frame, key=lambda s: s[0]) - 1
        return i >= 0 and (after := self._stretches[i][2]) is not None and frame < after

    # -------------------------------------------------------------- lines
    def line_batches(self) -> Iterator[list[str]]:
        absent = self._absent
        next_absent = 0
        pending: list[tuple[int, str, str | np.ndarray]] = []  # frame, source, text or array
        pending_points = 0
        for left, source, right in self._stretches:
            while next_absent < len(absent) and absent[next_absent] < left:
                pending.append((absent[next_absent], ABSENT, ""))
                next_absent += 1
            if next_absent < len(absent) and absent[next_absent] == left:
                pending.append((left, ABSENT, ""))  # a gap marker replaces the frame
                next_absent += 1
            else:
                pending.append((left, source.value, self._stored_text[left]))
            if right is None:
                continue
            match = self._obj._correspondence(left, right)
            per_frame = max(1, len(match.start))
            step = max(1, min(BATCH_ENTRIES, BATCH_POINTS // per_frame))
            for first in range(left + 1, right, step):
                frames = np.arange(first, min(right, first + step))
                t = (frames - left) / (right - left)
                blended = (1.0 - t)[:, None, None] * match.start + t[:, None, None] * match.end
                pending += [
                    (f, _INTERPOLATED, points)
                    for f, points in zip(frames.tolist(), blended, strict=True)
                ]
                pending_points += blended.shape[0] * per_frame
                if pending_points >= BATCH_POINTS or len(pending) >= BATCH_ENTRIES:
                    yield self._lines(pending)
                    pending, pending_points = [], 0
        pending += [(f, ABSENT, "") for f in absent[next_absent:]]
        yield self._lines(pending)

    def _lines(self, pending: list[tuple[int, str, str | np.ndarray]]) -> list[str]:
        arrays = [p for _, _, p in pending if type(p) is np.ndarray]
        if not arrays and not self._extra and not self._absent:  # stored frames only
            return [
                f'{{"frame": {frame}, "source": "{source}", "points": {points}}}'
                for frame, source, points in pending
            ]
        made = iter(points_json(arrays))
        lines = []
        for frame, source, points in pending:
            if source == ABSENT:
                lines.append(self._line(frame, ABSENT, None))
            elif type(points) is np.ndarray:
                lines.append(self._line(frame, source, next(made)))
            else:
                lines.append(self._line(frame, source, points))  # type: ignore[arg-type]
        return lines
