"""The media export errors: one line naming the file, never a header value."""

from __future__ import annotations

from usannotate.export import _common


class ExportError(_common.ExportError):
    """An export that cannot be made, and why (the message starts with the file's name)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class ExportCancelled(Exception):
    """The user cancelled an export; what it was writing has been removed."""
