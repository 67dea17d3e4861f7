"""A document checked for saving, and its file's bytes given out a chunk at a time.

Everything that can be checked before writing is checked by :func:`prepare_sidecar`
(consistency, the value rules of :mod:`usannotate.sidecar._limits`, the schema of
everything but the interpolated entries, which are made correct by construction); the
interpolated entries are made while the bytes are written (see
:mod:`usannotate.sidecar._streamed`), and :meth:`PreparedSidecar.check_read_back` says,
before the new file replaces the old one, whether the bytes written can be read back
within the reader's limits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from usannotate.sidecar._jsonfmt import dump_chunks
from usannotate.sidecar._limits import ReadCost, value_problems
from usannotate.sidecar._timestamps import format_timestamp
from usannotate.sidecar.document import SidecarDocument
from usannotate.sidecar.encode import schema_view, writable_json
from usannotate.sidecar.errors import SidecarWriteError
from usannotate.sidecar.schema import schema_problems
from usannotate.sidecar.validate import consistency_problems


class PreparedSidecar:
    """A document that passed every check a save makes before writing.

    Iterate :meth:`chunks` once to get the file's bytes (UTF-8); then
    :meth:`check_read_back` raises when they may not be read back.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self._cost = ReadCost()
        self._hash = hashlib.sha256()

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes, a chunk at a time (counted for :meth:`check_read_back`,
        hashed for :meth:`sha256`)."""
        for text in dump_chunks(self._data):
            chunk = text.encode("utf-8")
            self._cost.add(chunk)
            self._hash.update(chunk)
            yield chunk

    def sha256(self) -> str:
        """The SHA-256 of the bytes given out (the version a save leaves on disk)."""
        return self._hash.hexdigest()

    def check_read_back(self) -> None:
        """Raise :class:`SidecarWriteError` (no path) when the bytes given out are too
        large for the reader (see :class:`usannotate.sidecar._limits.ReadCost`)."""
        problem = self._cost.problem()
        if problem is not None:
            raise SidecarWriteError(
                None,
                f"not saved: the file written would be {problem.removeprefix('is ')}; the "
                "previous file was kept",
            )

    def to_bytes(self) -> bytes:
        data = b"".join(self.chunks())
        self.check_read_back()
        return data


def prepare_sidecar(
    doc: SidecarDocument,
    *,
    modified: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> PreparedSidecar:
    """Check ``doc`` for saving.

    Parameters
    ----------
    modified
        Written as ``modified`` instead of ``doc.modified`` (which is left alone).
    extra
        Top-level keys written as well (a recovery file's ``autosave`` record).

    Raises
    ------
    SidecarWriteError
        The document breaks the format (no path in it; each problem starts with
        ``"not saved: "``); nothing is written.
    """
    problems = consistency_problems(doc)
    data: dict[str, Any] = {}
    if not problems:
        try:
            data = writable_json(doc)
        except (ValueError, TypeError) as exc:
            problems = [str(exc)]
    if not problems:
        if modified is not None:
            data["modified"] = format_timestamp(modified)
        data.update(extra or {})
        view = schema_view(data)
        problems = value_problems(view) or schema_problems(view, allow_newer=doc.read_only)
    if problems:
        raise SidecarWriteError(None, [f"not saved: {p}" for p in problems])
    return PreparedSidecar(data)
