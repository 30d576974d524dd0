"""``python -m segengine``: the same command line as the ``segengine`` console script."""

import sys

from segengine.cli import main

if __name__ == "__main__":
    sys.exit(main())
