"""A real Orthanc for the PACS tests, loaded with our sample loops and pydicom's US files.

Orthanc must be installed (``.ci/setup`` does it where apt exists): without it these
tests fail, loudly, and say how to install it; they never skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.pacs.cases import series_of_loops
from tests.pacs.orthanc import Orthanc, OrthancMissing, dicomweb_plugin, orthanc_binary

REPO = Path(__file__).resolve().parents[2]
SAMPLE_FILES = sorted((REPO / "sample_dicoms").glob("*.dcm"))
PYDICOM_US = ["examples_ybr_color.dcm", "examples_palette.dcm"]


@dataclass
class Loaded:
    """A running Orthanc and the files stored in it (source path by SOP Instance UID)."""

    orthanc: Orthanc
    files: dict[str, Path]
    series_paths: list[Path]

    def header(self, sop_uid: str) -> pydicom.Dataset:
        return pydicom.dcmread(self.files[sop_uid], stop_before_pixels=True)


def _need_orthanc() -> None:
    try:
        orthanc_binary()
        dicomweb_plugin()
    except OrthancMissing as exc:
        pytest.fail(str(exc), pytrace=False)


def load(orthanc: Orthanc, folder: Path) -> Loaded:
    """Store the sample loops, pydicom's US files and a 3-instance series in ``orthanc``."""
    series = series_of_loops(folder, 3, name="three")
    paths = [*SAMPLE_FILES, *(Path(get_testdata_file(n)) for n in PYDICOM_US), *series]
    files = {}
    for path in paths:
        orthanc.upload(path)
        files[str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)] = path
    return Loaded(orthanc, files, series)


@pytest.fixture(scope="session")
def pacs(tmp_path_factory: pytest.TempPathFactory):
    """One Orthanc for the session, loaded (see :func:`load`); not to be stopped by tests."""
    _need_orthanc()
    folder = tmp_path_factory.mktemp("orthanc")
    with Orthanc(folder / "server") as orthanc:
        yield load(orthanc, folder / "files")


@pytest.fixture
def own_pacs(tmp_path: Path):
    """An Orthanc of this test alone (it may stop it), loaded the same way."""
    _need_orthanc()
    orthanc = Orthanc(tmp_path / "server").start()
    try:
        yield load(orthanc, tmp_path / "files")
    finally:
        orthanc.stop()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Settings, cache and keyring of a fresh user for every test."""
    import keyring
    from keyring.backend import KeyringBackend

    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("USANNOTATE_PACS_PASSWORD", raising=False)
    store: dict[tuple[str, str], str] = {}

    class _Memory(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service, username):
            return store.get((service, username))

        def set_password(self, service, username, password):
            store[(service, username)] = password

        def delete_password(self, service, username):
            store.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(_Memory())
    yield store
    keyring.set_keyring(previous)
