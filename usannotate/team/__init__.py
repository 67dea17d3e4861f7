"""Work on archives by teams: worklist status of loops and sidecars, agreement (no Qt).

- :mod:`~usannotate.team.worklist`: what each loop of a folder has (status, raters,
  tracks, annotated frames, last modified), read cheaply from its sidecar, for the Loops
  list and ``usannotate status``.
- :mod:`~usannotate.team.agreement`: how far two raters' marks of one loop agree
  (:mod:`~usannotate.team.agreement_files`: from their files, and the report as text).
"""

from __future__ import annotations

from usannotate.team.worklist import (
    LoopStatus,
    SidecarSummary,
    count_line,
    folder_status,
    loop_status,
    summarise_sidecar,
)

__all__ = [
    "LoopStatus",
    "SidecarSummary",
    "count_line",
    "folder_status",
    "loop_status",
    "summarise_sidecar",
]
