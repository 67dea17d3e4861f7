"""The app bundle: its size, how long it takes to build, and its start-up time.

    python benchmarks/bench_bundle.py            # uses dist/usannotate (build it first)
    python benchmarks/bench_bundle.py --build    # runs packaging/build.sh first (minutes)

Start-up is measured on the artefact, not on the source tree: each run starts
``dist/usannotate/usannotate --smoke-test LOOP`` under Xvfb on a copy of the bundled sample
loop with a home of its own (fresh settings), and reads the time it reports from the
process start to the loop's first frame on screen (``ui/smoke.py``); ``--version`` is timed
as the CLI's start. Results go to benchmarks/results/bundle.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BUNDLE = ROOT / "dist" / "usannotate"
SAMPLE = ROOT / "sample_dicoms" / "hydrodissection_linear_a.dcm"
_ON_SCREEN = re.compile(r"loop on screen ([0-9.]+) s")


def _size_mb(folder: Path) -> float:
    # PyInstaller links a library's versioned names to one file: count each file once.
    files = (p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return sum(p.stat().st_size for p in files) / 1e6


def _environment(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
    }


def _window_start(app: Path, scratch: Path, run: int) -> float:
    home = scratch / f"home{run}"
    home.mkdir()
    loop = Path(shutil.copy(SAMPLE, scratch / f"loop{run}.dcm"))
    command = [app, "--smoke-test", str(loop)]
    if not os.environ.get("DISPLAY"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", *map(str, command)]
    result = subprocess.run(
        command, env=_environment(home), capture_output=True, text=True, timeout=600
    )
    found = _ON_SCREEN.search(result.stdout)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"the bundle's smoke test failed:\n{result.stdout}\n{result.stderr}")
    return float(found.group(1))


def _cli_start(app: Path, scratch: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [app, "--version"], env=_environment(scratch), capture_output=True, check=True, timeout=120
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="run packaging/build.sh first")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    build_s = None
    if args.build:
        start = time.perf_counter()
        subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], check=True)
        build_s = time.perf_counter() - start
    app = BUNDLE / "usannotate"
    if not app.is_file():
        raise SystemExit(f"no bundle at {BUNDLE}: run packaging/build.sh (or --build)")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        _cli_start(app, scratch)  # the first run warms the file cache, as an installed app
        window = [_window_start(app, scratch, run) for run in range(args.runs)]
        cli = [_cli_start(app, scratch) for _ in range(args.runs)]
    results = {
        "bundle": str(BUNDLE.relative_to(ROOT)),
        "size_mb": round(_size_mb(BUNDLE), 1),
        "build_s": None if build_s is None else round(build_s, 1),
        "window_start_s": {
            "min": min(window),
            "median": statistics.median(window),
            "max": max(window),
        },
        "cli_version_s": {"min": min(cli), "median": statistics.median(cli), "max": max(cli)},
        "runs": args.runs,
        "cpus": os.cpu_count(),
    }
    build = "" if build_s is None else f", built in {build_s:.0f} s"
    report = (
        f"The bundle `{results['bundle']}`: {results['size_mb']:.0f} MB{build}; "
        f"{args.runs} runs each, fresh settings, {os.cpu_count()} CPUs.\n\n"
        "| start | min | median | max |\n|---|---|---|---|\n"
        f"| window: process start to the sample loop on screen | {min(window):.2f} s | "
        f"{statistics.median(window):.2f} s | {max(window):.2f} s |\n"
        f"| CLI: `usannotate --version` | {min(cli):.2f} s | {statistics.median(cli):.2f} s | "
        f"{max(cli):.2f} s |\n"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bundle.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "bundle.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
