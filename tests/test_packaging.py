"""Installed as users install it (a wheel), usannotate finds its label sets and schema.

Issue 9: `pip install .` then `usannotate validate` crashed: the schema was read relative
to the source tree, which an installed package does not have. The resources are package
data (``usannotate.resources``); these tests build the real wheel (no network: the build
backend is the dev environment's setuptools) and run the CLI from it, away from the tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_dicoms" / "hydrodissection_linear_a.dcm"
#: What the wheel must carry as package data (the README's screenshots need not).
RESOURCES = (
    "usannotate/resources/__init__.py",
    "usannotate/resources/sidecar.schema.json",
    "usannotate/resources/SIDECAR.md",
    "usannotate/resources/labels/hydrodissection.json",
)


def test_every_package_folder_is_in_the_package_list() -> None:
    """pyproject lists packages by name (resources/ is mapped into the package): a new
    package folder must be added there, or the wheel silently lacks it."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    folders = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "usannotate").rglob("__init__.py")
    }
    data = {"usannotate.resources", "usannotate.resources.labels", "usannotate.resources.desktop"}
    assert folders | data == listed, (
        "add the missing packages to [tool.setuptools] packages in pyproject.toml "
        f"(or remove the stale ones): {sorted(folders ^ (listed - data))}"
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (a build leaves nothing in the tree)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("usannotate", "resources"):
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    [built] = out.glob("usannotate-*.whl")
    return built


def test_wheel_carries_the_resources_inside_the_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = [name for name in RESOURCES if name not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert not [n for n in names if n.startswith("resources/")], "a top-level resources/"
    assert not [n for n in names if "screenshots" in n]
    packages = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    assert {"usannotate/cine", "usannotate/ui", "usannotate/sidecar"} <= packages


def test_cli_runs_from_the_unpacked_wheel_away_from_the_tree(wheel: Path, tmp_path: Path) -> None:
    """The CLI, imported from the wheel's files only (the source tree is not on the path
    and the working folder is elsewhere), validates and measures a sidecar."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    work = tmp_path / "work"
    work.mkdir()
    dicom = work / SAMPLE.name
    shutil.copy2(SAMPLE, dicom)
    script = (
        "import sys\n"
        "import usannotate, usannotate.sidecar\n"
        "from importlib.resources import files\n"
        "from usannotate.annotations import AnnotatedObject, ShapeKind, default_label_set\n"
        "from usannotate.cli import main\n"
        "from usannotate.sidecar import new_document, save_sidecar, sidecar_path_for\n"
        "site = sys.argv[1]\n"
        "assert usannotate.__file__.startswith(site), usannotate.__file__\n"
        "assert str(files('usannotate.resources')).startswith(site)\n"
        "with usannotate.open_cine(sys.argv[2]) as loop:\n"
        "    doc = new_document(loop, default_label_set(), 'wheel test')\n"
        "needle = AnnotatedObject('needle', ShapeKind.NEEDLE)\n"
        "needle.set_points(0, [(200.0, 100.0), (300.0, 200.0)])\n"
        "doc.annotations.add(needle)\n"
        "save_sidecar(doc, sidecar_path_for(sys.argv[2]))\n"
        "sidecar = str(sidecar_path_for(sys.argv[2]))\n"
        "assert main(['validate', sidecar, '--dicom', sys.argv[2]]) == 0\n"
        "assert main(['measure', sys.argv[2]]) == 0\n"
        "assert main(['deidentify', sys.argv[2], '--output', 'clean/case.dcm']) == 0\n"
        "carried = 'clean/case.usannotate.json'\n"
        "assert main(['validate', carried, '--dicom', 'clean/case.dcm']) == 0\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # the de-identification key
    proc = subprocess.run(
        [sys.executable, "-c", script, str(site), str(dicom)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=work,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert "OK hydrodissection_linear_a.usannotate.json" in proc.stdout
    assert ",needle,length," in proc.stdout
    assert ",mm," in proc.stdout
