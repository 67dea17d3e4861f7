"""Shared test set-up: headless Qt, no user settings touched, small synthetic loops."""

from __future__ import annotations

import os

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def _no_annotation_folder():
    """Each test starts and ends with the process's default sidecar layout (no annotation
    folder, nothing cached), whatever the CLI or the window set."""
    from usannotate.sidecar.placement import set_annotation_folder

    set_annotation_folder(None)
    yield
    set_annotation_folder(None)
