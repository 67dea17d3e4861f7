"""What goes out of the tool: tables, DICOM SR, CVAT, COCO, YOLO, masks, annotated media (no Qt).

Every export is a library function here, called by both the CLI and the window, and
writes its output atomically; the imports (SR, CVAT) write a new sidecar. highdicom,
PyYAML, the XML parser, PyAV and Pillow's fonts are imported by the modules that need
them, on first use, so ``usannotate measure`` (and the app's start-up) does not pay for
them. The media exports' own loop is :class:`usannotate.export.annotated.AnnotatedLoop`
(a loop with its marks drawn), not this package's :class:`AnnotatedLoop` (a loop with its
sidecar); their errors are this package's :class:`ExportError`.
"""

from usannotate.export._common import (
    AnnotatedLoop,
    ExportError,
    FrameChoice,
    Progress,
    annotated_loop,
    loops_with_sidecars,
)
from usannotate.export.measurements import (
    MEASURE_COLUMNS,
    loop_measurements,
    measurements_csv,
    measurements_json,
    write_measurements,
)

__all__ = [
    "MEASURE_COLUMNS",
    "AnnotatedLoop",
    "ExportCancelled",
    "ExportError",
    "FrameChoice",
    "MediaOptions",
    "Progress",
    "TeachingResult",
    "VideoResult",
    "annotated_loop",
    "chosen_frames",
    "export_teaching",
    "import_cvat",
    "import_sr",
    "loop_measurements",
    "loops_with_sidecars",
    "measurements_csv",
    "measurements_json",
    "write_coco",
    "write_cvat",
    "write_frames",
    "write_masks",
    "write_measurements",
    "write_sr",
    "write_video",
    "write_yolo",
]

_LAZY = {
    "write_sr": "usannotate.export.sr",
    "write_cvat": "usannotate.export.cvat",
    "write_coco": "usannotate.export.coco",
    "write_yolo": "usannotate.export.yolo",
    "write_masks": "usannotate.export.masks",
    "import_sr": "usannotate.export.imports",
    "import_cvat": "usannotate.export.imports",
    "MediaOptions": "usannotate.export.annotated",
    "ExportCancelled": "usannotate.export.errors",
    "chosen_frames": "usannotate.export.frames",
    "write_frames": "usannotate.export.frames",
    "TeachingResult": "usannotate.export.teaching",
    "export_teaching": "usannotate.export.teaching",
    "VideoResult": "usannotate.export.video",
    "write_video": "usannotate.export.video",
}


def __getattr__(name: str) -> object:
    """The exporters, imported on first use (highdicom alone takes ~0.5 s to import)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'usannotate.export' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
