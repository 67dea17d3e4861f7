"""The ``usannotate track`` subcommand: loops' keyframes propagated headless (no Qt).

``usannotate track PATH... [--sidecar S] [--label ID] [--frames A:B] [--output S2.json]
[--jobs N] [--annotations DIR]`` propagates every track (or those of one label) from its
keyframes with the app's engine (:func:`usannotate.tracking.archive.track_loop`), marks
the results tracked, never touches a keyframe and writes each sidecar atomically (to
``--output``, else in place). A PATH is a loop, or a folder whose loops with a sidecar
(found by the placement rule, ``--annotations DIR`` included) are tracked; several loops
are shared out to ``--jobs`` processes (:func:`usannotate.batch.run_batch`) with one
progress line for them all, and the loops that failed are listed at the end (exit 2).
One loop shows its frames' progress. Messages name files by their name only.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from usannotate._cli_common import EXIT_BAD_INPUT, EXIT_OK, StepProgress, fail, file_name
from usannotate.batch import add_jobs_option, default_jobs, run_batch

#: The subcommand and its one-line summary (both helps show it).
COMMAND_HELP = {
    "track": "propagate loops' tracks from their keyframes (optical flow, fluid by its "
    "image), results marked tracked, keyframes untouched; writes the sidecars",
}


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add ``track`` to the ``usannotate`` parser."""
    track = commands.add_parser("track", help=COMMAND_HELP["track"])
    track.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a DICOM loop, or folders (their loops that have a sidecar are tracked)",
    )
    track.add_argument(
        "--sidecar", metavar="S", help="its sidecar (one loop only; default: the loop's own)"
    )
    track.add_argument("--label", metavar="ID", help="only the tracks of this label id")
    track.add_argument(
        "--frames",
        metavar="A:B",
        help="frames to fill (0-based, inclusive): also after the last keyframe and "
        "before the first within the range (default: only between keyframes)",
    )
    track.add_argument(
        "--output",
        metavar="S2.json",
        help="write here (one loop only; default: the sidecar, in place)",
    )
    add_jobs_option(track)  # for several loops


def _frame_range(text: str | None, n_frames: int) -> tuple[int, int] | str | None:
    """``A:B`` as (A, B), None when not given, or a message saying what is wrong."""
    if text is None:
        return None
    first, sep, last = text.partition(":")
    try:
        a = int(first) if first.strip() else 0
        b = int(last) if last.strip() else n_frames - 1
    except ValueError:
        return f"--frames must be A:B (0-based frame numbers), got {text!r}"
    if not sep or not 0 <= a < b <= n_frames - 1:
        return (
            f"--frames must be A:B with 0 <= A < B <= {n_frames - 1} (0-based, this loop "
            f"has {n_frames} frames), got {text!r}"
        )
    return a, b


class TrackFailure(Exception):
    """A loop that cannot be tracked: one line naming its file (name only)."""


@dataclass(frozen=True)
class TrackSettings:
    """What ``track`` was asked, the same for every loop (picklable, for the workers)."""

    label: str | None = None
    frames: str | None = None
    sidecar: str | None = None
    output: str | None = None
    annotation_folder: Path | None = None


@dataclass(frozen=True)
class TrackResult:
    """One loop tracked: its sidecar, frames made tracked, tracks looked at, notes, the
    file written (None: nothing to track, nothing written)."""

    dicom: str
    sidecar: str
    tracked: int
    tracks: int
    notes: tuple[str, ...]
    written: str | None


def track_file(
    dicom: str, settings: TrackSettings, progress: StepProgress | None = None
) -> TrackResult:
    """Track one loop and write its sidecar (atomically, by :func:`save_sidecar`).

    Raises
    ------
    TrackFailure
        The loop or its sidecar cannot be read, or the options do not fit it.
    """
    from usannotate.annotations import calibration_lookup
    from usannotate.annotations.marking import track_titles
    from usannotate.cine import CineError, open_cine
    from usannotate.sidecar import (
        SidecarError,
        check_loop,
        load_sidecar,
        save_sidecar,
        sidecar_path_for,
    )
    from usannotate.sidecar.placement import set_annotation_folder
    from usannotate.tracking.archive import track_loop

    set_annotation_folder(settings.annotation_folder)  # in a worker process too
    if not os.path.isfile(dicom):
        raise TrackFailure(f"{file_name(dicom)}: no such file")
    sidecar = settings.sidecar or str(sidecar_path_for(dicom))
    output = settings.output or sidecar
    try:
        with open_cine(dicom) as loop:
            if not os.path.exists(sidecar):
                raise TrackFailure(
                    f"{file_name(sidecar)}: no such sidecar (nothing annotated yet?)"
                )
            try:
                doc = load_sidecar(sidecar, dicom_uid=loop.identity.sop_instance_uid)
                check_loop(doc, loop, path=sidecar)
            except SidecarError as exc:
                raise TrackFailure(str(exc).splitlines()[0]) from None
            if doc.read_only:
                raise TrackFailure(
                    f"{file_name(sidecar)}: written by a newer usannotate; not changed"
                )
            frames = _frame_range(settings.frames, loop.n_frames)
            if isinstance(frames, str):
                raise TrackFailure(f"{file_name(dicom)}: {frames}")
            annotations = doc.annotations
            if settings.label is not None and annotations.label_set.get(settings.label) is None:
                raise TrackFailure(
                    f"{file_name(sidecar)}: no label {settings.label!r} in its label set"
                )
            calibration_for = calibration_lookup(
                annotations, loop.regions, (loop.columns, loop.rows)
            )

            def region_of(points):
                return calibration_for(points).region

            outcome = track_loop(
                annotations,
                loop.frame,
                loop.n_frames,
                track_titles(annotations),
                region_of,
                label_id=settings.label,
                frames=frames,
                progress=progress,
            )
    except CineError as exc:
        raise TrackFailure(str(exc).splitlines()[0]) from None
    notes = tuple(outcome.notes)
    if outcome.edit is None and output == sidecar:
        return TrackResult(dicom, sidecar, 0, outcome.tracks, notes, None)
    try:
        save_sidecar(doc, output)
    except SidecarError as exc:
        raise TrackFailure(str(exc).splitlines()[0]) from None
    return TrackResult(dicom, sidecar, outcome.tracked, outcome.tracks, notes, output)


def _say(result: TrackResult, prefix: str = "") -> None:
    for note in result.notes:
        print(f"usannotate: track: {prefix}{note}", file=sys.stderr)
    if result.written is None:
        print(f"usannotate: track: {file_name(result.sidecar)}: nothing to track", file=sys.stderr)
        return
    print(
        f"usannotate: track: {prefix}{result.tracked} frame(s) of {result.tracks} track(s) "
        f"marked tracked, written to {file_name(result.written)}",
        file=sys.stderr,
    )


def cmd_track(options: argparse.Namespace) -> int:
    """Run ``usannotate track``; the exit status."""
    from usannotate.sidecar.placement import default_layout

    settings = TrackSettings(
        label=options.label,
        frames=options.frames,
        sidecar=options.sidecar,
        output=options.output,
        annotation_folder=default_layout().annotation_folder,
    )
    paths = options.paths
    if len(paths) == 1 and not os.path.isdir(paths[0]):
        try:
            result = track_file(paths[0], settings, StepProgress("track", "frames"))
        except TrackFailure as exc:
            return fail(str(exc))
        _say(result)
        return EXIT_OK
    if options.sidecar or options.output:
        return fail("track: --sidecar and --output name one loop's sidecar: give one DICOM")
    from usannotate.export import ExportError, loops_with_sidecars  # one rule for folders

    try:
        loops = [str(p) for p in loops_with_sidecars(paths)]
    except ExportError as exc:
        return fail(f"track: {exc}")
    progress = StepProgress("track", "loops")
    batch = run_batch(
        functools.partial(_track_in_batch, settings),
        loops,
        jobs=options.jobs or default_jobs(),
        progress=lambda done, _failed: progress(done, len(loops)),
        expected=(TrackFailure,),
    )
    tracked = untouched = 0
    for _dicom, result in batch.succeeded():
        _say(result, prefix=f"{file_name(result.dicom)}: ")
        tracked += result.written is not None
        untouched += result.written is None
    for _dicom, reason in batch.failed:
        print(f"usannotate: {reason}", file=sys.stderr)
    print(
        f"usannotate: track: {tracked} loop(s) tracked, {untouched} with nothing to track, "
        f"{len(batch.failed)} failed",
        file=sys.stderr,
    )
    return EXIT_BAD_INPUT if batch.failed else EXIT_OK


def _track_in_batch(settings: TrackSettings, dicom: str) -> TrackResult:
    """One loop of a batch, in a worker process: no frame progress (one line for all)."""
    return track_file(dicom, settings)


#: Subcommand -> handler, for :mod:`usannotate.cli`.
HANDLERS = {"track": cmd_track}
