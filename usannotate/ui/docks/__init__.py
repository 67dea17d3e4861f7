"""The docked panels around the image, one module each, with the private helpers they draw with.

Labels, measurements, timeline, curves, the folder's loops and the loop's details.
"""
