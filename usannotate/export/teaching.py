"""A teaching case in one folder: de-identified loop, video, key frames, curves, page (no Qt).

The folder holds the de-identified loop and its sidecar, the annotated video, the key
frames, the curves and an ``index.html`` that shows them together, with the case
details, learning points, teaching notes and events (:mod:`.teaching_details`) and the
hydrodissection measures in its table.

Everything after the de-identification is made from the de-identified copy, never from
the source, so nothing of the patient can reach the folder by another path: the header
went through the PS3.15 profile, the banner pixels are black, the annotator's name is
dropped (unless kept), and file names are fixed (``case.dcm``; the source's name may be
the patient's). The folder is built under a temporary name beside DIR and renamed to DIR
at the end: a failure or a cancel leaves nothing half made.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from usannotate._atomic import write_atomically
from usannotate.cine import CineError
from usannotate.deid import DeidentifyError, DeidentifyOptions, PixelMask, deidentify_file
from usannotate.export.annotated import AnnotatedLoop, MediaOptions
from usannotate.export.curves import PANELS, curve_series, draw_curves
from usannotate.export.errors import ExportCancelled, ExportError
from usannotate.export.frames import frame_file_name, write_frames
from usannotate.export.measurements import loop_measurements, measurements_csv
from usannotate.export.teaching_details import (
    curve_events,
    details_html,
    merge_hydro_rows,
    page_title,
)
from usannotate.export.video import write_video
from usannotate.sidecar import SidecarDocument

__all__ = ["TEACHING_FILES", "TeachingResult", "export_teaching"]

#: Fixed names of what the folder holds.
TEACHING_FILES = {
    "dicom": "case.dcm",
    "video": "case.mp4",
    "frames": "keyframes",
    "curves": "curves.png",
    "table": "measurements.csv",
    "page": "index.html",
    "poster": "poster.png",  # only for a case with no key frame (else the first one's)
}

#: ``progress(stage, done, total)``; stages: "deidentify", "video", "frames", "page".
StageProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TeachingResult:
    """What a teaching export wrote (paths inside :attr:`folder`)."""

    folder: Path
    files: list[Path] = field(default_factory=list)
    notes: tuple[str, ...] = ()


def _stage(progress: StageProgress | None, stage: str):
    if progress is None:
        return None
    return lambda done, total: progress(stage, done, total)


def export_teaching(
    dicom: str | os.PathLike[str],
    folder: str | os.PathLike[str],
    options: DeidentifyOptions | None = None,
    *,
    speed: float = 1.0,
    mask: PixelMask | None = None,
    progress: StageProgress | None = None,
    cancelled: Callable[[], bool] | None = None,
    document: SidecarDocument | None = None,
) -> TeachingResult:
    """Make the teaching case of the loop ``dicom`` (and the sidecar beside it) in
    ``folder``, which must not exist or be empty. ``document``: the marks to use instead
    of the sidecar beside ``dicom`` (the app's, unsaved edits included).

    Raises
    ------
    ExportError
        One line naming the file; ``folder`` is then as it was.
    ExportCancelled
        ``cancelled()`` said so; nothing is left behind.
    """
    dicom, folder = Path(dicom), Path(folder)
    options = options or DeidentifyOptions()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(folder.name, "already exists and is not an empty folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".usannotate-teaching-", dir=folder.parent))
    try:
        notes = _build(dicom, work, options, speed, mask, progress, cancelled, document)
        if folder.exists():
            folder.rmdir()
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return TeachingResult(folder, files, notes)


def _build(dicom, work, options, speed, mask, progress, cancelled, document) -> tuple[str, ...]:
    case = work / TEACHING_FILES["dicom"]

    def frame_written(done: int, total: int) -> None:
        # Asked after every frame: a cancel stops the de-identification there (the
        # raise unwinds its threads and removes its temporary file), not at its end.
        if cancelled is not None and cancelled():
            raise ExportCancelled()
        if progress is not None:
            progress("deidentify", done, total)

    try:
        deidentify_file(
            dicom,
            case,
            options,
            mask=mask,
            progress=frame_written,
            scan_progress=_stage(progress, "scan"),
            document=document,
        )
    except (DeidentifyError, CineError) as exc:
        raise ExportError(dicom.name, str(exc).splitlines()[0].partition(": ")[2]) from None
    if cancelled is not None and cancelled():
        raise ExportCancelled()
    # The copy is clean already (and says BurnedInAnnotation NO): no second mask.
    with AnnotatedLoop(case, options=MediaOptions(anonymise=False)) as media:
        video = write_video(
            media,
            work / TEACHING_FILES["video"],
            speed=speed,
            progress=_stage(progress, "video"),
            cancelled=cancelled,
        )
        keyframes = media.keyframes()
        write_frames(
            media,
            work / TEACHING_FILES["frames"],
            keyframes,
            progress=_stage(progress, "frames"),
            cancelled=cancelled,
        )
        poster = _poster(media, work, keyframes)
        annotations = media.annotations
        rows = []
        times_s = [float(t) / 1000.0 for t in media.loop.frame_start_times_ms()]
        if annotations is not None:
            rows = loop_measurements(annotations, media.n_frames, media._calibration_for)
            rows = merge_hydro_rows(  # the hydrodissection measures too (measure --hydro)
                annotations, media.n_frames, media._calibration_for, times_s, rows
            )
        write_atomically(work / TEACHING_FILES["table"], measurements_csv(rows).encode())
        labels = annotations.label_set if annotations is not None else None
        colours = {}
        if labels is not None:
            colours = {label.id: _rgb(label.colour) for label in labels.labels}

        def group_of(label_id: str) -> str:
            label = labels.get(label_id) if labels is not None else None
            return label.group if label is not None else ""

        panels = curve_series(rows, media.frame_time_ms, colours, group_of)
        duration_s = media.n_frames * media.frame_time_ms / 1000.0
        details = annotations.details if annotations is not None else None
        curves = draw_curves(panels, duration_s, events=curve_events(details, times_s))
        _, png = cv2.imencode(".png", cv2.cvtColor(curves, cv2.COLOR_RGB2BGR))
        write_atomically(work / TEACHING_FILES["curves"], png.tobytes())
        page = teaching_page(media, video.output.name, keyframes, rows, panels, poster)
        write_atomically(work / TEACHING_FILES["page"], page.encode("utf-8"))
        if progress is not None:
            progress("page", 1, 1)
    return video.notes


def _poster(media: AnnotatedLoop, work: Path, keyframes: list[int]) -> str:
    """The picture the page's video shows before it plays (browsers show nothing, or a
    black box, until the video loads; some cannot play H.264 at all): the first key
    frame's PNG, or the first frame written as ``poster.png`` when nothing is marked."""
    if keyframes:
        return f"{TEACHING_FILES['frames']}/{frame_file_name(keyframes[0])}"
    write_frames(media, work, [0])
    os.replace(work / frame_file_name(0), work / TEACHING_FILES["poster"])
    return TEACHING_FILES["poster"]


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#1d1f22;color:#e6e6e6;line-height:1.4}
main{max-width:1100px;margin:0 auto;padding:20px}
h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.15em;margin:28px 0 8px}
.facts{color:#aaa;margin:0 0 16px}
video,img{max-width:100%;border-radius:4px;background:#000}video{height:auto}
.frames{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:12px}
figure{margin:0}figcaption{color:#aaa;font-size:.9em}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #3a3d42}
th{color:#bbb;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:14px;height:14px;border-radius:3px;
vertical-align:-2px;margin-right:6px;border:1px solid #000}
.note{color:#aaa;font-size:.9em}
table.case,table.events{width:auto}table.case th{padding-right:24px}
ul{margin:4px 0 0;padding-left:22px}
"""

_UNIT = {"mm2": "mm²", "px2": "px²", "deg": "°", "mm2/s": "mm²/s", "px2/s": "px²/s"}


def teaching_page(
    media: AnnotatedLoop, video_name, keyframes, rows, panels, poster: str | None = None
) -> str:
    """The case's ``index.html``: one file, inline style, no script, nothing fetched
    from anywhere (the video and pictures are files beside it). ``poster``: the
    picture's path (relative to the page) the video shows before it plays."""
    e = html.escape
    loop = media.loop
    t_ms = loop.frame_time_ms
    calibration = next(
        (r for r in loop.regions if r.mm_per_px_x and r.fits_image(loop.columns, loop.rows)),
        None,
    )
    cal_text = (
        f"{calibration.mm_per_px_x:.4f} mm/px"
        if calibration is not None
        else "no calibration: measurements in px"
    )
    poster_attribute = f' poster="{e(poster)}"' if poster else ""
    width, height = media.size
    details = media.annotations.details if media.annotations is not None else None
    title = e(page_title(details))
    times_s = [float(t) / 1000.0 for t in loop.frame_start_times_ms()]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{title}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{title}</h1>",
        f'<p class="facts">{loop.n_frames} frames at {1000.0 / t_ms:.1f} fps '
        f"({loop.n_frames * t_ms / 1000.0:.1f} s), {loop.columns} × {loop.rows} px, {cal_text}. "
        "De-identified (DICOM PS3.15 Basic Profile, clean pixel data). Not for diagnostic use.</p>",
        f'<video src="{e(video_name)}"{poster_attribute} width="{width}" height="{height}" '
        'controls loop muted playsinline preload="metadata"></video>',
        '<p class="note">Solid lines: keyframes (placed by the annotator); dashed: interpolated '
        "between keyframes; dash-dot: tracked by optical flow.</p>",
    ]
    parts += details_html(details, times_s)  # case, learning points, notes, events
    parts += _legend(media)
    if keyframes:
        parts.append('<h2>Key frames</h2><div class="frames">')
        for index in keyframes:
            src = f"{TEACHING_FILES['frames']}/{frame_file_name(index)}"
            parts.append(
                f'<figure><img src="{e(src)}" alt="frame {index}" loading="lazy">'
                f"<figcaption>frame {index} · {index * t_ms / 1000.0:.2f} s</figcaption></figure>"
            )
        parts.append("</div>")
    titles = " and ".join(title.lower() for _, title in PANELS)
    parts.append(f'<h2>Curves</h2><img src="{TEACHING_FILES["curves"]}" alt="{e(titles)}">')
    if not any(panels.values()):
        parts.append('<p class="note">No fluid or needle marked: the curves are empty.</p>')
    parts += _table(rows, set(keyframes), t_ms)
    parts.append(
        f'<p class="note">Every frame\'s measurements: <a href="{TEACHING_FILES["table"]}">'
        f"{TEACHING_FILES['table']}</a>. The loop: {TEACHING_FILES['dicom']} (with its "
        "annotations, case.usannotate.json).</p>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _legend(media: AnnotatedLoop) -> list[str]:
    annotations = media.annotations
    if annotations is None or not annotations.objects:
        return ['<p class="note">No marks.</p>']
    used = []
    for obj in annotations.objects:
        label = annotations.label_set.get(obj.label_id)
        if label is not None and label not in used:
            used.append(label)
    out = ["<h2>Labels</h2><table><tr><th>label</th><th>shape</th><th>meaning</th></tr>"]
    for label in used:
        out.append(
            f'<tr><td><span class="swatch" style="background:{html.escape(label.colour)}">'
            f"</span>{html.escape(label.name)}</td><td>{html.escape(str(label.kind))}</td>"
            f"<td>{html.escape(label.description)}</td></tr>"
        )
    out.append("</table>")
    return out


def _table(rows, keyframes: set[int], t_ms: float) -> list[str]:
    shown = [r for r in rows if r.frame in keyframes]
    if not shown:
        return []
    out = [
        "<h2>Measurements on the key frames</h2><table><tr><th>frame</th><th>time</th>"
        "<th>mark</th><th>measurement</th><th>value</th><th>source</th></tr>"
    ]
    from usannotate.annotations.hydro import HYDRO_TITLES
    from usannotate.annotations.measurements import MEASUREMENT_TITLES

    for r in shown:
        unit = _UNIT.get(r.unit, r.unit)
        title = MEASUREMENT_TITLES.get(r.measurement) or HYDRO_TITLES.get(
            r.measurement, r.measurement
        )
        out.append(
            f'<tr><td class="num">{r.frame}</td><td class="num">{r.frame * t_ms / 1000:.2f} s</td>'
            f"<td>{html.escape(r.label_name)}</td><td>{html.escape(title)}</td>"
            f'<td class="num">{_one_decimal(r.value)} {html.escape(unit)}</td>'
            f"<td>{r.source}</td></tr>"
        )
    out.append("</table>")
    return out


def _one_decimal(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text  # a rate of -0.04 mm/s is no motion
