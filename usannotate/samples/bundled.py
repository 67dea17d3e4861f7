"""Where the sample loop the welcome and Help > Open Sample Loop open is found (no Qt).

The repository keeps the loops in ``sample_dicoms/``; the app bundle carries that folder;
an installed wheel does not (5 MB the program does not need), so there the loop is made
once by the generator that wrote the committed files (deterministic: byte for byte the
same file) into the user's cache folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from usannotate.samples.writer import BUNDLED_SAMPLES, make_sample_loop

#: The loop a first-time user is offered: the one the README's screenshots show.
FIRST_SAMPLE = "hydrodissection_linear_a.dcm"


def sample_folders() -> list[Path]:
    """Folders that may hold the committed sample loops, in the order they are tried: the
    app bundle's, then a source checkout's."""
    folders = []
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller's unpacked bundle
    if frozen:
        folders.append(Path(frozen) / "sample_dicoms")
    folders.append(Path(__file__).resolve().parents[2] / "sample_dicoms")
    return folders


def sample_loop_path(cache_dir: Path | None = None, name: str = FIRST_SAMPLE) -> Path:
    """The sample loop ``name``: the committed file where there is one, else generated
    into ``cache_dir`` (default: the user's cache folder) the first time it is asked for.

    Raises
    ------
    OSError
        The cache folder cannot be written (the caller says so).
    """
    for folder in sample_folders():
        if (folder / name).is_file():
            return folder / name
    if cache_dir is None:
        import platformdirs

        cache_dir = Path(platformdirs.user_cache_dir("usannotate")) / "samples"
    target = Path(cache_dir) / name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{name}.{os.getpid()}.partial.dcm")
    try:
        make_sample_loop(partial, write_truth=False, **BUNDLED_SAMPLES[name])
        os.replace(partial, target)  # never a half-written sample under the real name
    finally:
        partial.unlink(missing_ok=True)
    return target
