"""pyqtgraph on PySide6, imported only by the Curves dock's drawing, once the dock is shown.

Importing pyqtgraph takes about 0.3 s, which opening the window should not pay.
"""

from __future__ import annotations

import os

# pyqtgraph picks the first Qt binding it finds imported; ours is PySide6, whatever else
# is installed or named in the environment.
os.environ["PYQTGRAPH_QT_LIB"] = "PySide6"
import pyqtgraph as pg
from PySide6.QtCore import QSizeF

if pg.Qt.QT_LIB != "PySide6":  # pragma: no cover - another binding imported first
    raise ImportError(f"pyqtgraph uses {pg.Qt.QT_LIB}; the Curves dock needs PySide6")


_label_size_hint = pg.LabelItem.sizeHint


def _size_hint_while_whole(self, hint, constraint):
    # Qt may ask a label for its size while the interpreter tears the program down, after
    # Python has emptied the label's attributes; pyqtgraph then prints a traceback
    # ("'LabelItem' object has no attribute '_sizeHint'", pyqtgraph issue #472).
    if "_sizeHint" not in self.__dict__:
        return QSizeF()
    return _label_size_hint(self, hint, constraint)


pg.LabelItem.sizeHint = _size_hint_while_whole

__all__ = ["pg"]
