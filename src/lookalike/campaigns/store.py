"""The campaign store: campaigns, their audience versions, assignments, outcomes and costs.

Every write is one transaction: a campaign is created with all its assignments or not at all, an
outcome file is imported completely or not at all.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lookalike.audience.manifest import audience_digest
from lookalike.campaigns.holdout import (SampleRatioCheck, assign_arms, balance_table, check_share, new_salt,
                                         sample_ratio_check)
from lookalike.cleaning.ids import normalize_ids
import lookalike.database as db
from lookalike.errors import (CampaignError, DatabaseBusyError, InputError, MissingColumnsError,  # noqa: F401
                              OutcomeFileError, OutcomeProblem, ParameterError, ResultWarning)  # (re-exported)
from lookalike.io import is_sql_url, read_csv

logger = logging.getLogger(__name__)
T = TypeVar("T")

OUTCOME_COLUMNS = ("sends", "opens", "clicks", "conversions", "revenue")
# Features whose balance between arms is checked when present (numeric) plus the main categories.
BALANCE_COLUMNS = ("similarity", "total_spent", "total_orders", "days_since_last_purchase", "tenure_months",
                   "income", "age", "avg_ticket", "pct_reordered", "region", "fav_category", "signup_channel")


@dataclass(frozen=True)
class Campaign:
    """A campaign row, with its arm sizes."""

    id: int
    name: str
    salt: str
    holdout_share: float
    stratify: str | None
    channel: str | None
    description: str | None
    status: str
    created_at: object
    n_treatment: int
    n_control: int

    def to_dict(self) -> dict:
        """Plain values, JSON-ready."""
        d = dict(self.__dict__)
        d["created_at"] = str(self.created_at)
        return d


@dataclass(frozen=True)
class CreatedCampaign:
    """What :func:`create_campaign` did: the campaign, its split check and its balance table."""

    campaign: Campaign
    srm: SampleRatioCheck
    balance: pd.DataFrame
    warnings: tuple[ResultWarning, ...] = field(default=())


def _ref_clause(ref: int | str) -> sa.ColumnElement:
    if isinstance(ref, (int, np.integer)) or (isinstance(ref, str) and ref.isdigit()):
        return sa.or_(db.campaigns.c.id == int(ref), db.campaigns.c.name == str(ref))
    return db.campaigns.c.name == str(ref)


def _bulk_insert(conn: sa.Connection, table: sa.Table, df: pd.DataFrame) -> None:
    """Insert a DataFrame with one driver-level ``executemany`` of plain tuples.

    SQLAlchemy's per-row parameter processing costs more than the insert itself at campaign sizes;
    the values here are already plain (ids, ints, floats, one timestamp), so only scalar columns of a
    type with a bind processor (timestamps on SQLite) are converted, once per distinct value.
    """
    cols = [str(c) for c in df.columns]
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in cols)}) "
           f"VALUES ({', '.join([mark] * len(cols))})")
    arrays = []
    for c in cols:
        values = df[c].astype(object).where(df[c].notna(), None).tolist()
        col_type = table.c[c].type
        if isinstance(col_type, sa.DateTime):
            proc = col_type.dialect_impl(conn.dialect).bind_processor(conn.dialect) or (lambda v: v)
            cache = {v: proc(v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for v in set(values) - {None}}
            values = [cache.get(v) if v is not None else None for v in values]
        arrays.append(values)
    rows = list(zip(*arrays))
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        # COPY is PostgreSQL's bulk path (several times faster than executemany), same transaction.
        with conn.connection.driver_connection.cursor() as cur:
            with cur.copy(f"COPY {quote(table.name)} ({', '.join(quote(c) for c in cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    conn.exec_driver_sql(sql, rows)


def _frame(conn: sa.Connection, query: sa.Select) -> pd.DataFrame:
    """A query result as a DataFrame, built column-wise from the cursor's tuples."""
    result = conn.execute(query)
    cols = list(result.keys())
    rows = result.all()
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(dict(zip(cols, (list(c) for c in zip(*rows)))))


#: How long a write waits for a busy database (another writer holding SQLite's lock, a PostgreSQL
#: deadlock or serialization failure) before it gives up with a clear error.
WRITE_RETRY_SECONDS = 60.0


def _retryable(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return ("database is locked" in text or "database is busy" in text or "deadlock detected" in text
            or "could not serialize" in text)


def write_transaction(engine: sa.Engine, work: Callable[[sa.Connection], T], *,
                      secure_delete: bool = False, retry_seconds: float | None = None) -> T:
    """Run ``work(conn)`` in one write transaction and return its result; all of it is stored or none.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock first, so two
    writers queue instead of both reading and then failing to upgrade their lock (SQLite answers that
    with "database is locked" at once, without waiting). A busy database (SQLite's lock held longer than
    its 5 s busy timeout, a PostgreSQL deadlock) is retried with backoff for ``retry_seconds``
    (default :data:`WRITE_RETRY_SECONDS`), then refused with :class:`~lookalike.errors.DatabaseBusyError`
    (a :class:`CampaignError`) — a write is never lost silently. ``secure_delete`` makes SQLite overwrite deleted rows with zeros (erasure).
    """
    deadline = time.monotonic() + (WRITE_RETRY_SECONDS if retry_seconds is None else retry_seconds)
    delay = 0.05
    while True:
        try:
            with engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    if secure_delete:
                        conn.exec_driver_sql("PRAGMA secure_delete=ON")
                    conn.commit()  # close SQLAlchemy's implicit transaction; the driver has none open
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
                return result
        except sa.exc.DBAPIError as exc:
            if not _retryable(exc):
                raise
            if time.monotonic() + delay > deadline:
                raise DatabaseBusyError(f"the campaign database stayed busy for over {WRITE_RETRY_SECONDS:.0f} s "
                                        "(other writes hold it); nothing was written, run the command again") from None
            logger.info("database busy (%s); retrying in %.2f s", str(exc.orig).splitlines()[0][:80], delay)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def delete_customer_rows(conn: sa.Connection, customer_id: str) -> dict[str, int]:
    """Delete one customer's outcome, assignment and contact rows in every campaign (inside the caller's
    transaction); ``customer_id`` must be canonical. Returns the rows deleted per table."""
    o, a, c = db.outcomes, db.assignments, db.contacts
    n_out = conn.execute(sa.delete(o).where(o.c.customer_id == customer_id)).rowcount or 0
    n_asg = conn.execute(sa.delete(a).where(a.c.customer_id == customer_id)).rowcount or 0
    n_con = conn.execute(sa.delete(c).where(c.c.customer_id == customer_id)).rowcount or 0
    return {"outcomes": int(n_out), "assignments": int(n_asg), "contacts": int(n_con)}


def get_campaign(engine: sa.Engine, ref: int | str) -> Campaign:
    """The campaign named ``ref`` (or with id ``ref``), with its arm sizes."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(db.campaigns).where(_ref_clause(ref))).mappings().first()
        if row is None:
            names = conn.execute(sa.select(db.campaigns.c.name).order_by(db.campaigns.c.id)).scalars().all()
            raise CampaignError(f"no campaign {ref!r}; known campaigns: {', '.join(names[:10]) or 'none'} "
                                "(lookalike campaign list)")
        sizes = dict(conn.execute(sa.select(db.assignments.c.arm, sa.func.count())
                                  .where(db.assignments.c.campaign_id == row["id"])
                                  .group_by(db.assignments.c.arm)).all())
    return Campaign(row["id"], row["name"], row["salt"], row["holdout_share"], row["stratify"], row["channel"],
                    row["description"], row["status"], row["created_at"], int(sizes.get("treatment", 0)),
                    int(sizes.get("control", 0)))


def list_campaigns(engine: sa.Engine) -> pd.DataFrame:
    """Every campaign with its arm sizes, outcome rows and total cost, newest first."""
    c, a, o, k = db.campaigns, db.assignments, db.outcomes, db.costs
    n_t = sa.select(sa.func.count()).where(a.c.campaign_id == c.c.id, a.c.arm == "treatment").scalar_subquery()
    n_c = sa.select(sa.func.count()).where(a.c.campaign_id == c.c.id, a.c.arm == "control").scalar_subquery()
    n_o = sa.select(sa.func.count()).where(o.c.campaign_id == c.c.id).scalar_subquery()
    cost = sa.select(sa.func.coalesce(sa.func.sum(k.c.amount), 0.0)).where(k.c.campaign_id == c.c.id).scalar_subquery()
    q = sa.select(c.c.id, c.c.name, c.c.channel, c.c.status, c.c.holdout_share, n_t.label("n_treatment"),
                  n_c.label("n_control"), n_o.label("outcome_rows"), cost.label("cost"), c.c.created_at
                  ).order_by(c.c.id.desc())
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).mappings().all(),
                            columns=["id", "name", "channel", "status", "holdout_share", "n_treatment", "n_control",
                                     "outcome_rows", "cost", "created_at"])


def create_campaign(engine: sa.Engine, name: str, audience: pd.DataFrame, *, holdout_share: float = 0.1,
                    salt: str | None = None, stratify: str | None = None, customers: pd.DataFrame | None = None,
                    manifest: dict | None = None, label: str = "audience", source: str | None = None,
                    channel: str | None = None, description: str | None = None,
                    cost: float | None = None, arms: pd.Series | np.ndarray | None = None) -> CreatedCampaign:
    """Create a campaign from an audience: store its version, assign treatment/control, check the split.

    ``stratify`` names a column of the audience (or of ``customers``, joined on customer_id) whose
    every value holds out the same share. The balance of the main features between arms (standardized
    mean differences) and a sample-ratio check come back with warnings when they look wrong.
    ``arms`` (one "treatment"/"control" per audience row) records the split of an experiment that was
    already randomized elsewhere (e.g. the Hillstrom data) instead of drawing one.
    """
    check_share(holdout_share)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ParameterError(f"campaign name must be 1 to 200 characters, got {name!r}")
    if not isinstance(audience, pd.DataFrame) or "customer_id" not in audience.columns:
        raise MissingColumnsError(["customer_id"], getattr(audience, "columns", []), where="audience")
    if audience.empty:
        raise InputError("the audience has no customers; a campaign needs at least one")
    salt = salt or new_salt()
    features = audience.reset_index(drop=True)
    # Ids are stored canonical (the cleaner's rule), so outcome files match whatever their spacing/case.
    features["customer_id"] = normalize_ids(features["customer_id"])
    if customers is not None:
        extra = [c for c in customers.columns if c not in features.columns or c == "customer_id"]
        features = features.merge(customers[extra].drop_duplicates("customer_id"), on="customer_id", how="left")
    strata = None
    if stratify:
        if stratify not in features.columns:
            raise MissingColumnsError([stratify], features.columns, where="audience (for --stratify)")
        strata = features[stratify]
    assigned = assign_arms(features["customer_id"], salt, holdout_share, strata)
    if arms is not None:
        given = pd.Series(np.asarray(arms, dtype=object))
        if len(given) != len(assigned) or not given.isin(["treatment", "control"]).all():
            raise ParameterError(f"arms must give 'treatment' or 'control' for each of the {len(assigned)} "
                                 "audience rows")
        assigned["arm"] = given.to_numpy()
    n_ctrl = int((assigned["arm"] == "control").sum())
    n_treat = len(assigned) - n_ctrl
    warnings: list[ResultWarning] = []
    srm = sample_ratio_check(n_treat, n_ctrl, holdout_share)
    if srm.mismatch:
        warnings.append(ResultWarning(
            "sample_ratio_mismatch", f"sample-ratio mismatch: {n_ctrl} control of {len(assigned)} for a planned share "
            f"of {holdout_share:.1%} (chi-square p = {srm.p_value:.2g}); check the audience for duplicates",
            control=n_ctrl, rows=len(assigned), p_value=srm.p_value))
    cols = [c for c in BALANCE_COLUMNS if c in features.columns]
    balance = balance_table(features, assigned["arm"], cols) if n_ctrl >= 2 and n_treat >= 2 else pd.DataFrame()
    if len(balance) and balance["unbalanced"].any():
        worst = balance.loc[balance["smd"].abs().idxmax()]
        warnings.append(ResultWarning(
            "unbalanced_arms", f"arms are unbalanced on {int(balance['unbalanced'].sum())} feature(s) (|SMD| > 0.1), "
            f"worst {worst['feature']} (SMD {worst['smd']:+.2f}); with a small audience consider "
            "--stratify on that column or another salt", feature=str(worst["feature"]), smd=float(worst["smd"])))
    if n_ctrl < 100:
        warnings.append(ResultWarning("small_control", f"only {n_ctrl} customers in control: intervals will be wide "
                                      "(lookalike campaign plan)", control=n_ctrl))
    now = db.utcnow()
    manifest_doc = manifest if manifest is not None else {"rows": int(len(audience))}
    def write(conn: sa.Connection) -> int:
        cid = conn.execute(db.campaigns.insert().values(
            name=name, description=description, channel=channel, salt=salt, holdout_share=float(holdout_share),
            stratify=stratify, status="draft", created_at=now).returning(db.campaigns.c.id)).scalar_one()
        vid = conn.execute(db.audience_versions.insert().values(
            campaign_id=cid, label=label, source=source, audience_hash=audience_digest(audience),
            manifest=json.dumps(manifest_doc, sort_keys=True, default=str), n_customers=int(len(audience)),
            created_at=now).returning(db.audience_versions.c.id)).scalar_one()
        rows = assigned.assign(campaign_id=cid, audience_version_id=vid,
                               bucket=assigned["bucket"].astype(int))
        rows["stratum"] = rows["stratum"].astype(object).where(rows["stratum"].notna(), None)
        _bulk_insert(conn, db.assignments, rows[["campaign_id", "customer_id", "audience_version_id", "arm",
                                                 "bucket", "stratum"]])
        if cost:
            conn.execute(db.costs.insert().values(campaign_id=cid, amount=float(cost), created_at=now,
                                                  description="planned cost at creation"))
        return cid

    try:
        cid = write_transaction(engine, write)
    except sa.exc.IntegrityError as exc:
        if "name" in str(exc.orig).lower() or "unique" in str(exc.orig).lower():
            raise CampaignError(f"a campaign named {name!r} already exists; choose another name") from None
        raise
    for w in warnings:
        logger.warning("campaign %s: %s", name, w)
    return CreatedCampaign(get_campaign(engine, cid), srm, balance, tuple(warnings))


def assignments_frame(engine: sa.Engine, ref: int | str) -> pd.DataFrame:
    """customer_id, arm, bucket, stratum of a campaign."""
    camp = get_campaign(engine, ref)
    a = db.assignments
    with engine.connect() as conn:
        return _frame(conn, sa.select(a.c.customer_id, a.c.arm, a.c.bucket, a.c.stratum)
                      .where(a.c.campaign_id == camp.id).order_by(a.c.customer_id))


def control_ids(engine: sa.Engine, ref: int | str) -> list[str]:
    """Ids of a campaign's control group (to leave out of every export)."""
    df = assignments_frame(engine, ref)
    return df.loc[df["arm"] == "control", "customer_id"].tolist()


def read_outcomes(source: str | os.PathLike[str], query: str | None = None) -> pd.DataFrame:
    """Read an outcome table from a CSV/parquet file or a database (SQLAlchemy URL + ``query``)."""

    if is_sql_url(source):
        if not query:
            raise ParameterError("reading outcomes from a database needs --query (SQL or a table name)")
        sql = query if any(ch.isspace() for ch in query.strip()) else f'SELECT * FROM "{query}"'
        try:
            with sa.create_engine(str(source)).connect() as conn:
                return pd.read_sql_query(sa.text(sql), conn, dtype={"customer_id": str})
        except Exception as exc:
            raise InputError(f"cannot read outcomes from the database: {str(exc).splitlines()[0][:200]}") from None
    p = Path(source)
    if not p.is_file():
        raise InputError(f"outcome file {p} does not exist; pass a CSV or parquet with customer_id and "
                         f"{', '.join(OUTCOME_COLUMNS)}")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(p)
        return read_csv(p, dtype={"customer_id": str}, na="pandas", what="the outcome table")[0]
    except Exception as exc:
        raise InputError(f"cannot read outcomes {p}: {str(exc).splitlines()[0][:200]}") from None


@dataclass(frozen=True)
class OutcomeImport:
    """What :func:`import_outcomes` stored."""

    campaign: str
    rows: int
    replaced: int
    totals: dict
    customers_without_outcome: int


def validate_outcomes(df: pd.DataFrame, assigned_ids: pd.Index, where: str = "outcomes") -> pd.DataFrame:
    """Check an outcome table and return it clean (customer_id + the five metrics as numbers).

    Every problem is collected first (pandera's lazy validation): an :class:`OutcomeFileError` names
    each kind with its count and first file lines, and carries them as :class:`OutcomeProblem`s.
    """
    if not isinstance(df, pd.DataFrame) or "customer_id" not in df.columns:
        raise MissingColumnsError(["customer_id"], getattr(df, "columns", []), where=where)
    present = [c for c in OUTCOME_COLUMNS if c in df.columns]
    if not present:
        raise MissingColumnsError(list(OUTCOME_COLUMNS), df.columns, where=where)
    if df.empty:
        raise InputError(f"{where} has no rows; nothing to import")
    out = pd.DataFrame({"customer_id": pd.Series(normalize_ids(df["customer_id"]), dtype="string")})
    df = df.reset_index(drop=True)
    problems: list[OutcomeProblem] = []

    def report(mask: pd.Series, code: str, column: str | None = None, example: str | None = None) -> None:
        if mask.any():
            lines = (np.flatnonzero(mask.to_numpy()) + 2)[:5]  # +2: header line and 1-based numbering
            problems.append(OutcomeProblem(code, int(mask.sum()), tuple(int(x) for x in lines), column, example))

    report(out["customer_id"].isna() | (out["customer_id"] == ""), "no_customer_id")
    for col in OUTCOME_COLUMNS:
        if col not in df.columns:
            out[col] = 0.0
            continue
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce")
        report(num.isna() & raw.notna() & (raw.astype("string").str.strip() != ""), "not_a_number", col)
        num = num.fillna(0.0)
        report(num < 0, "negative", col)
        if col != "revenue":
            report(num != np.floor(num), "fractional", col)
        out[col] = num.astype(float)
    dup = out["customer_id"].duplicated(keep=False) & out["customer_id"].notna()
    if dup.any():
        report(dup, "duplicate_id", example=str(out.loc[dup, "customer_id"].iloc[0]))
    known = out["customer_id"].isin(assigned_ids) | out["customer_id"].isna()
    if (~known).any():
        report(~known, "unknown_id", example=str(out.loc[~known, "customer_id"].iloc[0]))
    if problems:
        raise OutcomeFileError(where, problems)
    for col in OUTCOME_COLUMNS[:4]:
        out[col] = out[col].astype(np.int64)
    return out


def import_outcomes(engine: sa.Engine, ref: int | str, outcomes_df: pd.DataFrame, *, replace: bool = False,
                    where: str = "outcomes") -> OutcomeImport:
    """Validate and store outcomes in one transaction (a bad row means nothing is written).

    Customers of the campaign without a row count as zero sends/opens/clicks/conversions/revenue in
    reports. With ``replace`` the campaign's previous outcomes are deleted in the same transaction;
    without it, ids that already have outcomes are an error.
    """
    camp = get_campaign(engine, ref)
    assigned = pd.Index(assignments_frame(engine, camp.id)["customer_id"])
    clean = validate_outcomes(outcomes_df, assigned, where)
    now = db.utcnow()
    o = db.outcomes

    def write(conn: sa.Connection) -> int:
        # Lock the campaign row first (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes writers):
        # concurrent imports into one campaign then run one after the other instead of racing on the
        # "already has outcomes" check or on the primary key.
        conn.execute(sa.select(db.campaigns.c.id).where(db.campaigns.c.id == camp.id).with_for_update())
        if replace:
            replaced = conn.execute(sa.delete(o).where(o.c.campaign_id == camp.id)).rowcount or 0
        else:
            replaced = 0
            existing = conn.execute(sa.select(sa.func.count()).where(o.c.campaign_id == camp.id)).scalar_one()
            if existing:
                raise CampaignError(f"campaign {camp.name!r} already has outcomes for {existing} customer(s); "
                                    "pass --replace to replace them all with this file")
        _bulk_insert(conn, o, clean.assign(campaign_id=camp.id, imported_at=now))
        conn.execute(sa.update(db.campaigns).where(db.campaigns.c.id == camp.id).values(status="measured"))
        return replaced

    replaced = write_transaction(engine, write)
    totals = {c: float(clean[c].sum()) for c in OUTCOME_COLUMNS}
    return OutcomeImport(camp.name, int(len(clean)), int(replaced), totals, int(len(assigned) - len(clean)))


def add_cost(engine: sa.Engine, ref: int | str, amount: float, *, currency: str | None = None,
             description: str | None = None) -> float:
    """Record a cost of the campaign; returns the campaign's total cost."""
    camp = get_campaign(engine, ref)
    if not np.isfinite(amount) or amount < 0:
        raise ParameterError(f"cost must be a non-negative amount, got {amount!r}")
    write_transaction(engine, lambda conn: conn.execute(db.costs.insert().values(
        campaign_id=camp.id, amount=float(amount), currency=currency, description=description,
        created_at=db.utcnow())))
    return total_cost(engine, camp.id)


def total_cost(engine: sa.Engine, campaign_id: int) -> float:
    """The sum of a campaign's costs (0 when none are recorded)."""
    with engine.connect() as conn:
        return float(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(db.costs.c.amount), 0.0))
                                  .where(db.costs.c.campaign_id == campaign_id)).scalar_one())


def campaign_frame(engine: sa.Engine, ref: int | str) -> pd.DataFrame:
    """One row per assigned customer: customer_id, arm, stratum and the outcomes (0 without a row)."""
    camp = get_campaign(engine, ref)
    a, o = db.assignments, db.outcomes
    q = (sa.select(a.c.customer_id, a.c.arm, a.c.stratum, sa.func.coalesce(o.c.sends, 0).label("sends"),
                   sa.func.coalesce(o.c.opens, 0).label("opens"), sa.func.coalesce(o.c.clicks, 0).label("clicks"),
                   sa.func.coalesce(o.c.conversions, 0).label("conversions"),
                   sa.func.coalesce(o.c.revenue, 0.0).label("revenue"),
                   (o.c.customer_id.is_not(None)).label("has_outcome"))
         .select_from(a.outerjoin(o, sa.and_(o.c.campaign_id == a.c.campaign_id, o.c.customer_id == a.c.customer_id)))
         .where(a.c.campaign_id == camp.id).order_by(a.c.customer_id))
    with engine.connect() as conn:
        df = _frame(conn, q)
    for col in OUTCOME_COLUMNS[:4]:
        df[col] = df[col].astype(np.int64)
    df["revenue"] = df["revenue"].astype(float)
    df["has_outcome"] = df["has_outcome"].astype(bool)
    return df


def delete_campaign(engine: sa.Engine, ref: int | str) -> None:
    """Delete a campaign with its assignments, outcomes, costs and audience versions."""
    camp = get_campaign(engine, ref)
    write_transaction(engine, lambda conn: conn.execute(sa.delete(db.campaigns).where(db.campaigns.c.id == camp.id)))


def audience_version(engine: sa.Engine, ref: int | str) -> dict:
    """The audience version a campaign was built from: label, source, hash, manifest, size."""
    camp = get_campaign(engine, ref)
    v = db.audience_versions
    with engine.connect() as conn:
        row = conn.execute(sa.select(v).where(v.c.campaign_id == camp.id).order_by(v.c.id)).mappings().first()
    d = dict(row)
    d["manifest"] = json.loads(d["manifest"])
    d["created_at"] = str(d["created_at"])
    return d




def earlier_outcomes(engine: sa.Engine, seed_sets: list[str] | tuple[str, ...]) -> tuple[str | None, pd.DataFrame]:
    """The newest campaign built from the same seed sets that has outcomes, as validation data for ``auto``.

    "The same kind of seeds": the audience manifest stored with the campaign lists the same seed
    sets (``["vip"]``, or the same rule text). Returns the campaign's name and its treatment arm as
    ``customer_id, converted`` (1 when the customer converted at least once), or ``(None, empty)``
    when no such campaign has outcomes. Read only.
    """
    v, o = db.audience_versions, db.outcomes
    wanted = [str(s) for s in seed_sets]
    has_outcomes = sa.select(o.c.campaign_id).distinct()
    q = (sa.select(db.campaigns.c.id, db.campaigns.c.name, v.c.manifest)
         .join(v, v.c.campaign_id == db.campaigns.c.id)
         .where(db.campaigns.c.id.in_(has_outcomes)).order_by(db.campaigns.c.id.desc()))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    for cid, name, manifest in rows:
        try:
            sets = (json.loads(manifest).get("seeds") or {}).get("sets")
        except (ValueError, AttributeError):
            continue
        if [str(s) for s in (sets or [])] == wanted:
            df = campaign_frame(engine, cid)
            df = df[df["arm"] == "treatment"]
            return name, pd.DataFrame({"customer_id": df["customer_id"].to_numpy(),
                                       "converted": (df["conversions"] > 0).astype(int).to_numpy()})
    return None, pd.DataFrame({"customer_id": pd.Series([], dtype=object), "converted": pd.Series([], dtype=int)})
