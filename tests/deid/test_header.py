"""The de-identified header: nothing planted survives, byte for byte; the table is obeyed."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.datadict import tag_for_keyword

from tests.cine.dicom_factory import make_planted_loop
from usannotate.deid import EDITION, DeidentifyOptions, deidentify_file
from usannotate.deid._annex_e import action_for, basic_profile_actions
from usannotate.deid.allowlist import ALLOWED, TYPE_2, Treatment

#: Which treatments each Basic Profile code allows (dates: option 113107 may modify any).
PERMITTED = {
    "D": {Treatment.PSEUDONYM},
    "Z": {Treatment.EMPTY},
    "X": set(),
    "U": {Treatment.UID},
    "Z/D": {Treatment.EMPTY, Treatment.PSEUDONYM},
    "X/Z": {Treatment.EMPTY},
    "X/D": set(),
    "X/Z/D": {Treatment.EMPTY, Treatment.PSEUDONYM},
    "X/Z/U*": {Treatment.UID},
}
DATES = {Treatment.DATE, Treatment.TIME, Treatment.DATETIME}


def test_the_table_is_the_standards_and_large():
    actions = basic_profile_actions()
    assert EDITION == "2026c"
    assert len(actions) > 500  # the whole of Table E.1-1, not a hand-typed excerpt
    assert actions[tag_for_keyword("PatientName")] == "Z"
    assert actions[tag_for_keyword("SOPInstanceUID")] == "U"
    assert actions[tag_for_keyword("InstitutionName")] == "X/Z/D"


@pytest.mark.parametrize("keyword", sorted(ALLOWED))
def test_every_allowed_treatment_is_one_the_profile_permits(keyword):
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    code = action_for(tag)
    treatment = ALLOWED[keyword]
    if code is None:
        assert treatment in (Treatment.KEEP, Treatment.REGIONS, Treatment.CODES), keyword
    elif treatment in DATES:
        pydicom_vr = pydicom.datadict.dictionary_VR(tag)
        assert pydicom_vr in ("DA", "TM", "DT"), keyword
    else:
        assert treatment in PERMITTED[code], (keyword, code, treatment)


def test_type_2_attributes_are_allowed():
    assert set(TYPE_2) <= set(ALLOWED)


@pytest.mark.parametrize("shift_dates", [False, True], ids=["dates removed", "dates shifted"])
@pytest.mark.parametrize("jpeg", [False, True], ids=["native", "jpeg"])
def test_no_planted_string_or_date_survives_byte_for_byte(tmp_path, shift_dates, jpeg):
    case = make_planted_loop(tmp_path, jpeg=jpeg)
    source = case.path.read_bytes()
    for planted in (*case.strings, *case.dates, *case.times):
        assert planted.encode() in source, f"the factory did not plant {planted!r}"
    out = tmp_path / "out" / "clean.dcm"
    deidentify_file(case.path, out, DeidentifyOptions(shift_dates=shift_dates))
    data = out.read_bytes()
    for planted in (*case.strings, *case.dates):
        assert planted.encode() not in data, planted
    for time in case.times:
        assert (time.encode() in data) == shift_dates, time  # kept only with shifted dates
    ds = pydicom.dcmread(out)
    assert not [e for e in ds.iterall() if e.tag.is_private]
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.BurnedInAnnotation == "NO"
    codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113101", *(["113107"] if shift_dates else [])]
    assert ds.LongitudinalTemporalInformationModified == ("MODIFIED" if shift_dates else "REMOVED")
    assert any(EDITION in value for value in ds.DeidentificationMethod)
    assert ds.LossyImageCompression == ("01" if jpeg else "00")
    for sequence in (
        "OtherPatientIDsSequence",
        "RequestAttributesSequence",
        "ReferencedStudySequence",
    ):
        assert sequence not in ds
    assert ds.AnatomicRegionSequence[0].CodeMeaning == "Abdomen"  # codes are kept
    assert ds.PatientName == ""
    assert ds.PatientID.startswith("ANON-")


def test_shifted_dates_keep_their_intervals(tmp_path):
    case = make_planted_loop(tmp_path)
    out = tmp_path / "clean.dcm"
    deidentify_file(case.path, out, DeidentifyOptions(shift_dates=True))
    ds = pydicom.dcmread(out)
    src = pydicom.dcmread(case.path)
    from datetime import date

    def day(text: str) -> date:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))

    shift = day(ds.StudyDate) - day(src.StudyDate)
    assert shift.days < 0
    assert day(ds.SeriesDate) - day(src.SeriesDate) == shift
    assert day(ds.AcquisitionDateTime) - day(src.AcquisitionDateTime) == shift
    assert ds.AcquisitionDateTime[8:] == src.AcquisitionDateTime[8:]  # the time kept
    assert ds.PatientBirthDate == ""  # not shifted: removed


def test_same_patient_same_shift_and_pseudonym_other_patient_other(tmp_path):
    a = make_planted_loop(tmp_path, "a", patient_id="ZZPAT-A")
    b = make_planted_loop(tmp_path, "b", patient_id="ZZPAT-A")
    c = make_planted_loop(tmp_path, "c", patient_id="ZZPAT-C")
    out = {}
    for case in (a, b, c):
        target = tmp_path / "out" / case.path.name
        deidentify_file(case.path, target, DeidentifyOptions(shift_dates=True))
        out[case.path.stem] = pydicom.dcmread(target)
    assert out["a"].PatientID == out["b"].PatientID != out["c"].PatientID
    assert out["a"].StudyDate == out["b"].StudyDate != out["c"].StudyDate
