"""The image and what is drawn and done on it: the view, its overlays, the marks, the tools.

The view, the calibration overlays, the marks and their captions, the marking tools, the caliper and
the calibration line.
"""
