"""Bounded file access: never read or allocate more than the file really holds."""

from __future__ import annotations

import io
import os
import threading


class ClampedReader(io.BufferedReader):
    """A buffered reader whose ``read(n)`` never asks for more than what is left.

    A damaged header may declare a 2 GB element in a 2 MB file; CPython's buffered
    ``read(n)`` allocates ``n`` bytes before it finds out the file is short, so clamp
    the request to the bytes that are really there.
    """

    def __init__(self, path: str) -> None:
        super().__init__(io.FileIO(path, "rb"))
        self.size = os.fstat(self.fileno()).st_size

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return super().read()
        remaining = max(0, self.size - self.tell())
        return super().read(min(size, remaining))


class FileClosedError(Exception):
    """A read was attempted after the file was closed."""


class PositionalFile:
    """Thread-safe reads at absolute offsets, with the file size checked first.

    ``close`` waits for reads in flight, and reads after it raise
    :class:`FileClosedError`: a closed descriptor number may already belong to another
    file, and reading that would show another file's bytes.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self.size = os.fstat(self._fd).st_size
        self._lock = threading.Lock()

    def read_at(self, offset: int, length: int) -> bytes | None:
        """Return exactly ``length`` bytes from ``offset``, or None if the file is shorter."""
        if offset < 0 or length < 0 or offset + length > self.size:
            return None
        with self._lock:
            if self._fd < 0:
                raise FileClosedError
            if hasattr(os, "pread"):
                data = os.pread(self._fd, length, offset)
            else:  # pragma: no cover - Windows
                os.lseek(self._fd, offset, os.SEEK_SET)
                data = os.read(self._fd, length)
        return data if len(data) == length else None

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
