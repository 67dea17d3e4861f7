"""A loop's frames with its marks, captions, live measurements and scale bar (no Qt).

:class:`AnnotatedLoop` is what every media export draws from: it opens the loop and its
sidecar, works out the pixel mask (exports are anonymised by default when the loop may
carry a burned-in banner: the same :func:`~usannotate.deid.clean_pixel_mask` as
``usannotate deidentify``), and gives frame ``i`` as output RGB pixels, drawn by the
core renderer the app plays with (:mod:`usannotate.render`), so an exported frame looks
like the app: label colours, keyframe solid / interpolated dashed / tracked dash-dot,
halos, fills, the needle's tip ring and trajectory. One frame at a time: decode, draw,
hand out, forget (the loop is never held).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from usannotate.annotations import (
    Annotations,
    FrameSource,
    LabelSet,
    Row,
    ShapeKind,
    calibration_lookup,
    measure_frame,
)
from usannotate.annotations.measurements import is_fluid_label
from usannotate.cine import CineError, CineLoop, open_cine
from usannotate.deid import DeidentifyError, PixelMask, clean_pixel_mask
from usannotate.export.errors import ExportError
from usannotate.export.media_text import caption_sprite, premultiplied_bgra, text_rgba
from usannotate.render.marks import lay_over
from usannotate.render.placement import caption_text
from usannotate.render.scene import GeometryTable, Scene, TrackLook, render_frame_over

__all__ = ["AnnotatedLoop", "MediaOptions", "auto_scale", "load_annotations"]

#: Small loops are scaled up (a whole factor) to at least this output width.
MIN_OUTPUT_WIDTH_PX = 640
#: The scale bar's length.
SCALE_BAR_MM = 10.0
_PREFETCH_FRAMES = 4
_CACHE_BYTES = 64 << 20
#: Pillow's default font has no superscript two: areas say "mm2", as the CLI's unit.
_UNIT_TEXT = {"deg": "°"}


@dataclass(frozen=True)
class MediaOptions:
    """What an exported frame shows.

    ``anonymise``: black out what the de-identification's pixel mask blacks out (None:
    when the loop may carry burned-in text, i.e. unless it says BurnedInAnnotation NO).
    ``scale``: output px per image px (None: 1, or the whole factor that makes the
    output at least :data:`MIN_OUTPUT_WIDTH_PX` wide).
    """

    marks: bool = True
    measurements: bool = True
    scale_bar: bool = True
    anonymise: bool | None = None
    scale: float | None = None


def auto_scale(columns: int) -> float:
    """1, or the smallest whole factor making ``columns`` at least the minimum width."""
    return float(max(1, math.ceil(MIN_OUTPUT_WIDTH_PX / max(columns, 1))))


def load_annotations(
    loop: CineLoop, sidecar: str | os.PathLike[str] | None, *, required: bool
) -> tuple[Annotations | None, str | None]:
    """The loop's annotations from ``sidecar`` (None: the one beside the DICOM) and a
    warning when there is none to draw. Raises :class:`ExportError` for a sidecar that
    is given but missing, damaged or of another loop."""
    from usannotate.sidecar import SidecarError, check_loop, load_sidecar, sidecar_path_for

    path = Path(sidecar) if sidecar is not None else sidecar_path_for(loop.path)
    if not path.exists():
        if sidecar is not None or required:
            raise ExportError(path.name, "no such sidecar")
        return None, f"{path.name}: no sidecar, so no marks are drawn"
    try:
        doc = load_sidecar(path, dicom_uid=loop.identity.sop_instance_uid)
        check_loop(doc, loop, path=path)
    except SidecarError as exc:
        raise ExportError(
            path.name, str(exc).splitlines()[0].removeprefix(f"{path.name}: ")
        ) from None
    return doc.annotations, None


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _value_text(row: Row) -> str:
    unit = _UNIT_TEXT.get(row.unit, " " + row.unit)
    digits = 0 if row.unit.endswith("2") and abs(row.value) >= 100 else 1
    return f"{row.value:.{digits}f}{unit}"


def measurement_lines(rows: list[Row], kind: str, fluid: bool) -> list[str]:
    """The live measurements a caption shows: a needle's angle and tip depth, a fluid
    region's area."""
    by_name = {row.measurement: row for row in rows}
    parts = []
    if kind == ShapeKind.NEEDLE:
        if "angle" in by_name:
            parts.append(f"angle {_value_text(by_name['angle'])}")
        if "tip_depth" in by_name:
            parts.append(f"tip {_value_text(by_name['tip_depth'])} deep")
    elif kind == ShapeKind.REGION and fluid and "area" in by_name:
        parts.append(f"area {_value_text(by_name['area'])}")
    return [" · ".join(parts)] if parts else []


class AnnotatedLoop:
    """A loop opened for export: frame ``i`` as output RGB with its marks drawn.

    Parameters
    ----------
    dicom
        The DICOM loop.
    sidecar
        Its sidecar (None: the one beside it; none there: no marks, see :attr:`warnings`).
    options
        What to draw (:class:`MediaOptions`).
    annotations
        Marks to draw instead of a sidecar's (the app's unsaved session).
    mask
        The pixel mask to apply (the one the app previewed); None: worked out here.
    scan_progress
        ``(done, total)`` while the loop is scanned for static burned-in text.

    Raises
    ------
    ExportError
        One line naming the file (never its folder, never a header value).
    """

    def __init__(
        self,
        dicom: str | os.PathLike[str],
        sidecar: str | os.PathLike[str] | None = None,
        options: MediaOptions = MediaOptions(),
        *,
        annotations: Annotations | None = None,
        mask: PixelMask | None = None,
        scan_progress=None,
    ) -> None:
        self.name = os.path.basename(os.fspath(dicom))
        self.options = options
        self.warnings: list[str] = []
        try:
            self.loop = open_cine(dicom, cache_bytes=_CACHE_BYTES, prefetch_frames=_PREFETCH_FRAMES)
        except CineError as exc:
            raise ExportError(
                self.name, str(exc).splitlines()[0].removeprefix(f"{self.name}: ")
            ) from None
        try:
            self._setup(sidecar, annotations, mask, scan_progress)
        except BaseException:
            self.loop.close()
            raise

    def _setup(self, sidecar, annotations, mask, scan_progress) -> None:
        loop, options = self.loop, self.options
        if loop.n_frames < 1:
            raise ExportError(self.name, "the file holds no frame")
        if annotations is None and options.marks:
            annotations, warning = load_annotations(loop, sidecar, required=False)
            if warning:
                self.warnings.append(warning)
        self.annotations = annotations if options.marks else None
        anonymise = options.anonymise
        if anonymise is None:
            anonymise = loop.burned_in_annotation is not False
        if anonymise and mask is None:
            try:
                mask = clean_pixel_mask(loop, progress=scan_progress)
            except DeidentifyError as exc:
                raise ExportError(self.name, exc.reason) from None
        self.mask = mask if anonymise else None
        if self.mask is not None:
            keep = self.mask.keep.astype(np.uint8) * 255
            self._keep_rgb = cv2.merge([keep, keep, keep])
        self._keep_box = self.mask.rectangle if self.mask is not None else None
        self.scale = options.scale or auto_scale(loop.columns)
        width = round(loop.columns * self.scale)
        height = round(loop.rows * self.scale)
        self.size = (width + width % 2, height + height % 2)  # H.264 wants even sizes
        self.caption_px = int(np.clip(round(height / 46), 12, 24))
        self._calibration_for = calibration_lookup(
            annotations if annotations is not None else Annotations(LabelSet("none")),
            loop.regions,
            (loop.columns, loop.rows),
        )
        self._build_scene()
        # The captions' measurements (needle angle and tip depth, fluid area) need no
        # plane: measuring without the planes skips tip-to-plane and extent-along-plane,
        # the costly ones (most of a frame's measuring time).
        self._captioned = None
        if annotations is not None:
            self._captioned = Annotations(
                annotations.label_set,
                [o for o in annotations.objects if o.kind != ShapeKind.POLYLINE],
                annotations.manual_calibration,
            )
        self._scale_bar = self._make_scale_bar() if options.scale_bar else None

    # ------------------------------------------------------------------ set-up
    def _build_scene(self) -> None:
        loop, annotations = self.loop, self.annotations
        looks, geometry, self._fluid, self._names = [], {}, {}, {}
        if annotations is not None:
            for obj in annotations.objects:
                label = annotations.label_set.get(obj.label_id)
                if label is None:
                    continue
                looks.append(TrackLook(obj.id, label.kind, _rgb(label.colour)))
                geometry[obj.id] = obj.all_geometry(loop.n_frames)
                self._names[obj.id] = obj.name or label.name
                self._fluid[obj.id] = is_fluid_label(label.id, label.group)
        self._looks = tuple(looks)
        self._table = GeometryTable.pack(geometry)
        s = self.scale
        self._scene = Scene(
            self._looks,
            np.eye(2) * s,
            np.zeros(2),
            s,
            self.size,
            bounds=(0.0, 0.0, float(loop.columns), float(loop.rows)),
        )

    def keyframes(self) -> list[int]:
        """Frames where any track has a keyframe, in order."""
        if self.annotations is None:
            return []
        frames = {f for obj in self.annotations.objects for f in obj.keyframes()}
        return sorted(f for f in frames if f < self.loop.n_frames)

    def _make_scale_bar(self) -> tuple[np.ndarray, tuple[int, int]] | None:
        """A 10 mm bar and its caption as a premultiplied BGRA patch and where it goes
        (bottom left of the first calibrated region); None without mm calibration."""
        loop = self.loop
        regions = [r for r in loop.regions if r.fits_image(loop.columns, loop.rows)]
        x0, y0, x1, y1 = regions[0].bounds if regions else (0, 0, loop.columns - 1, loop.rows - 1)
        centre = np.array([[(x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2]])
        cal = self._calibration_for(centre)
        if not cal.is_mm or not cal.mm_per_px_x:
            return None
        bar_px = SCALE_BAR_MM / cal.mm_per_px_x * self.scale
        text = text_rgba(["10 mm"], (255, 255, 255), self.caption_px, plate_alpha=0)
        width = int(max(bar_px, text.shape[1])) + 8
        height = text.shape[0] + 12
        patch = np.zeros((height, width, 4), np.uint8)
        patch[: text.shape[0], 4 : 4 + text.shape[1]] = premultiplied_bgra(text)
        y = text.shape[0] + 4
        cv2.rectangle(patch, (3, y - 3), (int(4 + bar_px) + 1, y + 3), (0, 0, 0, 200), -1)
        cv2.rectangle(patch, (4, y - 2), (int(4 + bar_px), y + 2), (255, 255, 255, 255), -1)
        ox = int(x0 * self.scale) + 8
        oy = int((y1 + 1) * self.scale) - height - 8
        return patch, (max(ox, 0), max(oy, 0))

    # ------------------------------------------------------------------ frames
    @property
    def n_frames(self) -> int:
        return self.loop.n_frames

    @property
    def frame_time_ms(self) -> float:
        return self.loop.frame_time_ms

    def frame(self, index: int, out: np.ndarray | None = None) -> np.ndarray:
        """Frame ``index`` as it is exported: ``(height, width, 3)`` uint8 RGB.

        ``out``: an array of that shape to draw into (a video reuses one, sparing the
        page faults of a new frame each time); it is returned when it was used."""
        return self.draw(index, self.loop.frame(index), out)

    def draw(self, index: int, pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """:meth:`frame` from the loop's frame ``pixels`` (``self.loop.frame(index)``,
        read by the caller): safe on several threads at once, each with its own ``out``.

        ``out`` may be ``pixels`` itself, a frame nobody else holds (one decoded for the
        caller alone, ``self.loop.decode_frame(index)``): it is then drawn on in place,
        sparing the copy of the whole frame."""
        if out is pixels and not pixels.flags.writeable:
            out = None  # the loop's cache: never drawn on
        fresh = out is pixels
        if self.mask is not None:
            # One pass: the frame AND 0/255 per pixel (PixelMask.apply zero-fills a new
            # frame first, twice the memory traffic).
            usable = out is not None and self.scale == 1.0 and out.shape[:2] == pixels.shape[:2]
            if self._keep_box is not None:
                pixels = _kept_rectangle(pixels, self._keep_box, out if usable else None)
            else:
                pixels = cv2.bitwise_and(pixels, self._keep_rgb, dst=out if usable else None)
            fresh = True
        width, height = self.size
        if self.scale != 1.0:
            fresh = True
            pixels = cv2.resize(
                pixels,
                (round(self.loop.columns * self.scale), round(self.loop.rows * self.scale)),
                interpolation=cv2.INTER_LINEAR,
            )
        if pixels.shape[1] != width or pixels.shape[0] != height:
            pixels = cv2.copyMakeBorder(
                pixels,
                0,
                height - pixels.shape[0],
                0,
                width - pixels.shape[1],
                cv2.BORDER_CONSTANT,
                value=(0, 0, 0),
            )
        elif not fresh:
            pixels = np.array(pixels, copy=True)  # the loop's cache is not ours to draw on
        if self._looks:
            render_frame_over(self._frame_scene(index), self._table, index, pixels)
        if self._scale_bar is not None:
            lay_over(pixels, *self._scale_bar)
        return pixels

    def rows(self, index: int) -> list[Row]:
        """The measurements of frame ``index`` (as ``usannotate measure`` lists them)."""
        if self.annotations is None:
            return []
        return measure_frame(self.annotations, index, self._calibration_for)

    def _frame_scene(self, index: int) -> Scene:
        """The scene with this frame's captions: name, source and live measurements."""
        by_object: dict[str, list[Row]] = defaultdict(list)
        if self.options.measurements and self._captioned is not None:
            for row in measure_frame(self._captioned, index, self._calibration_for):
                by_object[row.object_id].append(row)
        tracks = []
        for look in self._looks:
            geometry = self._table.get(look.object_id, index)
            if geometry is None:
                tracks.append(look)
                continue
            source = FrameSource(geometry[1])
            lines = [caption_text(self._names[look.object_id], str(source))]
            lines += measurement_lines(
                by_object.get(look.object_id, []), look.kind, self._fluid[look.object_id]
            )
            sprite = caption_sprite(tuple(lines), look.colour, self.caption_px)
            tracks.append(replace(look, captions={source: sprite}))
        return replace(self._scene, tracks=tuple(tracks))

    def close(self) -> None:
        self.loop.close()

    def __enter__(self) -> AnnotatedLoop:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _kept_rectangle(
    pixels: np.ndarray, box: tuple[int, int, int, int], out: np.ndarray | None
) -> np.ndarray:
    """``pixels`` black outside ``box``, into ``out`` (or a new array; ``pixels`` itself:
    only the zeros around the rectangle): a copy of the rectangle and zeros around it, a
    third less memory traffic than a masked AND with a whole-frame mask (the export is
    bound by memory bandwidth on a busy machine)."""
    y0, y1, x0, x1 = box
    if out is None:
        out = np.empty_like(pixels)
    out[:y0] = 0
    out[y1:] = 0
    out[y0:y1, :x0] = 0
    out[y0:y1, x1:] = 0
    if out is not pixels:  # in place: the rectangle is there already
        out[y0:y1, x0:x1] = pixels[y0:y1, x0:x1]
    return out
