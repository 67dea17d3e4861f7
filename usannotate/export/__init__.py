"""What goes out of the tool: measurement tables (more formats follow), no Qt.

Every export is a library function here, called by both the CLI and the window, and
writes its output atomically.
"""

from usannotate.export.measurements import (
    MEASURE_COLUMNS,
    loop_measurements,
    measurements_csv,
    measurements_json,
    write_measurements,
)

__all__ = [
    "MEASURE_COLUMNS",
    "loop_measurements",
    "measurements_csv",
    "measurements_json",
    "write_measurements",
]
