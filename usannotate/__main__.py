"""``python -m usannotate``: the same as the ``usannotate`` command."""

import sys

from usannotate.cli import main

if __name__ == "__main__":
    sys.exit(main())
