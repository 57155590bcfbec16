"""The package version (single source for the User-Agent)."""

__version__ = "0.1.0.dev0"
