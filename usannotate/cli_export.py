"""The ``export`` and ``import`` subcommands of the command line (no Qt).

``usannotate export sr|cvat|coco|yolo|masks`` and ``usannotate import sr|cvat``: each a
thin call of a function of :mod:`usannotate.export`, which the window calls too. Exit 0
on success, 2 on bad input with one line on stderr naming the file (its name only);
progress goes to stderr, one line per loop, when there is more than one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from usannotate.batch import add_jobs_option, default_jobs

__all__ = ["EXPORT_HELP", "IMPORT_HELP", "add_parsers", "cmd_export", "cmd_import"]

EXPORT_HELP = (
    "export a loop's marks (or a folder's): DICOM SR (TID 1500), CVAT for video 1.1 XML, "
    "COCO, YOLO segmentation, index masks; annotated media: `export video` (H.264 MP4), "
    "`export frames` (PNGs), `export teaching` (a de-identified teaching case with a page)"
)
IMPORT_HELP = "read DICOM SR or CVAT XML tracks back into a new sidecar"

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _per_loop(parser: argparse.ArgumentParser, suffix: str) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="a DICOM loop, or folders of annotated loops"
    )
    parser.add_argument(
        "--sidecar", help="the sidecar to read (one loop only; default: the one beside it)"
    )
    parser.add_argument(
        "--output",
        "-o",
        required=True,
        help=f"the file to write for one loop; for several, a folder (one NAME{suffix} each)",
    )
    add_jobs_option(parser)  # for several loops


def _image_sets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="DICOM loops and folders of annotated loops"
    )
    parser.add_argument("--output", "-o", required=True, help="the folder to write")
    parser.add_argument(
        "--frames",
        choices=("keyframes", "annotated", "all"),
        default="annotated",
        help="frames written: with a keyframe, with stored marks (keyframes and tracked; "
        "the default), or every frame of each loop",
    )
    add_jobs_option(parser)  # for several loops


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add ``export`` and ``import`` to the command line's subcommands."""
    export = commands.add_parser("export", help=EXPORT_HELP, description=EXPORT_HELP)
    formats = export.add_subparsers(dest="format", required=True)

    sr = formats.add_parser("sr", help="DICOM SR TID 1500 Measurement Report (highdicom)")
    _per_loop(sr, ".sr.dcm")
    sr.add_argument(
        "--all-frames",
        action="store_true",
        help="every frame where a track exists, not only keyframes and tracked frames",
    )
    sr.add_argument("--allow-px", action="store_true", help="write values that are not in mm in px")

    cvat = formats.add_parser("cvat", help="CVAT for video 1.1 XML")
    _per_loop(cvat, ".cvat.xml")

    coco = formats.add_parser("coco", help="COCO: frames as PNG, polygons and keypoints")
    _image_sets(coco)
    coco.add_argument(
        "--val-fraction",
        type=float,
        default=0.0,
        help="share of the loops (never single frames) put in a validation set (0: none)",
    )
    coco.add_argument("--seed", type=int, default=0, help="seed of the train/val split")

    yolo = formats.add_parser("yolo", help="YOLO segmentation polygons and data.yaml")
    _image_sets(yolo)
    yolo.add_argument(
        "--val-fraction", type=float, default=0.0, help="share of the loops in val (0: none)"
    )
    yolo.add_argument("--seed", type=int, default=0, help="seed of the train/val split")

    masks = formats.add_parser("masks", help="index masks as PNG and labelmap.json")
    _image_sets(masks)
    masks.add_argument(
        "--line-width-px", type=int, default=3, help="width of drawn lines (default 3 px)"
    )
    # The annotated media (video, frames, teaching case) have their options in cli_media.
    from usannotate.cli_media import add_media_commands

    add_media_commands(formats)

    imports = commands.add_parser("import", help=IMPORT_HELP, description=IMPORT_HELP)
    sources = imports.add_subparsers(dest="format", required=True)
    for name, what in (("sr", "a DICOM SR made by `export sr`"), ("cvat", "CVAT video XML")):
        sub = sources.add_parser(name, help=f"tracks from {what}")
        sub.add_argument("source", metavar="FILE", help=what)
        sub.add_argument("--dicom", required=True, help="the DICOM loop the marks are on")
        sub.add_argument("--output", "-o", required=True, help="the new sidecar to write")
        sub.add_argument(
            "--add-labels",
            action="store_true",
            help="add labels the label set lacks instead of refusing them",
        )


def _fail(message: str) -> int:
    print(f"usannotate: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _progress(done: int, total: int, name: str) -> None:
    if total > 1:
        print(f"usannotate: [{done}/{total}] {name}", file=sys.stderr, flush=True)


def cmd_export(options: argparse.Namespace) -> int:
    """``usannotate export FORMAT ...``."""
    from usannotate.cli_media import MEDIA_KINDS, run_media

    if options.format in MEDIA_KINDS:
        options.export_kind = options.format
        return run_media(options)
    from usannotate.export import ExportError, FrameChoice, loops_with_sidecars
    from usannotate.export.run import ExportFormat, ExportRequest, PartialExport, run_export

    kind = ExportFormat(options.format)
    try:
        loops = loops_with_sidecars(options.paths)
        single = kind.per_loop and len(options.paths) == 1 and not Path(options.paths[0]).is_dir()
        request = ExportRequest(
            format=kind,
            loops=tuple(loops),
            output=Path(options.output),
            single=single,
            sidecar=Path(options.sidecar) if getattr(options, "sidecar", None) else None,
            frames=FrameChoice(getattr(options, "frames", "annotated")),
            all_frames=getattr(options, "all_frames", False),
            allow_px=getattr(options, "allow_px", False),
            line_width_px=getattr(options, "line_width_px", 3),
            val_fraction=getattr(options, "val_fraction", 0.0),
            seed=getattr(options, "seed", 0),
            jobs=getattr(options, "jobs", None) or default_jobs(),
        )
        run_export(request, loop_done=_progress)
    except PartialExport as exc:  # the other loops are written
        for reason in exc.failed:
            print(f"usannotate: {reason}", file=sys.stderr)
        return _fail(str(exc))
    except ExportError as exc:
        return _fail(str(exc))
    except OSError as exc:
        name = os.path.basename(exc.filename) if exc.filename else options.format
        return _fail(f"{name}: could not be written ({exc.strerror or 'I/O error'})")
    return EXIT_OK


def cmd_import(options: argparse.Namespace) -> int:
    """``usannotate import sr|cvat FILE --dicom DICOM --output SIDECAR``."""
    from usannotate.export import ExportError, import_cvat, import_sr

    read = import_sr if options.format == "sr" else import_cvat
    try:
        added = read(options.source, options.dicom, options.output, add_labels=options.add_labels)
    except ExportError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(
            f"{os.path.basename(options.output)}: could not be written "
            f"({exc.strerror or 'I/O error'})"
        )
    print(f"{len(added)} tracks -> {os.path.basename(options.output)}")
    return EXIT_OK
