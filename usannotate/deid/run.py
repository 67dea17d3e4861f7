"""De-identify one loop or a folder of loops: header, pixels, encoding, sidecar.

``deidentify_file`` streams the loop: each frame is decoded, cleaned, encoded and
written before the next is decoded (a few frames prefetched, never the whole loop).
The output is written atomically (a temporary file renamed over OUT), its sidecar after
it. ``deidentify_folder`` keeps the folder structure and goes on past a bad file.
"""

from __future__ import annotations

import functools
import io
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset

from usannotate._atomic import write_atomically
from usannotate._pipeline import default_workers, map_in_order
from usannotate.cine import CineError, CineLoop, NotDicomError, open_cine
from usannotate.cine.folders import is_loop_file_name
from usannotate.deid.encoding import (
    DEFAULT_ENCODING,
    FrameEncoder,
    PixelDescription,
    encapsulated_pixel_data,
    source_is_lossy,
)
from usannotate.deid.errors import DeidentifyError
from usannotate.deid.header import HeaderPlan, deidentified_header
from usannotate.deid.keys import load_key
from usannotate.deid.pixels import PixelMask, clean_pixel_mask
from usannotate.deid.sidecar_carry import carried, source_sidecar, write_carried
from usannotate.sidecar import SidecarDocument

#: Frames decoded ahead while the current one is encoded; and the decoded-frame cache.
_PREFETCH_FRAMES = 4
_CACHE_BYTES = 64 << 20

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DeidentifyOptions:
    """How to de-identify (the CLI's options)."""

    shift_dates: bool = False  # option 113107; else dates and times are removed
    keep_annotator: bool = False
    encoding: str = DEFAULT_ENCODING
    key_file: str | None = None
    #: Threads cleaning and encoding frames (None: one per CPU, at most 4; 1: none).
    workers: int | None = None


@dataclass(frozen=True)
class DeidentifyResult:
    """What one de-identification wrote."""

    output: Path
    sop_instance_uid: str
    n_frames: int
    pixel_method: str
    sidecar: Path | None = None


def _pixel_description(loop: CineLoop, mask: PixelMask) -> PixelDescription:
    """MONOCHROME2 for grey sources and for colour ones whose first cleaned frame is
    grey (B-mode saved as colour: a third of the data to encode), else RGB."""
    name = os.path.basename(loop.path)
    grey = loop.photometric_interpretation in ("MONOCHROME1", "MONOCHROME2")
    if grey and loop.bits_stored > 8:
        raise DeidentifyError(
            name, f"{loop.bits_stored}-bit grey pixels cannot be de-identified yet (8-bit only)"
        )
    if not grey and loop.n_frames:
        grey = mask.is_grey(loop.frame(0))
    return PixelDescription(loop.rows, loop.columns, 1 if grey else 3)


class _NotGrey(Exception):
    """A frame of a loop being written as MONOCHROME2 has colour: write it as RGB."""


def _header_bytes(
    loop: CineLoop, plan: HeaderPlan, pixels: PixelDescription, transfer_syntax: str
) -> tuple[bytes, str]:
    ds = deidentified_header(loop.header, plan)
    for keyword, value in pixels.attributes().items():
        setattr(ds, keyword, value)
    if "NumberOfFrames" in loop.header or loop.n_frames > 1:
        ds.NumberOfFrames = loop.n_frames
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta = meta
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue(), str(ds.SOPInstanceUID)


def _cleaned_fragments(
    loop: CineLoop,
    mask: PixelMask,
    encoder: FrameEncoder,
    grey: bool,
    progress: Progress | None,
    workers: int,
) -> Iterator[bytes]:
    colour_source = loop.samples_per_pixel > 1 or loop.photometric_interpretation.startswith("PAL")
    shape = (loop.rows, loop.columns) if grey else (loop.rows, loop.columns, 3)
    mine = threading.local()  # one cleaned-frame buffer per thread, reused frame after frame

    def clean_and_encode(frame: np.ndarray) -> bytes:
        # On a worker thread: OpenCV and imagecodecs release the GIL here. The buffer
        # is black outside the mask from the start and only the kept pixels are
        # written (the red plane for grey output: display pixels are RGB); the encoder
        # is done with it before this thread cleans its next frame.
        buffer = getattr(mine, "buffer", None)
        if buffer is None:
            buffer = mine.buffer = np.zeros(shape, np.uint8)
        if not mask.clean_into(frame, buffer, check_grey=grey and colour_source):
            raise _NotGrey
        return encoder.encode(buffer)

    if not encoder.releases_gil:
        workers = 1  # threads would only take turns
    # Frames are read here, in order, on the caller's thread (the loop's prefetch
    # decodes ahead); cleaning and encoding go to the workers.
    frames = (loop.frame(index) for index in range(loop.n_frames))
    fragments = map_in_order(clean_and_encode, frames, workers, name="usannotate-deid")
    try:
        for index, fragment in enumerate(fragments):
            yield fragment
            if progress is not None:
                progress(index + 1, loop.n_frames)
    finally:
        fragments.close()


def deidentify_file(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    options: DeidentifyOptions = DeidentifyOptions(),
    *,
    mask: PixelMask | None = None,
    key: bytes | None = None,
    progress: Progress | None = None,
    scan_progress: Progress | None = None,
    document: SidecarDocument | None = None,
) -> DeidentifyResult:
    """Write a de-identified copy of the loop ``source`` to ``output`` (and its sidecar).

    ``mask``: the pixels to keep, as the app previewed them (default
    :func:`~usannotate.deid.pixels.clean_pixel_mask`). ``progress(done, total)`` per
    frame written; ``scan_progress(done, total)`` per frame read when the mask needs a
    pass over the loop first (static overlays). ``document``: the sidecar to carry
    instead of the one beside ``source`` (the app's marks, unsaved edits included); it
    must name this loop's SOP Instance UID.

    Raises
    ------
    DeidentifyError, CineError
        One-line messages naming the file; ``output`` is then left as it was.
    """
    source, output = Path(source), Path(output)
    if output.exists() and output.resolve() == source.resolve():
        raise DeidentifyError(output.name, "the output would replace the input")
    key = key if key is not None else load_key(options.key_file)
    with open_cine(source, cache_bytes=_CACHE_BYTES, prefetch_frames=_PREFETCH_FRAMES) as loop:
        lossy = source_is_lossy(loop)
        if document is None:
            doc = source_sidecar(source, loop.identity.sop_instance_uid)
        elif document.dicom.sop_instance_uid != loop.identity.sop_instance_uid:
            raise DeidentifyError(source.name, "the marks given belong to another loop")
        else:
            doc = document
        if mask is None:
            mask = clean_pixel_mask(loop, source_lossy=lossy, progress=scan_progress)
        plan = HeaderPlan(key, options.shift_dates, mask.method, lossy)
        output.parent.mkdir(parents=True, exist_ok=True)
        pixels = _pixel_description(loop, mask)
        try:
            new_uid = _write(loop, output, plan, pixels, mask, options, progress)
        except _NotGrey:  # colour after all: the temporary file is gone, start again
            pixels = PixelDescription(loop.rows, loop.columns, 3)
            new_uid = _write(loop, output, plan, pixels, mask, options, progress)
        n_frames = loop.n_frames
    sidecar = None
    if doc is not None:
        new_doc = carried(
            doc,
            sop_instance_uid=new_uid,
            file_name=output.name,
            keep_annotator=options.keep_annotator,
        )
        sidecar = write_carried(new_doc, output)
    return DeidentifyResult(output, new_uid, n_frames, mask.method, sidecar)


def _write(
    loop: CineLoop,
    output: Path,
    plan: HeaderPlan,
    pixels: PixelDescription,
    mask: PixelMask,
    options: DeidentifyOptions,
    progress: Progress | None,
) -> str:
    """Write the file atomically; returns its SOP Instance UID."""
    encoder = FrameEncoder(options.encoding, pixels)
    if "SOPClassUID" not in loop.header:
        raise DeidentifyError(os.path.basename(loop.path), "it has no SOP Class UID")
    try:
        header, new_uid = _header_bytes(loop, plan, pixels, encoder.transfer_syntax)
    except (ValueError, TypeError, OverflowError, AttributeError):
        # pydicom's complaint would quote the value, which may be patient data.
        raise DeidentifyError(
            os.path.basename(loop.path), "its header holds values that cannot be written"
        ) from None
    grey = pixels.samples_per_pixel == 1
    workers = options.workers if options.workers is not None else default_workers()
    fragments = _cleaned_fragments(loop, mask, encoder, grey, progress, workers)
    try:
        write_atomically(output, _chunks(header, fragments))
    except OSError as exc:
        raise DeidentifyError(output.name, f"cannot be written ({exc.strerror})") from None
    return new_uid


def _chunks(header: bytes, fragments: Iterator[bytes]) -> Iterator[bytes]:
    yield header
    yield from encapsulated_pixel_data(fragments)


@dataclass
class FolderReport:
    """What a folder run did: files written, and the one-line problem of each failure."""

    written: list[DeidentifyResult] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def loop_files(folder: Path) -> list[Path]:
    """The files under ``folder`` (all levels) that may be loops, in a stable order."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / name for name in sorted(files) if is_loop_file_name(name))
    return found


def deidentify_folder(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    options: DeidentifyOptions = DeidentifyOptions(),
    *,
    progress: Callable[[int, int], None] | None = None,
    jobs: int = 1,
) -> FolderReport:
    """De-identify every loop under ``source`` into ``output``, the same relative paths.

    Files that are not DICOM are skipped; a file that fails is reported in
    :attr:`FolderReport.failed` and the others go on. ``progress(done, total)`` per file.
    ``jobs``: loops de-identified at once, each in its own process (:mod:`usannotate.batch`).
    """
    from usannotate.batch import run_batch
    from usannotate.sidecar.placement import default_layout

    source, output = Path(source).resolve(), Path(output).resolve()
    if output == source or source in output.parents:
        raise DeidentifyError(output.name, "the output folder must not be inside the input folder")
    key = load_key(options.key_file)
    files = loop_files(source)
    work = functools.partial(_deidentify_one, options, key, default_layout().annotation_folder)
    tasks = [(path, output / path.relative_to(source)) for path in files]
    batch = run_batch(
        work,
        tasks,
        jobs=jobs,
        progress=None if progress is None else lambda done, _failed: progress(done, len(files)),
        expected=(DeidentifyError, CineError),
    )
    report = FolderReport()
    report.written = [result for _, result in batch.succeeded() if result is not None]
    report.failed = [reason for _, reason in batch.failed]
    return report


def _deidentify_one(
    options: DeidentifyOptions,
    key: bytes,
    annotation_folder: Path | None,
    task: tuple[Path, Path],
) -> DeidentifyResult | None:
    """One loop of :func:`deidentify_folder` (in a worker process: the annotation folder
    of ``--annotations`` is set there too); None for a file that is not DICOM."""
    from usannotate.sidecar.placement import set_annotation_folder

    set_annotation_folder(annotation_folder)
    source, target = task
    try:
        return deidentify_file(source, target, options, key=key)
    except NotDicomError:  # other files are simply not loops
        return None
