"""The bundle's entry point: the ``usannotate`` command (PyInstaller runs this file)."""

import sys

from usannotate.cli import main

if __name__ == "__main__":
    sys.exit(main())
