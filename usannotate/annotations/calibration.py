"""Which calibration measures a loop's marks: the manual line if any, else the DICOM regions.

No Qt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from usannotate.annotations.model import Annotations
from usannotate.cine.calibration import Calibration, Region, calibration_for_points

#: ``(N, 2)`` image points (or any iterable of ``(x, y)``) -> their calibration.
CalibrationFor = Callable[[Iterable[Sequence[float]]], Calibration]


def calibration_lookup(
    annotations: Annotations, regions: Sequence[Region], image_size: tuple[int, int]
) -> CalibrationFor:
    """The function every measurement asks for the calibration of its points.

    Parameters
    ----------
    annotations
        The loop's annotations; their ``manual_calibration`` is read at every call, so
        one lookup follows a calibration set or removed later (undo included).
    regions
        The loop's ultrasound regions (``loop.regions``).
    image_size
        ``(columns, rows)`` of the loop's image.

    Returns
    -------
    callable
        ``points -> Calibration``: with a manual calibration, mm for any points
        (``mm_per_px`` on both axes, ``source="manual"``, no region, so depths are
        measured from the image top); otherwise
        :func:`~usannotate.cine.calibration.calibration_for_points` over ``regions``
        (mm only when one usable region holds every point, else px with the reason).
    """
    fixed_regions = list(regions)

    def calibration_for(points: Iterable[Sequence[float]]) -> Calibration:
        manual = annotations.manual_calibration
        if manual is not None:
            return manual.calibration()
        return calibration_for_points(fixed_regions, points, image_size)

    return calibration_for


def measures_in_mm(
    regions: Sequence[Region], image_size: tuple[int, int], calibration_for: CalibrationFor
) -> bool:
    """Whether marks on a loop can be measured in mm at all (what an empty plot's axis says).

    Parameters
    ----------
    regions
        The loop's ultrasound regions.
    image_size
        ``(columns, rows)`` of the loop's image.
    calibration_for
        The loop's calibration look-up (:func:`calibration_lookup`); its rules decide
        (regions that do not fit the image, a manual calibration).

    Returns
    -------
    bool
        True when the look-up gives mm at the centre of some region or of the image.
    """
    columns, rows = image_size
    centres = [
        ((x0 + x1 + 1) / 2.0, (y0 + y1 + 1) / 2.0) for x0, y0, x1, y1 in (r.bounds for r in regions)
    ]
    centres.append((columns / 2.0, rows / 2.0))
    return any(calibration_for([centre]).is_mm for centre in centres)
