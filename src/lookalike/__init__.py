"""Lookalike: find the customers who look like a retailer's best ones.

The names below (and ``__version__``) are resolved on first use (module ``__getattr__``), so
``import lookalike`` and ``lookalike --help`` do not load pandas, scikit-learn or package metadata.

>>> import lookalike as lk
>>> "LookalikeFinder" in lk.__all__ and "clean_customers" in lk.__all__
True
>>> lk.LookalikeFinder.__module__
'lookalike.finder'
>>> set(lk.__all__) == set(lk._LAZY)
True
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs; at run time see __getattr__
    from lookalike.cleaning.table import CleanResult, QualityReport, clean_customers
    from lookalike.errors import InputError, LookalikeError, ModelFormatError, ParameterError, UnknownCustomerError
    from lookalike.features import FeatureSpec, make_feature_pipeline
    from lookalike.finder import LookalikeFinder
    from lookalike.io import read_customers

#: public name -> the module that defines it
_LAZY = {
    "__version__": "lookalike._version",
    "CleanResult": "lookalike.cleaning.table",
    "QualityReport": "lookalike.cleaning.table",
    "clean_customers": "lookalike.cleaning.table",
    "InputError": "lookalike.errors",
    "LookalikeError": "lookalike.errors",
    "ModelFormatError": "lookalike.errors",
    "ParameterError": "lookalike.errors",
    "UnknownCustomerError": "lookalike.errors",
    "FeatureSpec": "lookalike.features",
    "make_feature_pipeline": "lookalike.features",
    "LookalikeFinder": "lookalike.finder",
    "read_customers": "lookalike.io",
}

__all__ = [
    "CleanResult",
    "FeatureSpec",
    "InputError",
    "LookalikeError",
    "LookalikeFinder",
    "ModelFormatError",
    "ParameterError",
    "QualityReport",
    "UnknownCustomerError",
    "__version__",
    "clean_customers",
    "make_feature_pipeline",
    "read_customers",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lookalike' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
