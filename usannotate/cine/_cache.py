"""A least-recently-used frame cache bounded in bytes, safe to share with a worker."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class FrameCache:
    """Keeps decoded frames until ``max_bytes`` is reached, dropping the oldest first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, index: int) -> np.ndarray | None:
        with self._lock:
            frame = self._frames.get(index)
            if frame is None:
                self.misses += 1
                return None
            self._frames.move_to_end(index)
            self.hits += 1
            return frame

    def __contains__(self, index: int) -> bool:
        with self._lock:
            return index in self._frames

    def put(self, index: int, frame: np.ndarray) -> None:
        if frame.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._frames.pop(index, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._frames[index] = frame
            self._bytes += frame.nbytes
            while self._bytes > self.max_bytes and self._frames:
                _, dropped = self._frames.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        """Bytes of decoded frames held now."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._frames)
