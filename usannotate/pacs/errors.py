"""The PACS errors: one line a sonographer understands, never a password or patient data.

Every message names the server by its redacted address (:func:`servers.redact`), so a
password given in a URL for a script never appears in a message, a log or a traceback.
"""

from __future__ import annotations


class PacsError(Exception):
    """A PACS operation failed; ``str(error)`` is one line for the user."""


class PacsUnreachable(PacsError):
    """The server does not answer: down, wrong address or port, or too slow (timeout)."""


class PacsAuthError(PacsError):
    """The server refused the credentials (HTTP 401 / 403, or an association rejected)."""


class PacsNotFound(PacsError):
    """The server has no such study, series or instance."""


class PacsRejected(PacsError):
    """The server refused to store what was sent (STOW-RS failure, C-STORE status)."""


class PacsCancelled(PacsError):
    """The user cancelled; what was complete stays, nothing half-written is left."""


class PacsServerSpecError(PacsError):
    """A SERVER given on the command line or in the settings cannot be understood."""
