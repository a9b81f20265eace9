"""The seed script's pipeline, as a data scientist's notebook for the original brief would write it.

The brief (``/work/shared/seed/README.es.md``) asks for a ``knn_lookalike_project.py`` that reads
``customer_lookalike_raw_100k.xlsx`` with pandas, fixes the mixed formats (percentages, amounts
with currency symbols), the special codes ("never", 9999) and the inconsistent regions and
channels, one-hot encodes the categories, scales with ``StandardScaler`` and fits scikit-learn's
``NearestNeighbors``. This module is that script: ``pd.read_excel(engine="openpyxl")``, small
per-cell functions applied with ``.apply``, ``get_dummies``, ``StandardScaler``,
``NearestNeighbors``. It is the baseline of ``bench/foundation.py`` (run in full, not
extrapolated); it is not Lookalike's cleaning (no quality report, no quarantine, no duplicate
merge, and a value it cannot read becomes NaN, then the column median).

Usage: ``python bench/seed_script.py EXPORT.xlsx`` prints the time of each step (wall seconds) and
the CPU seconds of the whole process (imports included) as one JSON line.
"""

from __future__ import annotations

import json
import re
import sys
import time

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

NUMERIC = ["age", "income", "tenure_months", "total_orders", "days_since_last_purchase", "pct_reordered",
           "avg_items_per_order", "total_spent"]
CATEGORIES = ["region_clean", "fav_category", "signup_channel"]
REGIONS = {"norte": "Norte", "north": "Norte", "nte": "Norte", "nte.": "Norte", "sur": "Sur", "south": "Sur",
           "este": "Este", "east": "Este", "oeste": "Oeste", "west": "Oeste", "centro": "Centro",
           "center": "Centro", "central": "Centro", "ctr": "Centro"}
CURRENCY = re.compile(r"[A-Za-z$€£¥\s]")
NEVER = {"never", "nunca", "none", "n/a", "na", ""}


def to_money(x):
    if pd.isna(x):
        return np.nan
    if isinstance(x, (int, float)):
        return float(x)
    s = CURRENCY.sub("", str(x))
    negative = s.startswith("(") and s.endswith(")")
    s = s.strip("()")
    if "," in s and "." in s:  # the last separator is the decimal one
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    elif "," in s:
        s = s.replace(",", ".") if len(s.split(",")[-1]) == 2 else s.replace(",", "")
    try:
        v = float(s)
    except ValueError:
        return np.nan
    return -v if negative else v


def to_share(x):
    if pd.isna(x):
        return np.nan
    s = str(x).strip().replace(",", ".")
    pct = s.endswith("%")
    try:
        v = float(s.rstrip("%").strip())
    except ValueError:
        return np.nan
    return v / 100 if pct or v > 1 else v


def to_days(x):
    if pd.isna(x):
        return np.nan
    s = str(x).strip().lower()
    if s in NEVER:
        return np.nan
    m = re.search(r"-?\d+(\.\d+)?", s)
    if m is None:
        return np.nan
    v = float(m.group())
    return np.nan if v < 0 or v >= 9999 else v


def to_age(x):
    if pd.isna(x):
        return np.nan
    m = re.search(r"\d+", str(x))
    return float(m.group()) if m else np.nan


def to_region(x):
    if pd.isna(x):
        return "Unknown"
    return REGIONS.get(str(x).strip().lower(), "Unknown")


def to_category(x):
    if pd.isna(x) or not str(x).strip():
        return "Unknown"
    return str(x).strip().title()


def clean(raw: pd.DataFrame) -> pd.DataFrame:
    """The notebook's cleaning cells: one small function per kind of dirt, applied per cell."""
    df = pd.DataFrame({"customer_id": raw["customer_id"].astype(str).str.strip().str.upper()})
    df["age"] = raw["age"].apply(to_age).fillna(raw["age_str_dirty"].apply(to_age))
    df["income"] = raw["income"].apply(to_money)
    df["total_spent"] = raw["total_spent_dirty"].apply(to_money)
    df["pct_reordered"] = raw["pct_reordered"].apply(to_share).fillna(raw["pct_reordered_dirty"].apply(to_share))
    df["days_since_last_purchase"] = raw["days_since_last_purchase_dirty"].apply(to_days)
    for col in ("tenure_months", "total_orders", "avg_items_per_order"):
        df[col] = pd.to_numeric(raw[col], errors="coerce")
    df["region_clean"] = raw["region_dirty"].apply(to_region)
    df["fav_category"] = raw["fav_category"].apply(to_category)
    df["signup_channel"] = raw["signup_channel"].apply(to_category)
    df["vip_flag"] = pd.to_numeric(raw["vip_flag"], errors="coerce")
    return df.drop_duplicates("customer_id", keep="last").reset_index(drop=True)


def features(df: pd.DataFrame) -> np.ndarray:
    """Numbers (median-filled) and one-hot categories, standard-scaled."""
    num = df[NUMERIC].fillna(df[NUMERIC].median())
    cat = pd.get_dummies(df[CATEGORIES])
    return StandardScaler().fit_transform(np.hstack([num.to_numpy(float), cat.to_numpy(float)]))


def find_lookalikes(df: pd.DataFrame, X: np.ndarray, nn: NearestNeighbors, customer_id: str, k: int = 10) -> pd.DataFrame:
    """The brief's function: the k customers nearest to one, with value and segment context."""
    row = df.index[df["customer_id"] == customer_id][0]  # a scan of the table per query
    dist, idx = nn.kneighbors(X[row : row + 1], n_neighbors=k + 1)
    out = df.iloc[idx[0][1:]][["customer_id", "vip_flag", "total_spent", "total_orders", "region_clean",
                               "fav_category"]].copy()
    out["distance"] = dist[0][1:]
    return out


def run(path: str) -> dict:
    """The whole pipeline on one export; seconds per step (wall clock) and what it produced."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    raw = pd.read_excel(path, engine="openpyxl")
    times["read_s"] = time.perf_counter() - t0
    t = time.perf_counter()
    df = clean(raw)
    times["clean_s"] = time.perf_counter() - t
    t = time.perf_counter()
    X = features(df)
    nn = NearestNeighbors(n_neighbors=11).fit(X)
    times["fit_s"] = time.perf_counter() - t
    times["total_s"] = time.perf_counter() - t0
    return {**{k: round(v, 2) for k, v in times.items()}, "rows_in": len(raw), "customers": len(df),
            "features": int(X.shape[1]), "model": (df, X, nn)}


if __name__ == "__main__":
    out = run(sys.argv[1])
    out["process_cpu_s"] = round(time.process_time(), 2)
    print(json.dumps({k: v for k, v in out.items() if k != "model"}))
