"""Tracking: propagate a mark between frames with OpenCV optical flow (no Qt)."""

from usannotate.tracking.propagate import TrackingParams, TrackingResult, propagate

__all__ = ["TrackingParams", "TrackingResult", "propagate"]
