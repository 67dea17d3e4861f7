"""``usannotate export video|frames|teaching``: annotated media from the command line (no Qt).

Kept apart from :mod:`usannotate.cli` so other ``export`` kinds can be added beside these
without touching them: :func:`add_media_commands` adds the three to the ``export``
subparsers, :func:`run_media` runs one. Messages name the file only, never its folder.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["MEDIA_KINDS", "add_media_commands", "run_media"]

MEDIA_KINDS = ("video", "frames", "teaching")
EXIT_OK = 0
EXIT_BAD_INPUT = 2


def add_media_commands(kinds: argparse._SubParsersAction) -> None:
    """Add ``video``, ``frames`` and ``teaching`` to the ``export`` subcommand's parsers."""
    video = kinds.add_parser(
        "video",
        help="an H.264 MP4 of every frame at the loop's frame rate, marks, captions, "
        "live measurements and a 10 mm bar drawn (anonymised when the loop may carry "
        "a burned-in banner)",
    )
    video.add_argument("dicom", metavar="DICOM", help="the DICOM loop")
    video.add_argument("--sidecar", help="the sidecar to draw (default: the one beside DICOM)")
    video.add_argument("--output", "-o", required=True, metavar="OUT.mp4", help="video to write")
    video.add_argument("--no-marks", action="store_true", help="the loop alone, no marks")
    video.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help="playback speed (default 1)"
    )
    frames = kinds.add_parser("frames", help="PNGs of chosen frames with their marks")
    frames.add_argument("dicom", metavar="DICOM", help="the DICOM loop")
    frames.add_argument("--sidecar", help="the sidecar to draw (default: the one beside DICOM)")
    frames.add_argument("--output", "-o", required=True, metavar="DIR", help="folder to write")
    frames.add_argument(
        "--frames",
        default="keyframes",
        help="keyframes (default), all, or 0-based frame numbers like 3,10,25",
    )
    teaching = kinds.add_parser(
        "teaching",
        help="a teaching case folder: de-identified DICOM and sidecar, annotated video, "
        "key frames, curves and an index.html, no patient data",
    )
    teaching.add_argument("dicom", metavar="DICOM", help="the annotated DICOM loop")
    teaching.add_argument(
        "--output", "-o", required=True, metavar="DIR", help="new (or empty) folder"
    )
    teaching.add_argument("--shift-dates", action="store_true", help="as for deidentify")
    teaching.add_argument("--key-file", metavar="FILE", help="as for deidentify")
    teaching.add_argument(
        "--speed", type=float, default=1.0, metavar="X", help="video speed (default 1)"
    )


class _Progress:
    """Progress on stderr, at most every 10 % of each stage."""

    def __init__(self, kind: str) -> None:
        self._kind = kind
        self._shown: tuple[str, int] | None = None

    def stage(self, stage: str, done: int, total: int) -> None:
        step = done * 10 // max(total, 1)
        if self._shown != (stage, step):
            self._shown = (stage, step)
            print(f"usannotate: export {self._kind}: {stage} {done}/{total}", file=sys.stderr)

    def frames(self, unit: str):
        return lambda done, total: self.stage(unit, done, total)


def _fail(message: str) -> int:
    print(f"usannotate: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run_media(options: argparse.Namespace) -> int:
    """Run ``usannotate export video|frames|teaching``; returns the exit status."""
    from usannotate.export.errors import ExportError

    name = os.path.basename(options.dicom)
    if not os.path.isfile(options.dicom):
        return _fail(f"{name}: no such file")
    try:
        return {"video": _video, "frames": _frames, "teaching": _teaching}[options.export_kind](
            options
        )
    except ExportError as exc:
        return _fail(str(exc).splitlines()[0])


def _video(options: argparse.Namespace) -> int:
    from usannotate.export.annotated import AnnotatedLoop, MediaOptions
    from usannotate.export.video import write_video

    progress = _Progress("video")
    media_options = MediaOptions(marks=not options.no_marks)
    with AnnotatedLoop(
        options.dicom,
        options.sidecar,
        media_options,
        scan_progress=progress.frames("frames scanned for burned-in text"),
    ) as media:
        for warning in media.warnings:
            print(f"usannotate: warning: {warning}", file=sys.stderr)
        result = write_video(
            media, options.output, speed=options.speed, progress=progress.frames("frames")
        )
        cleaned = f", pixels cleaned by {media.mask.method}" if media.mask is not None else ""
    for note in result.notes:
        print(f"usannotate: note: {note}", file=sys.stderr)
    print(
        f"{result.output.name}: {result.n_frames} frames, {result.fps:g} fps, "
        f"{result.size[0]}x{result.size[1]} {result.codec}{cleaned}"
    )
    return EXIT_OK


def _frames(options: argparse.Namespace) -> int:
    from usannotate.export.annotated import AnnotatedLoop
    from usannotate.export.frames import chosen_frames, write_frames

    progress = _Progress("frames")
    with AnnotatedLoop(
        options.dicom,
        options.sidecar,
        scan_progress=progress.frames("frames scanned for burned-in text"),
    ) as media:
        for warning in media.warnings:
            print(f"usannotate: warning: {warning}", file=sys.stderr)
        frames = chosen_frames(media, options.frames)
        written = write_frames(media, options.output, frames, progress=progress.frames("frames"))
    print(f"{len(written)} frames written")
    return EXIT_OK


def _teaching(options: argparse.Namespace) -> int:
    from usannotate.deid import DeidentifyOptions
    from usannotate.export.teaching import export_teaching

    progress = _Progress("teaching")
    result = export_teaching(
        options.dicom,
        options.output,
        DeidentifyOptions(shift_dates=options.shift_dates, key_file=options.key_file),
        speed=options.speed,
        progress=progress.stage,
    )
    for note in result.notes:
        print(f"usannotate: note: {note}", file=sys.stderr)
    print(f"{result.folder.name}: teaching case, {len(result.files)} files")
    return EXIT_OK
