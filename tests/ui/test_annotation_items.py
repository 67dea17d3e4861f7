"""The annotation layer draws the model's marks of the frame shown, and nothing else."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QGraphicsScene

from usannotate.annotations import AnnotatedObject, Annotations, Label, LabelSet, ShapeKind
from usannotate.ui.viewer.marks import AnnotationLayer, ShapeItem


@pytest.fixture
def annotations():
    labels = LabelSet(
        "test",
        [
            Label("fascia.deep", "Deep fascia", ShapeKind.POLYLINE, "#0072b2"),
            Label("needle", "Needle", ShapeKind.NEEDLE, "#f0e442"),
            Label("fluid", "Injected fluid", ShapeKind.REGION, "#e69f00"),
            Label("target", "Target", ShapeKind.POINT, "#cc79a7"),
        ],
    )
    model = Annotations(labels)
    plane = model.add(AnnotatedObject("fascia.deep", ShapeKind.POLYLINE, name="Deep fascia L3"))
    plane.set_points(0, [(0, 50), (100, 52), (200, 49)])
    plane.set_points(1, [(0, 51), (100, 53), (200, 50)])
    needle = model.add(AnnotatedObject("needle", ShapeKind.NEEDLE))
    needle.set_points(1, [(10, 10), (80, 45)])
    fluid = model.add(AnnotatedObject("fluid", ShapeKind.REGION))
    fluid.set_points(1, [(70, 45), (90, 44), (95, 50), (75, 52)])
    target = model.add(AnnotatedObject("target", ShapeKind.POINT))
    target.set_points(1, [(85, 48)])
    return model


def test_draws_only_the_marks_of_the_frame(qtbot, annotations):
    scene = QGraphicsScene()
    layer = AnnotationLayer(scene)
    layer.show(annotations, 0)
    assert len(layer.items) == 1
    layer.show(annotations, 1)
    assert len(layer.items) == 4
    assert len([i for i in scene.items() if isinstance(i, ShapeItem)]) == 4
    kinds = {item.label.kind for item in layer.items.values()}
    assert kinds == set(ShapeKind)
    layer.show(annotations, 2)
    assert not [i for i in scene.items() if isinstance(i, ShapeItem)]


def test_captions_name_the_mark(qtbot, annotations):
    layer = AnnotationLayer(QGraphicsScene())
    layer.show(annotations, 1)
    captions = {item.caption.text_item.text() for item in layer.items.values()}
    assert captions == {"Deep fascia L3", "Needle", "Injected fluid", "Target"}


def test_hidden_labels_and_selection_survive_frame_changes(qtbot, annotations):
    layer = AnnotationLayer(QGraphicsScene())
    layer.show(annotations, 1)
    plane_id = annotations.objects[0].id
    layer.items[plane_id].setSelected(True)
    layer.hidden_labels.add("fluid")
    layer.show(annotations, 0)
    layer.show(annotations, 1)
    assert layer.items[plane_id].isSelected()
    assert all(item.label.id != "fluid" for item in layer.items.values())


def test_shapes_cover_their_points(qtbot, annotations):
    layer = AnnotationLayer(QGraphicsScene())
    layer.show(annotations, 1)
    for item in layer.items.values():
        rect = item.boundingRect()
        for x, y in item.points:
            assert rect.contains(float(x), float(y))


def test_the_needle_trajectory_stops_at_the_image_edge():
    from PySide6.QtCore import QRectF

    from usannotate.ui.viewer.marks import trajectory_end

    image = QRectF(0, 0, 100, 80)
    # A needle pointing down-right whose doubled length would leave the image.
    assert trajectory_end((10.0, 10.0), (60.0, 50.0), image) == (97.5, 80.0)
    assert trajectory_end((10.0, 10.0), (60.0, 50.0), None) == (110.0, 90.0)
    # Well inside: the full length.
    assert trajectory_end((40.0, 30.0), (50.0, 35.0), image) == (60.0, 40.0)
    # Pointing up-left out of the image.
    assert trajectory_end((50.0, 40.0), (20.0, 10.0), image) == (10.0, 0.0)


@pytest.mark.parametrize(
    ("label_id", "points"),
    [
        ("needle", [(10.0, 10.0), (60.0, 50.0)]),
        ("fascia.superficial", [(10.0, 40.0), (50.0, 30.0), (90.0, 45.0)]),
        ("fascia.superficial", [(90.0, 40.0), (50.0, 30.0), (10.0, 45.0)]),
        ("fascia.superficial", [(50.0, 40.0), (20.0, 30.0), (50.0, 45.0)]),  # a tie
        ("fluid.injectate", [(10.0, 40.0), (50.0, 20.0), (90.0, 45.0), (50.0, 60.0)]),
        ("target", [(33.0, 44.0)]),
    ],
)
def test_the_first_anchor_alone_is_the_footprints_first(label_id, points):
    """Playback follows captions by the first anchor, computed without the footprint."""
    from usannotate.annotations import AnnotatedObject, default_label_set
    from usannotate.ui.viewer.marks import ShapeItem

    label = default_label_set()[label_id]
    obj = AnnotatedObject(label.id, label.kind)
    obj.set_points(0, points)
    item = ShapeItem(obj, label, obj.frames[0])
    anchor = item.footprint().anchors[0]
    assert item.first_anchor() == (anchor.x, anchor.y)
