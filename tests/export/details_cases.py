"""A marked sample loop with every kind of detail: case details, attributes per track and
per frame, events and comments (for the exports' tests)."""

from __future__ import annotations

from pathlib import Path

from tests.export.conftest import mark_sample
from usannotate.annotations.detail_edits import AddComment, AddEvent, SetAttribute, SetCaseValue
from usannotate.annotations.details import Comment, Event
from usannotate.annotations.edits import EditHistory
from usannotate.sidecar import load_sidecar, save_sidecar, sidecar_path_for

#: The case details set on the loop (ids -> value as the sidecar keeps it).
CASE = {
    "procedure": "hydrodissection",
    "target": "trapezius",
    "side": "right",
    "injectate_type": "5% dextrose in water",  # free text (not one of the choices)
    "injectate_volume_ml": 4.5,
    "needle_gauge": 25,
    "approach": "in_plane",
    "image_quality": 4,
    "teaching_case": True,
    "teaching_title": "Fluid along the fascial plane",
    "learning_points": "Keep the tip in view\nWatch the fluid split the layers",
}


def mark_with_details(folder: Path) -> tuple[Path, dict]:
    """:func:`mark_sample`'s loop with :data:`CASE`, a per-track ``confidence`` on every
    track, the needle's ``tip_visible`` (yes from its first frame, no from its third) and
    the fluid's ``spread`` (along_plane from its first frame), an injection start, a key
    image, a loop comment, a frame comment and a track comment.

    Returns the DICOM and ``{"needle", "fluid", "frames" (the needle's stored frames),
    "events", "comments"}``.
    """
    dicom = mark_sample(folder)
    path = sidecar_path_for(dicom)
    doc = load_sidecar(path)
    annotations = doc.annotations
    history = EditHistory(annotations)
    needle = next(o for o in annotations.objects if o.label_id == "needle")
    fluid = next(o for o in annotations.objects if o.label_id == "fluid.injectate")
    frames = sorted(needle.frames)
    for key, value in CASE.items():
        history.push(SetCaseValue(key, value))
    for obj in annotations.objects:
        history.push(SetAttribute(obj.id, "confidence", "high" if obj is needle else "medium"))
    history.push(SetAttribute(needle.id, "tip_visible", True, frames[0]))
    history.push(SetAttribute(needle.id, "tip_visible", False, frames[2]))
    history.push(SetAttribute(fluid.id, "spread", "along_plane", sorted(fluid.frames)[0]))
    events = [Event("injection_start", frames[1], "ev1"), Event("key_image", frames[3], "ev2")]
    for event in events:
        history.push(AddEvent(event))
    comments = [
        Comment("Teaching: the fluid opens the plane", "Dr Teach", "2026-01-02T03:04:05Z", id="c1"),
        Comment("Tip lost here", "Rater Two", "2026-01-02T03:05:00Z", frame=frames[2], id="c2"),
        Comment("Needle well seen", "", "2026-01-02T03:06:00Z", object_id=needle.id, id="c3"),
    ]
    for comment in comments:
        history.push(AddComment(comment))
    save_sidecar(doc, path)
    return dicom, {
        "needle": needle.id,
        "fluid": fluid.id,
        "frames": frames,
        "events": events,
        "comments": comments,
    }
