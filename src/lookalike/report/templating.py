"""The one Jinja2 environment of Lookalike: web pages, the HTML report, the quality and campaign reports.

Templates are looked up in ``report/templates`` (reports, and the campaign-results block every face
includes) and then in ``web/templates`` (the UI's pages). HTML templates (``.html``, ``.html.j2``)
are autoescaped; Markdown ones (``.md.j2``) are not and escape with the ``md``/``mdcode`` filters.
An undefined value renders empty (the UI's pages test optional fields such as ``d.customers``).

Filters, in the page's language (the ``lang`` variable of the render, English when absent):
``num(decimals=0)``, ``pct(decimals=1)`` (a share as a percentage), ``money(currency=None)``,
``date`` and ``number`` (counts as counts, measures with two decimals); empty for a missing number
except ``number``, which shows ``–``.

>>> env = environment()
>>> env.from_string("{{ 1234.5|num(1) }} · {{ 0.25|pct }} · {{ x }}").render(lang="es", x="<b>")
'1.234,5 · 25,0\xa0% · &lt;b&gt;'
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import jinja2

from lookalike.i18n import MISSING, format_date, format_money, format_number, format_percent

__all__ = ["TEMPLATE_DIRS", "environment", "markdown_code", "markdown_text", "number_text", "static_text"]

_PACKAGE = Path(__file__).resolve().parents[1]
#: Where templates are looked up, in order (template names are unique across both; a test checks).
TEMPLATE_DIRS = (_PACKAGE / "report" / "templates", _PACKAGE / "web" / "templates")
#: The stylesheet shared by the UI (served from ``/static``) and the reports (inlined).
_STATIC = _PACKAGE / "web" / "static"


@functools.cache
def environment() -> jinja2.Environment:
    """The shared environment (built once)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm", "html.j2"), default_for_string=True,
                                            default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=_num, pct=_pct, money=_money, date=_date, number=_number,
                       md=markdown_text, mdcode=markdown_code)
    return env


def static_text(name: str) -> str:
    """A text asset shared by the UI and the reports (e.g. ``app.css``, inlined into self-contained files)."""
    return (_STATIC / name).read_text("utf-8")


def _lang(ctx: jinja2.runtime.Context) -> str:
    return ctx.get("lang") or "en"


@jinja2.pass_context
def _num(ctx, value: object, decimals: int = 0) -> str:
    return format_number(value, _lang(ctx), decimals, missing="")


@jinja2.pass_context
def _pct(ctx, value: object, decimals: int = 1) -> str:
    return format_percent(value, _lang(ctx), decimals, missing="")


@jinja2.pass_context
def _money(ctx, value: object, currency: str | None = None) -> str:
    return format_money(value, _lang(ctx), currency, missing="")


@jinja2.pass_context
def _date(ctx, value: object) -> str:
    return format_date(value, _lang(ctx), missing="")


@jinja2.pass_context
def _number(ctx, value: object) -> str:
    return number_text(value, _lang(ctx))


def number_text(x: object, lang: str = "en") -> str:
    """A count without decimals, any other number with two; ``–`` for nothing; text as it is.

    >>> number_text(1234), number_text(0.5), number_text(None), number_text("n/a")
    ('1,234', '0.50', '–', 'n/a')
    """
    if x is None:
        return MISSING
    if isinstance(x, (bool, str, bytes)):
        return str(x)
    try:
        f = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(f):
        return MISSING
    return format_number(f, lang, 0 if f.is_integer() else 2)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&#!~])")


def markdown_text(x: object) -> str:
    """Plain text for Markdown: every punctuation that could become markup is backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s*[\r\n]+\s*", " ", str(x)))


def markdown_code(x: object, table: bool = True) -> str:
    """A code span that survives any content (backticks, pipes in tables, ``<script>``)."""
    text = re.sub(r"[\r\n]+", " ", str(x))
    if table:
        text = text.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"
