"""Annotated frames of a loop as PNG files (no Qt): key frames, every frame, or a list."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2

from usannotate._atomic import write_atomically
from usannotate.export.annotated import AnnotatedLoop
from usannotate.export.errors import ExportCancelled, ExportError

__all__ = ["chosen_frames", "frame_file_name", "write_frames"]


def chosen_frames(media: AnnotatedLoop, choice: str | Sequence[int]) -> list[int]:
    """The frames ``choice`` names: ``"keyframes"`` (any track's), ``"all"``, a list of
    0-based indices, or their text ``"3,10,25"``. Raises :class:`ExportError`."""
    n = media.n_frames
    if isinstance(choice, str):
        if choice == "all":
            return list(range(n))
        if choice == "keyframes":
            frames = media.keyframes()
            if not frames:
                raise ExportError(media.name, "has no keyframes to export (no marks?)")
            return frames
        try:
            choice = [int(part) for part in choice.split(",") if part.strip()]
        except ValueError:
            raise ExportError(
                media.name, "--frames must be keyframes, all, or frame numbers like 3,10,25"
            ) from None
    frames = sorted(set(choice))
    if not frames:
        raise ExportError(media.name, "no frame chosen")
    bad = [f for f in frames if not 0 <= f < n]
    if bad:
        raise ExportError(media.name, f"frame {bad[0]} is not in the loop (frames 0 to {n - 1})")
    return frames


def frame_file_name(index: int) -> str:
    """``frame_0007.png`` for frame 7 (0-based, as everywhere in files)."""
    return f"frame_{index:04d}.png"


def write_frames(
    media: AnnotatedLoop,
    folder: str | os.PathLike[str],
    frames: Sequence[int],
    *,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[Path]:
    """Write ``frames`` of ``media`` as RGB PNGs in ``folder`` (each atomically)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for done, index in enumerate(frames):
        if cancelled is not None and cancelled():
            raise ExportCancelled()
        if progress is not None:
            progress(done, len(frames))
        ok, png = cv2.imencode(".png", cv2.cvtColor(media.frame(index), cv2.COLOR_RGB2BGR))
        if not ok:  # pragma: no cover - OpenCV's PNG encoder does not fail on uint8
            raise ExportError(frame_file_name(index), "PNG encoding failed")
        path = folder / frame_file_name(index)
        try:
            write_atomically(path, png.tobytes())
        except OSError as exc:
            raise ExportError(path.name, f"cannot be written ({exc.strerror or exc})") from None
        written.append(path)
    if progress is not None:
        progress(len(frames), len(frames))
    return written
