"""Spanish and English are complete: one catalogue, the same keys and placeholders in both, every key the
faces ask for present, and no literal English in the templates or the chart code (words come from the
catalogue, so a Spanish page cannot show an English one)."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

import lookalike

PACKAGE = Path(lookalike.__file__).parent
#: Engineer-facing artefacts written by the CLI in English only (the evaluation of the methods, the
#: cleaning's quality report as a file); the CRM manager reads the same facts translated in the web UI.
ENGLISH_ONLY = {"evaluation.html.j2", "quality.html.j2", "quality.md.j2"}
#: Words a template may write as they are in both languages (the product's name, units, symbols).
AS_IS = {"Lookalike", "CSV", "SVG", "ID", "px", "Qini"}
#: Calls that draw words on a chart: their string arguments must come from the catalogue.
DRAWING = {"set_title", "set_xlabel", "set_ylabel", "suptitle", "text", "annotate", "legend", "barh", "bar",
           "plot", "scatter", "hist", "step", "axhline", "axvline", "fill_between", "errorbar"}


def catalogue(lang: str) -> dict[str, str]:
    return tomllib.loads(resources.files("lookalike").joinpath("locales", f"{lang}.toml").read_text("utf-8"))


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)[^}]*\}", text))


def test_both_catalogues_have_the_same_keys_and_placeholders():
    en, es = catalogue("en"), catalogue("es")
    assert set(en) == set(es), set(en) ^ set(es)
    assert len(en) > 400
    differ = {k: (placeholders(en[k]), placeholders(es[k])) for k in en if placeholders(en[k]) != placeholders(es[k])}
    assert differ == {}
    empty = [k for k in en if not str(es[k]).strip() and str(en[k]).strip()]
    assert empty == []


def _template_text(source: str) -> list[str]:
    """The words a template writes itself: what is left once Jinja code, comments, scripts, styles and
    tags are taken out."""
    s = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    s = re.sub(r"<(script|style)\b.*?</\1>", " ", s, flags=re.S)
    s = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", s, flags=re.S)
    s = re.sub(r"<[^>]*>", " ", s, flags=re.S)
    s = re.sub(r"&[a-z]+;|&#\d+;", " ", s)
    return [w for w in re.findall(r"[^\W\d_][\w'’-]*", s) if w not in AS_IS]


def _templates() -> list[Path]:
    return [f for folder in ("web/templates", "report/templates") for f in sorted((PACKAGE / folder).glob("*"))
            if f.is_file() and f.name not in ENGLISH_ONLY]


def test_templates_write_no_words_of_their_own():
    found = {f.name: words[:10] for f in _templates() if (words := _template_text(f.read_text("utf-8")))}
    assert found == {}


def test_the_template_check_catches_a_literal_word():
    assert _template_text('<p title="x">{{ t("a") }}</p>{% if x %}<b>Download</b>{% endif %}') == ["Download"]
    assert _template_text("<style>p { color: red }</style>{# a note #}<p>{{ n|num }} · Lookalike</p>") == []


def _keys_asked(tree: ast.AST) -> set[str]:
    """Catalogue keys asked with a literal: ``t("key", ...)``, ``translator(lang)("key")``,
    ``term(lang, "kind", ...)`` kinds aside."""
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            is_t = (isinstance(func, ast.Name) and func.id in {"t", "_t", "say"}) or \
                   (isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "translator")
            if is_t and isinstance(node.args[0].value, str):
                keys.add(node.args[0].value)
    return keys


FACES = ["report/plots.py", "report/campaigns.py", "report/words.py", "report/full.py",
         "audience/explain.py", "web/routes.py", "campaigns/report.py"]


@pytest.mark.parametrize("module", FACES)
def test_every_key_the_faces_ask_for_is_in_the_catalogue(module):
    path = PACKAGE / module
    asked = _keys_asked(ast.parse(path.read_text("utf-8")))
    missing = sorted(k for k in asked if k not in catalogue("en") and "{" not in k)
    assert missing == []


def _chart_literals(tree: ast.AST, keys: set[str]) -> list[tuple[int, str]]:
    """Phrases (text with a space, not a catalogue key) written straight into a drawing call."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in DRAWING:
            args = [*node.args, *(k.value for k in node.keywords if k.arg in {"label", "title", "s"})]
            for arg in args:
                for c in ast.walk(arg):
                    if isinstance(c, ast.JoinedStr):
                        parts = [v.value for v in c.values if isinstance(v, ast.Constant)]
                        if re.search(r"[A-Za-z]{2,}", "".join(parts)):
                            found.append((node.lineno, "".join(parts)))
                    elif isinstance(c, ast.Constant) and isinstance(c.value, str) and " " in c.value.strip() \
                            and c.value not in keys:
                        found.append((node.lineno, c.value))
    return found


def test_chart_code_draws_no_english_of_its_own():
    keys = set(catalogue("en"))
    assert _chart_literals(ast.parse((PACKAGE / "report/plots.py").read_text("utf-8")), keys) == []
    # and the check sees one
    bad = ast.parse('ax.set_title("Gain by method")\nax.plot(x, y, label=f"share {n}")\nax.set_xlabel(t("chart_gain_x"))')
    assert [line for line, _ in _chart_literals(bad, keys)] == [1, 2]
