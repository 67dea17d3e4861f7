"""`usannotate desktop install|uninstall`: the menu entry, icon and "Open with" (no Qt)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from usannotate import desktop

COMMAND_HELP = {
    "desktop": "add usannotate to the desktop's menu with its icon and 'Open with' for DICOM "
    "files, folders and sidecars (Linux, freedesktop.org), or remove it",
}
EXIT_OK, EXIT_BAD_INPUT = 0, 2


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("desktop", help=COMMAND_HELP["desktop"])
    parser.add_argument("action", choices=("install", "uninstall"))
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where to install (default: $XDG_DATA_HOME, else ~/.local/share; "
        "/usr/local/share for every user of the machine)",
    )


def cmd_desktop(options: argparse.Namespace) -> int:
    data_dir = Path(options.data_dir) if options.data_dir else None
    try:
        if options.action == "install":
            change = desktop.install(data_dir)
        else:
            change = desktop.uninstall(data_dir)
    except OSError as exc:
        print(f"usannotate: desktop {options.action}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    verb = "installed" if options.action == "install" else "removed"
    for path in change.files:
        print(f"{verb} {path}")
    if options.action == "install":
        print(f"starts: {desktop.command_line(desktop.launch_command())}")
    if change.refreshed:
        print(f"refreshed: {', '.join(change.refreshed)}")
    return EXIT_OK


HANDLERS = {"desktop": cmd_desktop}
