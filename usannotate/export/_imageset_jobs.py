"""The loops of an image-set export (COCO, YOLO, masks) on one or several processes.

No Qt. Each loop's part of a data set (its PNGs and label files, and the index entries
they need) is made by one call of a picklable function of the loop; the writer merges the
parts in the loops' order and numbers them, so the data set is the same whichever process
made which loop. With ``jobs`` 1 the loops run here in order with per-frame progress (the
window's dialog can cancel) and the first failure stops the export; with more, in
:func:`usannotate.batch.run_batch`'s processes, and the loops that fail are listed at the
end (:class:`PartialExport`) after the index of the others is written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from usannotate.export._common import ExportError, FrameChoice, Progress
from usannotate.export._imageset import FrameProgress

__all__ = ["InItsSplit", "PartialExport", "loop_parts"]

#: A loop's part of a data set: ``part_of(dicom, frame_progress)`` -> its index entries.
PartOf = Callable[[Path, FrameProgress | None], Any]


@dataclass(frozen=True)
class InItsSplit:
    """A :data:`PartOf` for the split chosen for each loop (``train``, ``val``):
    ``make(out, split, frames, numbers, dicom, frame_progress)``, picklable when ``make``
    is a module-level function (COCO's categories and YOLO's classes are ``numbers``)."""

    make: Callable[..., Any]
    out: Path
    splits: dict[Path, str]
    frames: FrameChoice
    numbers: dict[str, int]

    def __call__(self, dicom: Path, frame_progress: FrameProgress | None) -> Any:
        split = self.splits[dicom]
        return self.make(self.out, split, self.frames, self.numbers, dicom, frame_progress)


class PartialExport(ExportError):
    """Some loops of an export on several processes failed: ``failed`` their one-line
    reasons, ``written`` the files of the others (the per-loop files, or the index)."""

    def __init__(self, written: list[Path], failed: list[str], n_loops: int) -> None:
        super().__init__(f"{len(failed)} of {n_loops} loops not exported")
        self.written, self.failed = written, failed


def loop_parts(
    part_of: PartOf,
    loops: Sequence[Path],
    *,
    jobs: int = 1,
    progress: Progress | None = None,
    frame_progress: FrameProgress | None = None,
) -> tuple[list[tuple[Path, Any]], list[str]]:
    """``part_of`` of every loop: ``([(loop, part)] in the loops' order, [reasons of the
    loops that failed])``; failures are collected only with ``jobs`` above 1 (with one
    job the first one is raised).

    Parameters
    ----------
    part_of
        Picklable when ``jobs`` > 1 (a ``functools.partial`` of a module-level function).
    progress
        ``(loops done, loops, file name)`` after each loop.
    frame_progress
        ``(frames done, frames)`` of the loop being written (one job only; it may raise
        to stop the export).
    """
    loops = list(loops)
    if jobs <= 1 or len(loops) == 1:
        parts = []
        for done, dicom in enumerate(loops, 1):
            parts.append((dicom, part_of(dicom, frame_progress)))
            if progress is not None:
                progress(done, len(loops), dicom.name)
        return parts, []
    from usannotate.batch import run_batch
    from usannotate.sidecar.placement import default_layout

    batch = run_batch(
        functools.partial(_in_worker, part_of, default_layout().annotation_folder),
        loops,
        jobs=jobs,
        progress=None
        if progress is None
        else lambda done, _failed: progress(done, len(loops), loops[done - 1].name),
        expected=(ExportError, OSError),
    )
    return batch.succeeded(), [reason for _, reason in batch.failed]


def _in_worker(part_of: PartOf, annotation_folder: Path | None, dicom: Path) -> Any:
    """One loop's part in a worker process (``--annotations`` set there as here)."""
    from usannotate.sidecar.placement import set_annotation_folder

    set_annotation_folder(annotation_folder)
    try:
        return part_of(dicom, None)
    except OSError as exc:  # named here: the parent lists it with the others
        reason = exc.strerror or "I/O error"
        raise ExportError(f"{dicom.name}: could not be written ({reason})") from exc
