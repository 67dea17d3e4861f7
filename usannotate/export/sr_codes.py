"""The codes of our DICOM SR: measurement concepts, units and the private frame-source codes.

No Qt. Standard codes (SNOMED CT, DCM, UCUM) wherever one says what a value is; the few
things no standard code names (where a track's geometry on a frame comes from, the fluid's
extent along a plane, a label) use the private coding scheme ``99USANN`` (PS3.16 allows
private schemes whose designator starts with ``99``).
"""

from __future__ import annotations

from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes

from usannotate.annotations import FrameSource

__all__ = [
    "FRAME_SOURCE",
    "MEASUREMENT_CODES",
    "OUT_OF_VIEW",
    "SCHEME",
    "SOURCE_CODES",
    "UNIT_CODES",
    "label_code",
]

#: Our private coding scheme designator.
SCHEME = "99USANN"

#: Measurement name (as ``usannotate measure`` prints it) -> its concept name.
MEASUREMENT_CODES: dict[str, CodedConcept] = {
    "length": CodedConcept.from_code(codes.SCT.Length),
    "angle": CodedConcept.from_code(codes.SCT.Angle),
    "tip_depth": CodedConcept.from_code(codes.SCT.Depth),
    "depth": CodedConcept.from_code(codes.SCT.Depth),
    "tip_to_plane": CodedConcept.from_code(codes.DCM.Distance),
    "area": CodedConcept.from_code(codes.SCT.Area),
    "extent_along_plane": CodedConcept("EXTENT_PLANE", SCHEME, "Extent along fascial plane"),
}

#: Unit of a measurement (as ``usannotate measure`` prints it) -> its UCUM code. Pixels
#: have no UCUM unit: they go out as UCUM annotations, and only when asked for.
UNIT_CODES: dict[str, CodedConcept] = {
    "mm": CodedConcept.from_code(codes.UCUM.Millimeter),
    "mm2": CodedConcept.from_code(codes.UCUM.SquareMillimeter),
    "deg": CodedConcept.from_code(codes.UCUM.Degree),
    "px": CodedConcept("{pixels}", "UCUM", "pixels"),
    "px2": CodedConcept("{square pixels}", "UCUM", "square pixels"),
}

#: Name of the qualitative evaluation saying where a frame's geometry comes from.
FRAME_SOURCE = CodedConcept("FRAME_SOURCE", SCHEME, "Geometry source on this frame")

#: Frame source -> its coded value; :data:`OUT_OF_VIEW` marks a gap (no geometry).
SOURCE_CODES: dict[str, CodedConcept] = {
    FrameSource.KEYFRAME.value: CodedConcept("KEYFRAME", SCHEME, "Keyframe, placed by a person"),
    FrameSource.TRACKED.value: CodedConcept("TRACKED", SCHEME, "Tracked by optical flow"),
    FrameSource.INTERPOLATED.value: CodedConcept(
        "INTERPOLATED", SCHEME, "Interpolated between stored frames"
    ),
}
OUT_OF_VIEW = CodedConcept("OUT_OF_VIEW", SCHEME, "Out of view on this frame (a gap)")


def label_code(label_id: str, label_name: str) -> CodedConcept:
    """The finding type of a track: its label id as a private code, its name as meaning
    (highdicom writes ids longer than 16 characters as a Long Code Value)."""
    return CodedConcept(label_id, SCHEME, label_name)
