"""The ``usannotate pacs echo|find|pull|push`` subcommands (no Qt).

SERVER is a DICOMweb URL (``http(s)://[user:password@]host/...``), a DIMSE address
(``dicom://AET@host:port``) or the name of a saved server. The password may also come
from ``USANNOTATE_PACS_PASSWORD`` or the keyring (remembered by the app); it is never
printed. Exit 0 on success, 2 with one line on stderr otherwise (unreachable server,
refused credentials, unknown study, a file the server refused).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

EXIT_OK = 0
EXIT_BAD_INPUT = 2

COMMAND_HELP = {
    "pacs": "talk to a PACS by DICOMweb or DIMSE: echo, find studies and series, pull a "
    "study or series into a folder (resumable), push files (STOW-RS or C-STORE)",
}
_SERVER_HELP = (
    "http(s)://[user:password@]host[:port]/dicom-web, dicom://AET@host:port[?calling=OURAET"
    "&retrieve=move&move_port=N], or a saved server's name"
)


def _fail(message: str) -> int:
    print(f"usannotate: pacs: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def add_parsers(commands: argparse._SubParsersAction) -> None:
    """Add ``pacs`` and its four actions to the ``usannotate`` parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("server", metavar="SERVER", help=_SERVER_HELP)
    common.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds to wait for each answer (default 30; connecting: 5)",
    )
    common.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="HTTPS: trust this CA bundle (certificates are always verified)",
    )
    pacs = commands.add_parser("pacs", help=COMMAND_HELP["pacs"], description=COMMAND_HELP["pacs"])
    actions = pacs.add_subparsers(dest="pacs_command", required=True, metavar="ACTION")
    actions.add_parser(
        "echo", parents=[common], help="check the server answers (C-ECHO, or a QIDO-RS search)"
    )
    find = actions.add_parser(
        "find",
        parents=[common],
        help="studies and their series: UIDs, description, date, instances, frames",
    )
    find.add_argument("--patient-id", metavar="X", help="only this Patient ID")
    find.add_argument("--modality", metavar="US", help="only studies with this modality")
    find.add_argument(
        "--study-date",
        metavar="RANGE",
        help="YYYYMMDD, or YYYYMMDD-YYYYMMDD (an end may be left out)",
    )
    find.add_argument("--json", action="store_true", help="print a JSON list of studies")
    pull = actions.add_parser(
        "pull",
        parents=[common],
        help="retrieve a study (or one series) into DIR as <SOP Instance UID>.dcm files, "
        "skipping those already there",
    )
    pull.add_argument("--study", required=True, metavar="UID", help="Study Instance UID")
    pull.add_argument("--series", metavar="UID", help="only this Series Instance UID")
    pull.add_argument("--output", "-o", required=True, metavar="DIR", help="folder to write to")
    push = actions.add_parser(
        "push", parents=[common], help="send files: STOW-RS (DICOMweb) or C-STORE (DIMSE)"
    )
    push.add_argument("files", nargs="+", metavar="FILE", help="DICOM file(s)")


def _server(options: argparse.Namespace):
    from usannotate.pacs.credentials import with_known_secret
    from usannotate.pacs.servers import DicomWebServer, parse_server

    server = with_known_secret(parse_server(options.server))
    if options.timeout is not None:
        if not options.timeout > 0:
            raise ValueError("--timeout must be a positive number of seconds")
        server = replace(server, read_timeout_s=options.timeout)
    if options.ca_bundle:
        if not isinstance(server, DicomWebServer):
            raise ValueError("--ca-bundle is for https:// servers")
        if not os.path.isfile(options.ca_bundle):
            raise ValueError(f"{os.path.basename(options.ca_bundle)}: no such CA bundle")
        server = replace(server, verify_tls=options.ca_bundle)
    return server


def cmd_pacs(options: argparse.Namespace) -> int:
    """Run one ``pacs`` action; every failure is one line and exit 2."""
    from usannotate.pacs.errors import PacsError
    from usannotate.pacs.servers import redact

    action = {"echo": _echo, "find": _find, "pull": _pull, "push": _push}[options.pacs_command]
    server = None
    try:
        server = _server(options)
        return action(options, server)
    except PacsError as exc:
        secrets = (getattr(server, "password", None), getattr(server, "token", None))
        return _fail(redact(str(exc).splitlines()[0], *secrets))
    except ValueError as exc:
        return _fail(redact(str(exc).splitlines()[0]))


def _echo(options: argparse.Namespace, server) -> int:
    from usannotate.pacs.pull import echo

    print(echo(server))
    return EXIT_OK


def _count(value: int | None, unit: str) -> str:
    return f"{value} {unit}" if value is not None else f"? {unit}"


def _find(options: argparse.Namespace, server) -> int:
    from usannotate.pacs._values import check_date_range
    from usannotate.pacs.models import StudyQuery
    from usannotate.pacs.pull import find

    query = StudyQuery(
        patient_id=options.patient_id,
        modality=options.modality,
        study_date=check_date_range(options.study_date),
    )
    studies = find(server, query)
    if options.json:
        print(json.dumps([s.to_json() for s in studies], indent=2))
        return EXIT_OK
    for study in studies:
        modalities = "/".join(study.modalities) or "-"
        print(
            f"study {study.study_uid}  {study.date or '-'}  {modalities}  "
            f"{_count(study.n_series, 'series')}  {study.description}".rstrip()
        )
        for series in study.series:
            print(
                f"  series {series.series_uid}  {series.modality or '-'}  "
                f"{_count(series.n_instances, 'instances')}  {_count(series.n_frames, 'frames')}"
                f"  {series.description}".rstrip()
            )
    print(f"{len(studies)} stud{'y' if len(studies) == 1 else 'ies'}", file=sys.stderr)
    return EXIT_OK


class _PullProgress:
    """One progress line on stderr per instance completed."""

    def __init__(self) -> None:
        self._done = -1

    def __call__(self, progress) -> None:
        if progress.instances_done != self._done:
            self._done = progress.instances_done
            megabytes = progress.bytes_received / 1e6
            print(
                f"usannotate: pacs pull: {progress.instances_done}/{progress.instances_total} "
                f"instances ({megabytes:.1f} MB received)",
                file=sys.stderr,
                flush=True,
            )


def _pull(options: argparse.Namespace, server) -> int:
    from pathlib import Path

    from usannotate.pacs.pull import pull

    output = Path(options.output)
    if output.exists() and not output.is_dir():
        return _fail(f"{output.name}: the output must be a folder")
    result = pull(
        server, options.study, output, series_uid=options.series, progress=_PullProgress()
    )
    name = output.resolve().name
    print(
        f"{len(result.files)} of {result.total} instances in {name} "
        f"({result.written} pulled, {result.skipped} already there)"
    )
    return EXIT_OK


def _push(options: argparse.Namespace, server) -> int:
    from pathlib import Path

    from usannotate.pacs.pull import push

    missing = [p for p in options.files if not os.path.isfile(p)]
    if missing:
        return _fail(f"{os.path.basename(missing[0])}: no such file")
    outcomes = push(server, [Path(p) for p in options.files])
    for outcome in outcomes:
        if outcome.ok:
            print(f"OK {outcome.name}", flush=True)
        else:
            print(f"usannotate: pacs push: {outcome.name}: {outcome.message}", file=sys.stderr)
    return EXIT_OK if all(o.ok for o in outcomes) else EXIT_BAD_INPUT


HANDLERS = {"pacs": cmd_pacs}
