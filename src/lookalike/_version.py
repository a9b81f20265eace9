"""The installed package's version, read from its metadata on first use (the bottom of every layer).

Modules inside the package take the version from here, never from ``lookalike`` itself: importing
the package root from inside it would make every unit depend on the public face above it. The
lookup is deferred (module ``__getattr__``): ``importlib.metadata`` alone costs tens of milliseconds
that ``import lookalike`` and ``lookalike --help`` do not need.

>>> from lookalike._version import __version__
>>> __version__.count(".") >= 2
True
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version  # lazy: see the module docstring

    try:
        value = version("lookalike")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        value = "0.0.0"
    globals()["__version__"] = value  # read once
    return value
