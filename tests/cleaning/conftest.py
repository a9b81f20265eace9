"""Hypothesis profiles for the cleaning tests.

``tests/conftest.py`` registers the project's profiles (``default``: 200 examples
per property, ``check``: 50, ``fuzz``: 5,000, selected by ``HYPOTHESIS_PROFILE``). When it has
not (this directory run on its own, or the root conftest changed), the same
profiles are registered here.
"""

from __future__ import annotations

import os

from hypothesis import settings
from hypothesis.errors import InvalidArgument

try:
    settings.get_profile("fuzz")
except InvalidArgument:
    settings.register_profile("default", max_examples=200, deadline=None)
    settings.register_profile("check", max_examples=50, deadline=None)
    settings.register_profile("fuzz", max_examples=5000, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
