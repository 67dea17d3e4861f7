"""Where a loop's sidecar is and goes: beside it, or in an annotation folder (no Qt).

In a multi-rater project each rater has a file of their own.

:func:`sidecar_location` is the one rule; every reader and writer (the app, ``status``,
``measure``, ``agreement``, ``validate``, every export) asks it, so a sidecar is found
where it was saved. The rule, in order:

1. **Name.** ``<loop>.usannotate.json`` (``loop.dcm`` -> ``loop``). In a project set up
   for several raters (``usannotate.toml``, see resources/PROJECT.md) each rater has
   ``<loop>.<rater>.usannotate.json``, the adjudicated result is
   ``<loop>.adjudicated.usannotate.json``, and asking for no rater there means the
   adjudicated file (the team's result: what exports use by default).
2. **Folder.** Beside the DICOM, unless the archive is read-only: the project says so
   (``read_only = true``), or the DICOM's folder cannot be written. Then the annotation
   folder (the project's, else the one set in Preferences or ``--annotations DIR``),
   mirroring the archive's tree: relative to the project's folder, or, outside a project,
   the DICOM folder's whole absolute path (so the same loop maps to the same file
   whichever folder was opened).

A folder "cannot be written" when the system says so (``os.access``), or when its
permission bits let nobody write (``chmod a-w``): an administrator could still write
there, but an archive made read-only on purpose stays untouched.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from usannotate.sidecar._names import SIDECAR_SUFFIX
from usannotate.sidecar.errors import SidecarError

#: The project file: in the archive's top folder (found from any folder below it).
PROJECT_FILE_NAME = "usannotate.toml"
#: The rater name of the adjudicated result: ``<loop>.adjudicated.usannotate.json``.
ADJUDICATED = "adjudicated"
#: Longest rater name accepted (it becomes part of a file name).
MAX_RATER_LENGTH = 40
#: Letters (any script), digits, ``_`` and ``-``: never a path separator, a dot or a space.
_RATER_PATTERN = re.compile(r"^[^\W_][\w-]*$")
#: Names Windows refuses as file names, whatever follows them.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10))}
_RESERVED |= {f"lpt{i}" for i in range(10)}


class ProjectError(SidecarError):
    """A ``usannotate.toml`` that cannot be read or says something impossible."""


def rater_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a rater's name in file names, or None if it can.

    A rater name is letters, digits, ``_`` and ``-`` (starting with a letter or digit, at
    most :data:`MAX_RATER_LENGTH` characters): no path separator, no dot, no space, never
    ``adjudicated`` (the adjudicated result's name).
    """
    if not name:
        return "a rater name is needed (Edit > Preferences > Annotator)"
    if len(name) > MAX_RATER_LENGTH:
        return f"the rater name is longer than {MAX_RATER_LENGTH} characters"
    if not _RATER_PATTERN.match(name):
        return (
            f"the rater name {name!r} may hold letters, digits, '_' and '-' only "
            "(no dot, space or path separator: it becomes part of the sidecar's file name)"
        )
    if name.lower() == ADJUDICATED:
        return f"'{ADJUDICATED}' is kept for the adjudicated result, not a rater's name"
    if name.lower() in _RESERVED:
        return f"the rater name {name!r} cannot be part of a file name on Windows"
    return None


def check_rater_name(name: str) -> str:
    """``name`` if it is a valid rater name (see :func:`rater_name_problem`).

    Raises
    ------
    ValueError
        Saying what is wrong with it.
    """
    problem = rater_name_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


@dataclass(frozen=True)
class Project:
    """What a ``usannotate.toml`` says (resources/PROJECT.md).

    Attributes
    ----------
    root
        The folder holding the file: the archive's top, which the annotation folder mirrors.
    annotation_folder
        Where sidecars go when the archive is read-only (absolute; None: Preferences').
    read_only
        The archive is never written: sidecars always go to the annotation folder.
    multi_rater
        Several raters: each writes ``<loop>.<rater>.usannotate.json``.
    raters
        The raters expected (optional; ``status`` counts a loop done when all are).
    """

    root: Path
    annotation_folder: Path | None = None
    read_only: bool = False
    multi_rater: bool = False
    raters: tuple[str, ...] = ()


def read_project(path: str | os.PathLike[str]) -> Project:
    """Read a project file.

    Raises
    ------
    ProjectError
        Not readable, not TOML, or a value of the wrong type (the message names the key).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProjectError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(path, f"is not valid TOML ({exc})") from None
    annotations = data.get("annotations", {})
    raters = data.get("raters", {})
    if not isinstance(annotations, dict) or not isinstance(raters, dict):
        raise ProjectError(path, "[annotations] and [raters] must be tables")
    folder = annotations.get("folder")
    read_only = annotations.get("read_only", False)
    multi = raters.get("multi_rater", False)
    names = raters.get("names", [])
    if folder is not None and (not isinstance(folder, str) or not folder.strip()):
        raise ProjectError(path, "annotations.folder must be a folder path (text)")
    if not isinstance(read_only, bool) or not isinstance(multi, bool):
        raise ProjectError(
            path, "annotations.read_only and raters.multi_rater must be true or false"
        )
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ProjectError(path, "raters.names must be a list of names")
    for name in names:
        problem = rater_name_problem(name)
        if problem is not None:
            raise ProjectError(path, f"raters.names: {problem}")
    root = path.parent.absolute()
    annotation_folder = None
    if folder is not None:
        annotation_folder = Path(os.path.abspath(root / Path(folder).expanduser()))
    if read_only and annotation_folder is None:
        raise ProjectError(path, "annotations.read_only needs annotations.folder")
    return Project(root, annotation_folder, read_only, multi, tuple(names))


def find_project(folder: str | os.PathLike[str]) -> Project | None:
    """The project ``folder`` belongs to: the nearest ``usannotate.toml`` in it or above.

    Raises
    ------
    ProjectError
        The file found cannot be read.
    """
    here = Path(os.path.abspath(folder))
    for candidate in (here, *here.parents):
        path = candidate / PROJECT_FILE_NAME
        if path.is_file():
            return read_project(path)
    return None


def folder_writable(folder: str | os.PathLike[str]) -> bool:
    """Whether sidecars may be written in ``folder`` (see the module's description)."""
    try:
        mode = os.stat(folder).st_mode
    except OSError:
        return False
    if not stat.S_ISDIR(mode) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return False
    return os.access(folder, os.W_OK)


def _mirrored(folder: Path) -> Path:
    """``folder``'s absolute path as a relative one (``C:\\a`` -> ``C/a``, ``/a`` -> ``a``)."""
    anchor = re.sub(r"[\\/:]+", "_", folder.anchor).strip("_")
    parts = folder.parts[1:] if folder.anchor else folder.parts
    return Path(anchor, *parts) if anchor else Path(*parts)


@dataclass
class SidecarLayout:
    """The settings :func:`sidecar_location` applies, and what it found out (cached).

    ``annotation_folder`` is the user's (Preferences, or ``--annotations DIR``); a
    project's own folder wins over it. A layout caches projects and folder writability
    for its lifetime: make a new one to see changes.
    """

    annotation_folder: Path | None = None
    _projects: dict[Path, Project | None] = field(default_factory=dict, repr=False)
    _writable: dict[Path, bool] = field(default_factory=dict, repr=False)

    def project(self, folder: Path) -> Project | None:
        """The project of a loop folder (cached)."""
        if folder not in self._projects:
            self._projects[folder] = find_project(folder)
        return self._projects[folder]

    def writable(self, folder: Path) -> bool:
        """Whether ``folder`` can be written (cached)."""
        if folder not in self._writable:
            self._writable[folder] = folder_writable(folder)
        return self._writable[folder]

    def annotation_root(self, dicom_folder: Path) -> Path | None:
        """The annotation folder the sidecars of ``dicom_folder``'s loops go to (its top,
        not the mirrored sub-folder), or None when they go beside the loops."""
        project = self.project(dicom_folder)
        redirect = project is not None and project.read_only
        if not redirect and self.writable(dicom_folder):
            return None
        base = project.annotation_folder if project is not None else None
        if base is None:
            base = self.annotation_folder
        return None if base is None else Path(os.path.abspath(Path(base).expanduser()))

    def sidecar_folder(self, dicom_folder: Path) -> Path:
        """Where the sidecars of the loops in ``dicom_folder`` are (rule 2); beside them
        when the folder cannot be written and no annotation folder is set (saving there
        then says why it cannot)."""
        base = self.annotation_root(dicom_folder)
        if base is None:
            return dicom_folder
        project = self.project(dicom_folder)
        if project is not None:
            relative = dicom_folder.relative_to(project.root)
        else:
            relative = _mirrored(dicom_folder)
        return base / relative

    def redirected(self, dicom_path: str | os.PathLike[str]) -> bool:
        """Whether the loop's sidecars go to an annotation folder."""
        return self.annotation_root(Path(os.path.abspath(dicom_path)).parent) is not None

    def multi_rater(self, dicom_path: str | os.PathLike[str]) -> bool:
        """Whether the loop is in a project set up for several raters."""
        project = self.project(Path(os.path.abspath(dicom_path)).parent)
        return project is not None and project.multi_rater


_default_layout = SidecarLayout()


def default_layout() -> SidecarLayout:
    """The process's layout (its annotation folder set by the app or ``--annotations``)."""
    return _default_layout


def set_annotation_folder(folder: str | os.PathLike[str] | None) -> SidecarLayout:
    """Make ``folder`` the process's annotation folder (a fresh layout: caches cleared)."""
    global _default_layout
    _default_layout = SidecarLayout(Path(os.path.abspath(folder)) if folder else None)
    return _default_layout


def loop_stem(dicom_name: str) -> str:
    """``loop`` for ``loop.dcm`` / ``loop.DCM``; any other name whole."""
    if dicom_name.lower().endswith(".dcm") and len(dicom_name) > 4:
        return dicom_name[:-4]
    return dicom_name


def sidecar_location(
    dicom_path: str | os.PathLike[str],
    *,
    rater: str | None = None,
    layout: SidecarLayout | None = None,
) -> Path:
    """Where the sidecar of ``dicom_path`` for ``rater`` is, and where it is saved.

    Parameters
    ----------
    rater
        A rater's name (used only in a multi-rater project), or :data:`ADJUDICATED`;
        None: the loop's one sidecar (in a multi-rater project, the adjudicated one).
    layout
        The settings; default :func:`default_layout`.

    Raises
    ------
    ValueError
        ``rater`` is not a valid rater name in a multi-rater project.
    ProjectError
        The project file cannot be read.
    """
    layout = layout or _default_layout
    dicom = Path(os.path.abspath(dicom_path))
    folder = layout.sidecar_folder(dicom.parent)
    if folder == dicom.parent:
        folder = Path(dicom_path).parent  # beside it, as the caller named it (relative)
    stem = loop_stem(dicom.name)
    if rater == ADJUDICATED or (rater is None and layout.multi_rater(dicom)):
        return folder / f"{stem}.{ADJUDICATED}{SIDECAR_SUFFIX}"
    if rater is not None and layout.multi_rater(dicom):
        return folder / f"{stem}.{check_rater_name(rater)}{SIDECAR_SUFFIX}"
    return folder / f"{stem}{SIDECAR_SUFFIX}"


def rater_sidecars(
    dicom_path: str | os.PathLike[str], *, layout: SidecarLayout | None = None
) -> dict[str, Path]:
    """Every rater's sidecar of a loop that exists (rater -> path, by name), found where
    :func:`sidecar_location` puts them; the adjudicated file is not a rater's."""
    layout = layout or _default_layout
    dicom = Path(os.path.abspath(dicom_path))
    folder = layout.sidecar_folder(dicom.parent)
    prefix = loop_stem(dicom.name) + "."
    found: dict[str, Path] = {}
    try:
        names = os.listdir(folder)
    except OSError:
        return found
    for name in sorted(names):
        if not (name.startswith(prefix) and name.endswith(SIDECAR_SUFFIX)):
            continue
        rater = name[len(prefix) : -len(SIDECAR_SUFFIX)]
        if rater_name_problem(rater) is None:
            found[rater] = folder / name
    return found


def rater_of_sidecar_name(dicom_path: str | os.PathLike[str], sidecar_name: str) -> str | None:
    """The rater a sidecar file name says (``loop.alice.usannotate.json`` -> ``alice``;
    ``adjudicated`` for the result), None for the loop's single sidecar or another name."""
    prefix = loop_stem(Path(dicom_path).name) + "."
    if not (sidecar_name.startswith(prefix) and sidecar_name.endswith(SIDECAR_SUFFIX)):
        return None
    rater = sidecar_name[len(prefix) : -len(SIDECAR_SUFFIX)]
    if rater == ADJUDICATED or rater_name_problem(rater) is None:
        return rater
    return None


__all__ = [
    "ADJUDICATED",
    "MAX_RATER_LENGTH",
    "PROJECT_FILE_NAME",
    "Project",
    "ProjectError",
    "SidecarLayout",
    "check_rater_name",
    "default_layout",
    "find_project",
    "folder_writable",
    "loop_stem",
    "rater_name_problem",
    "rater_of_sidecar_name",
    "rater_sidecars",
    "read_project",
    "set_annotation_folder",
    "sidecar_location",
]
