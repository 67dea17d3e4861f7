"""Help > About: what the tool is, its version and licence, and what it is not for."""

from __future__ import annotations

import platform

import cv2
import numpy as np
import pydicom
import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from usannotate import __version__

#: Said wherever the tool introduces itself: it measures for teaching and research.
NOT_FOR_DIAGNOSIS = (
    "Not for diagnostic use. usannotate is a tool for annotating, teaching and research; "
    "it is not a medical device and its measurements must not be used to diagnose or "
    "treat a patient."
)


def about_html() -> str:
    """The About text: name, version, purpose, licence, the warning, component versions."""
    components = (
        f"Python {platform.python_version()} · Qt {qVersion()} · PySide6 "
        f"{PySide6.__version__} · pydicom {pydicom.__version__} · NumPy {np.__version__} "
        f"· OpenCV {cv2.__version__}"
    )
    return (
        f"<h3>usannotate {__version__}</h3>"
        "<p>Annotate ultrasound DICOM cine loops: fascial planes, the needle and the spread "
        "of injected fluid, frame by frame, measured in millimetres from the scan's own "
        "calibration.</p>"
        f"<p><b>{NOT_FOR_DIAGNOSIS}</b></p>"
        "<p>Free software under the MIT licence, provided without warranty of any kind.</p>"
        f"<p><small>{components}</small></p>"
    )


def show_about(parent: QWidget | None) -> None:
    """The About box (modal)."""
    QMessageBox.about(parent, "About usannotate", about_html())
