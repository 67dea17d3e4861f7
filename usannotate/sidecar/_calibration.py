"""What a sidecar's ``calibration`` says once saved: the manual line, or the DICOM's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from usannotate.cine.calibration import REGION_OVERSHOOT_PX, ManualCalibration

if TYPE_CHECKING:
    from usannotate.sidecar.document import DicomReference, SidecarDocument


def written_calibration(doc: SidecarDocument) -> tuple[str, ManualCalibration | None]:
    """``(calibration.source, calibration.manual)`` as a save of ``doc`` writes them.

    ``"manual"`` and the manual calibration when ``doc.annotations.manual_calibration``
    is set; else the recorded source, except that a recorded ``"manual"`` whose
    calibration was removed becomes ``"dicom"`` when the recorded regions hold a usable
    one (2-D, cm on both axes, within the image give or take 1 px), else ``"none"``.
    """
    manual = doc.annotations.manual_calibration
    if manual is not None:
        return "manual", manual
    source = doc.calibration.source
    if source == "manual":
        usable = any(_usable_region(r, doc.dicom) for r in doc.calibration.regions)
        source = "dicom" if usable else "none"
    return source, None


def _usable_region(region: dict[str, Any], dicom: DicomReference) -> bool:
    bounds = region.get("bounds")
    if not (isinstance(bounds, list) and len(bounds) == 4):
        return False
    x0, y0, x1, y1 = bounds
    margin = REGION_OVERSHOOT_PX
    return (
        region.get("spatial_format") == "2d"
        and region.get("units_x") == region.get("units_y") == "cm"
        and all(
            isinstance(region.get(k), int | float) and region[k] > 0
            for k in ("mm_per_px_x", "mm_per_px_y")
        )
        and 0 <= x0 <= x1 < dicom.columns + margin
        and 0 <= y0 <= y1 < dicom.rows + margin
    )
