"""Write synthetic sample loops to disk: the JPEG DICOM, its truth JSON, the bundled set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from usannotate.samples.dicom_writer import write_jpeg_cine
from usannotate.samples.params import PhantomParams
from usannotate.samples.phantom import HydrodissectionPhantom
from usannotate.samples.truth import dumps_truth, truth_path_for

__all__ = [
    "BUNDLED_SAMPLES",
    "HARD_SAMPLES",
    "make_hard_loop",
    "make_sample_loop",
    "write_bundled_samples",
]


def make_sample_loop(
    path: str | Path,
    *,
    rows: int = 480,
    columns: int = 640,
    n_frames: int = 60,
    seed: int = 0,
    frame_time_ms: float = 1000.0 / 30.0,
    needle_angle_deg: float = 30.0,
    quality: int = 88,
    write_truth: bool = True,
    **params: Any,
) -> dict[str, Any] | None:
    """Render a synthetic loop and write it as a JPEG DICOM, with its truth JSON beside it.

    Parameters:
        path: output ``.dcm`` file; the truth goes to ``<stem>.truth.json``.
        rows, columns: frame size (px).
        n_frames: number of frames.
        seed: random seed; equal arguments give byte-identical files.
        frame_time_ms: time between frames (ms).
        needle_angle_deg: needle angle against the image x axis (degrees, positive = down).
        quality: JPEG quality, 1-100.
        write_truth: False to skip the truth (e.g. a quick benchmark loop).
        **params: further ``PhantomParams`` fields (``depth_mm``, ``target_plane``, ...).

    Returns:
        The truth document, or None when ``write_truth`` is False.
    """
    phantom = HydrodissectionPhantom(
        PhantomParams(
            rows=rows,
            columns=columns,
            n_frames=n_frames,
            seed=seed,
            frame_time_ms=frame_time_ms,
            needle_angle_deg=needle_angle_deg,
            **params,
        )
    )
    p = phantom.params
    uid = write_jpeg_cine(
        path,
        phantom.frames(),
        frame_time_ms=p.frame_time_ms,
        regions=[phantom.region],
        quality=quality,
        uid_entropy=["usannotate.samples", repr(tuple(p.identity().values())), str(quality)],
        patient_name=p.patient_name,
        patient_id=p.patient_id,
        study_date=p.study_date,
        transducer=p.probe,
    )
    if not write_truth:
        return None
    truth = phantom.truth(sop_instance_uid=uid)
    truth_path_for(path).write_text(dumps_truth(truth), encoding="utf-8")
    return truth


#: The loops bundled in ``sample_dicoms/``: file name -> ``make_sample_loop`` arguments.
BUNDLED_SAMPLES: dict[str, dict[str, Any]] = {
    "hydrodissection_linear_a.dcm": {
        "rows": 480,
        "columns": 640,
        "n_frames": 60,
        "seed": 20260101,
        "frame_time_ms": 1000.0 / 30.0,
        "needle_angle_deg": 30.0,
        "quality": 84,
        "depth_mm": 38.0,
        "target_plane": "interfascial_plane",
    },
    "hydrodissection_linear_b.dcm": {
        "rows": 384,
        "columns": 512,
        "n_frames": 45,
        "seed": 20260202,
        "frame_time_ms": 40.0,
        "needle_angle_deg": 22.0,
        "quality": 85,
        "depth_mm": 25.0,
        "footprint_mm": 30.0,
        "probe": "L15-4",
        "target_plane": "deep_fascia",
        "fluid_length_mm": 13.0,
        "fluid_thickness_mm": 2.2,
    },
}

#: What makes the hard variants hard (issue 15): a dim, partly visible needle at a
#: steeper angle, more speckle and noise, the probe moving, the needle's shadow, an
#: irregular bolus.
_HARDER: dict[str, Any] = {
    "needle_brightness": 0.45,
    "needle_dropout": 0.7,
    "speckle_power": 1.6,
    "noise_grey": 14.0,
    "probe_motion_px": 3.0,
    "needle_shadow": 0.5,
    "fluid_irregularity": 0.8,
}

#: Harder variants of the bundled loops, made at test or benchmark time (never
#: committed): file name -> ``make_sample_loop`` arguments.
HARD_SAMPLES: dict[str, dict[str, Any]] = {
    "hydrodissection_hard_a.dcm": {
        **BUNDLED_SAMPLES["hydrodissection_linear_a.dcm"],
        "needle_angle_deg": 42.0,
        **_HARDER,
    },
    "hydrodissection_hard_b.dcm": {
        **BUNDLED_SAMPLES["hydrodissection_linear_b.dcm"],
        "needle_angle_deg": 36.0,
        **_HARDER,
    },
}


def make_hard_loop(out_dir: str | Path, name: str) -> Path:
    """Write the hard variant ``name`` (a key of ``HARD_SAMPLES``) and its truth into
    ``out_dir`` (created if missing).

    Returns:
        The DICOM path.

    Raises:
        KeyError: ``name`` is not a hard variant.
    """
    arguments = HARD_SAMPLES[name]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    make_sample_loop(path, **arguments)
    return path


def write_bundled_samples(out_dir: str | Path) -> list[Path]:
    """Regenerate the bundled sample loops and their truth files into ``out_dir``.

    Parameters:
        out_dir: destination folder (created if missing).

    Returns:
        The DICOM paths written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, arguments in BUNDLED_SAMPLES.items():
        make_sample_loop(out_dir / name, **arguments)
        written.append(out_dir / name)
    return written
