"""Marks drawn onto pixels with OpenCV (no Qt): the app's playback overlay and exported media."""

from usannotate.render.marks import CaptionSprite, MarkDrawing, draw_marks
from usannotate.render.style import DASH_PATTERNS, MarkStyle

__all__ = ["DASH_PATTERNS", "CaptionSprite", "MarkDrawing", "MarkStyle", "draw_marks"]
