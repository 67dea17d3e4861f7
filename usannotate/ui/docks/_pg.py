"""pyqtgraph on PySide6, imported only by the Curves dock's drawing, once the dock is shown.

Importing pyqtgraph takes about 0.3 s, which opening the window should not pay.
"""

from __future__ import annotations

import os

# pyqtgraph picks the first Qt binding it finds imported; ours is PySide6, whatever else
# is installed or named in the environment.
os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"
import pyqtgraph as pg

if pg.Qt.QT_LIB != "PySide6":  # pragma: no cover - another binding imported first
    raise ImportError(f"pyqtgraph uses {pg.Qt.QT_LIB}; the Curves dock needs PySide6")

__all__ = ["pg"]
