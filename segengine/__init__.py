"""segengine: numerical customer segmentation with automatic k, numba engines and localized insights."""

from segengine._version import __version__

__all__ = ["__version__"]
