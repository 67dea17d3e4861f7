"""The ``usannotate track`` subcommand: a loop's keyframes propagated headless (no Qt).

``usannotate track DICOM [--sidecar S] [--label ID] [--frames A:B] [--output S2.json]``
propagates every track (or those of one label) from its keyframes with the app's engine
(:func:`usannotate.tracking.archive.track_loop`), marks the results tracked, never
touches a keyframe, shows progress on stderr and writes the sidecar atomically (to
``--output``, else in place). Messages name files by their name only.
"""

from __future__ import annotations

import argparse
import os
import sys

EXIT_OK = 0
EXIT_BAD_INPUT = 2

#: The subcommand and its one-line summary (both helps show it).
COMMAND_HELP = {
    "track": "propagate a loop's tracks from their keyframes (optical flow, fluid by its "
    "image), results marked tracked, keyframes untouched; writes the sidecar",
}


def _fail(message: str) -> int:
    print(f"usannotate: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _name(path: str) -> str:
    return os.path.basename(os.path.normpath(path)) or path


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add ``track`` to the ``usannotate`` parser."""
    track = commands.add_parser("track", help=COMMAND_HELP["track"])
    track.add_argument("dicom", metavar="DICOM", help="the loop")
    track.add_argument("--sidecar", metavar="S", help="its sidecar (default: beside the DICOM)")
    track.add_argument("--label", metavar="ID", help="only the tracks of this label id")
    track.add_argument(
        "--frames",
        metavar="A:B",
        help="frames to fill (0-based, inclusive): also after the last keyframe and "
        "before the first within the range (default: only between keyframes)",
    )
    track.add_argument(
        "--output", metavar="S2.json", help="write here (default: the sidecar, in place)"
    )


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


class _Progress:
    """Progress on stderr, at most every 10 %: ``usannotate: track: 120/600 frames``."""

    def __init__(self) -> None:
        self._shown = -1

    def __call__(self, done: int, total: int) -> None:
        step = done * 10 // max(total, 1)
        if step != self._shown:
            self._shown = step
            print(f"usannotate: track: {done}/{total} frames", file=sys.stderr)


def cmd_track(options: argparse.Namespace) -> int:
    """Run ``usannotate track``; the exit status."""
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
    from usannotate.tracking.archive import track_loop

    if not os.path.isfile(options.dicom):
        return _fail(f"{_name(options.dicom)}: no such file")
    sidecar = options.sidecar or str(sidecar_path_for(options.dicom))
    output = options.output or sidecar
    try:
        with open_cine(options.dicom) as loop:
            if not os.path.exists(sidecar):
                return _fail(f"{_name(sidecar)}: no such sidecar (nothing annotated yet?)")
            try:
                doc = load_sidecar(sidecar, dicom_uid=loop.identity.sop_instance_uid)
                check_loop(doc, loop, path=sidecar)
            except SidecarError as exc:
                return _fail(str(exc).splitlines()[0])
            if doc.read_only:
                return _fail(f"{_name(sidecar)}: written by a newer usannotate; not changed")
            frames = _frame_range(options.frames, loop.n_frames)
            if isinstance(frames, str):
                return _fail(frames)
            annotations = doc.annotations
            if options.label is not None and annotations.label_set.get(options.label) is None:
                return _fail(f"{_name(sidecar)}: no label {options.label!r} in its label set")
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
                label_id=options.label,
                frames=frames,
                progress=_Progress(),
            )
    except CineError as exc:
        return _fail(str(exc))
    for note in outcome.notes:
        print(f"usannotate: track: {note}", file=sys.stderr)
    if outcome.edit is None and output == sidecar:
        print(f"usannotate: track: {_name(sidecar)}: nothing to track", file=sys.stderr)
        return EXIT_OK
    try:
        save_sidecar(doc, output)
    except SidecarError as exc:
        return _fail(str(exc).splitlines()[0])
    print(
        f"usannotate: track: {outcome.tracked} frame(s) of {outcome.tracks} track(s) "
        f"marked tracked, written to {_name(output)}",
        file=sys.stderr,
    )
    return EXIT_OK


#: Subcommand -> handler, for :mod:`usannotate.cli`.
HANDLERS = {"track": cmd_track}
