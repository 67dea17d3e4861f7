"""The image and what is drawn and done on it: the view, the calibration overlays, the
marks and their captions, the marking tools, the caliper and the calibration line."""
