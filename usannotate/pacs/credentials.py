"""Remembered PACS secrets in the system keyring (``keyring``), never in a file.

A secret is stored only when the user asks to remember it; otherwise the app asks each
time and the CLI takes it from the URL or the ``USANNOTATE_PACS_PASSWORD`` variable.
A keyring that is missing or locked reads as "nothing remembered".
"""

from __future__ import annotations

import os

from usannotate.pacs.servers import DicomWebServer, Server

KEYRING_SERVICE = "usannotate-pacs"
PASSWORD_VARIABLE = "USANNOTATE_PACS_PASSWORD"


def remembered_secret(server: DicomWebServer) -> str | None:
    """The secret saved for ``server``, or None (none saved, or no usable keyring)."""
    try:
        import keyring
        import keyring.errors

        return keyring.get_password(KEYRING_SERVICE, server.secret_key)
    except Exception:  # any backend failure means: not remembered, ask
        return None


def remember_secret(server: DicomWebServer, secret: str) -> bool:
    """Save ``secret`` for ``server``; False when no keyring can hold it."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, server.secret_key, secret)
    except Exception:  # no backend: the user is asked each time
        return False
    return True


def forget_secret(server: DicomWebServer) -> None:
    """Remove a remembered secret, if any."""
    try:
        import keyring

        keyring.delete_password(KEYRING_SERVICE, server.secret_key)
    except Exception:  # nothing remembered, or no keyring
        return


def with_known_secret(server: Server) -> Server:
    """``server`` with its secret filled from the environment or the keyring when it needs
    one and has none (unchanged otherwise)."""
    if not isinstance(server, DicomWebServer) or not server.needs_secret:
        return server
    secret = os.environ.get(PASSWORD_VARIABLE) or remembered_secret(server)
    return server.with_secret(secret) if secret else server
