"""The user guide (Help > User Guide) covers the case details, attributes, events,
comments and the hydrodissection measures, with every key of the Details menu."""

from __future__ import annotations

from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "resources" / "USER_GUIDE.md"


def test_the_guide_gives_every_key_of_the_details_menu(window):
    text = GUIDE.read_text(encoding="utf-8")
    [menu] = [a.menu() for a in window.menuBar().actions() if a.text() == "&Details"]
    keys = [a.shortcut().toString() for a in menu.actions() if not a.shortcut().isEmpty()]
    assert len(keys) >= 10
    missing = [k for k in keys if f"**{k}**" not in text and f"({k})" not in text]
    assert not missing, missing
    for words in (
        "Case details",
        "tip visible",
        "confidence",
        "Events",
        "Comments",
        "Plane separation",
        "Thickness",
        "Insertion depth",
        "Spread rate",
        "Advance per second",
        "px/s",
    ):
        assert words in text, words
