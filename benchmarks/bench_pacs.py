"""Pull of a long JPEG loop from a local Orthanc: DICOMweb and C-GET against ``curl``.

    nice -n 10 .venv/bin/python benchmarks/bench_pacs.py            # 600 frames 1024 x 768
    nice -n 10 .venv/bin/python benchmarks/bench_pacs.py --frames 60 --runs 2

One JPEG baseline loop (YBR_FULL_422, moving speckle: each frame a real picture) is made
with the test factory and stored in an Orthanc started for the run (tests/pacs/orthanc.py:
loopback, DICOMweb plugin, basic auth). Measured, best of ``--runs`` runs, each into an
empty folder (the server's files in the page cache after a first warm-up pull):

- ``curl``: the same WADO-RS URL (``transfer-syntax=*``), the multipart answer written to
  a file as it arrives: the limit (no parsing, no fsync, no rename);
- ``pull`` by DICOMweb: :func:`usannotate.pacs.pull.pull` (QIDO-RS for the instances,
  WADO-RS streamed into a temporary file, fsync, rename);
- ``pull`` by C-GET and by C-MOVE (pynetdicom; Orthanc's PDU size set to its largest,
  131072 bytes, as a PACS administrator would for image transfers);
- a DIMSE peer: DCMTK's ``getscu`` (C++, installed with Orthanc), one run.

The pulled file's Pixel Data is checked equal to the source's. Results go to
benchmarks/results/pacs.json and pacs.md. Target: each pull within 1.5x of curl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE.parent))

import pydicom  # noqa: E402

from tests.pacs.cases import jpeg_loop  # noqa: E402
from tests.pacs.orthanc import CLIENT_AET, ORTHANC_AET, PASSWORD, USER, Orthanc  # noqa: E402
from usannotate.pacs.pull import pull  # noqa: E402
from usannotate.pacs.servers import parse_server  # noqa: E402

TARGET = 1.5


def best_s(action, runs: int, folder: Path) -> float:
    """The best of ``runs`` timings of ``action(out)``, each into a new empty folder."""
    times = []
    for run in range(runs):
        out = folder / f"run{run}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        started = time.perf_counter()
        action(out)
        times.append(time.perf_counter() - started)
        shutil.rmtree(out, ignore_errors=True)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--rows", type=int, default=768)
    parser.add_argument("--columns", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_pacs_") as tmp:
        folder = Path(tmp)
        print(f"making a {options.frames}-frame loop...", file=sys.stderr)
        source = jpeg_loop(
            folder / "loop.dcm", n_frames=options.frames, rows=options.rows, columns=options.columns
        )
        size_mb = source.stat().st_size / 1e6
        original = pydicom.dcmread(source)
        study, series, sop = (
            str(original.StudyInstanceUID),
            str(original.SeriesInstanceUID),
            str(original.SOPInstanceUID),
        )
        orthanc = Orthanc(folder / "orthanc")
        config = orthanc.config
        orthanc.config = lambda: {**config(), "MaximumPduLength": 131072}  # type: ignore[method-assign]
        with orthanc:
            orthanc.upload(source)
            url = f"{orthanc.dicomweb_url}/studies/{study}/series/{series}/instances/{sop}"
            accept = 'Accept: multipart/related; type="application/dicom"; transfer-syntax=*'

            def curl(out: Path) -> None:
                subprocess.run(
                    ["curl", "-sS", "--fail", "-u", f"{USER}:{PASSWORD}", "-H", accept,
                     "-o", str(out / "answer.bin"), url],
                    check=True,
                )  # fmt: skip

            servers = {
                "pull by DICOMweb (WADO-RS)": parse_server(orthanc.dicomweb_url_with_password),
                "pull by C-GET": parse_server(f"{orthanc.dimse_url}?calling={CLIENT_AET}"),
                "pull by C-MOVE": parse_server(
                    f"{orthanc.dimse_url}?calling={CLIENT_AET}&retrieve=move"
                    f"&move_port={orthanc.client_port}"
                ),
            }
            # Warm-up (and check): every way once, the pixels compared with the source.
            curl(folder)
            for name, server in servers.items():
                out = folder / "check"
                shutil.rmtree(out, ignore_errors=True)
                result = pull(server, study, out)
                assert result.complete, name
                pulled = pydicom.dcmread(out / f"{sop}.dcm")
                assert pulled.PixelData == original.PixelData, name

            def getscu(out: Path) -> None:
                subprocess.run(
                    ["getscu", "-aet", CLIENT_AET, "-aec", ORTHANC_AET, "-S", "--prefer-jpeg8",
                     "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
                     "-od", str(out), "127.0.0.1", str(orthanc.dicom_port)],
                    check=True, capture_output=True,
                )  # fmt: skip

            rows = [("`curl` of the WADO-RS URL (the limit)", best_s(curl, options.runs, folder))]
            if shutil.which("getscu"):
                print("timing getscu...", file=sys.stderr)
                rows.append(("peer: DCMTK `getscu` (C-GET, C++)", best_s(getscu, 1, folder)))
            for name, server in servers.items():
                print(f"timing {name}...", file=sys.stderr)
                rows.append(
                    (name, best_s(lambda out, s=server: pull(s, study, out), options.runs, folder))
                )
    limit = rows[0][1]
    result = {
        "frames": options.frames,
        "size": f"{options.columns}x{options.rows}",
        "file_mb": round(size_mb, 1),
        "runs": options.runs,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "rows": [
            {"what": n, "seconds": round(s, 3), "vs_curl": round(s / limit, 2)} for n, s in rows
        ],
    }
    lines = [
        f"Pull of one {options.frames}-frame {options.columns}x{options.rows} JPEG baseline loop "
        f"({size_mb:.1f} MB) from a local Orthanc (loopback, basic auth); best of "
        f"{options.runs} runs; {os.cpu_count()} CPUs, Python {platform.python_version()}.",
        "",
        "| how | seconds | vs curl |",
        "|---|---|---|",
        *(f"| {n} | {s:.3f} | {s / limit:.2f}x |" for n, s in rows),
        "",
    ]
    for name, seconds in rows[1:]:
        if name.startswith("peer"):
            continue
        met = "met" if seconds <= TARGET * limit else "NOT met"
        lines.append(f"- {name} within {TARGET}x of curl: **{met}** ({seconds / limit:.2f}x)")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if options.frames == 600 else f"_{options.frames}"
    (RESULTS / f"pacs{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"pacs{suffix}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
