"""Words the UI's flows show that come from data: labels of columns and options, typed warnings and
errors turned into the reader's language, and the one-line notices (flashes) a page shows after a redirect.

Every sentence is a catalogue key (``lookalike/locales``); numbers in them are formatted for the reader's
locale before they are put in. A label without a key falls back to a readable English text (an option's
own description), never to a raw key.

>>> column_label("es", "total_spent"), column_label("en", "no_such_column")
('Gasto total', 'no_such_column')
>>> from lookalike.errors import ResultWarning
>>> warning_text("es", ResultWarning("too_few_candidates", "only 3 qualify", candidates=3, size=10))
'Solo 3 clientes cumplen las exclusiones y los filtros: la audiencia tendrá 3 en lugar de 10.'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lookalike.errors import MissingColumnsError, ResultWarning
from lookalike.i18n import error_text as coded_error_text
from lookalike.i18n import warning_text as coded_warning_text
from lookalike.i18n import format_number, format_percent, strings, translator

__all__ = ["UIError", "column_label", "error_text", "flash", "has_key", "option_label", "p_value_text", "pop_flashes",
           "rule_words", "say", "warning_params", "warning_text"]


class UIError(Exception):
    """A problem with what the user asked, as a catalogue key and its values: the page shows it in the
    reader's language next to the form, which keeps what was typed."""

    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key, self.params = key, params

    def text(self, lang: str) -> str:
        return say(lang, self.key, **self.params)


def has_key(lang: str, key: str) -> bool:
    """True when the catalogue of ``lang`` (or the English one) has ``key``."""
    return key in strings(lang) or key in strings("en")


def say(lang: str, key: str, **params: Any) -> str:
    """``t(key, **params)`` with numbers formatted for ``lang`` (whole numbers grouped, others with two
    decimals); text and lists (joined with commas) as they are."""
    return translator(lang)(key, **{k: _fmt(v, lang) for k, v in params.items()})


def _fmt(v: Any, lang: str) -> Any:
    if isinstance(v, bool) or isinstance(v, str):
        return v
    if isinstance(v, int):
        return format_number(v, lang)
    if isinstance(v, float):
        return format_number(v, lang, 0 if v.is_integer() else 2)
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return v


def column_label(lang: str, name: str) -> str:
    """A column's name in words (``col_<name>`` in the catalogue), else the column name itself."""
    key = f"col_{name}"
    return translator(lang)(key) if has_key(lang, key) else name


def option_label(lang: str, name: str, help: str) -> str:
    """An audience option's label (``opt_<name>``), else its own one-line description."""
    key = f"opt_{name}"
    return translator(lang)(key) if has_key(lang, key) else help


def p_value_text(p: float, lang: str) -> str:
    """A p-value to read: three decimals, or "< 0.001" below that.

    >>> p_value_text(0.004645, "es"), p_value_text(2e-9, "en")
    ('0,005', '< 0.001')
    """
    return f"< {format_number(0.001, lang, 3)}" if p < 0.001 else format_number(p, lang, 3)


def warning_text(lang: str, w: object) -> str:
    """A result's warning in ``lang`` when its code has a sentence (``warning_<code>``), else its own text."""
    if isinstance(w, ResultWarning) and has_key(lang, f"warning_{w.code}"):
        return say(lang, f"warning_{w.code}", **warning_params(lang, w.params))
    return coded_warning_text(w, lang)  # the catalogue's warn_{code} sentence, else the warning's own text


def warning_params(lang: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """A warning's values ready for a sentence: shares as percentages, p-values and standardized
    differences readable, column names in words."""
    out = dict(params)
    for k, v in params.items():
        if k == "share" and isinstance(v, (int, float)):
            out[k] = format_percent(v, lang)
        elif k == "p_value" and isinstance(v, (int, float)):
            out[k] = p_value_text(float(v), lang)
        elif k == "smd" and isinstance(v, (int, float)):
            out[k] = ("+" if v >= 0 else "−") + format_number(abs(v), lang, 2)
        elif k in ("column", "feature") and isinstance(v, str):
            out[k] = column_label(lang, v)
    return out


def rule_words(lang: str, conditions: list[Mapping], flags: frozenset[str] = frozenset()) -> str:
    """A parsed rule in words, conditions joined by " · ": ``Total spent: the top 10% · Region: Norte or Sur``.
    ``flags``: columns whose 1/0 values read as yes/no.

    >>> from lookalike.audience.seeds import parse_rule
    >>> print(rule_words("es", parse_rule("total_spent top 10% and region in Norte|Sur")).replace("\xa0", " "))
    Gasto total: el 10 % más alto · Región: Norte o Sur
    """
    t = translator(lang)
    parts = []
    for c in conditions:
        col, op, value = column_label(lang, str(c.get("column"))), c.get("op"), c.get("value")
        if op in ("top_pct", "bottom_pct"):
            share = float(str(value).rstrip("%")) / (100 if str(value).strip().endswith("%") else 1)
            parts.append(t(f"rule_{op}", column=col, value=format_percent(share, lang, 0 if share * 100 == int(share * 100) else 1)))
        elif op in ("in", "not_in"):
            values = [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
            joined = f" {t('rule_or')} ".join(values)
            parts.append(t(f"rule_{op}", column=col, values=joined))
        elif c.get("column") in flags and op in ("==", "!=") and value in (0, 1):
            parts.append(t("rule_flag", column=col, value=t("cb_yes" if (value == 1) == (op == "==") else "cb_no")))
        else:
            shown = _fmt(value, lang) if isinstance(value, (int, float)) else str(value)
            parts.append(t("rule_compare", column=col, op=_OPS.get(str(op), str(op)), value=shown))
    return " · ".join(parts)


_OPS = {">=": "≥", "<=": "≤", "==": "=", "!=": "≠", ">": ">", "<": "<"}


def error_text(lang: str, exc: BaseException) -> str:
    """An error of the library in ``lang`` where it is one the flows expect (missing columns); else its
    own one line, after a sentence saying what failed is shown by the caller."""
    if isinstance(exc, UIError):
        return exc.text(lang)
    if isinstance(exc, MissingColumnsError):
        return say(lang, "error_missing_columns", missing=", ".join(exc.missing),
                   found=", ".join(map(str, exc.available[:12])) or "–")
    text = coded_error_text(exc, lang)  # an error with a code: the catalogue's sentence (err_{code})
    return text.splitlines()[0] if text else type(exc).__name__


def flash(session: Mapping, key: str, kind: str = "ok", **params: Any) -> None:
    """Keep a notice for the next page this session opens (after a redirect): a catalogue key and its
    values, put into words in the language of that page."""
    notes = list(session.get("flash") or [])[-4:]
    notes.append({"key": key, "kind": kind, "params": params})
    session["flash"] = notes  # type: ignore[index]


def pop_flashes(session, lang: str) -> list[dict]:
    """The session's notices in ``lang`` (each shown once)."""
    notes = session.pop("flash", None) or []
    out = []
    for n in notes:
        if isinstance(n, dict) and isinstance(n.get("key"), str):
            params = n.get("params") or {}
            if n["key"].startswith("warning_"):
                params = warning_params(lang, params)
            out.append({"kind": n.get("kind", "ok"), "text": say(lang, n["key"], **params)})
    return out
