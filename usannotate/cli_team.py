"""The team subcommands of ``usannotate``: ``status``, ``measure FOLDER``, ``agreement`` (no Qt).

Kept apart from :mod:`usannotate.cli` so that each group of subcommands lives in its own
module; ``cli`` registers them (:func:`add_parsers`, :data:`HANDLERS`). Messages name
files by their name only, never their folders (which may be named after the patient).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from usannotate._cli_common import EXIT_BAD_INPUT, EXIT_OK, StepProgress
from usannotate._cli_common import fail as _fail
from usannotate._cli_common import file_name as _name
from usannotate.batch import add_jobs_option, default_jobs, run_batch

#: The team subcommands and their one-line summaries (both helps show them).
COMMAND_HELP = {
    "status": "the worklist of a folder: per loop its status (in_progress / done / "
    "reviewed, none without sidecar), raters, tracks, annotated frames, last save",
    "agreement": "compare two raters' sidecars of one loop: needle tip error and angle, "
    "plane distances, region Dice / IoU, point distance, per frame and per track",
}


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add the team subcommands to the ``usannotate`` parser."""
    status = commands.add_parser("status", help=COMMAND_HELP["status"])
    status.add_argument("folder", metavar="FOLDER", help="a folder of loops")
    status.add_argument("--json", action="store_true", help="print a JSON list of rows")
    status.add_argument(
        "--rater",
        metavar="NAME",
        help="only this rater's sidecars count (a loop with someone else's reads as none)",
    )
    add_jobs_option(status)
    agreement = commands.add_parser(
        "agreement",
        help=COMMAND_HELP["agreement"],
        usage="%(prog)s [-h] (SIDECAR_A SIDECAR_B | DICOM --raters A B) [--dicom DICOM] "
        "[--format {csv,json}] [--annotations DIR]",
    )
    agreement.add_argument("sidecar_a", metavar="SIDECAR_A", help="one rater's sidecar")
    agreement.add_argument(
        "sidecar_b", metavar="SIDECAR_B", nargs="?", help="the other rater's sidecar"
    )
    agreement.add_argument(
        "--raters",
        nargs=2,
        metavar=("A", "B"),
        help="compare these two raters' sidecars of the loop DICOM (given instead of "
        "SIDECAR_A SIDECAR_B; a multi-rater project's files, 'adjudicated' for the result)",
    )
    agreement.add_argument(
        "--dicom",
        metavar="DICOM",
        help="the loop (its calibration gives mm; default: the sidecars' own record)",
    )
    agreement.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="output format (default csv)"
    )


# ------------------------------------------------------------------------ status
_STATUS_COLUMNS = (
    "file",
    "n_frames",
    "status",
    "raters",
    "n_tracks",
    "annotated_frames",
    "modified",
)


def cmd_status(options: argparse.Namespace) -> int:
    """One row per loop of the folder; exit 2 when a sidecar cannot be read (listed with
    the reason on stderr, the other loops still listed)."""
    from usannotate.cine import list_loop_files
    from usannotate.sidecar.placement import default_layout
    from usannotate.team.worklist import count_line

    folder = options.folder
    if not os.path.isdir(folder):
        what = "is not a folder" if os.path.exists(folder) else "no such folder"
        return _fail(f"{_name(folder)}: {what}")
    try:
        paths = list_loop_files(folder)
    except OSError as exc:
        return _fail(f"{_name(folder)}: cannot be read ({exc.strerror or type(exc).__name__})")
    work = functools.partial(_status_row, options.rater, default_layout().annotation_folder)
    batch = run_batch(work, paths, jobs=options.jobs or default_jobs())
    filled = []
    for row, warning in batch.results:  # _status_row keeps its failures in the row
        if warning:
            print(f"usannotate: warning: {warning}", file=sys.stderr)
        filled.append(row)
    records = [row.to_json() for row in filled]
    if options.json:
        sys.stdout.write(json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    else:
        lines = ["\t".join(_STATUS_COLUMNS)]
        for record in records:
            cells = [
                record["file"],
                "" if record["n_frames"] is None else str(record["n_frames"]),
                record["status"] or "-",
                ";".join(record["raters"]),
                str(record["n_tracks"]),
                str(record["annotated_frames"]),
                record["modified"] or "",
            ]
            lines.append("\t".join(cells))
        sys.stdout.write("\n".join(lines) + "\n")
    errors = [row.error for row in filled if row.error is not None]
    for error in errors:
        print(f"usannotate: {error}", file=sys.stderr)
    print(f"usannotate: status: {count_line(filled)}", file=sys.stderr)
    return EXIT_BAD_INPUT if errors else EXIT_OK


def _status_row(rater: str | None, annotation_folder: Path | None, path: str) -> tuple:
    """One loop's worklist row and a warning (a header that could not be read), for
    ``status`` on several processes. Frames come from the sidecar's record; only loops
    without one open their header."""
    from usannotate.cine import CineError, open_cine
    from usannotate.sidecar.placement import set_annotation_folder
    from usannotate.team.worklist import loop_status

    set_annotation_folder(annotation_folder)
    row = loop_status(path, rater=rater)
    if row.n_frames is None and row.error is None:
        try:
            with open_cine(row.path, prefetch_frames=0) as loop:
                row = type(row)(row.path, loop.n_frames, row.sidecar, row.summary)
        except CineError as exc:
            return row, str(exc).splitlines()[0]
    return row, None


# ------------------------------------------------------------------ measure FOLDER
def cmd_measure_folder(options: argparse.Namespace) -> int:
    """Every loop's rows of a folder in one table with a ``file`` column; loops without
    sidecar skipped and counted; exit 2 when a loop could not be measured."""
    from usannotate import cli_details
    from usannotate._atomic import write_atomically
    from usannotate.folder_details import DETAIL_FLAGS, folder_records
    from usannotate.team.folder_measure import (
        folder_measurements_csv,
        folder_measurements_json,
        measure_folder,
    )

    folder = options.dicom
    fmt = options.format
    if options.output and fmt is None:
        fmt = "json" if options.output.lower().endswith(".json") else "csv"
    json_out = fmt == "json"
    jobs = options.jobs or default_jobs()
    try:
        if cli_details.detail_options_used(options):
            # The one-loop options: each loop's own table, a file column first.
            flags = {k: bool(getattr(options, k, False)) for k in DETAIL_FLAGS}
            result = folder_records(
                folder, flags, jobs=jobs, progress=StepProgress("measure", "loops")
            )
            text = cli_details.records_text(
                result.columns, result.records, "json" if json_out else "csv"
            )
        else:
            result = measure_folder(folder, progress=StepProgress("measure", "loops"), jobs=jobs)
            text = folder_measurements_json(result) if json_out else folder_measurements_csv(result)
    except OSError as exc:
        return _fail(f"{_name(folder)}: cannot be read ({exc.strerror or type(exc).__name__})")
    for problem in result.failed:
        print(f"usannotate: {problem}", file=sys.stderr)
    if options.output:
        try:
            write_atomically(Path(options.output), text.encode("utf-8"))
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return _fail(f"{_name(options.output)}: cannot be written ({reason})")
    else:
        sys.stdout.write(text)
    print(
        f"usannotate: measure: {result.measured} loops measured, {result.skipped} without "
        f"sidecar skipped, {len(result.failed)} failed",
        file=sys.stderr,
    )
    return EXIT_BAD_INPUT if result.failed else EXIT_OK


# ----------------------------------------------------------------------- agreement
def cmd_agreement(options: argparse.Namespace) -> int:
    """Per frame and per track agreement of two sidecars of one loop."""
    from usannotate.sidecar.placement import sidecar_location
    from usannotate.team.agreement import AgreementError
    from usannotate.team.agreement_files import agreement_csv, agreement_json, compare_files

    path_a, path_b, dicom = options.sidecar_a, options.sidecar_b, options.dicom
    if options.raters is not None:
        if path_b is not None:
            return _fail("agreement: give SIDECAR_A SIDECAR_B, or DICOM --raters A B, not both")
        dicom = dicom or path_a
        try:
            path_a, path_b = (sidecar_location(path_a, rater=r) for r in options.raters)
        except ValueError as exc:
            return _fail(f"agreement: {exc}")
    elif path_b is None:
        return _fail("agreement: give two sidecars, or a DICOM and --raters A B")
    try:
        report = compare_files(path_a, path_b, dicom=dicom)
    except AgreementError as exc:
        return _fail(str(exc))
    text = agreement_json(report) if options.format == "json" else agreement_csv(report)
    sys.stdout.write(text)
    return EXIT_OK


HANDLERS = {"status": cmd_status, "agreement": cmd_agreement}

#: The subcommands that read sidecars, so take ``--annotations DIR`` (export's kinds too).
_READS_SIDECARS = ("validate", "measure", "status", "agreement", "deidentify", "export", "track")


def add_annotation_options(commands: argparse._SubParsersAction) -> None:
    """``--annotations DIR`` on every subcommand that reads sidecars: the annotation
    folder of read-only archives (as in Preferences; a project's usannotate.toml wins)."""

    def add(parser: argparse.ArgumentParser) -> None:
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            for sub in nested[0].choices.values():
                add(sub)
            return
        parser.add_argument(
            "--annotations",
            metavar="DIR",
            help="where sidecars are when a loop's folder cannot be written (the "
            "annotation folder mirroring the archive; see resources/PROJECT.md)",
        )

    for name in _READS_SIDECARS:
        if name in commands.choices:
            add(commands.choices[name])


def run_with_annotations(
    handler: Callable[[argparse.Namespace], int], options: argparse.Namespace
) -> int:
    """Run a subcommand's ``handler``; one that reads sidecars with ``--annotations DIR``
    (none when not given) as the annotation folder of every sidecar it reads or writes,
    and a ``usannotate.toml`` that cannot be used as one line and exit 2. Subcommands
    that read no sidecar import nothing more."""
    if not hasattr(options, "annotations"):
        return handler(options)
    from usannotate.sidecar.placement import ProjectError, set_annotation_folder

    set_annotation_folder(options.annotations or None)
    try:
        return handler(options)
    except ProjectError as exc:
        return _fail(str(exc))


__all__ = [
    "COMMAND_HELP",
    "HANDLERS",
    "add_annotation_options",
    "add_parsers",
    "cmd_measure_folder",
    "run_with_annotations",
]
