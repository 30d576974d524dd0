"""The single source of the package version (also written into saved models and metadata)."""

__version__ = "0.1.0"
