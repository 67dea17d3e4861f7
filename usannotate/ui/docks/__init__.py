"""The docked panels around the image: labels, measurements, timeline, curves, the
folder's loops and the loop's details."""
