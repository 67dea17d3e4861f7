"""Workflow C of bench_actions: assisted marking (issue 15), driven in the real window.

Each fascial plane: its label key, 3 rough clicks (2 px off the true line, alternately
above and below), Enter, Y (the snap to the ridge accepted), Ctrl+T (tracked to the
end). The needle: on its first frame, N (found), Y (accepted; marked by hand, entry
and tip, when nothing is found), Ctrl+T. The fluid: 12 clicks on its first frame and 5
frames later, Ctrl+T from there (followed by its image to the end; the frames between
the two keyframes interpolated). Then the same review
and corrections as workflow B, Ctrl+Return (every tracked frame confirmed), Ctrl+S.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROUGH_PX = 2.0  # how far off the true line the 3 plane clicks land
PLANE_ROUGH_CLICKS = 3
FLUID_SECOND_KEYFRAME = 5  # frames after the fluid appears


def workflow_assisted(ba, truth, loop_path: Path, settings: Path) -> dict:
    """Run workflow C with the helpers of ``ba`` (the bench_actions module)."""
    from PySide6.QtCore import Qt

    from usannotate.annotations.interpolation import resample

    dialogs: list[str] = []
    app, window = ba._open_window(loop_path, settings, dialogs)
    rec = ba.Recorder(app, window)
    started = time.perf_counter()
    ctrl = Qt.KeyboardModifier.ControlModifier

    def track_selected(what: str) -> None:
        rec.key(Qt.Key.Key_T, f"track (Ctrl+T) ({what})", ctrl)
        rec.wait_for_tracking()

    # Planes on frame 0: 3 rough clicks, Enter, Y accepts the snap, Ctrl+T to the end.
    for structure in ba.PLANES:
        line = truth.plane(0, structure)
        clicks = resample(line, PLANE_ROUGH_CLICKS, closed=False)
        clicks[:, 1] += ROUGH_PX * np.array([1.0, -1.0, 1.0])
        rec.key(ba._qt_key(ba.KEY_OF[structure]), f"label ({structure})")
        for x, y in clicks:
            rec.click(x, y, f"points ({structure})")
        rec.key(Qt.Key.Key_Return, f"finish ({structure})")
        if window.suggestions.suggestion is None:
            rec.notes.append(f"no snap suggested for {structure}")
        rec.key(Qt.Key.Key_Y, f"accept the suggestion (Y) ({structure})")
        track_selected(structure)

    # The needle on its first frame: N finds it, Y accepts, Ctrl+T.
    rec.key(Qt.Key.Key_Escape, "Esc (to select mode)")
    rec.go_to(truth.present("needle")[0])
    rec.key(Qt.Key.Key_N, "find the needle (N)")
    if window.suggestions.suggestion is None:
        # Nothing found: the user marks it by hand (label key, entry, tip).
        rec.notes.append("N found no needle on its first frame: marked by hand")
        ba.draw(rec, truth, "needle")
    else:
        rec.key(Qt.Key.Key_Y, "accept the suggestion (Y) (needle)")
    track_selected("needle")

    # The fluid: keyframes on its first frame and 5 frames later, tracked from there.
    fluid_frames = truth.present("fluid")
    rec.go_to(fluid_frames[0])
    ba.draw(rec, truth, "fluid")
    rec.go_to(fluid_frames[0] + FLUID_SECOND_KEYFRAME)
    ba.draw(rec, truth, "fluid")
    track_selected("fluid")

    corrections: list[dict] = []
    accepted: set[tuple[int, str]] = set()
    first_errors = ba._errors(window, truth)
    while True:
        rec.play_through("review (Space, Space)")
        bad = [b for b in ba._bad_frames(window, truth) if b not in accepted]
        if not bad:
            break
        if len(corrections) >= ba.MAX_CORRECTIONS:
            rec.notes.append(f"review stopped after {ba.MAX_CORRECTIONS} corrections")
            break
        frame, structure = min(bad, key=lambda b: (not ba._is_keyframe(window, *b), b))
        before = rec.clicks + rec.keys
        rec.go_to(frame)
        if window.tools.mode == "draw":
            rec.key(Qt.Key.Key_Escape, "Esc (to select mode)")
        if structure == "needle":
            ba._correct_needle(rec, truth, frame)
        else:
            ba._correct_outline(rec, truth, frame, structure)
        corrections.append(
            {"frame": frame, "structure": structure, "actions": rec.clicks + rec.keys - before}
        )
        if (frame, structure) in ba._bad_frames(window, truth):
            accepted.add((frame, structure))
            rec.notes.append(f"frame {frame}: {structure} still off after its correction")
    sources = {s: ba._source_counts(window, s) for s in ba.STRUCTURES}
    for _ in range(3):  # Esc until nothing is selected: Ctrl+Return confirms every mark
        if window.tools.selected is None:
            break
        rec.key(Qt.Key.Key_Escape, "Esc (deselect)")
    rec.key(Qt.Key.Key_Return, "confirm tracked (Ctrl+Return)", ctrl)
    left = {s: len(ba._the_object(window, s).tracked) for s in ba.STRUCTURES}
    if any(left.values()):
        rec.notes.append(f"Ctrl+Return left tracked frames unconfirmed: {left}")
    result = ba._finish(rec, truth, started, dialogs, corrections, sources)
    result["errors_before_review"] = ba._summary(first_errors)
    return result


def run_on_hard(ba, results_dir: Path) -> dict:
    """Workflow C on the hard variant of loop a (generated with its truth), written to
    ``results_dir/actions_hard.{json,md}``: where assisted marking needs corrections."""
    import json
    import shutil
    import tempfile

    from usannotate.samples import make_hard_loop

    with tempfile.TemporaryDirectory(prefix="usannotate-actions-hard-") as tmp:
        folder = Path(tmp)
        path = make_hard_loop(folder / "source", "hydrodissection_hard_a.dcm")
        truth = ba.Truth(path.with_name(f"{path.stem}.truth.json"))
        loop_path = folder / path.name
        shutil.copyfile(path, loop_path)
        result = workflow_assisted(ba, truth, loop_path, folder / "settings")
    result["loop"] = "hydrodissection_hard_a.dcm"
    (results_dir / "actions_hard.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Workflow C (assisted) on the hard variant of loop a",
        "",
        "`.venv/bin/python benchmarks/bench_actions.py --hard`",
        "",
        f"{result['clicks']} clicks + {result['keys']} keys = **{result['actions']} actions**, "
        f"{len(result['corrections'])} correction(s) "
        f"({sum(c['actions'] for c in result['corrections'])} actions), {result['wall_s']} s.",
        "",
        "| structure | mean error before review | after review | frames over tolerance "
        "before review |",
        "|---|---|---|---|",
    ]
    for structure, after in result["errors"].items():
        before = result["errors_before_review"][structure]
        lines.append(
            f"| {structure} | {before['mean']} {before['unit']} (max {before['max']}) | "
            f"{after['mean']} {after['unit']} (max {after['max']}) | "
            f"{before['frames_over_tolerance']} |"
        )
    corrections = result["corrections"]
    if corrections:
        lines += [
            "",
            "Corrections (frame, structure, actions): "
            + ", ".join(f"{c['frame']} {c['structure']} ({c['actions']})" for c in corrections)
            + ".",
        ]
    notes = result["notes"] + result["dialogs"]
    lines += ["", "Notes: " + ("; ".join(notes) if notes else "none") + "."]
    (results_dir / "actions_hard.md").write_text("\n".join(lines) + "\n")
    return result
