"""Audience expansion on Apache Spark, for customer tables that do not fit one machine.

The pattern (see ``docs/scale.md``): the seed set is small, the base is not.

1. the clean customer table is a Spark DataFrame (e.g. ``lookalike clean`` output in a
   data lake); seeds are selected in Spark (``vip`` or an id list) and only the seed rows
   are brought to the driver;
2. the feature pipeline is a fitted :class:`~lookalike.finder.LookalikeFinder` pipeline,
   or is fitted on the driver on the seeds plus a random sample of the base;
3. a FAISS index over the seed vectors is built on the driver (exact, or IVF with its
   recall measured when the seed set is large) and broadcast as bytes;
4. every partition of the base is featurized and scored with ``mapInPandas`` by
   :func:`lookalike.audience.scoring.score_frame_against_seeds` — the same pure
   pandas → pandas function the single-machine path (:func:`expand_local`) uses;
5. the global top ``size`` comes from ``orderBy(distance, customer_id).limit(size)``
   and is written as parquet. The full table is never collected to the driver.

A raw export is cleaned in Spark first by :func:`spark_clean` (``lookalike.distributed.clean``):
the single-machine cleaner per partition of rows grouped by canonical customer id.

PySpark is an optional extra (``pip install lookalike[spark]``); importing this module
does not import it. Spark's Python workers must run the interpreter that has Lookalike
installed: :func:`local_session` sets ``PYSPARK_PYTHON`` to the current one.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lookalike.audience.contacts import ContactRules, contacted_ids, require_history, utc_timestamp
from lookalike.audience.expand import parse_size
from lookalike.audience.scoring import score_frame_against_seeds, seed_index_kind
from lookalike.errors import InputError, ParameterError, UnknownCustomerError
from lookalike.features import FeatureSpec, check_feature_input, make_feature_pipeline
from lookalike.index import _FaissIndex, build_index

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame as SparkFrame, SparkSession

    from lookalike.finder import LookalikeFinder

log = logging.getLogger(__name__)

#: Seeds are collected to the driver to build the index: refuse seed sets larger than this.
MAX_SEEDS = 2_000_000
AUDIENCE_COLUMNS = ("customer_id", "rank", "distance", "similarity")


@dataclass(frozen=True)
class SparkAudience:
    """What :func:`spark_expand` wrote and how: counts, the index report and parameters."""

    path: str
    counts: dict[str, int]
    index_report: dict
    params: dict = field(default_factory=dict)


def require_pyspark() -> Any:
    """Import PySpark or explain how to install it."""
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession  # noqa: F401
    except ImportError:
        raise ParameterError("the Spark path needs PySpark: pip install 'lookalike[spark]'") from None
    return pyspark


def local_session(master: str = "local[2]", app_name: str = "lookalike", shuffle_partitions: int = 4,
                  **conf: str) -> "SparkSession":
    """A Spark session whose Python workers run this interpreter, with Arrow enabled.

    Without ``PYSPARK_PYTHON`` the workers start the system ``python3``, which lacks
    pyarrow and Lookalike. On a cluster, use ``spark-submit`` and its own configuration.
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName(app_name)
               .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.ui.enabled", "false"))
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _seed_rows(customers: "SparkFrame", seeds: object) -> "SparkFrame":
    """The seed rows as a Spark DataFrame: ``"vip"`` (vip_flag = 1) or customer ids (an id file or a list)."""
    from pyspark.sql import functions as F

    if isinstance(seeds, str) and seeds.lower() in ("vip", "vips"):
        if "vip_flag" not in customers.columns:
            raise InputError("seeds 'vip' need a vip_flag column; give seed ids instead")
        return customers.filter(F.col("vip_flag") == 1)

    if isinstance(seeds, (str, os.PathLike)) and Path(seeds).is_file():
        seeds = read_id_file(seeds)
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ParameterError("Spark seeds must be 'vip', an id file or a list of customer ids")
    wanted = pd.DataFrame({"customer_id": pd.Index(canonical_ids(seeds)).unique().astype(str)})
    ids = customers.sparkSession.createDataFrame(wanted)
    return customers.join(F.broadcast(ids), "customer_id", "left_semi")


def fit_pipeline_on_sample(customers: "SparkFrame", seeds_pd: pd.DataFrame, *, spec: FeatureSpec | None = None,
                           weights: dict | None = None, sample_rows: int = 200_000, n_rows: int | None = None,
                           random_state: int = 0):
    """Fit the feature pipeline on the driver on a random sample of the base (never the whole table)."""
    spec = spec or FeatureSpec.default()
    n_rows = n_rows if n_rows is not None else customers.count()
    fraction = min(1.0, sample_rows / max(n_rows, 1))
    sample = customers.sample(withReplacement=False, fraction=fraction, seed=random_state).limit(sample_rows)
    base = _to_pandas(sample)
    check_feature_input(base, spec)
    return make_feature_pipeline(spec, weights).fit(base if len(base) else seeds_pd)


def _to_pandas(frame: "SparkFrame") -> pd.DataFrame:
    """Collect a *small* Spark DataFrame (seeds, a sample) with clean-table dtypes."""
    out = frame.toPandas()
    for c in ("gender", "region", "fav_category", "signup_channel", "promo_channel"):
        if c in out:
            out[c] = out[c].astype("category")
    return out


def spark_expand(
    customers: "SparkFrame",
    seeds: object,
    size: object = "5%",
    output: str | os.PathLike[str] | None = None,
    *,
    finder: "LookalikeFinder | None" = None,
    k: int = 10,
    index: str | None = None,
    exclude_opted_out: bool = True,
    sample_rows: int = 200_000,
    random_state: int = 0,
    exclude_contacted_within: str | None = None,
    max_contacts: str | None = None,
    contacts: object = None,
    as_of: datetime | None = None,
) -> tuple["SparkFrame", SparkAudience]:
    """Expand ``seeds`` into the ``size`` customers nearest to them, scored in Spark partitions.

    ``customers`` is a clean customer table (contract section 2) as a Spark DataFrame.
    ``finder``: a fitted finder whose feature pipeline is used (the single-machine model);
    without it the pipeline is fitted on the seeds' table sample (``sample_rows``).
    Seeds and (by default) opted-out customers (``promo_channel == "none"``) are excluded,
    and counted; so are the customers the contact rules ``exclude_contacted_within`` / ``max_contacts``
    leave out (read from ``contacts`` as of ``as_of``, as in
    :func:`lookalike.audience.expand.build_audience`: the excluded ids are computed on the driver
    from the contact history and anti-joined, broadcast). The audience (customer_id, rank, distance, similarity) is written as
    parquet to ``output`` when given. Returns (the audience DataFrame, a :class:`SparkAudience`).
    """
    require_pyspark()
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k must be a whole number >= 1, got {k!r}")
    if "customer_id" not in customers.columns:
        raise InputError("the customer table has no customer_id column; clean the export first (lookalike clean)")
    rules = ContactRules.parse(exclude_contacted_within, max_contacts)
    require_history(rules, contacts)
    contacts_as_of = utc_timestamp(as_of if as_of is not None else datetime.now(timezone.utc))
    # one pass over the table for the base size and the opted-out count
    has_promo = "promo_channel" in customers.columns
    opted_out = F.coalesce(F.col("promo_channel").cast("string") == "none", F.lit(False)) if has_promo else F.lit(False)
    totals = customers.agg(F.count(F.lit(1)).alias("n"), F.sum(opted_out.cast("long")).alias("opted_out")).first()
    n_base = int(totals["n"])
    if n_base == 0:
        raise InputError("the customer table is empty; check the input path")
    target = parse_size(size, n_base)

    seed_rows = _seed_rows(customers, seeds)
    seeds_pd = _to_pandas(seed_rows.limit(MAX_SEEDS + 1))  # seeds are small; the base never comes here
    n_seeds = len(seeds_pd)
    if not isinstance(seeds, str) or seeds.lower() not in ("vip", "vips"):
        listed = read_id_file(seeds) if isinstance(seeds, (str, os.PathLike)) else seeds
        unknown = pd.Index(canonical_ids(listed)).unique().difference(pd.Index(seeds_pd["customer_id"].astype(str)))
        if len(unknown):
            raise UnknownCustomerError(list(unknown), n_base)
    if n_seeds == 0:
        raise InputError("the seed set is empty: no customer matches it; check the id list or the vip_flag column")
    if n_seeds > MAX_SEEDS:
        raise ParameterError(f"more than {MAX_SEEDS:,} seeds: more than the driver collects; "
                             "sample the seeds or narrow the seed set")
    if finder is not None:
        finder._check_fitted()
        pipeline, spec = finder.pipeline_, finder.spec_
    else:
        spec = FeatureSpec.default()
        pipeline = fit_pipeline_on_sample(customers, seeds_pd, spec=spec, sample_rows=sample_rows,
                                          n_rows=n_base, random_state=random_state)
    check_feature_input(seeds_pd, spec)
    seed_x = np.ascontiguousarray(pipeline.transform(seeds_pd), dtype=np.float32)
    kind = index or seed_index_kind(n_base, n_seeds)
    seed_index = build_index(seed_x, kind, on_low_recall="exact", random_state=random_state)
    payload = customers.sparkSession.sparkContext.broadcast(seed_index.to_bytes())

    counts: dict[str, int] = {"base": int(n_base), "seeds": int(n_seeds)}
    candidates = customers.join(F.broadcast(seed_rows.select("customer_id")), "customer_id", "left_anti")
    counts["excluded: seeds"] = int(n_seeds)
    if exclude_opted_out and has_promo:
        seeds_opted_out = int(seeds_pd["promo_channel"].astype(str).eq("none").sum())
        counts["excluded: opted out (promo_channel none)"] = int(totals["opted_out"] or 0) - seeds_opted_out
        candidates = candidates.filter(~opted_out)
    for label, ids in contacted_ids(contacts, rules, contacts_as_of):  # the contact history is small next to the base
        counts[label] = 0
        if not len(ids):
            continue
        left_out = F.broadcast(customers.sparkSession.createDataFrame(
            pd.DataFrame({"customer_id": pd.Series(ids, dtype=object).astype(str)}), schema="customer_id string"))
        counts[label] = int(candidates.join(left_out, "customer_id", "left_semi").count())
        candidates = candidates.join(left_out, "customer_id", "left_anti")
    counts["candidates"] = int(n_base - sum(v for c, v in counts.items() if c.startswith("excluded")))
    k_eff = int(min(k, n_seeds))

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        local_index = _FaissIndex.from_bytes(payload.value)
        for frame in batches:
            yield score_frame_against_seeds(_restore_dtypes(frame), pipeline=pipeline, index=local_index, k=k_eff)

    from pyspark import StorageLevel

    # scored once, kept (id + distance only) for the median and the top-N
    scored = candidates.mapInPandas(score, schema="customer_id string, distance double") \
        .persist(StorageLevel.MEMORY_AND_DISK)
    top = scored.orderBy(F.col("distance").asc(), F.col("customer_id").asc()).limit(target)
    # similarity: exp(-d·ln2 / median d over the candidates), as the single-machine seed_distance scorer
    median = scored.approxQuantile("distance", [0.5], 0.001)
    scale = float(median[0]) if median and median[0] and median[0] > 0 else 1.0
    audience = (top.withColumn("rank", F.row_number().over(Window.orderBy(F.col("distance").asc(),
                                                                          F.col("customer_id").asc())))
                .withColumn("similarity", F.exp(-F.col("distance") * float(np.log(2.0)) / scale))
                .select(*AUDIENCE_COLUMNS))
    path = ""
    if output is not None:
        path = str(output)
        audience.write.mode("overwrite").parquet(path)
        audience = customers.sparkSession.read.parquet(path)
        scored.unpersist()
    counts["audience"] = int(min(target, counts["candidates"]))
    params = {"k": k_eff, "size": target, "index": seed_index.report.kind, "exclude_opted_out": exclude_opted_out,
              "pipeline": "finder" if finder is not None else f"fitted on a sample of {sample_rows:,} rows",
              "median_distance": scale, **rules.to_dict()}
    if rules:
        params["contacts_as_of"] = contacts_as_of.isoformat()
    return audience, SparkAudience(path, counts, seed_index.report.to_dict(), params)


def _restore_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow batches arrive with plain string columns: give categorical columns back their dtype."""
    for c in ("gender", "region", "fav_category", "signup_channel", "promo_channel"):
        if c in frame:
            frame[c] = frame[c].astype("category")
    return frame


def expand_local(customers: pd.DataFrame, seeds: object, size: object = "5%", *, pipeline, k: int = 10,
                 index: str | None = None, exclude_opted_out: bool = True, batch: int = 1_000_000,
                 random_state: int = 0) -> pd.DataFrame:
    """The single-machine twin of :func:`spark_expand` on a pandas table, with the same scoring function.

    Returns customer_id, rank, distance (ordered by distance, then customer_id); used to
    check the Spark path and to expand tables that fit one machine in batches.
    """

    n = len(customers)
    target = parse_size(size, n)
    is_seed = select_seeds(customers, seeds).to_numpy()
    if not is_seed.any():
        raise InputError("the seed set is empty: no customer matches it; check the id list or the vip_flag column")
    seed_x = np.ascontiguousarray(pipeline.transform(customers.loc[is_seed]), dtype=np.float32)
    kind = index or seed_index_kind(n, int(is_seed.sum()))
    seed_index = build_index(seed_x, kind, on_low_recall="exact", random_state=random_state)
    keep = ~is_seed
    if exclude_opted_out and "promo_channel" in customers:
        keep &= ~customers["promo_channel"].astype(str).eq("none").to_numpy()
    cand = customers.loc[keep]
    parts = [score_frame_against_seeds(cand.iloc[s : s + batch], pipeline=pipeline, index=seed_index,
                                       k=min(k, seed_index.ntotal)) for s in range(0, len(cand), batch)]
    scored = pd.concat(parts, ignore_index=True)
    top = scored.sort_values(["distance", "customer_id"], kind="stable").head(target).reset_index(drop=True)
    top.insert(1, "rank", np.arange(1, len(top) + 1))
    return top


from lookalike.distributed.clean import SparkClean, spark_clean  # noqa: E402  (re-exported; needs require_pyspark above)
from lookalike.audience.seeds import read_id_file, select_seeds
from lookalike.cleaning.ids import canonical_ids
