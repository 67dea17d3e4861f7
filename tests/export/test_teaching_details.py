"""The teaching page's case details, learning points, teaching notes, events and the
hydrodissection measures; the page in headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.export.details_cases import CASE, mark_with_details
from tests.test_cli import run_cli
from usannotate.export.curves import EVENT_COLOUR


@pytest.fixture(scope="module")
def case_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("teachdetails")
    dicom, _ = mark_with_details(folder / "loops")
    out = folder / "teaching"
    result = run_cli("export", "teaching", str(dicom), "-o", str(out))
    assert result.returncode == 0, result.stderr
    return out


def test_the_page_has_the_case_learning_points_notes_events_and_hydro_measures(case_folder):
    page = (case_folder / "index.html").read_text()
    assert f"<h1>{CASE['teaching_title']}</h1>" in page
    assert "<tr><th>Side</th><td>right</td></tr>" in page
    assert "<tr><th>Injectate volume</th><td>4.5 ml</td></tr>" in page
    assert "<tr><th>Needle gauge</th><td>25 G</td></tr>" in page
    assert "<li>Keep the tip in view</li>" in page
    assert "<li>Watch the fluid split the layers</li>" in page
    assert "the fluid opens the plane" in page  # the comment meant for teaching
    assert "Tip lost here" not in page  # a review note is not
    assert "<td>Injection start</td>" in page
    assert "+0.40 s" in page  # the key image, from the injection start (0.4 s at 25 fps)
    for title in ("Plane separation", "Insertion depth", "Spread rate", "Advance per second"):
        assert f"<td>{title}</td>" in page, title
    assert "mm/s" in page


def test_comment_authors_are_not_in_the_case(case_folder):
    """The page and the de-identified sidecar hold no comment author (names are people's,
    like the annotator's, dropped unless kept)."""
    for path in case_folder.rglob("*"):
        if path.suffix in (".html", ".json", ".csv"):
            text = path.read_text()
            assert "Dr Teach" not in text, path.name
            assert "Rater Two" not in text, path.name
    sidecar = (case_folder / "case.usannotate.json").read_text()
    assert "Tip lost here" in sidecar  # the comments themselves are carried


def test_the_curves_mark_the_events(case_folder):
    curves = cv2.imread(str(case_folder / "curves.png"))[..., ::-1].astype(np.int32)
    coral = np.sqrt(((curves - EVENT_COLOUR) ** 2).sum(axis=2)) < 40
    columns = np.flatnonzero(coral.sum(axis=0) > 40)  # dashed lines down both panels
    assert len(columns) >= 2
    assert columns.max() - columns.min() > 50  # two events, apart


def test_the_page_with_details_renders_in_headless_chromium(case_folder, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is installed by .ci/setup"
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,3800",
            "--virtual-time-budget=4000",
            (case_folder / "index.html").as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    image = cv2.imread(str(shot))
    assert image is not None, "chromium wrote no screenshot"
    rgb = image[..., ::-1].astype(np.int32)
    # The curves picture loaded with its event lines: coral, which no label has.
    coral = np.sqrt(((rgb - EVENT_COLOUR) ** 2).sum(axis=2)) < 40
    assert coral.sum() > 100
