"""Fuzzed sidecars: whatever ``load_sidecar`` accepts, ``save_sidecar`` writes back equal.

Each trial takes a valid sidecar (tests/sidecar/docs.py: four objects, one of each kind,
with keyframes, a tracked frame, interpolated frames and a gap) and mutates it with a
seeded random generator in one of the ways of :data:`MUTATIONS`: a number replaced (by
``1e400``, a subnormal, a huge integer...), a string replaced (by a lone surrogate, control
characters...), an unknown key added somewhere with a random value (nested up to 60
levels), a frame entry changed, a key removed or given another type, a timestamp or an
image size changed, or the text itself damaged. Then:

- ``load-crash``: loading raised something other than :class:`SidecarReadError`;
- ``save-failed``: it loaded, but saving it failed (what the reader accepts, the writer
  must write);
- ``save-crash``: saving raised something other than :class:`SidecarWriteError`;
- ``not-equal``: it loaded and saved, but what was read back differs from what was saved;
- ``message``: a refusal's message is not one line naming the file.

No pytest here: ``benchmarks/fuzz_sidecar.py`` runs it long, ``tests/sidecar/
test_same_rules.py`` runs a short seeded run in CI.
"""

from __future__ import annotations

import copy
import json
import random
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.sidecar.docs import NOW, sample_document
from tests.trial_report import TrialReport
from usannotate.sidecar import document_to_json

MUTATIONS = (
    "number",
    "string",
    "unknown",
    "entry",
    "structure",
    "timestamp",
    "size",
    "text",
)
FAILURES = ("load-crash", "save-failed", "save-crash", "not-equal", "message")

_NUMBERS: list[Any] = [
    1e400,
    -1e400,
    1e-320,
    5e-324,
    0,
    -0.0,
    1e308,
    2**63,
    10**30,
    -1,
    0.1234567,
    1e-7,
    4e-7,
    123.45678,
    True,
    None,
]
_STRINGS = [
    "\ud800",
    "x\udfffy",
    "\ud83d\ude00",
    "",
    "\x00\x07\n",
    "é" * 3,
    "x" * 300,
    "😀",
    "keyframe",
    "interpolated",
    "absent",
    "tracked",
    "polyline",
    "needle",
]


@dataclass
class Report(TrialReport):
    """Trials and failures per mutation kind, and the files load accepted."""

    KINDS = MUTATIONS
    FAILURES = FAILURES
    accepted: Counter[str] = field(default_factory=Counter)

    def add(  # type: ignore[override]
        self, mutation: str, accepted: bool, problems: list[tuple[str, str]], label: str
    ) -> None:
        self.accepted[mutation] += int(accepted)
        super().add(mutation, problems, label)

    def row(self, kind: str) -> dict[str, object]:
        row = super().row(kind)
        return (
            {k: row[k] for k in (self.COLUMN, "trials")}
            | {"accepted": self.accepted[kind]}
            | {k: row[k] for k in self.FAILURES}
        )


def base_json() -> dict[str, Any]:
    """A valid sidecar with every kind of frame entry: keyframes, a tracked frame,
    interpolated frames, a gap, and unknown keys at several levels."""
    doc = sample_document(n_frames=6)
    needle, fluid = doc.annotations.objects[1], doc.annotations.objects[2]
    needle.tracked.add(5)
    for frame in (2, 3):
        fluid.clear_frame(frame)  # interpolated between 1 and 4
    doc.annotations.objects[3].mark_absent(3)  # a gap
    doc.extra.top["x_tool"] = {"name": "fuzz", "runs": [1, 2.5, None]}
    doc.extra.frames[(fluid.id, 2)] = {"x_confidence": 0.5}
    doc.modified = NOW
    return document_to_json(doc)


# ------------------------------------------------------------------ mutations
def _places(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """Every (path, value) of the JSON tree, the root included."""
    found = [(path, value)]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _places(item, (*path, index))
    return found


def _set(data: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def _random_value(rng: random.Random, depth: int) -> Any:
    if depth <= 0 or rng.random() < 0.3:
        choice = rng.random()
        if choice < 0.35:
            return rng.choice(_NUMBERS)
        if choice < 0.6:
            return rng.choice(_STRINGS)
        return rng.uniform(-1e6, 1e6)
    if rng.random() < 0.5:
        return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}": _random_value(rng, depth - 1) for i in range(rng.randint(0, 3))}


def _deep(rng: random.Random) -> Any:
    value: Any = rng.choice(_NUMBERS)
    for _ in range(rng.randint(25, 60)):
        value = [value] if rng.random() < 0.5 else {"d": value}
    return value


def _timestamp(rng: random.Random) -> str:
    year = rng.choice([1, 999, 1000, 1970, 2025, 9999, rng.randint(1, 9999)])
    decimals = rng.randint(0, 7)
    fraction = "." + "".join(rng.choice(string.digits) for _ in range(decimals)) if decimals else ""
    zone = rng.choice(["Z", "+00:00", "+01:00", ""])
    return f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:34:56{fraction}{zone}"


def mutate(data: dict[str, Any], mutation: str, rng: random.Random) -> str:
    """The text of a mutated copy of ``data``."""
    data = copy.deepcopy(data)
    places = _places(data)
    if mutation == "number":
        numbers = [p for p, v in places if type(v) in (int, float) and p]
        for _ in range(rng.randint(1, 3)):
            _set(data, rng.choice(numbers), rng.choice(_NUMBERS))
    elif mutation == "string":
        strings = [p for p, v in places if type(v) is str and p]
        _set(data, rng.choice(strings), rng.choice(_STRINGS))
    elif mutation == "unknown":
        dicts = [v for _, v in places if isinstance(v, dict)]
        target = rng.choice(dicts)
        key = rng.choice(["x_fuzz", "x_\ud800", "x_é", "x_deep"])
        target[key] = _deep(rng) if key == "x_deep" else _random_value(rng, 4)
    elif mutation == "entry":
        obj = rng.choice(data["objects"])
        entries = obj["frames"]
        entry = rng.choice(entries)
        change = rng.choice(["source", "frame", "points", "duplicate", "extra", "drop"])
        if change == "source":
            entry["source"] = rng.choice(["keyframe", "tracked", "interpolated", "absent"])
            if entry["source"] == "absent":
                entry.pop("points", None)
            else:
                entry.setdefault("points", [[1.0, 2.0]])
        elif change == "frame":
            entry["frame"] = rng.choice([0, 1, 59, 60, -1, 10**6, entry["frame"] + 1])
        elif change == "points":
            entry["points"] = [[rng.uniform(-5, 700), rng.uniform(-5, 500)]] * rng.randint(0, 5)
        elif change == "duplicate":
            entries.append(copy.deepcopy(entry))
        elif change == "extra":
            entry["x_fuzz"] = _random_value(rng, 3)
        else:
            entries.remove(entry)
    elif mutation == "structure":
        path, _ = rng.choice([(p, v) for p, v in places if p])
        if rng.random() < 0.5 and isinstance(path[-1], str):
            parent = data
            for part in path[:-1]:
                parent = parent[part]
            del parent[path[-1]]
        else:
            _set(data, path, rng.choice([[], {}, "", 0, None, [[0, 0]]]))
    elif mutation == "timestamp":
        data[rng.choice(["created", "modified"])] = _timestamp(rng)
    elif mutation == "size":
        key = rng.choice(["rows", "columns", "n_frames", "frame_time_ms"])
        data["dicom"][key] = rng.choice(
            [0, 1, 7, 65535, 65536, 100000, 100001, 10**8, 1e-320, 1e-6, 5e-7, 1e400]
        )
    elif mutation != "text":
        raise ValueError(mutation)
    text = json.dumps(data, indent=rng.choice([None, 1, 2]), allow_nan=True)
    text = text.replace("-Infinity", "-1e400").replace("Infinity", "1e400")
    if mutation == "text":
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            choice = rng.random()
            if choice < 0.4:
                chars[at] = rng.choice('{}[],:"0123456789.eE-\\u ')
            elif choice < 0.7:
                del chars[at:]
                break
            else:
                chars.insert(at, rng.choice(["\\ud800", "1e400", '"', ",", "]"]))
        text = "".join(chars)
    return text


# ---------------------------------------------------------------------- checks
def check_text(text: str, folder: Path) -> tuple[bool, list[tuple[str, str]]]:
    """Load ``text`` as a sidecar; if accepted, save it and read it back.

    Returns whether it was accepted, and the failures (kind, detail).
    """
    from usannotate.sidecar import (
        SidecarReadError,
        SidecarWriteError,
        load_sidecar,
        save_sidecar,
    )

    path = folder / "fuzz.usannotate.json"
    saved = folder / "saved.usannotate.json"
    saved.unlink(missing_ok=True)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        doc = load_sidecar(path)
    except SidecarReadError as exc:
        message = str(exc)
        if "\n" in message or not message.startswith(path.name + ": "):
            return False, [("message", repr(message[:200]))]
        return False, []
    except BaseException as exc:
        return False, [("load-crash", f"{type(exc).__name__}: {str(exc)[:160]!r}")]
    if doc.read_only:
        return True, []
    try:
        save_sidecar(doc, saved)
    except SidecarWriteError as exc:
        return True, [("save-failed", str(exc)[:200])]
    except BaseException as exc:
        return True, [("save-crash", f"{type(exc).__name__}: {str(exc)[:160]!r}")]
    try:
        again = load_sidecar(saved)
    except BaseException as exc:
        return True, [("not-equal", f"not read back: {type(exc).__name__}: {str(exc)[:160]}")]
    if again != doc:
        difference = _difference(document_to_json(doc), document_to_json(again)) or (
            "the documents differ where document_to_json() rounds (points, frame time, timestamps)"
        )
        return True, [("not-equal", difference)]
    return True, []


def _difference(a: Any, b: Any, path: str = "") -> str:
    if a == b:
        return ""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _difference(x, y, f"{path}[{i}]")
    return f"{path}: {str(a)[:60]} != {str(b)[:60]}"


def run(
    trials: int, seed: int, folder: Path, *, progress: Callable[[int], None] | None = None
) -> Report:
    """``trials`` seeded trials, the mutation kinds in turn."""
    rng = random.Random(seed)
    base = base_json()
    folder.mkdir(parents=True, exist_ok=True)
    report = Report()
    for trial in range(trials):
        mutation = MUTATIONS[trial % len(MUTATIONS)]
        text = mutate(base, mutation, rng)
        accepted, problems = check_text(text, folder)
        report.add(mutation, accepted, problems, f"trial {trial} ({mutation})")
        if progress is not None:
            progress(trial)
    return report
