"""Calibration overlays on real scanners' layouts (issue 9, items 8 and 11): fit is the
image; region captions never overlap and are never clipped; depth ruler labels thin out
to what fits and keep off the text the scanner burned in."""

from __future__ import annotations

import itertools

import pytest
from pydicom.data import get_testdata_file
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QApplication

from tests.cine.scanner_cases import (
    make_aloka_like_side_by_side,
    make_aloka_like_stacked,
    make_sonosite_like_deep,
)
from usannotate.ui.viewer.overlays import DepthRuler, OverlayLabel, RegionOutline

CTRL = Qt.KeyboardModifier.ControlModifier


def screen_rect(view, item) -> QRectF:
    """Where ``item`` is drawn in the viewport (it may ignore the view's zoom)."""
    return item.deviceTransform(view.viewportTransform()).mapRect(item.boundingRect())


def on_screen(view, scene_rect: QRectF) -> QRectF:
    return view.viewportTransform().mapRect(scene_rect)


def image_rect(view) -> QRectF:
    return on_screen(view, view.frame_item.boundingRect())


def shown_labels(view) -> list[OverlayLabel]:
    return [i for i in view.scene().items() if isinstance(i, OverlayLabel) and i.isVisible()]


def captions(view) -> list[OverlayLabel]:
    return [i.caption for i in view.scene().items() if isinstance(i, RegionOutline)]


def assert_clear(view) -> None:
    """No overlay label overlaps another or leaves the image or the viewport."""
    QApplication.processEvents()
    image = image_rect(view).adjusted(-1, -1, 1, 1)
    viewport = QRectF(view.viewport().rect()).adjusted(-1, -1, 1, 1)
    boxes = [(label.text(), screen_rect(view, label)) for label in shown_labels(view)]
    for text, box in boxes:
        assert image.contains(box), f"{text!r} leaves the image"
        assert viewport.contains(box), f"{text!r} is clipped by the view"
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.intersects(box_b), f"{a!r} overlaps {b!r}"


def zoom_out(window, qtbot, steps: int) -> None:
    for _ in range(steps):
        qtbot.keyClick(window, Qt.Key.Key_Minus)


def test_fit_is_the_image_not_the_region_outline(window, qtbot):
    # SonoSite's region is larger than this resized image: its caption reaches far out.
    assert window.open_path(get_testdata_file("examples_ybr_color.dcm"))
    view = window.view
    zoom_out(window, qtbot, 2)
    qtbot.keyClick(window, Qt.Key.Key_0, CTRL)
    image, viewport = image_rect(view), QRectF(view.viewport().rect())
    assert viewport.adjusted(-1, -1, 1, 1).contains(image)
    fills_width = abs(image.width() - viewport.width()) <= 2
    fills_height = abs(image.height() - viewport.height()) <= 2
    assert fills_width or fills_height
    # ... and centred in the other direction.
    assert abs(image.center().x() - viewport.center().x()) <= 2
    assert abs(image.center().y() - viewport.center().y()) <= 2
    assert_clear(view)


@pytest.mark.parametrize("size", [None, (1400, 900)])
def test_aloka_three_regions_side_by_side(window, qtbot, tmp_path, size):
    if size:
        window.resize(*size)
    case = make_aloka_like_side_by_side(tmp_path)
    assert window.open_path(str(case.path))
    view = window.view
    assert len(captions(view)) == 3
    assert all(c.isVisible() for c in captions(view))  # shortened, not dropped
    assert_clear(view)
    # Each caption stays inside its own region.
    for outline in (i for i in view.scene().items() if isinstance(i, RegionOutline)):
        region = on_screen(view, outline.rect).adjusted(-1, -1, 1, 1)
        assert region.contains(screen_rect(view, outline.caption))
    zoom_out(window, qtbot, 3)
    assert_clear(view)
    assert any(c.isVisible() for c in captions(view))


def test_aloka_three_regions_one_above_another(window, qtbot, tmp_path):
    case = make_aloka_like_stacked(tmp_path)
    assert window.open_path(str(case.path))
    view = window.view
    assert all(c.isVisible() for c in captions(view))
    assert captions(view)[1].text().startswith("Region 2")
    assert_clear(view)
    zoom_out(window, qtbot, 3)
    assert_clear(view)


def test_sonosite_19_cm_ruler_thins_out_and_keeps_off_burned_in_text(window, qtbot, tmp_path):
    case = make_sonosite_like_deep(tmp_path)
    assert window.open_path(str(case.path))
    view = window.view
    [ruler] = [i for i in view.scene().items() if isinstance(i, DepthRuler)]
    assert len(ruler.labels) == 20  # 0 to 19 cm

    def check() -> list[int]:
        assert_clear(view)
        shown = [cm for cm, label in ruler.labels.items() if label.isVisible()]
        assert 3 <= len(shown) < 19, shown
        assert all(cm % ruler.step_cm == 0 for cm in shown)
        # Far enough apart to read, and none over the scanner's own text.
        boxes = [screen_rect(view, ruler.labels[cm]) for cm in shown]
        for box in boxes:
            for x0, y0, x1, y1 in case.burned_in_text:
                text = on_screen(view, QRectF(x0, y0, x1 - x0, y1 - y0))
                assert not box.intersects(text)
        return shown

    shown = check()
    assert ruler.step_cm >= 2
    zoom_out(window, qtbot, 2)
    assert len(check()) <= len(shown)
    assert ruler.bar_label.isVisible()
