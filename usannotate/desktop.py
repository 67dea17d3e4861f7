"""Desktop integration on Linux (freedesktop.org): menu entry, icon, file types.

A menu entry, the icon, "Open with usannotate" for DICOM files and folders, and a file
type for our sidecars. No Qt.

``usannotate desktop install`` writes, under the user's data folder
(``$XDG_DATA_HOME``, by default ``~/.local/share``), or the one given:

- ``applications/usannotate.desktop`` — the menu entry, whose ``Exec`` is the program
  that ran the command (the bundle's executable, or this environment's ``usannotate``);
- ``mime/packages/usannotate.xml`` — ``application/x-usannotate-sidecar`` for
  ``*.usannotate.json`` (and ``application/dicom`` for systems that lack it);
- ``icons/hicolor/{scalable,256x256,48x48}/apps/usannotate.*`` — the icon;

then refreshes the desktop's caches with ``update-mime-database`` /
``update-desktop-database`` / ``gtk-update-icon-cache`` where they exist. Every file is
written atomically; ``uninstall`` removes exactly these files.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from usannotate._atomic import write_atomically

#: The desktop file's id: also the icon's name and the window class.
APP_ID = "usannotate"
SIDECAR_MIME_TYPE = "application/x-usannotate-sidecar"
#: The files written: resource name -> path under the data folder.
_FILES = {
    "usannotate.desktop": "applications/usannotate.desktop",
    "usannotate-mime.xml": "mime/packages/usannotate.xml",
    "usannotate.svg": "icons/hicolor/scalable/apps/usannotate.svg",
    "usannotate_256.png": "icons/hicolor/256x256/apps/usannotate.png",
    "usannotate_48.png": "icons/hicolor/48x48/apps/usannotate.png",
}
#: Cache refreshers run after a change (each optional): command, folder under data.
_REFRESH = (
    ("update-mime-database", "mime"),
    ("update-desktop-database", "applications"),
    ("gtk-update-icon-cache", "icons/hicolor"),
)


@dataclass(frozen=True)
class DesktopChange:
    """What an install or uninstall did: the files, and the caches refreshed."""

    files: list[Path]
    refreshed: list[str]


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME``, else ``~/.local/share`` (the freedesktop.org rule)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launch_command() -> list[str]:
    """The command that starts this very program: the bundle's executable, the
    ``usannotate`` script of this environment, or this Python with ``-m usannotate``."""
    if getattr(sys, "frozen", False):  # a PyInstaller bundle
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == APP_ID and script.is_file():
        return [str(script.resolve())]
    beside = Path(sys.executable).with_name(APP_ID)
    if beside.is_file():
        return [str(beside)]
    return [sys.executable, "-m", APP_ID]


def desktop_entry(command: list[str] | None = None) -> str:
    """The ``.desktop`` file's text for ``command`` (default: :func:`launch_command`)."""
    command = command or launch_command()
    template = files("usannotate.resources.desktop").joinpath("usannotate.desktop")
    text = template.read_text(encoding="utf-8")
    # The Desktop Entry spec quotes arguments with double quotes (shlex's single quotes
    # are not understood): quote every argument holding a space or a reserved character.
    exec_line = " ".join(_desktop_quote(part) for part in command)
    return text.replace("@EXEC@", exec_line).replace("@TRYEXEC@", command[0])


def _desktop_quote(argument: str) -> str:
    if argument and all(c.isalnum() or c in "-_./+,:=@" for c in argument):
        return argument
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in argument)
    return f'"{escaped}"'


def install(data_dir: Path | None = None, command: list[str] | None = None) -> DesktopChange:
    """Install the menu entry, icon and file types under ``data_dir`` (default: the
    user's, :func:`user_data_dir`).

    Raises
    ------
    OSError
        A file could not be written (nothing half-written is left under its name).
    """
    data_dir = Path(data_dir) if data_dir is not None else user_data_dir()
    resources = files("usannotate.resources.desktop")
    written = []
    for resource, relative in _FILES.items():
        target = data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if resource.endswith(".desktop"):
            data = desktop_entry(command).encode("utf-8")
        else:
            data = resources.joinpath(resource).read_bytes()
        write_atomically(target, data)
        written.append(target)
    return DesktopChange(written, _refresh(data_dir))


def uninstall(data_dir: Path | None = None) -> DesktopChange:
    """Remove what :func:`install` wrote (and nothing else)."""
    data_dir = Path(data_dir) if data_dir is not None else user_data_dir()
    removed = []
    for relative in _FILES.values():
        target = data_dir / relative
        if target.exists():
            target.unlink()
            removed.append(target)
    return DesktopChange(removed, _refresh(data_dir))


def _refresh(data_dir: Path) -> list[str]:
    """Run the caches' refreshers that exist; a failing one is not an error (the files
    are in place and the desktop reads them at its next start)."""
    done = []
    for tool, folder in _REFRESH:
        executable = shutil.which(tool)
        if executable is None or not (data_dir / folder).is_dir():
            continue
        quiet = {"update-mime-database": [], "gtk-update-icon-cache": ["-q", "-t", "-f"]}
        arguments = [executable, *quiet.get(tool, ["-q"]), str(data_dir / folder)]
        try:
            result = subprocess.run(arguments, capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if result.returncode == 0:
            done.append(tool)
    return done


def command_line(command: list[str]) -> str:
    """``command`` as a shell would take it (for messages)."""
    return shlex.join(command)
