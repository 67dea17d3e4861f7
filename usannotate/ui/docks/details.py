"""What the open loop is (timing, encoding, scanner, calibration); patient data on request."""

from __future__ import annotations

import os
import re

from pydicom.uid import UID
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from usannotate.cine import CineLoop, PatientDetails, Region

# Dark orange on a pale orange ground: readable on light and dark themes alike.
ATTENTION_STYLE = (
    "QLabel { color: #7a3e00; background: #fff1dc; border: 1px solid #f0a84a;"
    " border-radius: 3px; padding: 3px 5px; }"
)
_ATTENTION_TEXT_STYLE = "QLabel { color: #b35900; }"
_NOT_STATED = "—"

#: (key, label) of the loop fields, in display order; keys are the value labels' object names.
LOOP_FIELDS = (
    ("file", "File"),
    ("frames", "Frames"),
    ("frame_rate", "Frame rate"),
    ("timing_source", "Timing from"),
    ("frame_time", "Frame time"),
    ("duration", "Duration"),
)
IMAGE_FIELDS = (
    ("image_size", "Image size"),
    ("photometric", "Colour space"),
    ("transfer_syntax", "Encoding"),
    ("burned_in", "Burned-in text"),
)
SCANNER_FIELDS = (
    ("manufacturer", "Manufacturer"),
    ("model", "Model"),
    ("probe", "Probe"),
)
#: (key, label, PatientDetails attribute) of the identifiers shown only on request.
PATIENT_FIELDS = (
    ("patient_name", "Name", "name"),
    ("patient_id", "Patient ID", "patient_id"),
    ("birth_date", "Birth date", "birth_date"),
    ("study_date", "Study date", "study_date"),
    ("accession_number", "Accession no.", "accession_number"),
)


def region_text(number: int, region: Region) -> str:
    """One calibration line, e.g. ``Region 1: 2D tissue, 0.090 x 0.090 mm/px, [x0, y0, x1, y1]``.

    Bounds are inclusive pixel indices, as in DICOM.
    """
    kind = region.spatial_format.upper() if region.spatial_format == "2d" else region.spatial_format
    data_type = region.data_type.replace("_", " ")
    mm_x, mm_y = region.mm_per_px_x, region.mm_per_px_y
    if region.is_spatial_cm and mm_x is not None and mm_y is not None:
        scale = f"{mm_x:.3f} x {mm_y:.3f} mm/px"
    else:
        scale = f"units {region.units_x} x {region.units_y}, no mm"
    bounds = ", ".join(str(value) for value in region.bounds)
    return f"Region {number}: {kind} {data_type}, {scale}, [{bounds}]"


def _keep_together(text: str) -> str:
    """Non-breaking spaces inside the scale and the bounds, so a narrow panel wraps
    a region line between its parts rather than inside ``[x0, y0, x1, y1]``."""
    nbsp = "\u00a0"
    head, bracket, bounds = text.rpartition("[")
    head = head.replace(" x ", f"{nbsp}x{nbsp}").replace(" mm/px", f"{nbsp}mm/px")
    return head + bracket + bounds.replace(" ", nbsp)


def _dicom_date(value: str) -> str:
    """``20260101`` -> ``2026-01-01``; anything else as it is."""
    if re.fullmatch(r"\d{8}", value):
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def _value_label(parent: QWidget, key: str, label: QLabel | None = None) -> QLabel:
    label = label if label is not None else QLabel(parent)
    label.setObjectName(key)
    # Plain text: a file name or a header value must never be read as HTML.
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    # A long word (a UID, a probe code) is cut at the panel's edge instead of widening
    # the whole form past the dock.
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class ElidedLabel(QLabel):
    """One line of text, elided in the middle when narrow; the full text is the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full_text = ""

    def full_text(self) -> str:
        """The text before eliding."""
        return self._full_text

    def set_full_text(self, text: str) -> None:
        """Show ``text``, elided to the label's width."""
        self._full_text = text
        self.setToolTip(text)
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        shown = self.fontMetrics().elidedText(self._full_text, Qt.TextElideMode.ElideMiddle, width)
        self.setText(shown if width else self._full_text)


class MetadataPanel(QWidget):
    """Read-only facts about the open loop, without patient identifiers unless asked.

    Patient details (name, ID, birth date, study date, accession number) appear only
    while "Show patient details" is checked; they are never logged or printed.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._patient: PatientDetails | None = None
        self._values: dict[str, QLabel] = {}

        self.placeholder = QLabel("No loop open", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setEnabled(False)

        content = QWidget(self)
        self._form = QFormLayout(content)
        self._form.setContentsMargins(6, 4, 6, 6)
        self._form.setHorizontalSpacing(10)
        self._form.setVerticalSpacing(3)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self._add_section(content, "Loop", first=True)
        self._add_fields(content, LOOP_FIELDS)
        self._add_section(content, "Image")
        self._add_fields(content, IMAGE_FIELDS)
        self._add_section(content, "Scanner")
        self._add_fields(content, SCANNER_FIELDS)
        self._add_section(content, "Calibration")
        self.calibration_label = _value_label(content, "calibration")
        self.calibration_label.setToolTip(
            "Ultrasound regions of the scan: lengths are in mm only inside a region calibrated "
            "in cm on both axes. Bounds [x0, y0, x1, y1] are inclusive pixel indices."
        )
        self._form.addRow(self.calibration_label)

        self.warnings_label = _value_label(content, "warnings")
        self.warnings_label.setStyleSheet(ATTENTION_STYLE)
        self._form.addRow(self.warnings_label)

        self._add_section(content, "Patient")
        self.patient_checkbox = QCheckBox("Show patient details", content)
        self.patient_checkbox.setToolTip(
            "Shows the patient's name, ID, birth date, study date and accession number on "
            "screen. Leave it off while others can see the screen or when taking screenshots."
        )
        self.patient_checkbox.toggled.connect(self._show_patient)
        self._form.addRow(self.patient_checkbox)
        self._patient_labels: dict[str, QLabel] = {}
        for key, text, _attribute in PATIENT_FIELDS:
            label = _value_label(content, key)
            self._form.addRow(self._name_label(content, text), label)
            self._patient_labels[key] = label

        scroll = QScrollArea(self)
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll = scroll

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.placeholder)
        layout.addWidget(scroll)

        self.set_loop(None)

    # ------------------------------------------------------------- public API
    def set_loop(self, loop: CineLoop | None) -> None:
        """Show ``loop``'s details (or the "No loop open" placeholder for None).

        Only plain values are kept, not the loop: the panel never holds a file open.
        The "Show patient details" state carries over to the new loop.
        """
        self.placeholder.setVisible(loop is None)
        self._scroll.setVisible(loop is not None)
        if loop is None:
            self._patient = None
            for label in self._values.values():
                if isinstance(label, ElidedLabel):
                    label.set_full_text("")
                label.clear()
            self.calibration_label.clear()
            self.warnings_label.clear()
            self.warnings_label.setVisible(False)
            self._show_patient(self.patient_checkbox.isChecked())
            return

        source = loop.frame_time_source
        assumed = source == "assumed"
        transfer_syntax = UID(loop.transfer_syntax_uid)
        burned_in = {True: "Yes", False: "No", None: "Not stated"}[loop.burned_in_annotation]
        scan = loop.scan_info
        frame_time = f"{loop.frame_time_ms:.3f} ms"
        if source == "FrameTimeVector":
            frame_time += " (mean; varies per frame)"
        values = {
            "file": os.path.basename(loop.path),
            "frames": str(loop.n_frames),
            "frame_rate": f"{loop.frame_rate_fps:.2f} fps",
            "timing_source": (
                "assumed 30 fps: the file states no frame timing" if assumed else f"{source} tag"
            ),
            "frame_time": frame_time,
            "duration": f"{loop.duration_ms / 1000.0:.2f} s",
            "image_size": f"{loop.columns} x {loop.rows} px",
            "photometric": loop.photometric_interpretation or _NOT_STATED,
            "transfer_syntax": transfer_syntax.name,
            "burned_in": burned_in,
            "manufacturer": scan.manufacturer or _NOT_STATED,
            "model": scan.model or _NOT_STATED,
            "probe": scan.transducer or _NOT_STATED,
        }
        for key, value in values.items():
            label = self._values[key]
            if isinstance(label, ElidedLabel):
                label.set_full_text(value)
            else:
                label.setText(value)
        self._values["timing_source"].setStyleSheet(_ATTENTION_TEXT_STYLE if assumed else "")
        self._values["transfer_syntax"].setToolTip(loop.transfer_syntax_uid)
        self._values["burned_in"].setToolTip(
            "Text is burned into the pixels: it may show patient details in screenshots."
            if loop.burned_in_annotation
            else ""
        )

        if loop.regions:
            lines = [
                _keep_together(region_text(n, region)) for n, region in enumerate(loop.regions, 1)
            ]
            self.calibration_label.setText("\n".join(lines))
        else:
            self.calibration_label.setText("none — measurements in px")

        self.warnings_label.setText("\n".join(f"⚠ {warning}" for warning in loop.warnings))
        self.warnings_label.setVisible(bool(loop.warnings))

        self._patient = loop.patient
        self._show_patient(self.patient_checkbox.isChecked())

    # ------------------------------------------------------------- internals
    def _add_section(self, parent: QWidget, title: str, *, first: bool = False) -> None:
        heading = QLabel(title, parent)
        font = QFont(heading.font())
        font.setBold(True)
        heading.setFont(font)
        if not first:
            heading.setContentsMargins(0, 8, 0, 0)
        self._form.addRow(heading)

    def _add_fields(self, parent: QWidget, fields: tuple[tuple[str, str], ...]) -> None:
        for key, text in fields:
            # File names are long and unbroken: elide them rather than cut them off.
            label = _value_label(parent, key, ElidedLabel(parent) if key == "file" else None)
            if key == "file":
                label.setWordWrap(False)
            self._form.addRow(self._name_label(parent, text), label)
            self._values[key] = label

    @staticmethod
    def _name_label(parent: QWidget, text: str) -> QLabel:
        # Top-aligned, so a name stays on the first line of a value that wraps.
        label = QLabel(f"{text}:", parent)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        return label

    @Slot(bool)
    def _show_patient(self, shown: bool) -> None:
        # The identifiers live in the labels only while shown: hidden means cleared,
        # so nothing on screen (or in a widget dump) carries them.
        shown = shown and self._patient is not None
        for key, _text, attribute in PATIENT_FIELDS:
            label = self._patient_labels[key]
            if shown:
                value = getattr(self._patient, attribute) or ""
                if attribute.endswith("date"):
                    value = _dicom_date(value)
                label.setText(value or _NOT_STATED)
            else:
                label.clear()
            self._form.setRowVisible(label, shown)
