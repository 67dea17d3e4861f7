"""Small things a new user saw (issue 9, item 12): every label's swatch stands out from
the dock, and empty curve panels already say the unit the loop's calibration gives."""

from __future__ import annotations

from pydicom.data import get_testdata_file
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QListWidget

from tests.ui.paths import SAMPLE_A


def contrast(a: QColor, b: QColor) -> float:
    return abs(a.lightnessF() - b.lightnessF())


def test_every_label_swatch_is_visible_on_the_dock(window):
    assert window.open_path(str(SAMPLE_A))
    labels: QListWidget = window.label_panel.list
    base = labels.palette().color(QPalette.ColorRole.Base)
    names = []
    for row in range(labels.count()):
        item = labels.item(row)
        image = item.icon().pixmap(14, 14).toImage()
        # The square's edge stands out from the list's background, whatever its colour
        # (the needle's white swatch was invisible on the white dock).
        edge = [image.pixelColor(x, 0) for x in range(14)] + [
            image.pixelColor(0, y) for y in range(14)
        ]
        assert min(contrast(c, base) for c in edge) >= 0.25, item.text()
        names.append(item.text())
    assert any("Needle" in name for name in names)


def test_empty_curve_panels_take_the_unit_of_the_calibration(window):
    assert window.open_path(str(SAMPLE_A))  # calibrated in mm, nothing marked
    fluid, needle = window.tracks.curves.panels()
    assert not fluid.curves
    assert not needle.curves
    assert (fluid.unit, needle.unit) == ("mm²", "mm")
    assert window.open_path(get_testdata_file("examples_ybr_color.dcm"))  # region unusable
    fluid, needle = window.tracks.curves.panels()
    assert (fluid.unit, needle.unit) == ("px²", "px")
    assert window.open_path(get_testdata_file("examples_rgb_color.dcm"))  # no calibration
    assert [p.unit for p in window.tracks.curves.panels()] == ["px²", "px"]
