"""What goes out of the tool: measurement tables and annotated media (no Qt).

Every export is a library function here, called by both the CLI and the window, and
writes its output atomically. The media exports (:mod:`~usannotate.export.annotated`,
:mod:`~usannotate.export.video`, :mod:`~usannotate.export.frames`,
:mod:`~usannotate.export.teaching`) are imported on first use, so the measurement table
(and the app's start-up) does not pay for PyAV, Pillow's fonts and de-identification.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from usannotate.export.measurements import (
    MEASURE_COLUMNS,
    loop_measurements,
    measurements_csv,
    measurements_json,
    write_measurements,
)

if TYPE_CHECKING:
    from usannotate.export.annotated import AnnotatedLoop, MediaOptions
    from usannotate.export.errors import ExportCancelled, ExportError
    from usannotate.export.frames import chosen_frames, write_frames
    from usannotate.export.teaching import TeachingResult, export_teaching
    from usannotate.export.video import VideoResult, write_video

_LAZY = {
    "AnnotatedLoop": "annotated",
    "MediaOptions": "annotated",
    "ExportCancelled": "errors",
    "ExportError": "errors",
    "chosen_frames": "frames",
    "write_frames": "frames",
    "TeachingResult": "teaching",
    "export_teaching": "teaching",
    "VideoResult": "video",
    "write_video": "video",
}

__all__ = [
    "MEASURE_COLUMNS",
    "AnnotatedLoop",
    "ExportCancelled",
    "ExportError",
    "MediaOptions",
    "TeachingResult",
    "VideoResult",
    "chosen_frames",
    "export_teaching",
    "loop_measurements",
    "measurements_csv",
    "measurements_json",
    "write_frames",
    "write_measurements",
    "write_video",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'usannotate.export' has no attribute {name!r}")
    return getattr(importlib.import_module(f"usannotate.export.{module}"), name)
