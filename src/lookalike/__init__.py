"""Lookalike: find the customers who look like a retailer's best ones.

>>> import lookalike as lk
>>> "LookalikeFinder" in lk.__all__ and "clean_customers" in lk.__all__
True
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lookalike")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

from lookalike.cleaning.table import CleanResult, QualityReport, clean_customers  # noqa: E402
from lookalike.errors import (  # noqa: E402
    InputError,
    LookalikeError,
    ModelFormatError,
    ParameterError,
    UnknownCustomerError,
)
from lookalike.features import FeatureSpec, make_feature_pipeline  # noqa: E402
from lookalike.finder import LookalikeFinder  # noqa: E402
from lookalike.io import read_customers  # noqa: E402

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
