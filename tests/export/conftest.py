"""Media export tests: each test gets its own settings folder (the de-identification key)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch):
    """platformdirs' config folder (and the CLI run in a subprocess) point at a fresh folder."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    return folder
