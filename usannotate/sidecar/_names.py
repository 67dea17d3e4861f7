"""File names beside a DICOM: the sidecar's and those derived from it (no Qt)."""

from __future__ import annotations

from pathlib import Path

#: Every sidecar's name ends with this.
SIDECAR_SUFFIX = ".usannotate.json"
#: A recovery file is ``.<sidecar stem>.<session>.usannotate.recovery.json`` beside the
#: sidecar (``.<sidecar stem>.usannotate.recovery.json`` before sessions had their own).
RECOVERY_SUFFIX = ".usannotate.recovery.json"


def sidecar_stem(sidecar_path: Path) -> str:
    """``loop`` for ``loop.usannotate.json`` (the whole name for any other name)."""
    name = sidecar_path.name
    return name[: -len(SIDECAR_SUFFIX)] if name.endswith(SIDECAR_SUFFIX) else name
