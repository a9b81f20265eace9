"""The Hillstrom e-mail experiment as campaigns, and the lookalike-versus-incremental question.

Hillstrom (MineThatData, 2008): 64,000 customers randomized to a men's e-mail, a women's e-mail
or no e-mail; visits, conversions and spend over two weeks. Loaded as two campaigns sharing the
no-e-mail control: ``hillstrom-mens`` and ``hillstrom-womens``. Outcome mapping: every treated
customer got one send; visit → clicks (a site visit, measured in both arms), conversion →
conversions, spend → revenue. Customer ids are ``H00001``… in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookalike.audience.scoring import score_classifier, score_seed_distance
from lookalike.errors import InputError, MissingColumnsError
from lookalike.features import FeatureSpec

ARMS = {"mens": "Mens E-Mail", "womens": "Womens E-Mail"}
CONTROL = "No E-Mail"
COLUMNS = ("recency", "history", "mens", "womens", "zip_code", "newbie", "channel", "segment", "visit",
           "conversion", "spend")
FEATURES_NUMERIC = ("recency", "history", "mens", "womens", "newbie")
FEATURES_CATEGORICAL = ("zip_code", "channel")


def feature_spec():
    """The customer features of Hillstrom as a :class:`~lookalike.features.FeatureSpec` (history on a log scale)."""

    return FeatureSpec(numeric=("recency", "history"), log=("history",), boolean=("mens", "womens", "newbie"),
                       categorical=FEATURES_CATEGORICAL, groups={})


def default_path() -> Path:
    """``datasets/real/hillstrom/hillstrom.csv`` of the source tree (the copy the repository ships)."""
    return Path(__file__).resolve().parents[3] / "datasets" / "real" / "hillstrom" / "hillstrom.csv"


def load_hillstrom(path: str | Path | None = None) -> pd.DataFrame:
    """Read the Hillstrom CSV and add ``customer_id`` (H00001… in file order)."""
    p = Path(path) if path is not None else default_path()
    if not p.is_file():
        raise InputError(f"Hillstrom file {p} does not exist; pass the path of hillstrom.csv "
                         "(datasets/real/hillstrom/ in the repository)")
    df = pd.read_csv(p)
    missing = set(COLUMNS) - set(df.columns)
    if missing:
        raise MissingColumnsError(missing, df.columns, where=str(p))
    unknown = set(df["segment"].unique()) - {CONTROL, *ARMS.values()}
    if unknown:
        raise InputError(f"{p}: unknown segment value(s) {sorted(unknown)}; expected {CONTROL} and {list(ARMS.values())}")
    df.insert(0, "customer_id", [f"H{i:05d}" for i in range(1, len(df) + 1)])
    return df


def hillstrom_outcomes(df: pd.DataFrame) -> pd.DataFrame:
    """Outcome rows in the store's format (visit → clicks, conversion → conversions, spend → revenue)."""
    treated = (df["segment"] != CONTROL).to_numpy()
    return pd.DataFrame({"customer_id": df["customer_id"], "sends": treated.astype(int), "opens": 0,
                         "clicks": df["visit"].astype(int), "conversions": df["conversion"].astype(int),
                         "revenue": df["spend"].astype(float)})


def load_hillstrom_campaigns(engine: sa.Engine, path: str | Path | None = None, *, prefix: str = "hillstrom",
                             df: pd.DataFrame | None = None) -> dict[str, int]:
    """Store the experiment as two campaigns (each e-mail arm against no e-mail) with their outcomes.

    The randomization is the data's own (``arms=``), not a new draw. Returns ``{arm: campaign id}``.
    """
    from lookalike.campaigns.store import create_campaign, import_outcomes

    df = load_hillstrom(path) if df is None else df
    out = {}
    for key, label in ARMS.items():
        part = df[df["segment"].isin([label, CONTROL])].reset_index(drop=True)
        arms = np.where(part["segment"] == CONTROL, "control", "treatment")
        share = float((arms == "control").mean())
        created = create_campaign(engine, f"{prefix}-{key}", part, holdout_share=share, arms=arms,
                                  salt=f"{prefix}-{key}", channel="email", label=label,
                                  source="Hillstrom MineThatData e-mail experiment (2008)",
                                  description=f"{label} against {CONTROL}, randomized by the data's publisher")
        import_outcomes(engine, created.campaign.id, hillstrom_outcomes(part))
        out[key] = created.campaign.id
    return out


@dataclass(frozen=True)
class UpliftStudy:
    """Does similarity to past converters rank the incremental response? (held-out half of Hillstrom)."""

    deciles: pd.DataFrame       # per ranking and score decile: sizes, visit/conversion rates per arm, uplift
    qini: pd.DataFrame          # Qini curves per ranking (similarity, classifier, random), for visit and conversion
    qini_coefficients: dict     # score and random, per outcome
    n_train: int
    n_seeds: int
    n_test: int


def uplift_study(df: pd.DataFrame | None = None, *, train_share: float = 0.5, k: int = 10,
                 random_state: int = 0) -> UpliftStudy:
    """Train a lookalike score on part of Hillstrom, measure uplift by score decile on the rest.

    Seeds are the training customers who converted (any arm): "people like our buyers". Every
    held-out customer gets the product's two scores: seed-distance similarity (mean distance to the
    ``k`` nearest seeds, on standardized numeric + one-hot features) and the seed-versus-base
    classifier. Treatment = either e-mail, control = no e-mail; a random order is the Qini baseline.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from lookalike.campaigns.uplift import qini_coefficient, qini_curve, uplift_by_bin

    df = load_hillstrom() if df is None else df
    rng = np.random.default_rng(random_state)
    train = rng.random(len(df)) < train_share
    seeds = train & (df["conversion"].to_numpy() == 1)
    test = ~train
    ct = ColumnTransformer([("num", StandardScaler(), list(FEATURES_NUMERIC)),
                            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(FEATURES_CATEGORICAL))])
    ct.fit(df.loc[train, list(FEATURES_NUMERIC + FEATURES_CATEGORICAL)])
    # Scored set = held-out customers followed by the seeds; seed rows are not scored as targets.
    rows = np.r_[np.flatnonzero(test), np.flatnonzero(seeds)]
    X = np.ascontiguousarray(ct.transform(df.iloc[rows][list(FEATURES_NUMERIC + FEATURES_CATEGORICAL)]), dtype=np.float32)
    n_test = int(test.sum())
    seed_pos = np.arange(n_test, len(rows))
    # Many customers share identical features: a tiny random jitter breaks ties so deciles have equal sizes.
    jitter = rng.random(n_test) * 1e-9
    rankings = {"similarity": score_seed_distance(X, seed_pos, k=k).similarity[:n_test] + jitter,
                "classifier": score_classifier(X, seed_pos, np.ones(len(seed_pos)),
                                               random_state=random_state).similarity[:n_test] + jitter,
                "random": rng.random(n_test)}
    held = df.iloc[np.flatnonzero(test)]
    treat = (held["segment"] != CONTROL).to_numpy().astype(int)
    parts, curves, coefs = [], [], {}
    for outcome in ("visit", "conversion"):
        y = held[outcome].to_numpy()
        for label, s in rankings.items():
            if label != "random":
                parts.append(uplift_by_bin(y, s, treat, n_bins=10).assign(outcome=outcome, ranking=label))
            curves.append(qini_curve(y, s, treat).assign(outcome=outcome, ranking=label))
            coefs[f"{outcome}/{label}"] = qini_coefficient(y, s, treat)
    return UpliftStudy(pd.concat(parts, ignore_index=True), pd.concat(curves, ignore_index=True), coefs,
                       int(train.sum()), int(seeds.sum()), n_test)
