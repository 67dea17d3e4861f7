"""usannotate: annotate ultrasound DICOM cine loops (fascial planes, needle, fluid spread).

The public, Qt-free API::

    import usannotate
    with usannotate.open_cine("loop.dcm") as loop:
        rgb = loop.frame(0)  # (rows, columns, 3) uint8, display-ready
"""

from usannotate.cine import CineLoop, open_cine

__all__ = ["CineLoop", "__version__", "open_cine"]
__version__ = "0.1.0"
