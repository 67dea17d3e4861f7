"""`usannotate desktop install`: the menu entry, icon and file types, checked by the
freedesktop.org tools themselves (desktop-file-validate, update-mime-database, xdg-mime)."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

from usannotate import desktop
from usannotate.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicoms" / "hydrodissection_linear_a.dcm"


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is missing: .ci/setup installs it (desktop-file-utils, xdg-utils)"
    return found


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def test_install_writes_a_valid_entry_that_opens_dicom_folders_and_sidecars(tmp_path, capsys):
    data = tmp_path / "share"
    assert main(["desktop", "install", "--data-dir", str(data)]) == 0
    entry_path = data / "applications" / "usannotate.desktop"
    result = subprocess.run(
        [_tool("desktop-file-validate"), str(entry_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    entry = _entry(entry_path)
    mime_types = entry["MimeType"].rstrip(";").split(";")
    assert {"application/dicom", "inode/directory", desktop.SIDECAR_MIME_TYPE} <= set(mime_types)
    assert entry["Exec"].endswith(" %f")
    assert entry["Icon"] == "usannotate"
    assert (data / "icons/hicolor/256x256/apps/usannotate.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "installed" in out
    assert "starts:" in out


def test_the_desktop_knows_our_file_types_after_install(tmp_path):
    data = tmp_path / "share"
    desktop.install(data, command=["/opt/usannotate/usannotate"])
    assert (data / "mime" / "mime.cache").exists()  # update-mime-database ran
    sidecar = tmp_path / "case.usannotate.json"
    sidecar.write_text("{}", encoding="utf-8")
    environment = {
        **os.environ,
        "XDG_DATA_HOME": str(data),
        "XDG_DATA_DIRS": f"{data}:/usr/share",
        "XDG_CURRENT_DESKTOP": "X-Generic",
    }
    query = [_tool("xdg-mime"), "query", "filetype"]
    for path, expected in ((sidecar, desktop.SIDECAR_MIME_TYPE), (SAMPLE, "application/dicom")):
        answer = subprocess.run(
            [*query, str(path)], env=environment, capture_output=True, text=True
        )
        assert answer.stdout.strip() == expected, answer.stderr


def test_exec_quotes_a_path_with_spaces_as_the_spec_says(tmp_path):
    text = desktop.desktop_entry(["/home/a b/venv/bin/python", "-m", "usannotate"])
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line == 'Exec="/home/a b/venv/bin/python" -m usannotate %f'


def test_the_command_started_is_this_program():
    command = desktop.launch_command()
    assert Path(command[0]).is_file()
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("usannotate ")


def test_uninstall_removes_exactly_what_install_wrote(tmp_path):
    data = tmp_path / "share"
    other = data / "applications" / "someone-else.desktop"
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\n", encoding="utf-8")
    installed = desktop.install(data, command=["/usr/bin/true"]).files
    removed = desktop.uninstall(data).files
    assert sorted(removed) == sorted(installed)
    assert not any(p.exists() for p in installed)
    assert other.exists()


def test_an_unwritable_place_is_one_clear_line(tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    assert main(["desktop", "install", "--data-dir", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usannotate: desktop install:")
    assert err.count("\n") == 1


def test_python_m_usannotate_is_the_command():
    command = [sys.executable, "-m", "usannotate", "--version"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("usannotate ")
