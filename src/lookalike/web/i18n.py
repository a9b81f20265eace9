"""Translations of the web UI and the HTML report: one TOML file per language (``translations/``).

>>> t = translator("es")
>>> t("nav_audiences"), translator("en")("nav_audiences")
('Audiencias', 'Audiences')
>>> translator("en")("read_distributions", vip="$1,200", base="$300", ratio="4.0")
'VIPs spend a median of $1,200 against $300 for all customers (4.0× as much).'
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable
from importlib import resources

from lookalike.config.settings import LANGUAGES
from lookalike.errors import ParameterError


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """All strings of one language (read once; the files are package data)."""
    if lang not in LANGUAGES:
        raise ParameterError(f"language {lang!r} is not available; use one of {', '.join(LANGUAGES)}")
    text = resources.files("lookalike.web").joinpath("translations", f"{lang}.toml").read_text("utf-8")
    return tomllib.loads(text)


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)``: the string in ``lang`` (English, then the key itself, when missing)."""
    table, fallback = strings(lang), strings("en")

    def t(key: str, **values: object) -> str:
        text = table.get(key) or fallback.get(key) or key
        return text.format(**values) if values else text

    return t


def pick_language(session_lang: str | None, accept_language: str | None, default: str = "es") -> str:
    """The session's choice, else the first supported language of the browser, else ``default``.

    >>> pick_language(None, "en-GB,en;q=0.9,es;q=0.8")
    'en'
    >>> pick_language("es", "en")
    'es'
    """
    if session_lang in LANGUAGES:
        return session_lang
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default
