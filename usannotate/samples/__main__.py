"""Command line that regenerates the bundled sample loops: ``python -m usannotate.samples``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from usannotate.samples.writer import write_bundled_samples


def main(argv: Sequence[str] | None = None) -> int:
    """Write the bundled sample loops and their truth files.

    Parameters:
        argv: command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The process exit code (0).
    """
    parser = argparse.ArgumentParser(
        prog="python -m usannotate.samples",
        description="Regenerate the synthetic sample DICOM loops and their ground truth.",
    )
    parser.add_argument(
        "--out", default="sample_dicoms", help="output folder (default: sample_dicoms)"
    )
    args = parser.parse_args(argv)
    for path in write_bundled_samples(args.out):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
