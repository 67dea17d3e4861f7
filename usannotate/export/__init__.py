"""What goes out of the tool: measurement tables, DICOM SR, CVAT, COCO, YOLO, masks (no Qt).

Every export is a library function here, called by both the CLI and the window, and
writes its output atomically; the imports (SR, CVAT) write a new sidecar. highdicom,
PyYAML and the XML parser are imported by the modules that need them, on first use, so
``usannotate measure`` does not pay for them.
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
    "ExportError",
    "FrameChoice",
    "Progress",
    "annotated_loop",
    "import_cvat",
    "import_sr",
    "loop_measurements",
    "loops_with_sidecars",
    "measurements_csv",
    "measurements_json",
    "write_coco",
    "write_cvat",
    "write_masks",
    "write_measurements",
    "write_sr",
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
}


def __getattr__(name: str) -> object:
    """The exporters, imported on first use (highdicom alone takes ~0.5 s to import)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'usannotate.export' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
