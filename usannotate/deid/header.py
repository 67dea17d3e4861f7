"""The de-identified header: the allow-list applied to the source's elements.

Each element of the source is kept only when :data:`~usannotate.deid.allowlist.ALLOWED`
names it (never a private one), and then only as its treatment says; UIDs become keyed
UIDs, dates are shifted by the patient's offset or removed. The de-identification
attributes (PatientIdentityRemoved, DeidentificationMethod and its code sequence,
LongitudinalTemporalInformationModified, BurnedInAnnotation) are added here; the pixel
description is the encoder's (:mod:`usannotate.deid.encoding`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydicom.datadict import keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from usannotate import __version__
from usannotate.deid import pseudonyms
from usannotate.deid._annex_e import EDITION, action_for
from usannotate.deid.allowlist import (
    ALLOWED,
    CODE_ITEM_KEYWORDS,
    TYPE_2,
    UNSAFE_VRS,
    Treatment,
)

#: DeidentificationMethodCodeSequence codes (CID 7050), DCM scheme.
BASIC_PROFILE = ("113100", "Basic Application Confidentiality Profile")
CLEAN_PIXEL_DATA = ("113101", "Clean Pixel Data Option")
MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")


@dataclass(frozen=True)
class HeaderPlan:
    """What the header step needs to know besides the source."""

    key: bytes
    shift_dates: bool
    #: how the pixels were cleaned, for DeidentificationMethod ("regions" / "static overlay")
    pixel_method: str
    #: True when the source's pixels went through lossy compression once
    source_lossy: bool


def _code_item(code: tuple[str, str]) -> Dataset:
    item = Dataset()
    item.CodeValue = code[0]
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = code[1]
    return item


def _kept_regions(sequence: Sequence) -> Sequence:
    """The calibration items with their standard numeric attributes only."""
    items = []
    for source in sequence:
        item = Dataset()
        for element in source:
            if element.tag.is_private or element.VR in UNSAFE_VRS:
                continue
            if action_for(int(element.tag)) is not None:
                continue
            item.add(DataElement(element.tag, element.VR, element.value))
        items.append(item)
    return Sequence(items)


def _kept_codes(sequence: Sequence) -> Sequence:
    items = []
    for source in sequence:
        item = Dataset()
        for keyword in CODE_ITEM_KEYWORDS:
            if keyword in source:
                setattr(item, keyword, source.get(keyword))
        items.append(item)
    return Sequence(items)


def _values(element: DataElement) -> list[str]:
    value = element.value
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes):
        return [value.decode("ascii", "replace") if isinstance(value, bytes) else value]
    return [str(v) for v in value]


def _dates(
    element: DataElement, days: int | None, shift: Callable[[str, int], str | None]
) -> object | None:
    """Shifted values (None drops the attribute); with ``days`` None, dates are removed."""
    if days is None:
        return None
    shifted = [shift(v, days) for v in _values(element)]
    if any(v is None for v in shifted):
        return None  # a value that cannot be shifted cannot be kept either
    return shifted[0] if len(shifted) == 1 else shifted


def _treated(
    element: DataElement, treatment: Treatment, plan: HeaderPlan, days: int | None
) -> DataElement | None:
    """The element to write for an allowed source element, or None to drop it."""
    tag, vr = element.tag, element.VR
    code = action_for(int(tag)) or ""
    if treatment is Treatment.KEEP:
        return DataElement(tag, vr, element.value)
    if treatment is Treatment.EMPTY:
        return DataElement(tag, vr, None)
    if treatment is Treatment.PSEUDONYM:
        original = _values(element)[0] if _values(element) else ""
        return DataElement(tag, vr, pseudonyms.patient_pseudonym(plan.key, original))
    if treatment is Treatment.UID:
        values = [pseudonyms.keyed_uid(plan.key, v) for v in _values(element)]
        return DataElement(tag, vr, values[0] if len(values) == 1 else values) if values else None
    if treatment in (Treatment.DATE, Treatment.DATETIME, Treatment.TIME):
        if treatment is Treatment.TIME:
            value = element.value if days is not None else None
        else:
            shift = pseudonyms.shift_date if vr == "DA" else pseudonyms.shift_datetime
            value = _dates(element, days, shift)
        if value is None:  # removed: dropped where the profile allows (X), else emptied
            return DataElement(tag, vr, None) if "Z" in code and "X" not in code else None
        return DataElement(tag, vr, value)
    if treatment is Treatment.REGIONS:
        return DataElement(tag, "SQ", _kept_regions(element.value or []))
    if treatment is Treatment.CODES:
        return DataElement(tag, "SQ", _kept_codes(element.value or []))
    raise AssertionError(treatment)


def deidentified_header(source: Dataset, plan: HeaderPlan) -> Dataset:
    """A new dataset (no file meta, no pixel description, no Pixel Data) holding what the
    allow-list keeps of ``source``, treated, plus the de-identification attributes."""
    patient_id = str(source.get("PatientID", "") or "")
    days = pseudonyms.date_offset_days(plan.key, patient_id) if plan.shift_dates else None
    out = Dataset()
    for element in source:
        if element.tag.is_private or element.tag.group in (0x0002, 0x7FE0):
            continue
        treatment = ALLOWED.get(keyword_for_tag(element.tag))
        if treatment is None:
            continue
        kept = _treated(element, treatment, plan, days)
        if kept is not None:
            out.add(kept)
    for keyword in TYPE_2:
        if keyword not in out:
            setattr(out, keyword, None)
    if not out.get("PatientID"):
        out.PatientID = pseudonyms.patient_pseudonym(plan.key, patient_id)
    out.PatientIdentityRemoved = "YES"
    dates = "dates shifted per patient" if plan.shift_dates else "dates and times removed"
    out.DeidentificationMethod = [
        f"usannotate {__version__}",
        f"PS3.15 {EDITION} Annex E Basic Profile",
        f"Clean Pixel Data ({plan.pixel_method})",
        dates,
    ]
    codes = [BASIC_PROFILE, CLEAN_PIXEL_DATA] + ([MODIFIED_DATES] if plan.shift_dates else [])
    out.DeidentificationMethodCodeSequence = Sequence([_code_item(c) for c in codes])
    out.LongitudinalTemporalInformationModified = "MODIFIED" if plan.shift_dates else "REMOVED"
    out.BurnedInAnnotation = "NO"
    out.LossyImageCompression = "01" if plan.source_lossy else "00"
    if not plan.source_lossy:
        for keyword in ("LossyImageCompressionRatio", "LossyImageCompressionMethod"):
            if keyword in out:
                del out[keyword]
    return out
