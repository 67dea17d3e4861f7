"""Suggestions saved with the loop and found on opening (issue 15): a suggestion is kept in
the sidecar with source "suggested" until Y accepts it (one undo step) or Shift+Y dismisses
it; a loop opened with the needle tool chosen has its needle looked for off the GUI thread."""

from __future__ import annotations

import json
import threading

import numpy as np
from PySide6.QtCore import Qt

from tests.ui.paths import SAMPLE_A
from usannotate.annotations import FrameSource
from usannotate.tracking import needle_finder

TRUTH = json.loads(SAMPLE_A.with_name("hydrodissection_linear_a.truth.json").read_text())


def _needles(window):
    return [o for o in window.session.history.annotations.objects if o.label_id == "needle"]


def test_a_suggestion_is_saved_reopened_and_accepted_in_one_undo_step(opened, qtbot):
    window = opened
    window.jump(30)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_N)
    found = window.suggestions.suggestion
    assert found is not None
    assert window.save()
    data = json.loads(window.session.path.read_text("utf-8"))
    [saved] = data["suggestions"]
    assert saved["frames"][0]["source"] == "suggested"
    assert saved["frames"][0]["frame"] == 30
    assert not data["objects"]  # not a mark

    path = window.state.loop.path
    assert window.close_loop()
    assert window.open_path(str(path))
    window.jump(30)
    shown = window.suggestions.suggestion
    assert shown is not None
    assert np.allclose(shown.points, found.points, atol=1e-3)
    assert window.suggestions.item.isVisible()
    assert "suggested" in window.suggestions.item.caption.text()
    assert not _needles(window)

    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Y)
    [needle] = _needles(window)
    assert needle.source(30) is FrameSource.KEYFRAME
    assert not window.session.history.annotations.suggestions
    assert not window.suggestions.item.isVisible()
    window.session.history.undo()  # one step: the suggestion back, no needle
    assert not _needles(window)
    assert window.suggestions.suggestion is not None
    qtbot.keyClick(window.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ShiftModifier)
    assert not window.session.history.annotations.suggestions
    assert not _needles(window)


def _loop_from_frame(folder, first: int, n: int = 3):
    """Sample loop A from frame ``first`` on (``n`` frames), its JPEG frames as they are:
    a loop whose first frame shows the needle."""
    import pydicom
    from pydicom.encaps import encapsulate, generate_frames
    from pydicom.uid import generate_uid

    ds = pydicom.dcmread(SAMPLE_A)
    frames = list(generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames)))
    ds.PixelData = encapsulate(frames[first : first + n])
    ds.NumberOfFrames = n
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = folder / f"from_{first}.dcm"
    ds.save_as(path)
    return path


def test_a_loop_opened_with_the_needle_tool_gets_its_needle_found_off_the_gui_thread(
    opened, qtbot, tmp_path, monkeypatch
):
    window = opened
    threads = []
    real = needle_finder.find_needle

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(needle_finder, "find_needle", recording)
    window.tools.set_label("needle")
    window.tools.start_drawing()
    assert window.close_loop()
    assert window.open_path(str(_loop_from_frame(tmp_path, 30)))
    assert window.tools.tool.value == "needle"  # the tool chosen stays chosen
    qtbot.waitUntil(lambda: window.suggestions.suggestion is not None, timeout=20000)
    suggestion = window.suggestions.suggestion
    assert suggestion.frame == 0
    assert suggestion.what == "found"
    assert "suggested" in window.suggestions.item.caption.text()
    assert threads
    assert all(t is not threading.main_thread() for t in threads)  # never on the GUI's
    tip = np.array(TRUTH["frames"][30]["needle"]["tip"])
    assert np.linalg.norm(suggestion.points[1] - tip) * TRUTH["mm_per_px_x"] < 1.0
    assert not _needles(window)  # a suggestion, not a mark


def test_no_automatic_search_with_another_tool_or_a_needle_already_there(
    opened, qtbot, tmp_path, monkeypatch
):
    window = opened
    calls = []
    monkeypatch.setattr(needle_finder, "find_needle", lambda *a, **k: calls.append(1))
    window.tools.set_label("fascia.superficial")  # the plane tool: no search
    window.tools.start_drawing()
    assert window.close_loop()
    path = _loop_from_frame(tmp_path, 30)
    assert window.open_path(str(path))
    qtbot.wait(200)
    assert not window.suggestions.auto_job.is_running
    assert not calls
    # The needle tool, but the frame already has its needle (marked, saved): no search.
    window.tools.set_label("needle")
    window.tools.start_drawing()
    tip = np.array(TRUTH["frames"][30]["needle"]["tip"])
    entry = np.array(TRUTH["frames"][30]["needle"]["entry"])
    from usannotate.annotations import AnnotatedObject, ShapeKind
    from usannotate.annotations.edits import AddObject

    needle = AnnotatedObject("needle", ShapeKind.NEEDLE)
    needle.set_points(0, [entry, tip])
    window.session.history.push(AddObject(needle))
    assert window.save()
    assert window.close_loop()
    assert window.open_path(str(path))
    qtbot.wait(200)
    assert not calls
    assert window.suggestions.suggestion is None
