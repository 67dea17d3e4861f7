"""De-identification (no Qt): DICOM PS3.15 Annex E header profile, keyed UIDs, clean pixels.

``deidentify_file(IN, OUT)`` writes a copy of a loop with no patient data in its header
(an allow-list by IOD module, each kept attribute treated as the Basic Profile's table
says: :mod:`~usannotate.deid.allowlist`, :mod:`~usannotate.deid.header`), new UIDs and a
patient pseudonym from a keyed hash (:mod:`~usannotate.deid.pseudonyms`, the key from
:mod:`~usannotate.deid.keys`), dates removed or shifted per patient, the pixels outside
the ultrasound regions (or the static overlays) black on every frame
(:mod:`~usannotate.deid.pixels`), re-encoded losslessly frame by frame
(:mod:`~usannotate.deid.encoding`), and its sidecar carried over
(:mod:`~usannotate.deid.sidecar_carry`). The CLI's ``usannotate deidentify`` and the app
call the same functions (:mod:`~usannotate.deid.run`).
"""

from usannotate.deid._annex_e import EDITION
from usannotate.deid.encoding import DEFAULT_ENCODING, ENCODINGS
from usannotate.deid.errors import DeidentifyError
from usannotate.deid.keys import default_key_path, load_key
from usannotate.deid.pixels import PixelMask, clean_pixel_mask
from usannotate.deid.run import (
    DeidentifyOptions,
    DeidentifyResult,
    FolderReport,
    deidentify_file,
    deidentify_folder,
    loop_files,
)

__all__ = [
    "DEFAULT_ENCODING",
    "EDITION",
    "ENCODINGS",
    "DeidentifyError",
    "DeidentifyOptions",
    "DeidentifyResult",
    "FolderReport",
    "PixelMask",
    "clean_pixel_mask",
    "default_key_path",
    "deidentify_file",
    "deidentify_folder",
    "load_key",
    "loop_files",
]
