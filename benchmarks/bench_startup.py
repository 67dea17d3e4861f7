"""Start-up time: from the process starting to the loop's first frame painted.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python benchmarks/bench_startup.py
    .venv/bin/python benchmarks/bench_startup.py --quick     # 3 runs instead of 10

Each run is a new Python process doing what ``usannotate PATH`` does (``cli.main``), on
the bundled sample loop, with fresh settings and a copy of the loop in a folder of its own
(no sidecar, lock or recovery file). The time runs from just before the process is spawned
(so it includes the interpreter starting and every import, from compiled bytecode as in an
installed app) to the first paint of the loop's first frame; the process then exits. Also
listed: the import time per package on that path (``python -X importtime``, each
module's own time summed by top-level package), so what slows start-up is named.
Target: under 1.5 s. Results go to benchmarks/results/startup.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SAMPLE = HERE.parent / "sample_dicoms" / "hydrodissection_linear_a.dcm"
TARGET_S = 1.5

# Run in the child: the app as `usannotate PATH` starts it, the frame item's paint wrapped
# so the first paint of a frame prints the wall-clock time and ends the process.
_CHILD = """
import os, sys, time
import usannotate.ui.viewer.view as view

_paint = view.FrameItem.paint

def paint(self, *args):
    _paint(self, *args)
    if self.frames_painted:
        print(f"PAINTED {time.time():.6f}", flush=True)
        os._exit(0)

view.FrameItem.paint = paint
from usannotate.cli import main
sys.exit(main([sys.argv[1]]))
"""


# Compiled bytecode kept here between runs (the warm-up run writes it): an installed app has
# its .pyc files (pip compiles them), so start-up is measured with them, whatever
# PYTHONDONTWRITEBYTECODE says in the shell running the benchmark.
BYTECODE = Path(tempfile.gettempdir()) / "usannotate-startup-bytecode"


def _environment(settings: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE)
    env["HOME"] = str(settings)  # fresh QSettings: no recent files, no saved layout
    env["XDG_CONFIG_HOME"] = str(settings / ".config")
    env.pop("PYTHONSTARTUP", None)
    return env


def one_run(loop: Path) -> float:
    """Seconds from spawning the process to the first frame painted."""
    with tempfile.TemporaryDirectory(prefix="usannotate-startup-") as tmp:
        folder = Path(tmp)
        path = Path(shutil.copy(loop, folder))
        env = _environment(folder)
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        painted = [line for line in out.stdout.splitlines() if line.startswith("PAINTED ")]
        if not painted:
            raise SystemExit(f"no frame painted (exit {out.returncode}):\n{out.stderr[-2000:]}")
        return float(painted[-1].split()[1]) - start


def heaviest_imports(loop: Path, count: int = 12) -> list[dict[str, object]]:
    """Import time by top-level package on the start-up path (each module's own time,
    summed), largest first."""
    with tempfile.TemporaryDirectory(prefix="usannotate-startup-") as tmp:
        folder = Path(tmp)
        path = Path(shutil.copy(loop, folder))
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", _CHILD, str(path)],
            capture_output=True,
            text=True,
            env=_environment(folder),
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    # Lines read "import time: <self us> | <cumulative us> | <indent><module>".
    by_package: dict[str, int] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, _, name = line.removeprefix("import time:").split("|", 2)
        package = name.strip().split(".")[0]
        by_package[package] = by_package.get(package, 0) + int(self_us)
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:count]
    return [{"package": name, "ms": round(us / 1000, 1)} for name, us in ranked]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 10")
    parser.add_argument("--loop", type=Path, default=SAMPLE, help="the loop to open")
    args = parser.parse_args()
    runs = 3 if args.quick else 10
    one_run(args.loop)  # warm the disk cache; not counted
    times = [one_run(args.loop) for _ in range(runs)]
    imports = heaviest_imports(args.loop)
    import usannotate

    results = {
        "loop": args.loop.name,
        "runs": runs,
        "code": str(Path(usannotate.__file__).resolve().parents[1]),
        "min_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "max_s": round(max(times), 3),
        "target_s": TARGET_S,
        "heaviest_imports": imports,
    }
    lines = [
        f"Process start -> first frame of `{args.loop.name}` painted, {runs} runs "
        f"(new process each, fresh settings; target under {TARGET_S:g} s).",
        "",
        "| min | median | max |",
        "|---|---|---|",
        f"| {results['min_s']:.3f} s | {results['median_s']:.3f} s | {results['max_s']:.3f} s |",
        "",
        "Import time on that path by package (one run with `-X importtime`):",
        "",
        "| package | ms |",
        "|---|---|",
        *(f"| {row['package']} | {row['ms']} |" for row in imports),
    ]
    report = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    suffix = "_quick" if args.quick else ""
    (RESULTS / f"startup{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"startup{suffix}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
