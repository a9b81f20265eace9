"""Quality report rendering (Markdown, HTML, terminal lines) and report figures."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")  # tests only: pyplot is imported below to check that no figure is left open

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import lookalike.report as rp  # noqa: E402
from lookalike.errors import ParameterError  # noqa: E402
from lookalike.report import (  # noqa: E402
    distributions,
    figure_to_svg,
    pca_map,
    quality_summary_lines,
    render_quality_html,
    render_quality_markdown,
    save_figure,
)

XSS = "<script>alert(1)</script>"
HEADLINE = "100,000 rows in = 99,120 kept + 380 quarantined + 500 duplicates merged"


def _col(clean=0, fixed=0, ambiguous=0, code=0, missing=0, invalid=0, notes=None, **extra):
    n = clean + fixed + ambiguous + code + missing + invalid
    parsed = clean + fixed + ambiguous
    out = {"clean": clean, "fixed": fixed, "ambiguous": ambiguous, "code": code, "missing": missing,
           "invalid": invalid, "parsed": parsed, "rejected": invalid, "parsed_share": round(parsed / n, 6), **extra}
    if notes:
        out["notes"] = notes
    return out


@pytest.fixture
def report() -> dict:
    """A hand-made QualityReport.to_dict() for a 100,000-row export."""
    return {
        "rows": {"in": 100_000, "kept": 99_120, "quarantined": 380, "duplicates_merged": 500, "balanced": True},
        "duplicates": {"ids": 480, "conflicting_ids": 12},
        "quarantine_reasons": {"missing customer_id": 300,
                               "no usable values: every customer field is empty or unparseable": 80},
        "columns": {
            "customer_id": _col(clean=99_000, fixed=700, missing=300),
            "total_spent_dirty": _col(clean=60_000, fixed=38_000, ambiguous=1_200, missing=500, invalid=300,
                                      notes={"currencies": {"$": 38_000, "€": 12}, "decimal_separator": "."}),
            "days_since_last_purchase_dirty": _col(clean=90_000, code=2_000, missing=8_000,
                                                   notes={"codes": {"9999": 800, "never": 1_200}}),
            "region_dirty": _col(clean=70_000, fixed=29_000, missing=900, invalid=100,
                                 notes={"typos": {"nortee": "Norte"}, "unmatched": {XSS: 60, "x|y": 40}}),
            "json_prefs": _col(clean=98_000, missing=1_500, invalid=500, notes={"malformed_json": 500}),
            "signup_date_dirty": _col(clean=50_000, fixed=40_000, ambiguous=5_000, missing=5_000,
                                      notes={"date_order": "day-first"}),
            "phone": _col(missing=100_000, all_missing=True),
        },
        "twins": {"age": {"source": "both", "filled_from_dirty": 1_800, "conflicts": 25}},
        "ignored_columns": ["extra_col"],
        "missing_columns": ["vip_score"],
        "read": {"source": "exports/customer_lookalike_raw_100k.csv", "format": "csv", "encoding": "cp1252",
                 "delimiter": ";", "renamed_columns": {"Edad": "age"}, "rows": 100_000},
    }


@pytest.fixture
def unbalanced(report) -> dict:
    bad = copy.deepcopy(report)
    bad["rows"].update(kept=99_000, balanced=False)
    return bad


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --------------------------------------------------------------------------- quality report


def test_markdown_has_headline_read_details_and_tables(report):
    md = render_quality_markdown(report)
    assert md.startswith("# Data quality report\n")
    assert f"**{HEADLINE}**" in md
    assert "Warning" not in md
    assert "`exports/customer_lookalike_raw_100k.csv`" in md
    assert "cp1252" in md and "semicolon" in md and "`Edad` → `age`" in md
    row = next(line for line in md.splitlines() if line.startswith("| `days_since_last_purchase_dirty`"))
    assert "| 90.0% | 90,000 | 0 | 0 | 2,000 | 8,000 | 0 |" in row
    assert row.index("`never`×1,200") < row.index("`9999`×800")  # biggest count first
    assert "`$`×38,000" in md and "decimal separator: `.`" in md and "malformed JSON: 500" in md
    assert "| `age` | both columns | 1,800 | 25 |" in md
    assert "| missing customer\\_id | 300 | 0.3% |" in md
    assert "`extra_col`" in md and "`vip_score`" in md


def test_markdown_tables_keep_their_shape_with_pipes_in_values(report):
    md = render_quality_markdown(report)
    table = [line for line in md.splitlines() if line.startswith("| `") and "parsed" not in line]
    cells = {len(re.split(r"(?<!\\)\|", line)) for line in table if line.count("%") >= 1 and "×" in line}
    assert len(cells) == 1  # every column row splits into the same number of cells
    assert "`x\\|y`×40" in md
    assert "<script>" not in md.replace(f"`{XSS}`", "")  # only inside a code span


def test_html_is_self_contained_and_formatted(report):
    page = render_quality_html(report, title="NovaRetail export")
    assert page.startswith("<!doctype html>")
    assert "<title>NovaRetail export</title>" in page
    text = _text(page)
    assert HEADLINE in text
    assert "<style>" in page and "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", page)
    assert re.search(r'<td class="num">2,000</td>', page)  # right-aligned, thousands separators
    assert "day-first" in text and "empty column" in text and "both columns" in text


def test_html_escapes_values_from_the_data(report):
    report["quarantine_reasons"][XSS] = 1
    report["ignored_columns"].append(XSS)
    report["read"]["source"] = f"{XSS}.csv"
    page = render_quality_html(report, title=XSS)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_unbalanced_counts_show_a_warning(unbalanced):
    md = render_quality_markdown(unbalanced)
    page = render_quality_html(unbalanced)
    lines = quality_summary_lines(unbalanced)
    for text in (md, _text(page), lines[1]):
        assert "do not add up" in text and "120 rows are unaccounted for" in text
    assert 'role="alert"' in page


def test_flag_alone_marks_a_report_unbalanced(report):
    report["rows"]["balanced"] = False
    assert "do not add up" in render_quality_markdown(report)


def test_reading_line_comes_from_the_numbers(report):
    md = render_quality_markdown(report)
    assert ("99.6% of rows are usable and give 99,120 unique customers; 3 columns needed repairs on more "
            "than 10% of cells; 1 column was empty; 1 expected column was not in the export.") in md
    report["rows"].update({"in": 2_000, "kept": 1_000, "quarantined": 1_000, "duplicates_merged": 0})
    report["columns"] = {"age": _col(clean=1_900, invalid=100)}
    report["missing_columns"] = []
    md = render_quality_markdown(report)
    assert ("50.0% of rows are usable and give 1,000 unique customers; no column needed repairs on more than "
            "10% of cells; 1 column had unreadable values in more than 1% of cells") in md


def test_what_we_saw_cell_shows_at_most_five_values():
    codes = {f"code{i}": 100 - i for i in range(9)}
    rep = {"rows": {"in": 1_000, "kept": 1_000, "quarantined": 0, "duplicates_merged": 0},
           "columns": {"x": _col(clean=500, code=500, notes={"codes": codes, "units": ["kg"]})}}
    row = next(line for line in render_quality_markdown(rep).splitlines() if line.startswith("| `x`"))
    assert len(re.findall(r"`code\d`", row)) == 4 and "`kg`" in row  # 5 values, every note gets one
    assert "+5 more" in row


def test_notes_that_say_nothing_are_left_out():
    quiet = {"out_of_range": 0, "mixed_currencies": False, "typos": {}, "decimal_separator": "."}
    rep = {"rows": {"in": 10, "kept": 10, "quarantined": 0, "duplicates_merged": 0},
           "columns": {"a": _col(clean=10, notes=quiet),
                       "b": _col(clean=9, ambiguous=1, notes=quiet),  # "." decided the ambiguous cell
                       "c": _col(clean=10, notes={**quiet, "decimal_separator": ",", "mixed_currencies": True})}}
    rows = {line.split("|")[1].strip(): line.split("|")[-2].strip()
            for line in render_quality_markdown(rep).splitlines() if line.startswith("| `")}
    assert rows == {"`a`": "", "`b`": "decimal separator: `.`",
                    "`c`": "mixed currencies: yes; decimal separator: `,`"}


def test_summary_lines(report):
    lines = quality_summary_lines(report, max_columns=2)
    assert lines[0] == HEADLINE
    assert lines[1].startswith("99.6% of rows are usable")
    assert any(line.startswith("Read: exports/customer_lookalike_raw_100k.csv (csv, encoding cp1252") for line in lines)
    cols = [line for line in lines if line.startswith("  ") and "parsed" in line]
    assert len(cols) == 2 and "... and 4 more columns" in lines[lines.index(cols[-1]) + 1]
    assert cols[0].split()[0] == "signup_date_dirty"  # most repaired first
    assert all("\n" not in line for line in lines)
    assert "Missing columns (expected, not found): vip_score" in lines


def test_minimal_report_and_bad_input():
    rows = {"in": 1, "kept": 1, "quarantined": 0, "duplicates_merged": 0}
    assert "**1 row in = 1 kept + 0 quarantined + 0 duplicates merged**" in render_quality_markdown({"rows": rows})
    assert render_quality_html({"rows": rows}).rstrip().endswith("</html>")
    with pytest.raises(ParameterError, match="rows"):
        render_quality_markdown({"columns": {}})
    with pytest.raises(ParameterError, match="dict"):
        render_quality_html([1, 2])
    with pytest.raises(ParameterError, match="max_columns"):
        quality_summary_lines({"rows": rows}, max_columns=-1)


def test_renders_a_real_quality_report():
    from lookalike.cleaning.table import QualityReport

    rep = QualityReport(rows_in=10, rows_kept=8, rows_quarantined=1, duplicates_merged=1, duplicate_ids=1,
                        duplicate_conflicts=0, quarantine_reasons={"missing customer_id": 1},
                        columns={"age": _col(clean=9, missing=1)}, twins={}, ignored_columns=[],
                        missing_columns=[], read={"source": "x.csv", "format": "csv", "renamed_columns": {},
                                                  "rows": 10})
    assert "10 rows in = 8 kept + 1 quarantined + 1 duplicate merged" in render_quality_markdown(rep.to_dict())


# --------------------------------------------------------------------------- figures


@pytest.fixture
def no_open_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


@pytest.fixture(scope="module")
def features():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3_000, 5))
    vip = np.zeros(3_000, dtype=bool)
    vip[rng.choice(3_000, size=30, replace=False)] = True
    X[vip] += 1.5
    return X, vip


def test_pca_map_draws_sampled_base_and_every_highlighted_row(features, no_open_figures):
    X, vip = features
    fig = pca_map(X, vip, max_points=500, random_state=3)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    base, hi = ax.collections
    assert len(base.get_offsets()) == 500 and len(hi.get_offsets()) == 30
    assert "% of the differences between customers" in ax.get_xlabel()
    assert ax.get_title(loc="left") == "VIPs among all customers"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["customers (500 of 2,970)", "VIPs (30)"]
    es = pca_map(X, vip, max_points=500, random_state=3, lang="es").axes[0]
    assert es.get_xlabel().startswith("Eje 1 del mapa (") and "\u00a0% de las diferencias" in es.get_xlabel()
    assert [t.get_text() for t in es.get_legend().get_texts()] == ["clientes (500 de 2.970)", "VIP (30)"]
    again = pca_map(X, vip, max_points=500, random_state=3)
    np.testing.assert_allclose(again.axes[0].collections[0].get_offsets(), base.get_offsets())
    figure_to_svg(fig), figure_to_svg(again)


def test_pca_map_without_highlight_and_into_given_axes(features, no_open_figures):
    X, _ = features
    fig = Figure()
    ax = fig.add_subplot()
    assert pca_map(X[:200], ax=ax) is fig
    assert [len(c.get_offsets()) for c in ax.collections] == [200]
    vip01 = np.zeros(200, dtype=int)
    vip01[:3] = 1
    assert [len(c.get_offsets()) for c in pca_map(X[:200], vip01).axes[0].collections] == [197, 3]


def test_pca_map_rejects_bad_input(features):
    X, vip = features
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ParameterError, match="1 rows with missing"):
        pca_map(bad)
    with pytest.raises(ParameterError, match="length 3,000"):
        pca_map(X, vip[:10])
    with pytest.raises(ParameterError, match="2-D"):
        pca_map(X[:, 0])


@pytest.fixture(scope="module")
def customers():
    rng = np.random.default_rng(11)
    n = 2_000
    df = pd.DataFrame({
        "customer_id": [f"C{i:06d}" for i in range(n)],
        "income": rng.normal(40_000, 12_000, n).clip(5_000),
        "total_spent": rng.lognormal(7, 1.3, n),
        "total_orders": pd.array(rng.integers(2, 36, n), dtype="Int64"),
        "vip_flag": (rng.random(n) < 0.01).astype(int),
    })
    df.loc[:49, "total_spent"] = np.nan
    df.loc[:4, "total_orders"] = pd.NA
    return df


def test_distributions_one_panel_per_present_column(customers, no_open_figures):
    fig = distributions(customers, highlight=customers["vip_flag"] == 1)
    panels = {ax.get_title(loc="left"): ax for ax in fig.axes}
    assert list(panels) == ["Income", "Total spent", "Orders"]  # days_since_last_purchase is absent
    assert panels["Total spent"].get_xscale() == "log" and panels["Income"].get_xscale() == "linear"
    assert panels["Total spent"].get_title(loc="right").startswith("50 missing (2.5%)")
    assert panels["Income"].get_title(loc="right") == "none missing"
    es = {ax.get_title(loc="left"): ax for ax in distributions(customers, highlight=customers["vip_flag"] == 1,
                                                                 lang="es").axes}
    assert list(es) == ["Ingresos", "Gasto total", "Pedidos"]
    assert es["Gasto total"].get_title(loc="right") == "50 vacíos (2,5\u00a0%)"
    steps = [p for p in panels["Income"].patches if p.get_fill() is False]
    assert steps, "the highlighted group is drawn as a step histogram"
    figure_to_svg(fig)


def test_distributions_rejects_unusable_input(customers):
    with pytest.raises(ParameterError, match="none of the columns"):
        distributions(customers, columns=("nope",))
    with pytest.raises(ParameterError, match="not numeric"):
        distributions(customers, columns=("customer_id",))


def test_save_figure_writes_png_and_svg_atomically(tmp_path, customers, no_open_figures):
    png = save_figure(distributions(customers, columns=("income",)), tmp_path / "dist.png", dpi=60)
    assert png == tmp_path / "dist.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_figure(distributions(customers, columns=("income",)), tmp_path / "dist.SVG")
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist.SVG", "dist.png"]  # no temp files left
    with pytest.raises(ParameterError, match=".png or .svg"):
        save_figure(Figure(), tmp_path / "dist.pdf")
    with pytest.raises(ParameterError, match="does not exist"):
        save_figure(Figure(), tmp_path / "missing" / "dist.png")


def test_figure_to_svg_is_inline_ready_and_deterministic(features, no_open_figures):
    X, vip = features
    a = figure_to_svg(pca_map(X[:300], vip[:300]))
    b = figure_to_svg(pca_map(X[:300], vip[:300]))
    assert a.startswith("<svg") and a.rstrip().endswith("</svg>") and a == b
    assert "<?xml" not in a
    assert not re.search(r'href="(?!data:|#)', a)  # the rasterised dots are embedded, nothing is linked


def test_pyplot_figures_are_closed_by_save_and_svg(tmp_path):
    before = plt.get_fignums()
    fig = plt.figure()
    fig.add_subplot().plot([1, 2])
    save_figure(fig, tmp_path / "a.png")
    fig = plt.figure()
    figure_to_svg(fig)
    assert plt.get_fignums() == before


def test_report_package_exports():
    assert sorted(rp.__all__) == sorted(set(rp.__all__))
    for name in rp.__all__:
        assert callable(getattr(rp, name))
    with pytest.raises(AttributeError):
        rp.no_such_function  # noqa: B018
