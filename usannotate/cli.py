"""Command line: ``usannotate [PATH]`` opens the viewer; subcommands serve scripts (no Qt)."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from usannotate import (
    __version__,
    cli_desktop,
    cli_details,
    cli_export,
    cli_pacs,
    cli_team,
    cli_track,
)
from usannotate._cli_common import StepProgress
from usannotate.batch import add_jobs_option, default_jobs

if TYPE_CHECKING:
    from usannotate.cine import CineLoop

EXIT_OK = 0
EXIT_BAD_INPUT = 2

#: Every subcommand and its one-line summary (both helps show it).
_COMMAND_HELP = {
    "info": "describe a loop: frames, size, encoding, timing, calibration",
    "frame": "write one frame's display pixels as a PNG",
    "validate": "check annotation sidecars (.usannotate.json): format, consistency, and "
    "optionally that they belong to a DICOM",
    "measure": "print the measurements of every frame where a mark exists, keyframe, "
    "interpolated or tracked (the 'source' column says which; mm when calibrated)",
    "deidentify": "write a de-identified copy of a loop or a folder of loops (DICOM PS3.15 "
    "Annex E header, keyed new UIDs, dates removed or shifted, pixels outside the "
    "ultrasound regions black, lossless encoding, the sidecar carried over)",
    "export": cli_export.EXPORT_HELP,
    "import": cli_export.IMPORT_HELP,
}
_COMMAND_HELP.update(cli_team.COMMAND_HELP)  # status, agreement (usannotate/cli_team.py)
_COMMAND_HELP.update(cli_desktop.COMMAND_HELP)  # desktop install (usannotate/cli_desktop.py)
_COMMAND_HELP.update(cli_pacs.COMMAND_HELP)  # pacs echo|find|pull|push (usannotate/cli_pacs.py)
_COMMAND_HELP.update(cli_track.COMMAND_HELP)  # track (usannotate/cli_track.py)
_SUBCOMMANDS = tuple(_COMMAND_HELP)


def _subcommand_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="usannotate",
        description="Inspect ultrasound DICOM cine loops from scripts. "
        "Run `usannotate [PATH]` without a subcommand to open the viewer.",
    )
    parser.add_argument("--version", action="version", version=f"usannotate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    info = commands.add_parser("info", help=_COMMAND_HELP["info"])
    info.add_argument("path", help="DICOM file")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")

    frame = commands.add_parser("frame", help=_COMMAND_HELP["frame"])
    frame.add_argument("path", help="DICOM file")
    frame.add_argument("--index", type=int, required=True, help="frame number, 0-based")
    frame.add_argument("--output", "-o", required=True, help="PNG file to write")

    validate = commands.add_parser("validate", help=_COMMAND_HELP["validate"])
    validate.add_argument("paths", nargs="+", metavar="SIDECAR", help="sidecar file(s)")
    validate.add_argument(
        "--dicom",
        metavar="PATH",
        help="the DICOM the sidecars belong to: also compare its SOP Instance UID, "
        "image size and frame count",
    )
    measure = commands.add_parser("measure", help=_COMMAND_HELP["measure"])
    measure.add_argument(
        "dicom",
        metavar="DICOM",
        help="the annotated DICOM loop, or a folder of loops (one table, a file column)",
    )
    measure.add_argument(
        "--sidecar", help="the sidecar to read (default: the one beside the DICOM)"
    )
    measure.add_argument(
        "--format", choices=("csv", "json"), default=None, help="output format (default csv)"
    )
    measure.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="for a FOLDER: write the table there, atomically (default: standard output)",
    )
    add_jobs_option(measure)  # for a FOLDER
    cli_details.add_measure_options(measure)
    cli_team.add_parsers(commands)
    cli_track.add_parsers(commands)
    deidentify = commands.add_parser("deidentify", help=_COMMAND_HELP["deidentify"])
    deidentify.add_argument("input", metavar="IN", help="DICOM file, or a folder of them")
    deidentify.add_argument(
        "--output", "-o", required=True, metavar="OUT", help="file (or folder, for a folder IN)"
    )
    deidentify.add_argument(
        "--shift-dates",
        action="store_true",
        help="shift dates by one offset per patient (option 113107) instead of removing "
        "dates and times",
    )
    deidentify.add_argument(
        "--key-file",
        metavar="FILE",
        help="the key of the new UIDs (the file's bytes; default: a key made on first use "
        "in the user's settings folder)",
    )
    deidentify.add_argument(
        "--encoding",
        # usannotate.deid.ENCODINGS and DEFAULT_ENCODING, without importing de-identification
        # for every command (tests/deid checks they agree).
        choices=("rle", "jpeg-ls", "jpeg2000"),
        default="rle",
        help="lossless encoding of the pixels (default rle; jpeg-ls: files about half the "
        "size, de-identified about twice as slowly)",
    )
    deidentify.add_argument(
        "--keep-annotator", action="store_true", help="keep the annotator's name in the sidecar"
    )
    add_jobs_option(deidentify)  # for a folder IN
    cli_export.add_parsers(commands)
    cli_desktop.add_parsers(commands)
    cli_pacs.add_parsers(commands)
    cli_team.add_annotation_options(commands)
    return parser


def _gui_parser() -> argparse.ArgumentParser:
    """The parser of ``usannotate [PATH]``, whose help is the one help of the command: one
    usage line, the viewer form, then every subcommand with its one-line summary."""
    width = max(map(len, _SUBCOMMANDS)) + 4
    listed = "\n".join(
        textwrap.fill(
            summary,
            width=78,
            initial_indent=f"  {name:<{width - 2}}",
            subsequent_indent=" " * width,
        )
        for name, summary in _COMMAND_HELP.items()
    )
    parser = argparse.ArgumentParser(
        prog="usannotate",
        usage="%(prog)s [-h] [--version] [PATH | COMMAND ...]",
        description="Annotate ultrasound DICOM cine loops.\n\n"
        "  usannotate [PATH]   open the viewer on a loop, or on a folder's first loop",
        epilog=f"commands, for scripts (they never load Qt):\n{listed}\n\n"
        "`usannotate COMMAND --help` gives a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"usannotate {__version__}")
    parser.add_argument(
        "path", nargs="?", metavar="PATH", help="a DICOM loop or a folder of loops to open"
    )
    # Open PATH, mark, save, quit: the built app bundle checked (packaging/smoke.sh).
    parser.add_argument("--smoke-test", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``usannotate`` command; returns the exit status."""
    # A bundled app (PyInstaller) starts the playback worker process through this entry
    # point: let multiprocessing take over then (a no-op otherwise).
    multiprocessing.freeze_support()
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in _SUBCOMMANDS:
        options = _subcommand_parser().parse_args(args)
        handler = {
            "info": _cmd_info,
            "frame": _cmd_frame,
            "validate": _cmd_validate,
            "measure": _cmd_measure,
            "deidentify": _cmd_deidentify,
            "export": cli_export.cmd_export,
            "import": cli_export.cmd_import,
            **cli_team.HANDLERS,
            **cli_desktop.HANDLERS,
            **cli_pacs.HANDLERS,
            **cli_track.HANDLERS,
        }[options.command]
        try:
            return cli_team.run_with_annotations(handler, options)
        except BrokenPipeError:  # e.g. `usannotate info --json x.dcm | head`
            sys.stderr.close()
            return EXIT_OK
    options = _gui_parser().parse_args(args)
    from usannotate.ui.app import run  # Qt is imported only for the viewer

    if options.smoke_test and not options.path:
        return _fail("--smoke-test needs the loop to open")
    return run(options.path, smoke_test=options.smoke_test)


def _fail(message: str) -> int:
    print(f"usannotate: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _warn(name: str, warnings: list[str]) -> None:
    for warning in warnings:
        print(f"usannotate: warning: {name}: {warning}", file=sys.stderr)


def info_dict(loop: CineLoop) -> dict[str, object]:
    """The ``info --json`` document of an open :class:`~usannotate.cine.CineLoop`."""
    return {
        "file": os.path.basename(loop.path),
        "n_frames": loop.n_frames,
        "declared_frames": loop.declared_frames,
        "rows": loop.rows,
        "columns": loop.columns,
        "samples_per_pixel": loop.samples_per_pixel,
        "bits_allocated": loop.bits_allocated,
        "bits_stored": loop.bits_stored,
        "photometric_interpretation": loop.photometric_interpretation,
        "transfer_syntax_uid": loop.transfer_syntax_uid,
        "frame_time_ms": round(loop.frame_time_ms, 6),
        "frame_time_source": loop.frame_time_source,
        "frame_rate_fps": round(loop.frame_rate_fps, 6),
        "duration_ms": round(loop.duration_ms, 3),
        "burned_in_annotation": loop.burned_in_annotation,
        "sop_instance_uid": loop.identity.sop_instance_uid,
        "sop_class_uid": loop.identity.sop_class_uid,
        "modality": loop.scan_info.modality,
        "manufacturer": loop.scan_info.manufacturer,
        "model": loop.scan_info.model,
        "transducer": loop.scan_info.transducer,
        "regions": [
            {**region.to_json(), "within_image": region.fits_image(loop.columns, loop.rows)}
            for region in loop.regions
        ],
        "warnings": list(loop.warnings),
    }


def _human_info(info: dict[str, object]) -> str:
    from pydicom.uid import UID

    ts = UID(str(info["transfer_syntax_uid"]))
    ts_name = ts.name if ts.is_transfer_syntax else "unknown"
    burned = {True: "yes", False: "no", None: "not stated"}[info["burned_in_annotation"]]  # type: ignore[index]
    if info["frame_time_source"] == "assumed":
        timing = f"{info['frame_time_ms']:.3f} ms/frame, assumed (the file gives no frame time)"
    else:
        timing = f"{info['frame_time_ms']:.3f} ms/frame from {info['frame_time_source']}"
    declared = (
        f"; the header declares {info['declared_frames']}"
        if info["declared_frames"] != info["n_frames"]
        else ""
    )
    lines = [
        str(info["file"]),
        f"  frames        {info['n_frames']} ({timing}, {info['frame_rate_fps']:.2f} fps, "
        f"{float(info['duration_ms']) / 1000:.2f} s){declared}",  # type: ignore[arg-type]
        f"  image         {info['columns']} x {info['rows']} px, "
        f"{info['photometric_interpretation']}, {info['samples_per_pixel']} x "
        f"{info['bits_stored']}-bit",
        f"  encoding      {ts_name} ({info['transfer_syntax_uid']})",
        f"  burned-in     {burned}",
    ]
    scanner = ", ".join(str(info[k]) for k in ("manufacturer", "model") if info[k])
    if info["transducer"]:
        scanner = (
            f"{scanner}; probe {info['transducer']}" if scanner else f"probe {info['transducer']}"
        )
    if scanner:
        lines.append(f"  scanner       {scanner}")
    regions = info["regions"]
    assert isinstance(regions, list)
    if not regions:
        lines.append("  calibration   none (measurements in px)")
    for number, region in enumerate(regions, 1):
        scale = (
            f"{region['mm_per_px_x']:.4f} x {region['mm_per_px_y']:.4f} mm/px"
            if region["mm_per_px_x"] and region["mm_per_px_y"]
            else f"units {region['units_x']} x {region['units_y']}"
        )
        label = "calibration" if number == 1 else ""
        note = ""
        if region["file_bounds"]:
            note = f" (the file says {region['file_bounds']}, 1 px past the image: clipped)"
        elif not region["within_image"]:
            note = " (extends beyond the image: not used for mm)"
        lines.append(
            f"  {label:<13} region {number}: {region['bounds']} {region['spatial_format']} "
            f"{region['data_type']}, {scale}{note}"
        )
    return "\n".join(lines)


def _cmd_info(options: argparse.Namespace) -> int:
    from usannotate.cine import CineError, open_cine

    try:
        with open_cine(options.path, prefetch_frames=0) as loop:
            info = info_dict(loop)
    except CineError as exc:
        return _fail(str(exc))
    if options.json:
        print(json.dumps(info, indent=2, allow_nan=False))
    else:
        print(_human_info(info))
    _warn(str(info["file"]), list(info["warnings"]))  # type: ignore[arg-type]
    return EXIT_OK


def _cmd_frame(options: argparse.Namespace) -> int:
    import cv2

    from usannotate.cine import CineError, open_cine

    # The output is named by its file name only: its folders may be named after the patient.
    output_name = os.path.basename(options.output)
    if not options.output.lower().endswith(".png"):
        return _fail(f"{output_name}: the output must be a .png file")
    try:
        with open_cine(options.path, prefetch_frames=0) as loop:
            try:
                rgb = loop.frame(options.index)
            except IndexError as exc:
                return _fail(f"{os.path.basename(loop.path)}: {exc}")
            warnings = list(loop.warnings)
    except CineError as exc:
        return _fail(str(exc))
    try:
        ok = cv2.imwrite(options.output, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    except cv2.error:
        ok = False
    if not ok:
        return _fail(f"{output_name}: could not write the PNG (is the folder writable?)")
    _warn(os.path.basename(options.path), warnings)  # after success: a failure is one line
    return EXIT_OK


_MAX_LINES_PER_FILE = 50


def _cmd_validate(options: argparse.Namespace) -> int:
    from usannotate.sidecar import FORMAT_VERSION, SidecarError, load_sidecar, loop_mismatches

    loop = None
    if options.dicom:
        from usannotate.cine import CineError, open_cine

        try:
            loop = open_cine(options.dicom, prefetch_frames=0)
        except CineError as exc:
            return _fail(str(exc))
    all_valid = True
    try:
        for path in options.paths:
            name = os.path.basename(path)
            warnings: list[str] = []
            note = ""
            try:
                doc = load_sidecar(path)
            except SidecarError as exc:
                problems = exc.problems
            else:
                problems = loop_mismatches(doc, loop, sidecar_name=name) if loop else []
                warnings = doc.warnings
                if doc.read_only:
                    note = (
                        f" (format version {doc.format_version}, newer than this usannotate "
                        f"reads: checked as far as version {FORMAT_VERSION} goes)"
                    )
            for problem in problems[:_MAX_LINES_PER_FILE]:
                print(f"usannotate: {name}: {problem}", file=sys.stderr)
            if len(problems) > _MAX_LINES_PER_FILE:
                more = len(problems) - _MAX_LINES_PER_FILE
                print(f"usannotate: {name}: ... and {more} more problems", file=sys.stderr)
            if problems:
                all_valid = False
                continue
            print(f"OK {name}{note}", flush=True)
            _warn(name, warnings)
    finally:
        if loop is not None:
            loop.close()
    return EXIT_OK if all_valid else EXIT_BAD_INPUT


def _cmd_measure(options: argparse.Namespace) -> int:
    """One row per frame, object and measurement, for scripts (frames are 0-based)."""
    from usannotate.annotations import calibration_lookup
    from usannotate.cine import CineError, open_cine
    from usannotate.export import loop_measurements, measurements_csv, measurements_json
    from usannotate.sidecar import SidecarError, check_loop, load_sidecar, sidecar_path_for

    if os.path.isdir(options.dicom):
        if options.sidecar:
            return _fail("--sidecar is for one loop, not a folder")
        return cli_team.cmd_measure_folder(options)
    if options.output:
        return _fail("--output is for a folder of loops; for one loop, redirect the output")
    options.format = options.format or "csv"
    sidecar = options.sidecar or str(sidecar_path_for(options.dicom))
    try:
        with open_cine(options.dicom, prefetch_frames=0) as loop:
            if not os.path.exists(sidecar):
                return _fail(
                    f"{os.path.basename(sidecar)}: no such sidecar (nothing annotated yet?)"
                )
            try:
                doc = load_sidecar(sidecar, dicom_uid=loop.identity.sop_instance_uid)
                check_loop(doc, loop, path=sidecar)
            except SidecarError as exc:
                return _fail(str(exc).splitlines()[0])
            # The sidecar's manual calibration when it has one, else the DICOM regions.
            calibration_for = calibration_lookup(
                doc.annotations, loop.regions, (loop.columns, loop.rows)
            )
            rows = loop_measurements(doc.annotations, loop.n_frames, calibration_for)
            times_s = [float(t) / 1000.0 for t in loop.frame_start_times_ms()]
            if options.hydro:
                rows = cli_details.with_hydro_rows(
                    doc.annotations, loop.n_frames, calibration_for, times_s, rows
                )
    except CineError as exc:
        return _fail(str(exc))
    text = cli_details.measure_text(options, doc.annotations, rows, times_s)
    if text is None:
        text = measurements_json(rows) if options.format == "json" else measurements_csv(rows)
    sys.stdout.write(text)
    return EXIT_OK


def _cmd_deidentify(options: argparse.Namespace) -> int:
    """De-identify a loop (or a folder of loops): nothing of the patient in any message."""
    from usannotate.cine import CineError
    from usannotate.deid import (
        DeidentifyError,
        DeidentifyOptions,
        deidentify_file,
        deidentify_folder,
    )

    settings = DeidentifyOptions(
        shift_dates=options.shift_dates,
        keep_annotator=options.keep_annotator,
        encoding=options.encoding,
        key_file=options.key_file,
    )
    name = os.path.basename(os.path.normpath(options.input))
    try:
        if os.path.isdir(options.input):
            report = deidentify_folder(
                options.input,
                options.output,
                settings,
                progress=StepProgress("deidentify", "files"),
                jobs=options.jobs or default_jobs(),
            )
            for problem in report.failed:
                print(f"usannotate: {problem}", file=sys.stderr)
            print(f"{len(report.written)} loops de-identified, {len(report.failed)} failed")
            return EXIT_BAD_INPUT if report.failed else EXIT_OK
        if not os.path.exists(options.input):
            return _fail(f"{name}: no such file or folder")
        result = deidentify_file(
            options.input,
            options.output,
            settings,
            progress=StepProgress("deidentify", "frames written"),
            scan_progress=StepProgress("deidentify", "frames scanned for burned-in text"),
        )
    except (DeidentifyError, CineError) as exc:
        return _fail(str(exc).splitlines()[0])
    carried = f" and {result.sidecar.name}" if result.sidecar else ""
    print(
        f"{result.output.name}{carried}: {result.n_frames} frames, pixels cleaned by "
        f"{result.pixel_method}"
    )
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
