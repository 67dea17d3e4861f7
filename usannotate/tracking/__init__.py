"""Tracking: marks propagated between frames (flow; fluid by its image) and assists (no Qt)."""

from usannotate.tracking.propagate import TrackingParams, TrackingResult, propagate

__all__ = ["TrackingParams", "TrackingResult", "propagate"]
