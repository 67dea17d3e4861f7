"""The core (cine, annotations, sidecar, tracking, export) and the CLI never import Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "usannotate"
CORE = ["cine", "annotations", "sidecar", "tracking", "export", "samples"]
#: Modules at the package's top level that belong to the core too.
CORE_MODULES = ["__init__.py", "_atomic.py"]
FORBIDDEN = ("PySide6", "shiboken6", "usannotate.ui", "pyqtgraph")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _core_files() -> list[Path]:
    return sorted(
        [
            path
            for name in CORE
            if (PACKAGE / name).is_dir()
            for path in (PACKAGE / name).rglob("*.py")
        ]
        + [PACKAGE / name for name in CORE_MODULES]
    )


def test_core_packages_exist():
    assert (PACKAGE / "cine" / "__init__.py").is_file()
    assert _core_files()


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_core_module_has_no_qt_import(path: Path):
    bad = sorted(
        name
        for name in _imports(path)
        if any(name.split(".")[0] == f or name.startswith(f) for f in FORBIDDEN)
    )
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}: the core must stay Qt-free"


def test_importing_core_and_cli_loads_no_qt(tmp_path: Path):
    """At run time too: importing the core and running a subcommand pulls in no Qt module."""
    from pydicom.data import get_testdata_file

    loop_path = get_testdata_file("examples_ybr_color.dcm")
    code = (
        "import sys, importlib, contextlib, io\n"
        "from usannotate import cli\n"
        f"for name in {[f'usannotate.{c}' for c in CORE]!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        if exc.name != name: raise\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert cli.main(['info', {loop_path!r}, '--json']) == 0\n"
        f"    assert cli.main(['frame', {loop_path!r}, '--index', '1', '-o', sys.argv[1]]) == 0\n"
        "qt = sorted(m for m in sys.modules\n"
        "            if m.startswith(('PySide6', 'shiboken6', 'usannotate.ui')))\n"
        "print(','.join(qt))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "f.png")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == ""
    assert (tmp_path / "f.png").is_file()
