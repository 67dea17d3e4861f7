"""The de-identification error: one line naming the file, never a header value."""

from __future__ import annotations


class DeidentifyError(Exception):
    """A file that cannot be de-identified, and why (the message starts with its name)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
