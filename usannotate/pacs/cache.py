"""The local PACS cache: pulled series in the user cache folder, bounded, oldest removed first.

Each series lives in ``<cache>/pacs/<Series Instance UID>/`` as ``<SOP Instance UID>.dcm``
files (written atomically by :func:`pull.pull`). A series is complete only once its
hidden ``.complete.json`` lists every file with its size, written last, after the server's
every instance arrived; a series without it (a pull cancelled or cut off) is resumed by
the next pull and never opened as if whole. After each pull the cache is trimmed to its
size bound, least recently used series first, never the one just pulled.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import platformdirs

from usannotate._atomic import write_atomically
from usannotate.pacs.errors import PacsError
from usannotate.pacs.pull import Connection, PullProgress, check_uid, pull
from usannotate.pacs.servers import Server

#: The default bound of the cache (bytes).
DEFAULT_MAX_BYTES = 4 << 30
COMPLETE_MARKER = ".complete.json"


def default_cache_root() -> Path:
    """``<user cache dir>/pacs`` (``~/.cache/usannotate/pacs`` on Linux)."""
    return Path(platformdirs.user_cache_dir("usannotate", appauthor=False)) / "pacs"


def _folder_bytes(folder: Path) -> int:
    total = 0
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            total += entry.stat().st_size
    return total


class PacsCache:
    """Pulled series, bounded to ``max_bytes`` on disk."""

    def __init__(self, root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root) if root is not None else default_cache_root()
        self.max_bytes = max_bytes

    def series_folder(self, series_uid: str) -> Path:
        """Where a series goes (named by its UID only: no patient data in names)."""
        return self.root / check_uid(series_uid, "series UID")

    def is_complete(self, series_uid: str) -> bool:
        """Whether the series was pulled in full and every file is still there, whole."""
        folder = self.series_folder(series_uid)
        try:
            marker = json.loads((folder / COMPLETE_MARKER).read_text(encoding="utf-8"))
            files = marker["files"]
            return bool(files) and all(
                (folder / f["name"]).stat().st_size == f["size"] for f in files
            )
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def files(self, series_uid: str) -> list[Path]:
        """The files of a complete series (PacsError if it is not complete)."""
        if not self.is_complete(series_uid):
            raise PacsError("this series is not completely in the cache: pull it again")
        folder = self.series_folder(series_uid)
        marker = json.loads((folder / COMPLETE_MARKER).read_text(encoding="utf-8"))
        return [folder / f["name"] for f in marker["files"]]

    def pull_series(
        self,
        server: Server | Connection,
        study_uid: str,
        series_uid: str,
        *,
        progress: Callable[[PullProgress], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[Path]:
        """The series' files, pulled first unless complete in the cache; then the cache
        is trimmed to its bound. Raises what :func:`pull.pull` raises."""
        folder = self.series_folder(series_uid)
        if self.is_complete(series_uid):
            os.utime(folder / COMPLETE_MARKER)  # used now: last to be removed
            return self.files(series_uid)
        (folder / COMPLETE_MARKER).unlink(missing_ok=True)
        result = pull(
            server, study_uid, folder, series_uid=series_uid, progress=progress, cancelled=cancelled
        )
        if not result.complete:
            raise PacsError(
                f"only {len(result.files)} of {result.total} instances arrived: not opened"
            )
        marker = {
            "study_uid": study_uid,
            "series_uid": series_uid,
            "files": [{"name": p.name, "size": p.stat().st_size} for p in sorted(result.files)],
        }
        write_atomically(folder / COMPLETE_MARKER, json.dumps(marker, indent=1).encode())
        self.trim(keep=series_uid)
        return self.files(series_uid)

    def size_bytes(self) -> int:
        """Bytes on disk in the cache."""
        if not self.root.is_dir():
            return 0
        return sum(_folder_bytes(Path(e.path)) for e in os.scandir(self.root) if e.is_dir())

    def trim(self, keep: str | None = None) -> list[str]:
        """Remove series, least recently used first (incomplete ones by their age), until
        the cache is within its bound; never ``keep``. The series UIDs removed."""
        if not self.root.is_dir():
            return []
        entries = []
        for entry in os.scandir(self.root):
            if not entry.is_dir(follow_symlinks=False) or entry.name == keep:
                continue
            folder = Path(entry.path)
            marker = folder / COMPLETE_MARKER
            try:
                used = marker.stat().st_mtime if marker.exists() else entry.stat().st_mtime
            except OSError:
                used = time.time()
            entries.append((used, entry.name, _folder_bytes(folder)))
        total = self.size_bytes()
        removed = []
        for _used, name, size in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(self.root / name, ignore_errors=True)
            total -= size
            removed.append(name)
        return removed
