"""CVAT for video 1.1 XML import: tracks made or corrected in CVAT back into annotations.

No Qt. Parsed with defusedxml (a hostile file cannot expand entities or reach the
network). Keyframes stay keyframes (``tracked=true`` ones come back as tracked frames),
CVAT's interpolated shapes (``keyframe="0"``) are left to our interpolation, and an
``outside="1"`` shape before a later keyframe becomes a gap marker (one after the last
keyframe just ends the track). Tracks CVAT keeps as ``<box>``, ``<ellipse>``, ``<mask>``
or skeletons are refused with a message naming them. The attributes ``track_id`` and
``name`` (written by :mod:`usannotate.export.cvat`) give the objects back their sidecar
ids and names; the label set's attributes come back as the marks' attributes
(:mod:`usannotate.export.cvat_attributes`).
"""

from __future__ import annotations

import os
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
import numpy as np

from usannotate.annotations import AnnotatedObject, Annotations, FrameSource, ShapeKind
from usannotate.export._common import ExportError
from usannotate.export._imported import ImportedTrack, add_imported_tracks
from usannotate.export.cvat_attributes import apply_read_attributes

__all__ = ["CvatTrack", "cvat_into_annotations", "read_cvat_tracks"]

_KINDS = {"polygon": ShapeKind.REGION, "polyline": ShapeKind.POLYLINE, "points": ShapeKind.POINT}
_UNSUPPORTED = ("box", "ellipse", "mask", "cuboid", "skeleton", "tag")

#: XML files larger than this are refused unread (a 600-frame loop with ten tracks of
#: 40 points is ~5 MB).
MAX_XML_BYTES = 512 * 1024 * 1024


#: A CVAT track as read (the name the module has exported since its first version).
CvatTrack = ImportedTrack


def _points(text: str, where: str) -> np.ndarray:
    try:
        pairs = [tuple(float(v) for v in pair.split(",")) for pair in text.split(";") if pair]
        points = np.array(pairs, dtype=np.float64).reshape(-1, 2)
    except ValueError:
        raise ExportError(f"{where}: points must be 'x,y;x,y' numbers") from None
    if not np.all(np.isfinite(points)):
        raise ExportError(f"{where}: points must be finite numbers")
    return points


def _attributes(shape: Element) -> dict[str, str]:
    return {a.get("name", ""): (a.text or "").strip() for a in shape.findall("attribute")}


def read_cvat_tracks(path: str | os.PathLike[str], *, n_frames: int) -> list[ImportedTrack]:
    """The tracks of a CVAT for video 1.1 XML file, frames checked against ``n_frames``.

    Raises
    ------
    ExportError
        Not CVAT video XML (1.1), too large, unsupported shapes, frames outside the loop.
    """
    name = os.path.basename(path)
    try:
        if os.path.getsize(path) > MAX_XML_BYTES:
            raise ExportError(f"{name}: larger than {MAX_XML_BYTES >> 20} MB, not read")
        root = SafeET.parse(path).getroot()
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(f"{name}: cannot be read ({exc.strerror or 'I/O error'})") from None
    except Exception:  # ParseError, and defusedxml's refusals of entities and DTDs
        raise ExportError(f"{name}: not well-formed XML (or it declares entities)") from None
    version = (root.findtext("version") or "").strip()
    if root.tag != "annotations" or version != "1.1":
        raise ExportError(f"{name}: not CVAT XML 1.1 (<annotations><version>1.1)")
    colours = {
        (label.findtext("name") or "").strip(): (label.findtext("color") or "").strip()
        for label in root.iter("label")
    }
    images = root.findall("image")
    if images and not root.findall("track"):
        raise ExportError(f"{name}: CVAT for images, not for video (no <track>)")
    tracks: list[ImportedTrack] = []
    for track in root.findall("track"):
        tracks.append(_read_track(track, name, n_frames, colours))
    if not tracks:
        raise ExportError(f"{name}: no <track> in the file")
    return tracks


def _read_track(track: Element, name: str, n_frames: int, colours: dict[str, str]) -> ImportedTrack:
    number = track.get("id", "?")
    where = f"{name}: track {number}"
    shapes = list(track)
    odd = sorted({s.tag for s in shapes if s.tag in _UNSUPPORTED})
    if odd:
        raise ExportError(
            f"{where} holds {', '.join(odd)}: only polygons, polylines and points are read"
        )
    shapes = [s for s in shapes if s.tag in _KINDS]
    if not shapes:
        raise ExportError(f"{where} has no shapes")
    tags = {s.tag for s in shapes}
    if len(tags) > 1:
        raise ExportError(f"{where} mixes {', '.join(sorted(tags))}")
    kind = _KINDS[shapes[0].tag]
    if kind is ShapeKind.POLYLINE and _attributes(shapes[0]).get("kind") == "needle":
        kind = ShapeKind.NEEDLE
    label = track.get("label", "").strip()
    colour = colours.get(label)
    out = ImportedTrack(
        f"track {number} ({label})", label, kind, colour if colour and len(colour) == 7 else None
    )
    visible: dict[int, tuple[np.ndarray, FrameSource]] = {}
    outside: list[int] = []
    texts: list[tuple[int, dict[str, str]]] = []
    for shape in shapes:
        try:
            frame = int(shape.get("frame", ""))
        except ValueError:
            raise ExportError(f"{where}: a shape has no frame number") from None
        if not 0 <= frame < n_frames:
            raise ExportError(f"{where}: frame {frame} is outside the loop's 0 .. {n_frames - 1}")
        if shape.get("outside") == "1":
            outside.append(frame)
            continue
        attributes = _attributes(shape)
        texts.append((frame, attributes))  # its attributes count, interpolated or not
        if shape.get("keyframe", "1") != "1":
            continue  # CVAT interpolated it: so do we
        points = _points(shape.get("points", ""), f"{where}, frame {frame}")
        tracked = attributes.get("tracked", "false").lower() == "true"
        visible[frame] = (points, FrameSource.TRACKED if tracked else FrameSource.KEYFRAME)
        # usannotate's own exports keep the sidecar's track id and name (CVAT keeps
        # attributes through its own edits); tracks made in CVAT have neither.
        out.object_id = out.object_id or attributes.get("track_id", "")
        out.name = out.name or attributes.get("name", "")
    out.frames = visible
    out.attribute_texts = sorted(texts, key=lambda pair: pair[0])
    last = max(visible, default=-1)
    out.gaps = {f for f in outside if f < last and f not in visible}
    return out


def cvat_into_annotations(
    tracks: list[ImportedTrack], annotations: Annotations, name: str, *, add_labels: bool = False
) -> list[AnnotatedObject]:
    """Add the CVAT tracks to ``annotations`` as new objects; returns them.

    Raises
    ------
    ExportError
        Unknown labels (unless ``add_labels``), shapes that do not suit their label.
    """
    added = add_imported_tracks(tracks, annotations, name, add_labels=add_labels)
    kept = [t for t in tracks if t.frames]  # the tracks add_imported_tracks added, in order
    apply_read_attributes(
        annotations,
        [
            (obj, t.attribute_texts, f"{name}: {t.where}")
            for obj, t in zip(added, kept, strict=True)
        ],
    )
    return added
