"""Hillstrom: does lookalike targeting concentrate the *incremental* response? (issue 7)

Trains the product's scores on a random half of the Hillstrom e-mail experiment (seeds = customers
who converted) and measures, on the held-out half, the uplift of e-mail over no e-mail by score
decile and the Qini curves against a random order. Also writes the per-arm table of the experiment.
Also times the campaign store at 100k customers on SQLite and, with LOOKALIKE_TEST_PG_URL set (make postgres),
PostgreSQL. Writes bench/results/campaigns/hillstrom.{md,json,qini.png,deciles.csv}.
Run: LOOKALIKE_TEST_PG_URL=postgresql+psycopg://lookalike@127.0.0.1:5433/lookalike_test .venv/bin/python bench/campaigns.py
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lookalike.campaigns.hillstrom import load_hillstrom, uplift_study
from lookalike.campaigns.report import results_from_frame
from lookalike.io import to_jsonable, write_table, write_text
from lookalike.report.plots import qini_plot, save_figure

OUT = Path(__file__).parent / "results" / "campaigns"


def md(df: pd.DataFrame, index: bool = True, fmt: str = ".4f") -> str:
    """A Markdown table (tabulate is not a dependency)."""
    d = df.reset_index() if index else df
    cell = lambda v: format(v, fmt) if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, d.columns)) + " |", "|" + "---|" * len(d.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in d.itertuples(index=False, name=None)]
    return "\n".join(lines)


def reading(coefs: pd.DataFrame, ctrl: pd.DataFrame) -> str:
    """The honest reading, with the ranges of this run filled in."""
    rng = lambda col: f"{coefs[col].min():+.1f} to {coefs[col].max():+.1f}"  # noqa: E731
    return (
        "Both e-mails caused more visits, conversions and spend than no e-mail (intervals above exclude zero; "
        "the men's e-mail roughly twice the women's on conversion). Targeting is another matter. "
        f"Ranking by kNN similarity to past converters gave conversion Qini coefficients of "
        f"{rng('conversion/similarity')} over 3 random splits, against {rng('conversion/random')} for random "
        "orders: it does not concentrate the incremental conversions. The seed-versus-base classifier "
        f"({rng('conversion/classifier')} for conversion) is no better than random on conversions either, "
        f"while it does concentrate *response*: the no-e-mail customers of its top decile convert at "
        f"{ctrl.loc[1, 'classifier']:.2%} against {ctrl.loc[10, 'classifier']:.2%} in its bottom decile. Those are "
        "largely customers who buy anyway. For visits the classifier's Qini "
        f"({rng('visit/classifier')}) sits mostly above the random orders ({rng('visit/random')}), a weak sign "
        "that it finds people who respond to an e-mail by visiting. Conclusion: a lookalike score finds people "
        "like the buyers, not people the campaign persuades; only a holdout shows the incremental effect, and "
        "ranking by incremental response needs an uplift model trained on an experiment like this one. "
        "Caveats: conversions are rare (0.9% overall, about 290 seeds per split), so decile uplifts are noisy; "
        "the random-order spread shows how large chance differences are.")


def arm_table(df: pd.DataFrame) -> pd.DataFrame:
    return (df.groupby("segment").agg(customers=("visit", "size"), visit_rate=("visit", "mean"),
                                      conversion_rate=("conversion", "mean"), spend_per_customer=("spend", "mean"))
            .reset_index())


def store_timings(n: int = 100_000) -> pd.DataFrame:
    """Seconds to create a campaign of n customers, import n outcome rows and compute the report,
    on SQLite and (when LOOKALIKE_TEST_PG_URL is set, e.g. by make postgres) on PostgreSQL."""
    import os
    import tempfile
    import uuid

    import sqlalchemy as sa

    from lookalike.campaigns import campaign_results, create_campaign, import_outcomes
    from lookalike.campaigns.simulate import simulate_outcomes
    from lookalike.campaigns.store import assignments_frame
    from lookalike.database import open_database

    urls = {"sqlite": f"sqlite:///{tempfile.mkdtemp()}/bench.db"}
    pg = os.environ.get("LOOKALIKE_TEST_PG_URL")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    if pg:
        with sa.create_engine(pg).begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        urls["postgresql"] = sa.make_url(pg).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    aud = pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(n)], "rank": np.arange(1, n + 1)})
    rows = []
    for backend, url in urls.items():
        engine = open_database(url)
        t = time.perf_counter()
        create_campaign(engine, "bench", aud, holdout_share=0.1, salt="bench")
        t_create = time.perf_counter() - t
        outcomes = simulate_outcomes(assignments_frame(engine, "bench"), random_state=0)
        t = time.perf_counter()
        import_outcomes(engine, "bench", outcomes)
        t_import = time.perf_counter() - t
        t = time.perf_counter()
        campaign_results(engine, "bench")
        t_report = time.perf_counter() - t
        rows.append({"backend": backend, "customers": n, "create_s": t_create, "import_s": t_import,
                     "report_s": t_report})
        engine.dispose()
    if pg:
        with sa.create_engine(pg).begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    return pd.DataFrame(rows)


def main() -> None:
    t0 = time.perf_counter()
    df = load_hillstrom()
    arms = arm_table(df)
    uplift_rows = []
    for seg in ("Mens E-Mail", "Womens E-Mail"):
        part = df[df["segment"].isin([seg, "No E-Mail"])]
        frame = pd.DataFrame({"arm": np.where(part["segment"] == seg, "treatment", "control"), "sends": 0, "opens": 0,
                              "clicks": part["visit"].to_numpy(), "conversions": part["conversion"].to_numpy(),
                              "revenue": part["spend"].to_numpy()})
        r = results_from_frame(frame, name=seg, bootstrap=False)
        for key, u in r.uplifts.items():
            uplift_rows.append({"arm": seg, "metric": key, "uplift": u.diff, "ci_low": u.diff_low, "ci_high": u.diff_high,
                                "relative": u.relative, "p_value": u.p_value})
    uplift = pd.DataFrame(uplift_rows)
    seeds = [0, 1, 2]
    studies = [uplift_study(train_share=0.5, random_state=s) for s in seeds]
    s0 = studies[0]
    coefs = pd.DataFrame([st.qini_coefficients for st in studies], index=[f"split {s}" for s in seeds])
    deciles = s0.deciles
    OUT.mkdir(parents=True, exist_ok=True)
    write_table(deciles, OUT / "hillstrom.deciles.csv")
    save_figure(qini_plot(s0), OUT / "hillstrom.qini.png")
    conv = deciles[deciles["outcome"] == "conversion"].pivot(index="bin", columns="ranking", values="uplift")
    visit = deciles[deciles["outcome"] == "visit"].pivot(index="bin", columns="ranking", values="uplift")
    ctrl = deciles[(deciles["outcome"] == "conversion")].pivot(index="bin", columns="ranking", values="rate_control")
    timings = store_timings()
    doc = {"store_timings": timings.to_dict("records"), "arms": arms.to_dict("records"), "uplift": uplift.to_dict("records"),
           "qini_coefficients": coefs.to_dict("index"), "n_train": s0.n_train, "n_seeds": s0.n_seeds,
           "n_test": s0.n_test, "seconds": time.perf_counter() - t0,
           "machine": {"python": sys.version.split()[0], "platform": platform.platform()}}
    write_text(OUT / "hillstrom.json", json.dumps(to_jsonable(doc), indent=2))
    text = ["# Hillstrom: per-arm results and lookalike targeting vs incremental response", "",
          f"Data: `datasets/real/hillstrom/hillstrom.csv` (64,000 customers, randomized). Run time {doc['seconds']:.0f} s.", "",
          "## Per arm (the standard first table)", "", md(arms, index=False, fmt=".4f"), "",
          "## Uplift of each e-mail over no e-mail (95% CI; Newcombe for rates, Welch for spend)", "",
          md(uplift, index=False, fmt=".4f"), "",
          f"## Targeting: scores trained on a random half ({s0.n_seeds} converters as seeds), measured on the other half "
          f"({s0.n_test:,} customers; treatment = either e-mail)", "",
          "Qini coefficients (area between the Qini curve and the random line, in incremental outcomes × share targeted; 3 random splits):", "",
          md(coefs, fmt=".2f"), "",
          "Conversion uplift by score decile (split 0; 1 = highest score):", "",
          md(conv, fmt=".4f"), "",
          "Control-group conversion rate by decile (who buys without an e-mail):", "",
          md(ctrl, fmt=".4f"), "",
          "Visit uplift by score decile:", "", md(visit, fmt=".4f"), "",
          "![Qini curves](hillstrom.qini.png)", "", "## Reading", "", reading(coefs, ctrl), "",
          "## Campaign store timings (seconds; create = hash assignment + balance + insert; report includes a "
          "1,000-resample bootstrap; 2 vCPU shared VM, other jobs running)", "", md(timings, index=False, fmt=".2f"), ""]
    write_text(OUT / "hillstrom.md", "\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
