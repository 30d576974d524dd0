"""``python -m segengine``: the same command line as the ``segengine`` console script."""

from segengine.cli import run

if __name__ == "__main__":
    run()
