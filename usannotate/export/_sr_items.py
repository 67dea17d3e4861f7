"""The content items an SR repeats per frame, made quickly: frame references, NUMs, SCOORDs.

No Qt. A report of a 600-frame loop with 4 tracks holds ~6,000 NUM measurements, ~2,000
SCOORDs and as many references to frames. highdicom builds each item through pydicom
attribute by attribute, and its content sequences hash every item's concept name again
whenever an item is added (three times for a measurement): ~140 us for a measurement
naming its image, ~100 us for an SCOORD, which was the largest part of the export's
time. Here:

- each frame's image reference is built by highdicom once, and so is the one-item
  Content Sequence that names it, shared by every item inferred from that frame (the
  file holds each copy the same: pydicom writes an item wherever it is put);
- a NUM is highdicom's own :class:`~highdicom.sr.NumContentItem`, made by highdicom's
  constructor once per (concept, unit), then copied for each value: the copy shares the
  prototype's concept name, relationship, value type and unit elements (never changed
  after they are made) and gets its own Measured Value Sequence, holding the value as
  highdicom writes one (``NumericValue = DS(value, auto_format=True)`` and
  ``FloatingPointValue = value``); an SCOORD likewise, once per graphic type, with its
  own Graphic Data. A test checks the copies equal, element for element and byte for
  byte, what highdicom's constructors make.
"""

from __future__ import annotations

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.valuerep import DS

from usannotate.export.sr_codes import MEASUREMENT_CODES, UNIT_CODES

__all__ = ["ImageReferences", "NumItems", "ScoordItems", "content_element"]

_CONTENT_SEQUENCE = 0x0040A730
_MEASURED_VALUE_SEQUENCE = 0x0040A300
_UNITS_SEQUENCE = 0x004008EA
_NUMERIC_VALUE = 0x0040A30A
_FLOATING_POINT_VALUE = 0x0040A161
_GRAPHIC_DATA = 0x00700022


def content_element(items: list[hd.sr.ContentItem]) -> DataElement:
    """A Content Sequence element holding ``items`` (each with its relationship)."""
    return DataElement(_CONTENT_SEQUENCE, "SQ", hd.sr.ContentSequence(items, is_root=False))


class ImageReferences:
    """References to frames of the one source image (its UIDs read once).

    Each frame's reference is built once and the same item is put wherever that frame
    is referred to (a needle's values on a frame, every track's geometry on it):
    highdicom spends over a millisecond on each, and the file holds each copy the same.
    """

    def __init__(self, header: pydicom.Dataset) -> None:
        self.uids = (str(header.SOPClassUID), str(header.SOPInstanceUID))
        self._regions: dict[int, DataElement] = {}
        self._measurements: dict[int, DataElement] = {}

    def region(self, number: int) -> DataElement:
        """The Content Sequence of an SCOORD SELECTED FROM frame ``number`` (1-based)."""
        if number not in self._regions:
            image = hd.sr.SourceImageForRegion(*self.uids, referenced_frame_numbers=[number])
            self._regions[number] = content_element([image])
        return self._regions[number]

    def measurement(self, number: int) -> DataElement:
        """The Content Sequence of a measurement INFERRED FROM frame ``number`` (1-based)."""
        if number not in self._measurements:
            image = hd.sr.SourceImageForMeasurement(*self.uids, referenced_frame_numbers=[number])
            self._measurements[number] = content_element([image])
        return self._measurements[number]

    def group(self, numbers: list[int]) -> hd.sr.SourceImageForMeasurementGroup:
        """The frames ``numbers`` (1-based) as the source images of a group."""
        return hd.sr.SourceImageForMeasurementGroup(*self.uids, referenced_frame_numbers=numbers)


class _Prototype:
    """An item made by highdicom's constructor, and its elements by tag."""

    def __init__(self, item: hd.sr.ContentItem) -> None:
        self.item = item
        self.elements = {element.tag: element for element in item.elements()}

    def copy(self, replaced: list[DataElement]) -> hd.sr.ContentItem:
        """A new item of the prototype's class holding its elements, those of
        ``replaced``'s tags replaced (or added): what the class's constructor would
        make of those values.

        The elements kept are shared with the prototype: nothing changes an element
        once it is made (the writer puts encoded copies in place of an item's
        elements, never changes them), so each copy holds the same values as if they
        were its own.
        """
        elements = dict(self.elements)
        for element in replaced:
            elements[element.tag] = element
        cls = type(self.item)
        item = cls.__new__(cls)  # the constructors set no attribute but elements
        pydicom.Dataset.__init__(item, elements)  # a Dataset of these elements by tag
        return item


class NumItems:
    """TID 300 measurements (NUM, CONTAINS) by measurement name and unit, as
    ``usannotate measure`` prints them: highdicom's constructor once per pair, copies
    for the values (see the module's docstring)."""

    def __init__(self) -> None:
        self._prototypes: dict[tuple[str, str], _Prototype] = {}

    def _prototype(self, measurement: str, unit: str) -> _Prototype:
        """highdicom's NUM item of ``measurement`` in ``unit`` (its value 0)."""
        key = (measurement, unit)
        if key not in self._prototypes:
            made = hd.sr.Measurement(
                name=MEASUREMENT_CODES[measurement], value=0.0, unit=UNIT_CODES[unit]
            )
            self._prototypes[key] = _Prototype(made[0])
        return self._prototypes[key]

    def item(
        self, measurement: str, unit: str, value: float, content: DataElement
    ) -> hd.sr.NumContentItem:
        """The NUM item of ``value`` with ``content`` as its Content Sequence (what it is
        INFERRED FROM)."""
        if not isinstance(value, float):
            raise TypeError('Argument "value" must have type "float".')
        prototype = self._prototype(measurement, unit)
        units = prototype.elements[_MEASURED_VALUE_SEQUENCE].value[0][_UNITS_SEQUENCE]
        # As highdicom sets them: NumericValue = DS(value, auto_format=True) and
        # FloatingPointValue = value (a float), beside the unit.
        numeric = DataElement(_NUMERIC_VALUE, "DS", DS(value, auto_format=True))
        floating = DataElement(_FLOATING_POINT_VALUE, "FD", value)
        measured = pydicom.Dataset({e.tag: e for e in (numeric, floating, units)})
        values = DataElement(_MEASURED_VALUE_SEQUENCE, "SQ", pydicom.Sequence([measured]))
        return prototype.copy([values, content])


class ScoordItems:
    """SCOORDs of a measurement's geometry (2D, INFERRED FROM), by graphic type:
    highdicom's constructor once per type, copies for the coordinates (as
    :class:`NumItems` does)."""

    def __init__(self) -> None:
        self._prototypes: dict[str, _Prototype] = {}

    def item(
        self, graphic_type: str, points: np.ndarray, content: DataElement
    ) -> hd.sr.CoordinatesForMeasurement:
        """The SCOORD of ``points`` (``(N, 2)`` float32, ``(x, y)`` image px) of
        ``graphic_type`` (``POINT`` or ``POLYLINE``) with ``content`` as its Content
        Sequence (the image and frame it is SELECTED FROM)."""
        # highdicom's checks of the constructor, for every copy.
        count = 1 if graphic_type == "POINT" else 2
        if points.dtype != np.float32 or points.ndim != 2 or points.shape[1] != 2:
            raise ValueError("SCOORD points must be (N, 2) float32 (column, row) pairs.")
        if points.shape[0] < count or (count == 1 and points.shape[0] != 1):
            raise ValueError(f"a {graphic_type} SCOORD cannot hold {points.shape[0]} points.")
        if graphic_type not in self._prototypes:
            source = hd.sr.SourceImageForRegion("1.2.3", "1.2.3.4", referenced_frame_numbers=[1])
            self._prototypes[graphic_type] = _Prototype(
                hd.sr.CoordinatesForMeasurement(
                    graphic_type, np.zeros((count, 2), np.float32), source
                )
            )
        # As highdicom sets it, ``GraphicData = graphic_data.flatten().tolist()``, with
        # pydicom's conversion of an FL value done here: it checks each value is a
        # float (it is: float32 to Python float), ~1 us a value through its layers.
        values = MultiValue(float, points.flatten().tolist())
        data = DataElement(_GRAPHIC_DATA, "FL", values, already_converted=True)
        return self._prototypes[graphic_type].copy([data, content])
