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


class PositionalFile:
    """Thread-safe reads at absolute offsets, with the file size checked first."""

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self.size = os.fstat(self._fd).st_size
        self._lock = threading.Lock()  # only used where os.pread is missing

    def read_at(self, offset: int, length: int) -> bytes | None:
        """Return exactly ``length`` bytes from ``offset``, or None if the file is shorter."""
        if offset < 0 or length < 0 or offset + length > self.size:
            return None
        if hasattr(os, "pread"):
            data = os.pread(self._fd, length, offset)
        else:  # pragma: no cover - Windows
            with self._lock:
                os.lseek(self._fd, offset, os.SEEK_SET)
                data = os.read(self._fd, length)
        return data if len(data) == length else None

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
