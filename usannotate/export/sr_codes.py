"""The codes of our DICOM SR: measurement concepts, units and the private track codes.

No Qt. Standard codes (SNOMED CT, DCM, UCUM) wherever one says what a value is; the few
things no standard code names (where a track's geometry on a frame comes from, the fluid's
extent along a plane, a label, the sidecar's track id and name) use the private coding
scheme ``99USANN`` (PS3.16 allows private schemes whose designator starts with ``99``).
Lists of frame numbers are written as text ranges (:func:`frame_ranges`), 1-based as
DICOM frame numbers are.
"""

from __future__ import annotations

from collections.abc import Iterable

from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes

from usannotate.annotations import FrameSource

__all__ = [
    "FRAME_LISTS",
    "FRAME_SOURCE",
    "MEASUREMENT_CODES",
    "OUT_OF_VIEW",
    "SCHEME",
    "SOURCE_CODES",
    "TRACK_ID",
    "TRACK_NAME",
    "UNIT_CODES",
    "frame_ranges",
    "label_code",
    "parse_frame_ranges",
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
    # The hydrodissection measures (measure --hydro): no standard code says what they are.
    "fluid_thickness": CodedConcept("FLUID_THICKNESS", SCHEME, "Fluid thickness across plane"),
    "plane_separation": CodedConcept("PLANE_SEPARATION", SCHEME, "Fascial plane separation"),
    "plane_separation_at_tip": CodedConcept(
        "PLANE_SEP_TIP", SCHEME, "Fascial plane separation at needle tip"
    ),
    "insertion_depth": CodedConcept("INSERTION_DEPTH", SCHEME, "Needle insertion depth"),
    "spread_rate": CodedConcept("SPREAD_RATE", SCHEME, "Spread rate along plane"),
    "area_rate": CodedConcept("AREA_RATE", SCHEME, "Fluid area rate"),
    "advance_rate": CodedConcept("ADVANCE_RATE", SCHEME, "Needle advance per second"),
}

#: Unit of a measurement (as ``usannotate measure`` prints it) -> its UCUM code. Pixels
#: have no UCUM unit: they go out as UCUM annotations, and only when asked for.
UNIT_CODES: dict[str, CodedConcept] = {
    "mm": CodedConcept.from_code(codes.UCUM.Millimeter),
    "mm2": CodedConcept.from_code(codes.UCUM.SquareMillimeter),
    "deg": CodedConcept.from_code(codes.UCUM.Degree),
    "px": CodedConcept("{pixels}", "UCUM", "pixels"),
    "px2": CodedConcept("{square pixels}", "UCUM", "square pixels"),
    "mm/s": CodedConcept.from_code(codes.UCUM.MillimeterPerSecond),
    "mm2/s": CodedConcept.from_code(codes.UCUM.SquareMillimeterPerSecond),
    "px/s": CodedConcept("{pixels}/s", "UCUM", "pixels per second"),
    "px2/s": CodedConcept("{square pixels}/s", "UCUM", "square pixels per second"),
}

#: Name of the qualitative evaluation saying where a frame's geometry comes from.
FRAME_SOURCE = CodedConcept("FRAME_SOURCE", SCHEME, "Geometry source on this frame")


def _private(table: dict[str, tuple[str, str]]) -> dict[str, CodedConcept]:
    """``key -> (code value, meaning)`` as concepts of our private scheme."""
    return {key: CodedConcept(value, SCHEME, meaning) for key, (value, meaning) in table.items()}


#: Frame source -> its coded value (reports of earlier versions: one group per frame);
#: :data:`OUT_OF_VIEW` marks a gap (no geometry).
SOURCE_CODES = _private(
    {
        FrameSource.KEYFRAME.value: ("KEYFRAME", "Keyframe, placed by a person"),
        FrameSource.TRACKED.value: ("TRACKED", "Tracked by optical flow"),
        FrameSource.INTERPOLATED.value: ("INTERPOLATED", "Interpolated between stored frames"),
    }
)
OUT_OF_VIEW = CodedConcept("OUT_OF_VIEW", SCHEME, "Out of view on this frame (a gap)")

#: Text evaluations of a track's measurement group: the sidecar's track id and name.
TRACK_ID = CodedConcept("TRACK_ID", SCHEME, "usannotate track id")
TRACK_NAME = CodedConcept("TRACK_NAME", SCHEME, "Track name")

#: Frame source -> the name of the text evaluation listing a track's frame numbers with
#: that source; ``"absent"`` lists the gap markers (the track out of view from there).
FRAME_LISTS = _private(
    {
        FrameSource.KEYFRAME.value: ("KEYFRAMES", "Keyframe numbers"),
        FrameSource.TRACKED.value: ("TRACKED_FRAMES", "Tracked frame numbers"),
        FrameSource.INTERPOLATED.value: ("INTERPOLATED_FRAMES", "Interpolated frame numbers"),
        "absent": ("OUT_OF_VIEW_FRAMES", "Out of view from frame numbers"),
    }
)


def frame_ranges(numbers: Iterable[int]) -> str:
    """Frame numbers as text ranges, ``[1, 2, 3, 7, 9, 10]`` -> ``"1-3 7 9-10"``."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return " ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def parse_frame_ranges(text: str, highest: int) -> set[int]:
    """The frame numbers of :func:`frame_ranges`'s text, each checked to be in
    ``1 .. highest`` (before any range is expanded).

    Raises
    ------
    ValueError
        Not ranges of whole numbers, or a number outside ``1 .. highest``.
    """
    numbers: set[int] = set()
    for part in text.split():
        first, _, last = part.partition("-")
        if not first.isdigit() or not (last or first).isdigit():
            raise ValueError("frame numbers must be whole numbers or ranges like 3-7")
        a, b = int(first), int(last or first)
        if not 1 <= a <= b <= highest:
            raise ValueError(f"frame numbers {part} are outside 1 .. {highest}")
        numbers.update(range(a, b + 1))
    return numbers


def label_code(label_id: str, label_name: str) -> CodedConcept:
    """The finding type of a track: its label id as a private code, its name as meaning
    (highdicom writes ids longer than 16 characters as a Long Code Value)."""
    return CodedConcept(label_id, SCHEME, label_name)
