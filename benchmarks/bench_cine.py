"""Cine engine speed and memory, side by side with pydicom and raw OpenCV, in one run.

    .venv/bin/python benchmarks/bench_cine.py            # full run (600-frame loops)
    .venv/bin/python benchmarks/bench_cine.py --quick    # smaller loops, for a smoke check

Makes a 600-frame 1024x768 JPEG-baseline loop (the synthetic phantom) and its
uncompressed twin in benchmarks/data/ (git-ignored), then measures each reader in a fresh
subprocess so that peak memory (ru_maxrss) belongs to that reader alone:

- ``usannotate``: ``open_cine(path)`` with default settings (512 MiB cache, prefetch on).
- ``pydicom``: ``dcmread(path).pixel_array``, the usual way (decodes every frame).
- ``raw``: the limit: the file's fragments read and ``cv2.imdecode``d (JPEG), or the
  frame bytes read and wrapped by numpy (uncompressed), nothing else.

Results go to benchmarks/results/cine.json and cine.md. The OS file cache is warm (the
files were just written or read); cold-disk figures would add the same I/O to every reader.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
RESULTS = HERE / "results"
SCENARIOS = ("first_frame", "random_frame", "full_pass")
READERS = ("usannotate", "pydicom", "raw")
N_RANDOM = 40


# ----------------------------------------------------------------- test data
def make_loops(n_frames: int, rows: int, columns: int) -> dict[str, Path]:
    """The JPEG loop, its uncompressed twin and a 30-frame JPEG loop (for O(1) opening)."""
    import numpy as np
    import pydicom
    from pydicom.uid import ExplicitVRLittleEndian

    from usannotate.samples import make_sample_loop

    DATA.mkdir(parents=True, exist_ok=True)
    tag = f"{n_frames}f_{columns}x{rows}"
    jpeg = DATA / f"phantom_{tag}_jpeg.dcm"
    native = DATA / f"phantom_{tag}_native.dcm"
    short = DATA / f"phantom_30f_{columns}x{rows}_jpeg.dcm"
    for path, frames in ((jpeg, n_frames), (short, 30)):
        if not path.exists():
            print(f"making {path.name} ...", file=sys.stderr, flush=True)
            make_sample_loop(
                path, rows=rows, columns=columns, n_frames=frames, seed=7, write_truth=False
            )
    if not native.exists():
        print(f"making {native.name} ...", file=sys.stderr, flush=True)
        import usannotate

        ds = pydicom.dcmread(jpeg, stop_before_pixels=True)
        pixels = bytearray(n_frames * rows * columns * 3)
        with usannotate.open_cine(jpeg) as loop:
            view = np.frombuffer(pixels, np.uint8).reshape(n_frames, rows, columns, 3)
            for index in range(n_frames):
                view[index] = loop.frame(index)
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PhotometricInterpretation = "RGB"
        ds.LossyImageCompression = "01"
        ds.PixelData = bytes(pixels)
        ds["PixelData"].VR = "OB"
        ds.save_as(native, enforce_file_format=True)
    return {"jpeg": jpeg, "native": native, "jpeg_30": short}


# ------------------------------------------------------------------ readers
def _raw_frames(path: str):
    """Yield the raw pixels of each frame with the least possible work.

    JPEG: walk the fragment items and ``cv2.imdecode`` each (one fragment per frame, as
    in the benchmark loop). Uncompressed: read each frame's bytes and wrap them.
    """
    import struct

    import cv2
    import numpy as np
    import pydicom

    with open(path, "rb") as f:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        n = int(ds.get("NumberOfFrames", 1))
        f.seek(f.tell() + 12)  # past the Pixel Data element header (explicit VR, OB)
        if ds.file_meta.TransferSyntaxUID.is_encapsulated:
            _, bot_length = struct.unpack("<4sL", f.read(8))
            f.seek(bot_length, os.SEEK_CUR)
            for _ in range(n):
                _, length = struct.unpack("<4sL", f.read(8))
                fragment = f.read(length)
                yield cv2.imdecode(np.frombuffer(fragment, np.uint8), cv2.IMREAD_COLOR_RGB)
        else:
            size = ds.Rows * ds.Columns * 3
            for _ in range(n):
                yield np.frombuffer(f.read(size), np.uint8).reshape(ds.Rows, ds.Columns, 3)


def _native_pixel_offset(path: str) -> int:
    import pydicom

    with open(path, "rb") as f:
        pydicom.dcmread(f, stop_before_pixels=True)
        return f.tell() + 12  # explicit VR OB element header


def measure(reader: str, scenario: str, path: str, seed: int = 1) -> dict[str, float]:
    """Run one scenario with one reader in this process; times in ms."""
    import cv2
    import numpy as np
    import pydicom

    rng = random.Random(seed)
    result: dict[str, float] = {}
    if reader == "usannotate":
        import usannotate

        start = time.perf_counter()
        loop = usannotate.open_cine(path)
        if scenario == "first_frame":
            opened = time.perf_counter()
            loop.frame(0)
            result["open_ms"] = (opened - start) * 1e3
            result["ms"] = (time.perf_counter() - start) * 1e3
        elif scenario == "random_frame":
            indices = rng.sample(range(loop.n_frames), N_RANDOM)
            times = []
            for index in indices:
                t = time.perf_counter()
                loop.decode_frame(index)  # bypass cache and prefetch: a cold frame each time
                times.append((time.perf_counter() - t) * 1e3)
            result["ms"] = float(np.median(times))
        else:
            checksum = 0
            for index in range(loop.n_frames):
                checksum += int(loop.frame(index)[0, 0, 0])
            result["ms"] = (time.perf_counter() - start) * 1e3
            result["fps"] = loop.n_frames / (result["ms"] / 1e3)
        loop.close()
    elif reader == "pydicom":
        import pydicom

        start = time.perf_counter()
        if scenario == "random_frame":
            # The usual way has no single-frame access: every call decodes the loop.
            n = int(pydicom.dcmread(path, stop_before_pixels=True).NumberOfFrames)
            times = []
            for index in rng.sample(range(n), 1):
                t = time.perf_counter()
                _ = pydicom.dcmread(path).pixel_array[index]
                times.append((time.perf_counter() - t) * 1e3)
            result["ms"] = float(np.median(times))
        else:
            frames = pydicom.dcmread(path).pixel_array
            if scenario == "first_frame":
                _ = frames[0]
            result["ms"] = (time.perf_counter() - start) * 1e3
            if scenario == "full_pass":
                result["fps"] = len(frames) / (result["ms"] / 1e3)
    else:
        start = time.perf_counter()
        if scenario == "first_frame":
            next(_raw_frames(path))
            result["ms"] = (time.perf_counter() - start) * 1e3
        elif scenario == "random_frame":
            # Decode time only (fragments already located): the floor for one frame.
            import cv2
            import pydicom
            from pydicom.encaps import generate_frames

            ds = pydicom.dcmread(path, stop_before_pixels=True)
            n = int(ds.NumberOfFrames)
            if ds.file_meta.TransferSyntaxUID.is_encapsulated:
                ds = pydicom.dcmread(path)
                fragments = list(generate_frames(ds.PixelData, number_of_frames=n))
                times = []
                for index in rng.sample(range(n), N_RANDOM):
                    t = time.perf_counter()
                    cv2.imdecode(np.frombuffer(fragments[index], np.uint8), cv2.IMREAD_COLOR_RGB)
                    times.append((time.perf_counter() - t) * 1e3)
                result["ms"] = float(np.median(times))
            else:
                size = ds.Rows * ds.Columns * 3
                offset = _native_pixel_offset(path)
                times = []
                with open(path, "rb") as f:
                    for index in rng.sample(range(n), N_RANDOM):
                        t = time.perf_counter()
                        f.seek(offset + index * size)
                        np.frombuffer(f.read(size), np.uint8).reshape(ds.Rows, ds.Columns, 3)
                        times.append((time.perf_counter() - t) * 1e3)
                result["ms"] = float(np.median(times))
        else:
            count = sum(1 for _ in _raw_frames(path))
            result["ms"] = (time.perf_counter() - start) * 1e3
            result["fps"] = count / (result["ms"] / 1e3)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, because ru_maxrss survives fork+exec
    and would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_subprocess(reader: str, scenario: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", reader, scenario, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ reports
def run(n_frames: int, rows: int, columns: int, repeats: int) -> dict[str, object]:
    loops = make_loops(n_frames, rows, columns)
    results: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "loop": {"n_frames": n_frames, "rows": rows, "columns": columns},
        "files_mb": {k: round(p.stat().st_size / 1e6, 1) for k, p in loops.items()},
        "measurements": {},
    }
    table: dict[str, dict[str, dict[str, float]]] = {}
    for kind in ("jpeg", "native", "jpeg_30"):
        for scenario in SCENARIOS:
            if kind == "jpeg_30" and scenario != "first_frame":
                continue
            for reader in READERS:
                # pydicom decodes the whole loop every time: slow and steady, one run is enough.
                n_runs = 1 if reader == "pydicom" else repeats
                runs = [_in_subprocess(reader, scenario, loops[kind]) for _ in range(n_runs)]
                best = min(runs, key=lambda r: r["ms"])
                best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
                table.setdefault(kind, {}).setdefault(scenario, {})[reader] = best
                print(f"{kind:8s} {scenario:13s} {reader:10s} {best}", file=sys.stderr, flush=True)
    results["measurements"] = table
    jpeg = table["jpeg"]["full_pass"]
    results["ratios"] = {
        "full_pass_vs_raw": jpeg["usannotate"]["ms"] / jpeg["raw"]["ms"],
        "full_pass_speedup_vs_pydicom": jpeg["pydicom"]["ms"] / jpeg["usannotate"]["ms"],
        "first_frame_600_vs_30_ms": [
            table["jpeg"]["first_frame"]["usannotate"]["ms"],
            table["jpeg_30"]["first_frame"]["usannotate"]["ms"],
        ],
        "full_pass_peak_rss_mb": jpeg["usannotate"]["peak_rss_mb"],
    }
    return results


def markdown(results: dict[str, object]) -> str:
    loop = results["loop"]
    table = results["measurements"]
    lines = [
        f"Loop: {loop['n_frames']} frames, {loop['columns']}x{loop['rows']} RGB; "
        f"files {results['files_mb']} MB; {results['machine']['cpus']} CPUs, "
        f"Python {results['machine']['python']}.",
        "",
        "| loop | measurement | usannotate | pydicom `pixel_array` | raw `cv2.imdecode` / read |",
        "|---|---|---|---|---|",
    ]
    names = {
        "first_frame": "open to first frame (ms)",
        "random_frame": "cold random frame (ms, median)",
        "full_pass": "full sequential pass (ms)",
    }
    for kind, scenarios in table.items():
        for scenario, readers in scenarios.items():
            cells = [f"{readers[r]['ms']:.1f}" if r in readers else "-" for r in READERS]
            lines.append(f"| {kind} | {names[scenario]} | " + " | ".join(cells) + " |")
        if "full_pass" in scenarios:
            cells = [f"{scenarios['full_pass'][r]['peak_rss_mb']:.0f}" for r in READERS]
            lines.append(f"| {kind} | peak memory, full pass (MB) | " + " | ".join(cells) + " |")
    ratios = results["ratios"]
    lines += [
        "",
        f"- Full pass vs raw decode: **{ratios['full_pass_vs_raw']:.2f}x** (target <= 1.3x)",
        f"- Full pass speed-up vs pydicom: **{ratios['full_pass_speedup_vs_pydicom']:.1f}x** "
        "(target >= 8x)",
        "- Open to first frame, {} vs 30 frames: **{:.1f} ms vs {:.1f} ms** "
        "(target <= 100 ms)".format(loop["n_frames"], *ratios["first_frame_600_vs_30_ms"]),
        f"- Peak memory of a full pass: **{ratios['full_pass_peak_rss_mb']:.0f} MB** "
        "(target < 700 MB)",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="120 frames of 512x384")
    parser.add_argument("--repeats", type=int, default=3, help="runs per cell (best is kept)")
    parser.add_argument("--measure", nargs=3, metavar=("READER", "SCENARIO", "PATH"))
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    n, rows, columns = (120, 384, 512) if args.quick else (600, 768, 1024)
    results = run(n, rows, columns, 1 if args.quick else args.repeats)
    RESULTS.mkdir(exist_ok=True)
    suffix = "_quick" if args.quick else ""
    (RESULTS / f"cine{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    (RESULTS / f"cine{suffix}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
