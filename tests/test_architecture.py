"""The package's shape: a Qt-free core and CLI, no import circle, modules that say their job.

The core (cine, annotations, sidecar, tracking, export, samples, render, deid, team) and the CLI
never import Qt; no module of the package imports itself through others; every module of
the package, the UI's included, says in its docstring's first line what it is for.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "usannotate"
CORE = ["cine", "annotations", "sidecar", "tracking", "export", "samples", "render", "deid", "team"]
CORE += ["pacs"]  # DICOMweb and DIMSE clients, the PACS cache (issue 16)
#: Modules at the package's top level that belong to the core too.
CORE_MODULES = ["__init__.py", "_atomic.py", "batch.py", "desktop.py", "cli_track.py"]
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


def _modules() -> list[Path]:
    """Every module of the package, the UI's included."""
    return sorted(PACKAGE.rglob("*.py"))


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


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_says_in_its_first_line_what_it_is_for(path: Path):
    """A one-line summary (a whole sentence), then a blank line before any detail."""
    where = path.relative_to(PACKAGE)
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring, f"{where} has no docstring: say in one line what the module is for"
    first, *rest = docstring.splitlines()
    assert first.strip().endswith("."), (
        f"{where}: the docstring's first line {first!r} is no whole sentence"
    )
    assert not rest or not rest[0].strip(), (
        f"{where}: the summary runs on past its first line ({rest[0].strip()!r}); "
        "one line, then a blank line"
    )


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


# ------------------------------------------------------------------ import circles
def _module_names(package: Path) -> dict[str, Path]:
    """Every module of ``package`` (a folder) by dotted name; a package's is its folder's."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported_modules(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports, wherever the import stands:
    at the top, in a function (a deferred import hides a circle, it does not remove it)
    or under ``if TYPE_CHECKING:`` (types that need each other are a circle of the design).

    ``import a.b`` and ``from a import b`` where ``a.b`` is a module count as ``a.b``;
    ``from a.b import name`` counts as ``a.b``; relative imports are resolved against the
    importing module's package.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def known_module(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(known_module(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else known_module(base))
    found.discard(None)
    found.discard(name)
    return found  # type: ignore[return-value]


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (see :func:`_imported_modules`)."""
    known = _module_names(package)
    return {name: _imported_modules(name, path, known) for name, path in known.items()}


def import_cycles(graph: dict[str, set[str]]) -> list[tuple[list[str], list[str]]]:
    """Per group of modules that import each other (a strongly connected component of two
    or more modules): one shortest circle ``[a, b, ..., a]`` and every module of the
    group, sorted."""
    # Tarjan's algorithm, iterative so that a deep chain cannot hit the recursion limit.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(component)
    return sorted((_shortest_circle(graph, c), sorted(c)) for c in components)


def _shortest_circle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest path from the component's first module back to itself."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{sorted(component)} is no circle")


def _described(cycles: list[tuple[list[str], list[str]]]) -> str:
    return "; ".join(
        " -> ".join(circle)
        + (f" (circles join all of {', '.join(members)})" if len(members) > len(circle) - 1 else "")
        for circle, members in cycles
    )


def test_no_import_circle_in_the_core():
    graph = import_graph(PACKAGE)
    packages = tuple(f"usannotate.{name}" for name in CORE)
    top = {"usannotate." + m.removesuffix(".py") for m in CORE_MODULES} | {"usannotate"}
    core = {
        name
        for name in graph
        if name in top or name in packages or name.startswith(tuple(p + "." for p in packages))
    }
    assert len(core) > 50
    cycles = import_cycles({name: graph[name] & core for name in core})
    assert not cycles, f"import circles in the core: {_described(cycles)}"


def test_no_import_circle_in_the_package():
    """The UI, the CLI and the core together."""
    cycles = import_cycles(import_graph(PACKAGE))
    assert not cycles, f"import circles: {_described(cycles)}"


def test_the_circle_check_sees_every_kind_of_import(tmp_path: Path):
    """A package whose circles go through each kind of import the check must follow."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from pkg import b\n",  # a submodule named in a from-import
        "b.py": "def f():\n    from . import a\n",  # relative, deferred
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.d import X\n",
        "d.py": "import pkg.sub.e\n",
        "sub/__init__.py": "",
        "sub/e.py": "from ..c import thing\n",  # relative, two levels
        "alone.py": "import os\nimport pkg.a\nfrom pkg.sub import e\n",  # imports, in no circle
    }
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    cycles = import_cycles(import_graph(package))
    assert [circle for circle, _ in cycles] == [
        ["pkg.a", "pkg.b", "pkg.a"],
        ["pkg.c", "pkg.d", "pkg.sub.e", "pkg.c"],
    ]
    assert _described(cycles) == "pkg.a -> pkg.b -> pkg.a; pkg.c -> pkg.d -> pkg.sub.e -> pkg.c"


def test_a_group_larger_than_its_shortest_circle_is_named_whole(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    files = {"__init__.py": "", "a.py": "from pkg import b, c\n", "b.py": "import pkg.a\n"}
    files["c.py"] = "from pkg.a import x\n"
    for name, text in files.items():
        (package / name).write_text(text, encoding="utf-8")
    assert _described(import_cycles(import_graph(package))) == (
        "pkg.a -> pkg.b -> pkg.a (circles join all of pkg.a, pkg.b, pkg.c)"
    )
