"""Fuzzed DICOM files carrying made-up patient data: does any message quote it?

The seed files (one per transfer syntax family, from :mod:`tests.cine.dicom_factory`)
carry :data:`~tests.cine.dicom_factory.PLANTED_PATIENT`. Each trial mutates one seed with
a seeded random generator (a length field that lies, a VR or tag changed, bytes
overwritten in the header or in the pixel data, the file cut short) and then reads it
the ways a user can: :func:`usannotate.open_cine` with its first and last frame, and the
``info``, ``info --json``, ``frame``, ``validate --dicom`` and ``measure`` commands run
in-process. Every message is collected (exception text, stderr, stdout, loop warnings,
Python warnings, log records) and checked:

- ``leak``: a piece of the planted patient data appears;
- ``crash``: an exception other than :class:`~usannotate.cine.CineError` escaped, or a
  command wrote a traceback / ended with another status than 0 or 2;
- ``multi-line``: an error message (or a failed command's stderr) is more than one line;
- ``unbounded``: an error message is longer than :data:`MAX_MESSAGE_CHARS`;
- ``unprintable``: a message holds control characters or undecodable bytes.

No pytest here: ``benchmarks/fuzz_dicom.py`` runs it long, ``tests/cine/test_fuzz_headers.py``
runs a short seeded run in CI.
"""

from __future__ import annotations

import contextlib
import io
import logging
import random
import struct
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.cine import dicom_factory as factory
from tests.trial_report import TrialReport

#: An error message longer than this is not "one line naming the file and the problem".
MAX_MESSAGE_CHARS = 400
#: The kinds of mutation, in the order they are drawn (equally often).
MUTATIONS = ("length", "ts_length", "vr", "tag", "value", "header_bytes", "pixel_bytes", "cut")
#: The kinds of failure a trial can show.
FAILURES = ("leak", "crash", "multi-line", "unbounded", "unprintable")

_FOUR_BYTE_LENGTH_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR"}
_FOUR_BYTE_LENGTH_VRS |= {b"UT", b"SV", b"UV"}
_VRS = [b"AE", b"CS", b"DA", b"DS", b"IS", b"LO", b"OB", b"OW", b"PN", b"SH", b"SQ", b"UI"]
_VRS += [b"UL", b"UN", b"US", b"UT", b"\x00\x00", b"zz"]


@dataclass(frozen=True)
class Element:
    """Where one top-level element of a file lies (offsets in bytes)."""

    tag: tuple[int, int]
    offset: int  # of the tag
    vr_offset: int | None  # of the two VR letters (explicit VR), else None
    length_offset: int
    length_size: int  # 2 or 4
    little: bool
    value_offset: int
    length: int


@dataclass
class Seed:
    """One seed file and the layout the mutations aim at."""

    name: str
    data: bytes
    elements: list[Element]
    pixel_offset: int  # where Pixel Data's tag starts (len(data) when not found)


class Report(TrialReport):
    """Trials and failures per mutation kind, with a few examples of each failure."""

    KINDS = MUTATIONS
    FAILURES = FAILURES


def _seed_makers() -> dict[str, Callable[[Path], factory.Case]]:
    return {
        "explicit_le": factory.make_explicit_le_mono2_8bit,
        "implicit_le": factory.make_implicit_le_mono2_8bit,
        "explicit_be": factory.make_explicit_be_mono2_8bit,
        "deflated": factory.make_deflated_mono2_8bit,
        "jpeg_baseline": factory.make_jpeg_baseline_ybr_full_422,
        "jpeg_ls": factory.make_jpegls_lossless_mono2_8bit,
        "jpeg_2000": factory.make_j2k_lossless_mono2_8bit,
        "rle": factory.make_rle_mono2_8bit,
        "palette": factory.make_palette_8bit_entries,
    }


def make_seeds(folder: Path) -> list[Seed]:
    """Write the seed files (planted patient data; the JPEG ones also carry it after
    Pixel Data) into ``folder`` and return them with their layouts."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = []
    for name, make in _seed_makers().items():
        case = make(folder / "plain")
        trailing = name in ("jpeg_baseline", "jpeg_ls", "rle")
        path = factory.with_planted_patient(case.path, folder / f"{name}.dcm", trailing=trailing)
        data = path.read_bytes()
        assert factory.PLANTED_PATIENT["PatientName"].encode() in data or name == "deflated"
        elements, pixel_offset = walk_elements(data)
        seeds.append(Seed(name, data, elements, pixel_offset))
    return seeds


def walk_elements(data: bytes) -> tuple[list[Element], int]:
    """The top-level elements of a DICOM file (preamble + meta + dataset), up to Pixel
    Data, and Pixel Data's offset. Sequences of undefined length are stepped over by
    their delimiter; a deflated dataset is not walked (only its meta group)."""
    elements: list[Element] = []
    offset = 132
    transfer_syntax = ""
    in_meta = True
    little, explicit = True, True
    while offset + 8 <= len(data):
        group = struct.unpack_from("<H" if little else ">H", data, offset)[0]
        if in_meta and group != 0x0002:
            in_meta = False
            if transfer_syntax == "1.2.840.10008.1.2.1.99":
                break
            little = transfer_syntax != "1.2.840.10008.1.2.2"
            explicit = transfer_syntax != "1.2.840.10008.1.2"
        order = "<" if little else ">"
        group, element = struct.unpack_from(f"{order}HH", data, offset)
        if explicit:
            vr = data[offset + 4 : offset + 6]
            if vr in _FOUR_BYTE_LENGTH_VRS:
                length_offset, size = offset + 8, 4
            else:
                length_offset, size = offset + 6, 2
            vr_offset: int | None = offset + 4
        else:
            length_offset, size, vr_offset = offset + 4, 4, None
        length = struct.unpack_from(f"{order}{'I' if size == 4 else 'H'}", data, length_offset)[0]
        value_offset = length_offset + size
        if (group, element) == (0x7FE0, 0x0010):
            return elements, offset
        elements.append(
            Element(
                (group, element),
                offset,
                vr_offset,
                length_offset,
                size,
                little,
                value_offset,
                length,
            )
        )
        if (group, element) == (0x0002, 0x0010):
            transfer_syntax = data[value_offset : value_offset + length].decode().strip("\0 ")
        if length == 0xFFFFFFFF:
            end = data.find(b"\xfe\xff\xdd\xe0" if little else b"\xff\xfe\xe0\xdd", value_offset)
            if end < 0:
                break
            offset = end + 8
        else:
            offset = value_offset + length
    return elements, len(data)


# ------------------------------------------------------------------- mutations


def _new_length(rng: random.Random, old: int, size: int) -> int:
    top = 0xFFFF if size == 2 else 0xFFFFFFFF
    choice = rng.choice(["plus", "double", "far", "max", "zero", "random"])
    value = {
        "plus": old + rng.randint(1, 64),
        "double": old * 2 + 1,
        "far": old + rng.randint(100, 2000),
        "max": top,
        "zero": 0,
        "random": rng.randint(0, top),
    }[choice]
    return min(value, top)


def mutate(seed: Seed, mutation: str, rng: random.Random) -> bytes:
    """``seed``'s bytes with one mutation of kind ``mutation`` (see :data:`MUTATIONS`)."""
    data = bytearray(seed.data)
    elements = seed.elements or [None]  # type: ignore[list-item]
    element = rng.choice(elements)
    if mutation == "ts_length":
        element = next((e for e in seed.elements if e.tag == (0x0002, 0x0010)), element)
        mutation = "length"
    if element is None or mutation in ("header_bytes",):
        end = max(133, seed.pixel_offset)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(128, end)] = rng.randrange(256)
    elif mutation == "length":
        order = "<" if element.little else ">"
        fmt = f"{order}{'I' if element.length_size == 4 else 'H'}"
        struct.pack_into(
            fmt, data, element.length_offset, _new_length(rng, element.length, element.length_size)
        )
    elif mutation == "vr":
        if element.vr_offset is not None:
            data[element.vr_offset : element.vr_offset + 2] = rng.choice(_VRS)
        else:
            data[element.offset + rng.randrange(4)] = rng.randrange(256)
    elif mutation == "tag":
        data[element.offset + rng.randrange(4)] = rng.randrange(256)
    elif mutation == "value":
        if element.length and element.length != 0xFFFFFFFF:
            start = element.value_offset + rng.randrange(element.length)
            for k in range(rng.randint(1, 4)):
                if start + k < len(data):
                    data[start + k] = rng.randrange(256)
    elif mutation == "pixel_bytes":
        start = min(seed.pixel_offset, len(data) - 1)
        for _ in range(rng.randint(1, 16)):
            data[rng.randrange(start, len(data))] = rng.randrange(256)
    elif mutation == "cut":
        del data[rng.randrange(132, len(data)) :]
    else:
        raise ValueError(mutation)
    return bytes(data)


# ---------------------------------------------------------------------- checks


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # a record whose arguments do not format is still a message
            self.messages.append(str(record.msg))


def _leaks(text: str) -> list[str]:
    upper = text.upper()
    return [piece for piece in factory.PLANTED_PIECES if piece in upper]


def _one_line_problems(text: str, where: str) -> list[tuple[str, str]]:
    problems = []
    body = text.rstrip("\n")
    if "\n" in body or "\r" in body:
        problems.append(("multi-line", f"{where}: {body[:120]!r}"))
    if len(body) > MAX_MESSAGE_CHARS:
        problems.append(("unbounded", f"{where}: {len(body)} characters"))
    if any(
        (ord(c) < 32 and c not in "\n\t") or ord(c) == 127 or "\ud800" <= c <= "\udfff"
        for c in body
    ):
        problems.append(("unprintable", f"{where}: {body[:120]!r}"))
    return problems


def _run_cli(args: list[str]) -> tuple[int | str, str, str]:
    from usannotate import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status: int | str = cli.main(args)
        except SystemExit as exc:  # argparse
            status = int(exc.code or 0)
        except BaseException as exc:
            status = f"{type(exc).__name__}"
            err.write(traceback.format_exc())
    return status, out.getvalue(), err.getvalue()


def check_file(
    path: Path, workdir: Path, sidecar: Path | None = None, *, cli_runs: bool = True
) -> list[tuple[str, str]]:
    """Read ``path`` every way a user can and list what went wrong (kind, detail).

    ``sidecar`` (default: none there) is given to ``validate --dicom`` and ``measure``;
    the ``frame`` command writes into a folder named like a patient, ``workdir/ZZTEST...``.
    """
    import usannotate
    from usannotate.cine import CineError

    problems: list[tuple[str, str]] = []
    messages: list[tuple[str, str]] = []  # (where, text) of every message
    errors: list[tuple[str, str]] = []  # (where, text) of every error message
    records = _Records()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with usannotate.open_cine(path, prefetch_frames=0) as loop:
                    messages += [("warning", w) for w in loop.warnings]
                    messages.append(("repr", repr(loop)))
                    from usannotate.cli import info_dict

                    messages.append(("info_dict", repr(info_dict(loop))))
                    for index in sorted({0, loop.n_frames - 1}):
                        try:
                            loop.frame(index)
                        except CineError as exc:
                            errors.append((f"frame({index})", str(exc)))
            except CineError as exc:
                errors.append(("open_cine", str(exc)))
            except BaseException as exc:
                text = "".join(traceback.format_exception_only(exc))
                problems.append(("crash", f"open_cine: {type(exc).__name__}"))
                messages.append(("exception", text))
            if cli_runs:
                sidecar = sidecar or workdir / "none.usannotate.json"
                png = workdir / "ZZTESTPATIENT^ALICE" / "frame.png"
                png.parent.mkdir(exist_ok=True)
                runs = {
                    "info": ["info", str(path)],
                    "info --json": ["info", str(path), "--json"],
                    "frame": ["frame", str(path), "--index", "0", "--output", str(png)],
                    "validate --dicom": ["validate", str(sidecar), "--dicom", str(path)],
                    "measure": ["measure", str(path), "--sidecar", str(sidecar)],
                }
                for name, args in runs.items():
                    status, out, err = _run_cli(args)
                    messages += [(f"{name} stdout", out), (f"{name} stderr", err)]
                    if status not in (0, 2) or "Traceback" in err:
                        problems.append(("crash", f"{name}: status {status}"))
                    elif status == 2:
                        errors.append((f"{name} stderr", err))
            messages += [("python warning", str(w.message)) for w in caught]
    finally:
        root.removeHandler(records)
        root.setLevel(old_level)
    messages += [("log", m) for m in records.messages]
    for where, text in messages + errors:
        for piece in _leaks(text):
            problems.append(("leak", f"{where} quotes {piece!r}: {text[:160]!r}"))
    for where, text in errors:
        problems += _one_line_problems(text, where)
    return problems


def write_sidecar_for_checks(seed_path: Path) -> Path:
    """A valid sidecar of the unmutated seed for ``validate --dicom`` and ``measure``
    (one needle on frame 0), so those commands read the mutated DICOM fully."""
    import usannotate
    from usannotate.annotations import default_label_set
    from usannotate.sidecar import new_document, save_sidecar

    with usannotate.open_cine(seed_path, prefetch_frames=0) as loop:
        doc = new_document(loop, default_label_set(), "fuzz")
    label = next(lab for lab in doc.label_set.labels if lab.kind == "needle")
    from usannotate.annotations import AnnotatedObject

    needle = AnnotatedObject(label.id, label.kind)
    needle.set_points(0, np.array([[1.0, 1.0], [10.0, 12.0]]))
    doc.annotations.add(needle)
    path = seed_path.with_suffix(".usannotate.json")
    save_sidecar(doc, path)
    return path


def run(
    trials: int,
    seed: int,
    folder: Path,
    *,
    cli_every: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Report:
    """``trials`` seeded trials, mutation kinds in turn; the commands run on every
    ``cli_every``-th trial (they dominate the time)."""
    rng = random.Random(seed)
    seeds = make_seeds(folder / "seeds")
    report = Report()
    workdir = folder / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "loop.dcm"
    sidecars = {s.name: write_sidecar_for_checks(folder / "seeds" / f"{s.name}.dcm") for s in seeds}
    for trial in range(trials):
        chosen = seeds[trial % len(seeds)]
        mutation = MUTATIONS[(trial // len(seeds)) % len(MUTATIONS)]
        target.write_bytes(mutate(chosen, mutation, rng))
        problems = check_file(
            target, workdir, sidecars[chosen.name], cli_runs=trial % cli_every == 0
        )
        report.add(mutation, problems, f"trial {trial} ({chosen.name}, {mutation})")
        if progress is not None:
            progress(trial)
    return report
