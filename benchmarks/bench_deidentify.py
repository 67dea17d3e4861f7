"""De-identification speed and memory against decoding the same loop, in one run.

    .venv/bin/python benchmarks/bench_deidentify.py            # 600-frame 1024x768 loop
    .venv/bin/python benchmarks/bench_deidentify.py --quick    # 60 frames, a smoke check

Uses bench_cine's 600-frame 1024x768 JPEG-baseline phantom loop (made in benchmarks/data/,
git-ignored, when missing). Each measurement runs in a fresh subprocess, so its peak
memory (VmHWM) is its own:

- ``decode``: ``open_cine(path)`` and every frame read in order (the app's full pass).
- ``deidentify <encoding>, N threads``: ``usannotate.deid.deidentify_file`` to a file
  beside the loop: header, pixel mask, every frame decoded, cleaned, encoded and
  written, the cleaning and encoding on N threads (the default: one per CPU, at most
  4; "1 thread": all on the calling thread, as on a one-core machine). The decoder's
  prefetch threads run in every row, the decode row included.
- ``... static overlay``: the same loop whose region is made to cover the whole image, so
  the mask comes from a first pass over the loop (the static pixels), then the writing.

Targets (issue 12): de-identification within 2x the decode time per frame; peak memory
under 700 MB. Results go to benchmarks/results/deidentify.json and deidentify.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

import _per_frame  # noqa: E402
from bench_cine import _peak_rss_mb, make_loops  # noqa: E402

ENCODINGS = ("jpeg-ls", "rle", "jpeg2000")


def measure(task: str, path: str) -> dict[str, float]:
    """One measurement, in this process (called through ``--measure``)."""
    import usannotate

    start, cpu_start = time.perf_counter(), _per_frame.cpu_seconds()
    if task == "decode":
        with usannotate.open_cine(path) as loop:
            n = loop.n_frames
            for index in range(n):
                loop.frame(index)
        size_mb = 0.0
    else:
        from usannotate.deid import DeidentifyOptions, deidentify_file

        encoding = task.split(" ")[1].rstrip(",")
        workers = int(task.split(", ")[1].split(" ")[0])
        with tempfile.TemporaryDirectory(dir=Path(path).parent) as folder:
            os.environ["XDG_CONFIG_HOME"] = folder  # a fresh key, the user's left alone
            out = Path(folder) / "deidentified.dcm"
            options = DeidentifyOptions(encoding=encoding, workers=workers)
            result = deidentify_file(path, out, options)
            n = result.n_frames
            size_mb = out.stat().st_size / 1e6
    ms = (time.perf_counter() - start) * 1e3
    cpu_ms = (_per_frame.cpu_seconds() - cpu_start) * 1e3
    return {
        "ms": ms,
        "ms_per_frame": ms / n,
        "cpu_ms_per_frame": cpu_ms / n,
        "frames": n,
        "size_mb": size_mb,
        "peak_rss_mb": _peak_rss_mb(),
    }


def whole_image_twin(loop: Path) -> Path:
    """A copy of ``loop`` whose one region covers the whole image (as resized exports)."""
    import pydicom

    twin = loop.with_name(loop.stem + "_whole_region.dcm")
    if not twin.exists():
        ds = pydicom.dcmread(loop)
        region = ds.SequenceOfUltrasoundRegions[0]
        region.RegionLocationMinX0, region.RegionLocationMinY0 = 0, 0
        region.RegionLocationMaxX1, region.RegionLocationMaxY1 = ds.Columns - 1, ds.Rows - 1
        ds.save_as(twin, enforce_file_format=True)
    return twin


def _threads(n: int) -> str:
    return f"{n} thread" + ("s" if n > 1 else "")


def run(n_frames: int, encodings: tuple[str, ...], repeats: int) -> dict[str, object]:
    loop = make_loops(n_frames, 768, 1024)["jpeg"]
    twin = whole_image_twin(loop)
    from usannotate._pipeline import default_workers

    threads = default_workers()
    tasks: list[tuple[str, Path]] = [("decode", loop)]
    for encoding in encodings:
        for n in sorted({threads, 1}, reverse=True):
            tasks.append((f"deidentify {encoding}, {_threads(n)}", loop))
    tasks.append((f"deidentify {encodings[0]} static overlay, {_threads(threads)}", twin))
    rows: dict[str, dict[str, float]] = {}
    for task, path in tasks:
        print(f"{task} ...", file=sys.stderr, flush=True)
        runs = [_per_frame.in_subprocess(__file__, task, path) for _ in range(repeats)]
        rows[task] = _per_frame.best_of(runs)
    return _per_frame.results(rows, loop, n_frames, repeats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 frames, once")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--encodings",
        default="jpeg-ls,rle",
        help=f"comma-separated, of {', '.join(ENCODINGS)} (default jpeg-ls,rle)",
    )
    parser.add_argument("--measure", nargs=2, metavar=("TASK", "PATH"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure:
        print(json.dumps(measure(*options.measure)))
        return 0
    encodings = tuple(e for e in options.encodings.split(",") if e)
    results = run(60 if options.quick else 600, encodings, 1 if options.quick else options.repeats)
    suffix = "_quick" if options.quick else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"deidentify{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    text = _per_frame.markdown(results, size_digits=0)
    (RESULTS / f"deidentify{suffix}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
