"""Opening a DICOM file: the header before Pixel Data, and what it says of the scan.

:func:`read_header` parses everything before Pixel Data (never the pixels), with or
without the 128-byte preamble, inflating a deflated file; the ``*_of`` functions read
the loop's identity, scanner details and patient details from it, keeping only values
that are what they claim to be (a damaged length makes a value swallow the elements
after it, the patient's among them: see :mod:`usannotate.cine._header_values`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pydicom
import pydicom.config
from pydicom import filereader
from pydicom import uid as dicom_uid
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from usannotate.cine._deflate import read_deflated
from usannotate.cine._fileio import ClampedReader
from usannotate.cine._header_values import MAX_CODE_CHARS, checked_text, checked_uid
from usannotate.cine.errors import CineError, CorruptDicomError, NotDicomError

__all__ = [
    "DicomIdentity",
    "PatientDetails",
    "ScanInfo",
    "burned_in_annotation_of",
    "identity_of",
    "patient_of",
    "read_header",
    "scan_info_of",
]

# Values that break the DICOM rules are read as they are, silently: pydicom's validation
# messages quote the offending value, which may be a patient's name, and must not be logged.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE


@dataclass(frozen=True)
class DicomIdentity:
    """The UIDs that tie annotations to this exact DICOM object."""

    sop_instance_uid: str
    sop_class_uid: str
    study_instance_uid: str
    series_instance_uid: str


@dataclass(frozen=True)
class ScanInfo:
    """Non-identifying acquisition details, safe to show and to log."""

    modality: str = ""
    manufacturer: str = ""
    model: str = ""
    transducer: str = ""
    software_versions: str = ""


@dataclass(frozen=True, repr=False)
class PatientDetails:
    """Patient identifiers: shown only when the user asks, never logged or printed.

    ``repr`` and ``str`` hide every value so a stray log line or traceback cannot leak them.
    """

    name: str = field(default="")
    patient_id: str = field(default="")
    birth_date: str = field(default="")
    study_date: str = field(default="")
    accession_number: str = field(default="")

    def __repr__(self) -> str:
        return "PatientDetails(<hidden>)"

    __str__ = __repr__


# ----------------------------------------------------------------- reading
def read_header(path: str) -> tuple[Dataset, int, memoryview | None]:
    """Parse everything of ``path`` before Pixel Data.

    Returns
    -------
    (header, pixel_offset, deflated_pixels)
        The parsed header (no Pixel Data; it holds patient data: never log it), the file
        offset of the Pixel Data element, and for a deflated file the inflated bytes
        from the Pixel Data element on (then ``pixel_offset`` is 0), else None.

    Raises
    ------
    CineError
        No such file, a folder, unreadable; :class:`NotDicomError` (empty, not DICOM) and
        :class:`CorruptDicomError` (damaged or cut short header) are subclasses.
    """
    try:
        reader = ClampedReader(path)
    except FileNotFoundError:
        raise CineError(path, "no such file") from None
    except IsADirectoryError:
        raise CineError(path, "is a folder, not a DICOM file") from None
    except OSError as exc:
        raise CineError(path, f"cannot be read ({exc.strerror or 'I/O error'})") from None
    with reader, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if reader.size == 0:
            raise NotDicomError(path, "the file is empty, not a DICOM file")
        try:
            filereader.read_preamble(reader, False)
            meta = filereader._read_file_meta_info(reader)
        except InvalidDicomError:
            # No "DICM" preamble: old files may still be raw DICOM datasets.
            return _read_without_preamble(path, reader), reader.tell(), None
        except Exception:
            raise CorruptDicomError(path, "the DICOM header is damaged or cut short") from None
        if meta.get("TransferSyntaxUID") == dicom_uid.DeflatedExplicitVRLittleEndian:
            ds, deflated_pixels = read_deflated(reader, meta, path)
            return ds, 0, deflated_pixels
        reader.seek(0)
        try:
            ds = pydicom.dcmread(reader, stop_before_pixels=True)
        except Exception:
            raise CorruptDicomError(path, "the DICOM header is damaged or cut short") from None
        return ds, reader.tell(), None


def _read_without_preamble(path: str, reader: ClampedReader) -> Dataset:
    reader.seek(0)
    try:
        ds = pydicom.dcmread(reader, stop_before_pixels=True, force=True)
        looks_like_image = "Rows" in ds and "Columns" in ds
    except Exception:
        looks_like_image = False
    if not looks_like_image:
        raise NotDicomError(path, "not a DICOM file")
    return ds


# ------------------------------------------------------- what the header says
def burned_in_annotation_of(ds: Dataset) -> bool | None:
    """Whether the pixels carry burned-in text (None when the file does not say)."""
    bia = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    return {"YES": True, "NO": False}.get(bia)


def identity_of(ds: Dataset) -> DicomIdentity:
    """The header's UIDs; ``""`` for one that is missing or not a UID (damaged)."""
    return DicomIdentity(
        sop_instance_uid=_uid(ds, "SOPInstanceUID"),
        sop_class_uid=_uid(ds, "SOPClassUID"),
        study_instance_uid=_uid(ds, "StudyInstanceUID"),
        series_instance_uid=_uid(ds, "SeriesInstanceUID"),
    )


def scan_info_of(ds: Dataset) -> ScanInfo:
    """The scanner details, each ``""`` unless it is a short printable text."""
    return ScanInfo(
        modality=_checked(ds, "Modality", MAX_CODE_CHARS),
        manufacturer=_checked(ds, "Manufacturer"),
        model=_checked(ds, "ManufacturerModelName"),
        transducer=_checked(ds, "TransducerData") or _checked(ds, "TransducerType", MAX_CODE_CHARS),
        software_versions=_checked(ds, "SoftwareVersions"),
    )


def patient_of(ds: Dataset) -> PatientDetails:
    """The patient identifiers (hidden in ``repr``; shown only when asked)."""
    return PatientDetails(
        name=_text(ds, "PatientName"),
        patient_id=_text(ds, "PatientID"),
        birth_date=_text(ds, "PatientBirthDate"),
        study_date=_text(ds, "StudyDate"),
        accession_number=_text(ds, "AccessionNumber"),
    )


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword, "")
    except Exception:  # an unreadable value is shown as missing
        return ""
    if isinstance(value, MultiValue | list | tuple):
        return " / ".join(str(v).strip() for v in value if str(v).strip())
    return str(value or "").strip()


def _checked(ds: Dataset, keyword: str, max_chars: int = 64) -> str:
    """A scanner detail as :func:`_text` gives it, or ``""`` when any of its values is
    not a short printable text (a damaged length swallowed what follows)."""
    try:
        value = ds.get(keyword, "")
    except Exception:
        return ""
    values = value if isinstance(value, MultiValue | list | tuple) else [value]
    texts = [str(v or "").strip() for v in values]
    if any(checked_text(t, max_chars=max_chars) != t for t in texts):
        return ""
    return " / ".join(t for t in texts if t)


def _uid(ds: Dataset, keyword: str) -> str:
    """A UID of the header, or ``""`` when it is missing or not a UID (damaged)."""
    try:
        value = ds.get(keyword, "")
    except Exception:
        return ""
    return checked_uid(value or "") or ""
