"""Shared test set-up: headless Qt, no user settings touched, small synthetic loops."""

from __future__ import annotations

import os

# Before anything imports Qt: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
