"""The installed package's version, read once from its metadata (the bottom of every layer).

Modules inside the package take the version from here, never from ``lookalike`` itself: importing
the package root from inside it would make every unit depend on the public face above it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lookalike")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
