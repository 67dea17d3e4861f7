"""The de-identification key: made on first use in the user's settings folder, or a file.

The key turns original UIDs and patient IDs into new ones (HMAC-SHA256), so the same
key gives the same output on every run and the loops of one study stay one study, while
nobody without the key can go back. The core never uses Qt's settings: the key file
lives in the folder Qt's settings use for this app (``platformdirs``'
``user_config_dir("usannotate")``, ``~/.config/usannotate`` on Linux).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import platformdirs

from usannotate._atomic import write_atomically
from usannotate.deid.errors import DeidentifyError

KEY_FILE_NAME = "deidentify.key"
_KEY_BYTES = 32
#: A key file larger than this is not a key (someone passed the wrong file).
MAX_KEY_BYTES = 1 << 16


def default_key_path() -> Path:
    """Where the user's key lives (it may not exist yet)."""
    return Path(platformdirs.user_config_dir("usannotate", appauthor=False)) / KEY_FILE_NAME


def load_key(key_file: str | os.PathLike[str] | None = None) -> bytes:
    """The key: the bytes of ``key_file``, or the user's key, made now if missing.

    Raises
    ------
    DeidentifyError
        ``key_file`` cannot be read, is empty or is too large.
    """
    if key_file is not None:
        path = Path(key_file)
        try:
            if path.stat().st_size > MAX_KEY_BYTES:
                raise DeidentifyError(path.name, "the key file is too large to be a key")
            key = path.read_bytes()
        except OSError as exc:
            raise DeidentifyError(
                path.name, f"the key file cannot be read ({exc.strerror or 'error'})"
            ) from None
        if not key:
            raise DeidentifyError(path.name, "the key file is empty")
        return key
    path = default_key_path()
    if path.exists():
        return load_key(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(_KEY_BYTES).encode("ascii")
        write_atomically(path, key)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise DeidentifyError(
            path.name, f"the key cannot be saved in the settings folder ({exc.strerror})"
        ) from None
    return key
