"""What of a header the de-identified file may keep: the allow-list, by IOD module.

Everything not named here is dropped, every private element and every sequence not
listed included. What is kept still goes through the Basic Profile's action for the
attribute (see :mod:`usannotate.deid._annex_e`); ``tests/deid/test_allowlist.py`` checks
each treatment below is one the table allows. The modules are those of the Ultrasound
(Multi-frame) Image IOD (PS3.3 A.6 / A.7) plus SOP Common and, for scanners that save
loops as Secondary Capture, its equipment module.
"""

from __future__ import annotations

from enum import StrEnum


class Treatment(StrEnum):
    """What happens to an allowed attribute."""

    KEEP = "keep"  # not in Table E.1-1: kept as it is
    EMPTY = "empty"  # Z: present with no value
    PSEUDONYM = "pseudonym"  # D: a keyed dummy, the same for the same patient
    UID = "uid"  # U: a keyed-hash UID, the same for the same original
    DATE = "date"  # DA: shifted (option 113107) or removed (Z: emptied, else dropped)
    TIME = "time"  # TM: kept with shifted dates (whole days move), else removed
    DATETIME = "datetime"  # DT: its date part shifted, else removed
    REGIONS = "regions"  # the ultrasound calibration: items' standard numbers kept
    CODES = "codes"  # a code sequence: each item's code triplet only


T = Treatment

#: keyword -> treatment, grouped by the IOD module that needs it.
ALLOWED: dict[str, Treatment] = {
    # SOP Common
    "SOPClassUID": T.KEEP,
    "SOPInstanceUID": T.UID,
    "SpecificCharacterSet": T.KEEP,
    "InstanceCreationDate": T.DATE,
    "InstanceCreationTime": T.TIME,
    # Patient (type 2 attributes stay, emptied; the ID becomes a pseudonym)
    "PatientName": T.EMPTY,
    "PatientID": T.PSEUDONYM,
    "PatientBirthDate": T.EMPTY,
    "PatientSex": T.EMPTY,
    # General Study
    "StudyInstanceUID": T.UID,
    "StudyDate": T.DATE,
    "StudyTime": T.TIME,
    "ReferringPhysicianName": T.EMPTY,
    "StudyID": T.EMPTY,
    "AccessionNumber": T.EMPTY,
    # General Series
    "Modality": T.KEEP,
    "SeriesInstanceUID": T.UID,
    "SeriesNumber": T.KEEP,
    "Laterality": T.KEEP,
    "SeriesDate": T.DATE,
    "SeriesTime": T.TIME,
    "BodyPartExamined": T.KEEP,
    # Frame of Reference / Synchronization
    "FrameOfReferenceUID": T.UID,
    "PositionReferenceIndicator": T.KEEP,
    # General Equipment / SC Equipment (no serial number, station or institution)
    "Manufacturer": T.KEEP,
    "ManufacturerModelName": T.KEEP,
    "SoftwareVersions": T.KEEP,
    "ConversionType": T.KEEP,
    # General Image / General Acquisition
    "InstanceNumber": T.KEEP,
    "PatientOrientation": T.KEEP,
    "ContentDate": T.DATE,
    "ContentTime": T.TIME,
    "ImageType": T.KEEP,
    "AcquisitionNumber": T.KEEP,
    "AcquisitionDate": T.DATE,
    "AcquisitionTime": T.TIME,
    "AcquisitionDateTime": T.DATETIME,
    "LossyImageCompressionRatio": T.KEEP,
    "LossyImageCompressionMethod": T.KEEP,
    "RecognizableVisualFeatures": T.KEEP,
    # Cine and Multi-frame
    "FrameIncrementPointer": T.KEEP,
    "FrameTime": T.KEEP,
    "FrameTimeVector": T.KEEP,
    "StartTrim": T.KEEP,
    "StopTrim": T.KEEP,
    "RecommendedDisplayFrameRate": T.KEEP,
    "CineRate": T.KEEP,
    "FrameDelay": T.KEEP,
    "ActualFrameDuration": T.KEEP,
    "PreferredPlaybackSequencing": T.KEEP,
    # US Region Calibration
    "SequenceOfUltrasoundRegions": T.REGIONS,
    # US Image
    "NumberOfStages": T.KEEP,
    "StageNumber": T.KEEP,
    "NumberOfViewsInStage": T.KEEP,
    "ViewNumber": T.KEEP,
    "TransducerType": T.KEEP,
    "TransducerData": T.KEEP,
    "TransducerFrequency": T.KEEP,
    "ProcessingFunction": T.KEEP,
    "MechanicalIndex": T.KEEP,
    "BoneThermalIndex": T.KEEP,
    "CranialThermalIndex": T.KEEP,
    "SoftTissueThermalIndex": T.KEEP,
    "DepthOfScanField": T.KEEP,
    "HeartRate": T.KEEP,
    "AnatomicRegionSequence": T.CODES,
    "ViewCodeSequence": T.CODES,
    "TransducerScanPatternCodeSequence": T.CODES,
    "TransducerGeometryCodeSequence": T.CODES,
    "TransducerBeamSteeringCodeSequence": T.CODES,
    "TransducerApplicationCodeSequence": T.CODES,
}

#: Type 2 attributes of the modules above: written empty when the source lacks them.
TYPE_2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "SeriesNumber",
    "Manufacturer",
    "InstanceNumber",
)

#: The attributes of a code item kept by :attr:`Treatment.CODES`.
CODE_ITEM_KEYWORDS = (
    "CodeValue",
    "CodingSchemeDesignator",
    "CodingSchemeVersion",
    "CodeMeaning",
    "LongCodeValue",
    "URNCodeValue",
)

#: Value representations never kept inside a calibration region item.
UNSAFE_VRS = frozenset({"PN", "LO", "LT", "SH", "ST", "UT", "UC", "SQ", "DA", "DT", "TM", "UI"})
