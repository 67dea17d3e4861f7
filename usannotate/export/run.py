"""One export request, run: what the CLI's ``export`` and File > Export both call.

No Qt. An :class:`ExportRequest` names the format, the loops and the options;
:func:`run_export` writes it, reporting progress as a fraction and stopping with
:class:`ExportCancelled` when asked to (files written so far stay, each whole: every file
is written atomically, and the index files of COCO, YOLO and masks come last).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from usannotate.export._common import ExportError, FrameChoice, Progress, annotated_loop
from usannotate.export._imageset_jobs import PartialExport

__all__ = ["ExportCancelled", "ExportFormat", "ExportRequest", "PartialExport", "run_export"]


class ExportFormat(StrEnum):
    """The formats, by the CLI's names."""

    SR = "sr"
    CVAT = "cvat"
    COCO = "coco"
    YOLO = "yolo"
    MASKS = "masks"

    @property
    def per_loop(self) -> bool:
        """One file per loop (SR, CVAT) rather than one data set for all the loops."""
        return self in (ExportFormat.SR, ExportFormat.CVAT)

    @property
    def suffix(self) -> str:
        """The ending of a per-loop file written into a folder."""
        return {ExportFormat.SR: ".sr.dcm", ExportFormat.CVAT: ".cvat.xml"}.get(self, "")


class ExportCancelled(Exception):
    """The export was asked to stop; what it wrote so far is whole."""


@dataclass(frozen=True)
class ExportRequest:
    """An export to make.

    Attributes
    ----------
    format
        What to write.
    loops
        The DICOM loops (each with its sidecar, unless ``sidecar`` names it).
    output
        The file for one loop of a per-loop format (``single``), else a folder.
    single
        ``output`` is the file of the one loop in ``loops``.
    sidecar
        The sidecar of the one loop, when not the one beside it.
    frames, all_frames, allow_px, line_width_px, val_fraction, seed
        The formats' options (see the CLI's help).
    jobs
        For several loops: loops exported at once, each in its own process
        (:mod:`usannotate.batch`); a loop that fails is listed at the end
        (:class:`PartialExport`) and the others are written (for COCO, YOLO and masks:
        the data set of the others). 1: in this process, in order, the first failure
        stops the export (the app's dialog, with cancel).
    """

    format: ExportFormat
    loops: tuple[Path, ...]
    output: Path
    single: bool = True
    sidecar: Path | None = None
    frames: FrameChoice = FrameChoice.ANNOTATED
    all_frames: bool = False
    allow_px: bool = False
    line_width_px: int = 3
    val_fraction: float = 0.0
    seed: int = 0
    jobs: int = 1


#: Progress of a run: ``(fraction done 0..1, file name being written)``.
RunProgress = Callable[[float, str], None]


def run_export(
    request: ExportRequest,
    progress: RunProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
    loop_done: Progress | None = None,
) -> list[Path]:
    """Write ``request``; returns the files written (per loop) or the data set's index.

    ``progress`` hears ``(fraction done, file name)`` often (per track, per frame);
    ``loop_done`` hears ``(loops done, loops, file name)`` once per loop.

    Raises
    ------
    ExportError
        Bad input (one line, file names only).
    ExportCancelled
        ``cancelled()`` turned true.
    OSError
        A file could not be written.
    """
    loops = list(request.loops)
    if not loops:
        raise ExportError("no loop to export")

    def report(fraction: float, name: str) -> None:
        if cancelled is not None and cancelled():
            raise ExportCancelled
        if progress is not None:
            progress(min(max(fraction, 0.0), 1.0), name)

    if request.format.per_loop:
        return _per_loop(request, loops, report, loop_done)
    from usannotate.export import write_coco, write_masks, write_yolo

    state = {"loop": 0}

    def on_loop(done: int, total: int, name: str) -> None:
        state["loop"] = done
        report(done / total, name)
        if loop_done is not None:
            loop_done(done, total, name)

    def on_frame(done: int, total: int) -> None:
        report((state["loop"] + done / max(total, 1)) / len(loops), "")

    common = {"progress": on_loop, "frame_progress": on_frame, "jobs": request.jobs}
    if request.format is ExportFormat.COCO:
        return write_coco(
            loops,
            request.output,
            request.frames,
            val_fraction=request.val_fraction,
            seed=request.seed,
            **common,
        )
    if request.format is ExportFormat.YOLO:
        return [
            write_yolo(
                loops,
                request.output,
                request.frames,
                val_fraction=request.val_fraction,
                seed=request.seed,
                **common,
            )
        ]
    return [
        write_masks(
            loops, request.output, request.frames, line_width_px=request.line_width_px, **common
        )
    ]


def _per_loop(
    request: ExportRequest, loops: list[Path], report: RunProgress, loop_done: Progress | None
) -> list[Path]:
    from usannotate.export import write_cvat, write_sr

    if request.sidecar is not None and not request.single:
        raise ExportError("--sidecar names the sidecar of one loop: give one DICOM")
    if request.single and len(loops) != 1:
        raise ExportError("one output file holds one loop: give a folder for several")
    if not request.single:
        request.output.mkdir(parents=True, exist_ok=True)
    if request.jobs > 1 and not request.single:
        return _per_loop_processes(request, loops, loop_done)
    written = []
    for done, dicom in enumerate(loops):
        target = (
            request.output
            if request.single
            else request.output / f"{dicom.name.rsplit('.', 1)[0]}{request.format.suffix}"
        )
        with annotated_loop(dicom, request.sidecar) as work:
            if request.format is ExportFormat.SR:

                def on_track(
                    tracks_done: int, tracks: int, done: int = done, name: str = dicom.name
                ) -> None:
                    report((done + tracks_done / tracks) / len(loops), name)

                written.append(
                    write_sr(
                        work,
                        target,
                        all_frames=request.all_frames,
                        allow_px=request.allow_px,
                        progress=on_track,
                    )
                )
            else:
                written.append(write_cvat(work, target))
        report((done + 1) / len(loops), dicom.name)
        if loop_done is not None:
            loop_done(done + 1, len(loops), dicom.name)
    return written


def _per_loop_processes(
    request: ExportRequest, loops: list[Path], loop_done: Progress | None
) -> list[Path]:
    """:func:`_per_loop` with the loops shared out to ``request.jobs`` processes."""
    import functools

    from usannotate.batch import run_batch
    from usannotate.sidecar.placement import default_layout

    names = {index: dicom.name for index, dicom in enumerate(loops)}
    batch = run_batch(
        functools.partial(_export_one, request, default_layout().annotation_folder),
        loops,
        jobs=request.jobs,
        progress=None
        if loop_done is None
        else lambda done, _failed: loop_done(done, len(loops), names[done - 1]),
        expected=(ExportError, OSError),
    )
    written = [path for _, path in batch.succeeded()]
    if batch.failed:
        raise PartialExport(written, [reason for _, reason in batch.failed], len(loops))
    return written


def _export_one(request: ExportRequest, annotation_folder: Path | None, dicom: Path) -> Path:
    """One loop of a per-loop export in a worker process (``--annotations`` set there)."""
    from usannotate.sidecar.placement import set_annotation_folder

    set_annotation_folder(annotation_folder)
    one = dataclasses.replace(request, loops=(dicom,), jobs=1)
    try:
        [path] = _per_loop(one, [dicom], lambda _fraction, _name: None, None)
    except OSError as exc:  # named here: the parent lists it with the others
        reason = exc.strerror or "I/O error"
        raise ExportError(f"{dicom.name}: could not be written ({reason})") from exc
    return path
