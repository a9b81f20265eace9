"""Building the clean customer table from order lines, as of any date.

Most retailers have order lines, not a one-row-per-customer export. This module turns a log
of lines (customer id, order id, timestamp, product or category, quantity, unit price) into
the clean customer table of the contract (section 2), so ``LookalikeFinder.fit``, ``expand``,
``evaluate`` and ``export`` work on it unchanged, plus columns only a log can give.

Rules (every number is counted in a :class:`TransactionReport`; nothing is dropped silently):

- **As of**: only lines with a timestamp ``<= as_of`` are used. A date without a time means the
  whole day. Recency and tenure are measured in calendar days from the as-of *date*. The
  default as-of is the last timestamp in the log. Lines after it never touch any column.
- **Excluded lines**, each for the first reason that applies, in this order: unreadable
  timestamp, after as-of, no customer id, quantity missing or zero, unit price missing or
  negative. ``lines_read = lines_used + every exclusion``.
- **Returns**: a line with a negative quantity, or any line of a cancelled order (an order id
  starting with a cancel prefix, "C" in Online Retail), is a return; its value
  ``-|quantity × price|`` is subtracted from spend. Returns never count as orders, items or
  reorders and do not enter category shares.
- **Purchases** are the other lines. ``total_orders`` = distinct orders with a purchase line;
  ``total_spent`` = purchases − returns (net, may be negative for a customer whose purchases
  were before the log began); ``avg_ticket`` = ``total_spent / total_orders``;
  ``avg_items_per_order`` = units of merchandise / orders; ``pct_reordered`` = share of orders
  with a product bought in an *earlier* order of the same customer (the first order is never a
  reorder; a product twice in one order is not a reorder).
- **Exact repeats** of a line (every column equal) are kept, as the source has them, and counted.
- **Non-product lines** (postage, fees, manual adjustments: configured codes) count in spend and
  in the category shares (as their own category, "Fees"), never in items or reorders.
- **Categories** come from a category column when the log has one, else from a keyword mapping
  on the product description (``config/transactions.toml``), else they are left out
  (``fav_category`` "Unknown", no share columns). ``share_<category>`` = purchase value in that
  category / all purchase value (0 when the customer bought nothing of value).
- **Ties** in favourite category (by purchase value), preferred weekday and hour band (by number
  of orders) and region (by lines) go to the first in a fixed order: alphabetical for categories
  and regions, Monday first for weekdays, night-morning-afternoon-evening for hour bands.
- Contract columns a log does not have are empty, not invented: ``age``, ``income``,
  ``vip_score``, ``promo_level`` NaN; ``gender``, ``signup_channel`` "Unknown"; ``promo_channel``
  "unknown"; ``vip_flag`` 0 (a log carries no VIP label: pick seeds by a rule such as
  ``"total_spent top 5%"``). ``signup_date`` is the first purchase date.

>>> lines = pd.DataFrame({"customer_id": ["A", "A", "B"], "order_id": ["1", "2", "3"],
...     "timestamp": ["2011-01-03 09:00", "2011-01-10 15:00", "2011-01-04 20:00"],
...     "product": ["X", "X", "Y"], "quantity": [2, 1, 1], "unit_price": [5.0, 5.0, 3.0]})
>>> res = customers_from_transactions(lines, as_of="2011-01-31")
>>> cols = ["customer_id", "total_orders", "total_spent", "pct_reordered", "days_since_last_purchase"]
>>> res.customers[cols].values.tolist()
[['A', 2, 15.0, 0.5, 21.0], ['B', 1, 3.0, 0.0, 27.0]]
"""

from __future__ import annotations

import datetime as dt
import os
import re

import numpy as np
import pandas as pd

from lookalike.cleaning.dates import parse_date
from lookalike.cleaning.ids import normalize_id
from lookalike.cleaning.money import parse_money
from lookalike.cleaning.numbers import parse_number
from lookalike.config import normalize_name
from lookalike.errors import EmptyDataError, InputError, MissingColumnsError, ParameterError
from lookalike.transactions.config import TransactionConfig
from lookalike.transactions.report import EXCLUSION_REASONS, TransactionReport, TransactionsResult

__all__ = ["DAYS_PER_MONTH", "EXTRA_COLUMNS", "UNKNOWN", "WEEKDAYS", "customers_from_transactions", "parse_as_of"]

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
UNKNOWN = "Unknown"
#: Average month length in days: tenure_months = floor(tenure_days / 30.4375).
DAYS_PER_MONTH = 30.4375
#: Columns built only from a log (besides the contract's and the ``share_*`` ones).
EXTRA_COLUMNS: tuple[str, ...] = (
    "first_purchase", "last_purchase", "tenure_days", "gross_spent", "returned_spent", "return_lines",
    "cancelled_orders", "n_products", "preferred_weekday", "hour_band",
)


def parse_as_of(as_of: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    """(last timestamp included, date recency is measured from) of an as-of argument."""
    if isinstance(as_of, str):
        text = as_of.strip()
        try:
            ts = pd.Timestamp(text)
        except (ValueError, TypeError):
            raise ParameterError(f"as-of {as_of!r} is not a date; use YYYY-MM-DD or YYYY-MM-DD HH:MM") from None
        date_only = len(text) <= 10
    elif isinstance(as_of, (pd.Timestamp, dt.datetime)):
        ts, date_only = pd.Timestamp(as_of), False
    elif isinstance(as_of, dt.date):
        ts, date_only = pd.Timestamp(as_of), True
    else:
        raise ParameterError(f"as-of must be a date, datetime or 'YYYY-MM-DD' text, got {as_of!r}")
    if ts is pd.NaT or pd.isna(ts):
        raise ParameterError(f"as-of {as_of!r} is not a date; use YYYY-MM-DD")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    # a bare date means the whole day: every line of that day is included
    cutoff = ts.normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "ns") if date_only else ts
    return cutoff, ts.normalize()


def _parse_column(s: pd.Series, kind: str) -> pd.Series:
    if kind == "timestamp":
        if pd.api.types.is_datetime64_any_dtype(s):
            out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
            return out.astype("datetime64[ns]")
        return parse_date(s).values.astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    parsed = parse_money(s) if kind == "money" else parse_number(s)
    return pd.to_numeric(parsed.values, errors="coerce").astype("float64")


def _mode(keys: pd.Series, values: pd.Series, weights: pd.Series | None, order: list | None) -> pd.Series:
    """Per key, the value with the largest total weight (count if None); ties go to the first in ``order``.

    ``order`` None means sorted order of the values. Vectorized: one group-by and one sort.
    """
    frame = pd.DataFrame({"k": keys.to_numpy(), "v": values.to_numpy(),
                          "w": 1.0 if weights is None else weights.to_numpy(dtype="float64")})
    tot = frame.groupby(["k", "v"], sort=False, observed=True)["w"].sum().reset_index()
    if order is None:
        order = sorted(tot["v"].unique().tolist())
    tot["pos"] = pd.Categorical(tot["v"], categories=order).codes
    tot = tot.sort_values(["k", "w", "pos"], ascending=[True, False, True], kind="stable")
    first = tot.drop_duplicates("k")
    return pd.Series(first["v"].to_numpy(), index=first["k"].to_numpy())


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", normalize_name(name)).strip("_") or "unnamed"


def _categorise(lines: pd.DataFrame, non_product: np.ndarray, config: TransactionConfig) -> tuple[pd.Series | None, str]:
    """Category of every line and where it came from ("column", "description keywords", "none")."""
    if "category" in lines.columns:
        cat = lines["category"].astype("string").str.strip()
        cat = cat.where(cat.notna() & (cat != ""), config.other_category)
        cat = cat.where(~non_product, config.fee_category)
        return cat.astype(str), "column"
    if "description" not in lines.columns or not config.category_keywords:
        return None, "none"
    desc = lines["description"].astype("string")
    codes, uniques = pd.factorize(desc.str.upper(), use_na_sentinel=True)
    text = pd.Series(uniques, dtype="string")
    label = pd.Series(config.other_category, index=text.index, dtype=object)
    assigned = np.zeros(len(text), dtype=bool)
    for name, words in config.category_keywords:  # a handful of categories; each a vectorized regex
        pattern = r"(?<![A-Z0-9])(?:" + "|".join(re.escape(w.upper()) for w in words) + r")(?![A-Z0-9])"
        hit = text.str.contains(pattern, regex=True).fillna(False).to_numpy(dtype=bool) & ~assigned
        label[hit] = name
        assigned |= hit
    per_line = np.where(codes >= 0, label.to_numpy(dtype=object)[np.maximum(codes, 0)], config.other_category)
    per_line = np.where(non_product, config.fee_category, per_line)
    return pd.Series(per_line, index=lines.index, dtype=object), "description keywords"


def customers_from_transactions(
    lines: pd.DataFrame,
    *,
    as_of: object = None,
    config: TransactionConfig | str | os.PathLike[str] | None = None,
) -> TransactionsResult:
    """Build the clean customer table from order lines as of ``as_of`` (see the module docstring).

    ``lines`` has canonical column names (``read_transactions`` maps them; so does this function
    for a frame with the log's own names). Returns a :class:`TransactionsResult`.
    """
    if not isinstance(config, TransactionConfig):
        config = TransactionConfig.load(config)
    if not isinstance(lines, pd.DataFrame):
        raise InputError(f"order lines must be a pandas DataFrame, got {type(lines).__name__}")
    read_meta = dict(lines.attrs.get("read", {}))
    lines, renamed = config.columns.apply(lines)
    renamed = {**read_meta.get("renamed_columns", {}), **renamed}
    missing = [c for c in config.columns.required if c not in lines.columns]
    if missing:
        shown = ", ".join(map(str, lines.columns[:12])) + (" ..." if len(lines.columns) > 12 else "")
        err = MissingColumnsError(missing, lines.columns, where="the transaction log")
        # same error type, but point at the transaction mapping rather than the CRM one
        err.args = (f"the transaction log is missing required column(s) {', '.join(err.missing)}; found: {shown}. "
                    "Add the log's column names to a copy of lookalike/config/transactions.toml and pass it "
                    "with --mapping FILE.",)
        raise err
    if len(lines) == 0:
        raise EmptyDataError("the transaction log has no lines; export the order lines with a header row")
    report = TransactionReport(source=str(read_meta.get("source", "")), lines_read=int(len(lines)),
                               renamed_columns=renamed)

    ts = _parse_column(lines["timestamp"], "timestamp")
    qty = _parse_column(lines["quantity"], "number")
    price = _parse_column(lines["unit_price"], "money")
    cid = normalize_id(lines["customer_id"]).values
    order = lines["order_id"].astype("string").str.strip().str.upper()

    valid_ts = ts.notna().to_numpy()
    if as_of is None:
        if not valid_ts.any():
            raise InputError("no timestamp in the transaction log could be read; check the timestamp column "
                             "(e.g. 2011-06-30 14:05)")
        cutoff = ts.max()
        as_of_date = cutoff.normalize()
    else:
        cutoff, as_of_date = parse_as_of(as_of)
    report.as_of = str(as_of_date.date()) if cutoff == as_of_date + pd.Timedelta(days=1) - pd.Timedelta(1, "ns") \
        else str(cutoff)

    # each excluded line is counted once, for the first reason that applies (order documented above)
    reasons = [
        ("bad_timestamp", ~valid_ts),
        ("after_as_of", valid_ts & (ts > cutoff).to_numpy()),
        ("missing_customer_id", cid.isna().to_numpy()),
        ("bad_quantity", (qty.isna() | (qty == 0)).to_numpy()),
        ("bad_price", (price.isna() | (price < 0)).to_numpy()),
    ]
    excluded = np.zeros(len(lines), dtype=bool)
    for name, mask in reasons:
        setattr(report, name, int((mask & ~excluded).sum()))
        excluded |= mask
    keep = ~excluded
    report.lines_used = int(keep.sum())
    if valid_ts.any():
        report.first_timestamp = str(ts[valid_ts].min())
        report.last_timestamp = str(ts[valid_ts].max())

    product = lines["product"].astype("string").str.strip() if "product" in lines.columns else None
    d = pd.DataFrame({
        "cid": cid.to_numpy(dtype=object)[keep],
        "order": order.to_numpy(dtype=object)[keep],
        "ts": ts.to_numpy()[keep],
        "qty": qty.to_numpy()[keep],
        "price": price.to_numpy()[keep],
    })
    if d.empty:
        raise InputError(f"no usable line as of {report.as_of}: "
                         + ", ".join(f"{getattr(report, r):,} {r.replace('_', ' ')}" for r in EXCLUSION_REASONS)
                         + "; check --as-of and the column mapping")
    prod_text = product.to_numpy(dtype=object)[keep] if product is not None else None
    prod_upper = pd.Series(prod_text, dtype="string").str.upper() if prod_text is not None else None
    if prod_upper is not None:
        non_product = (prod_upper.isin(config.non_product_codes)
                       | prod_upper.str.startswith(config.non_product_prefixes or ("\0",))).fillna(False).to_numpy(bool)
    else:
        non_product = np.zeros(len(d), dtype=bool)
    cancelled = d["order"].str.startswith(config.cancel_prefixes).fillna(False).to_numpy(bool) \
        if config.cancel_prefixes else np.zeros(len(d), dtype=bool)
    is_return = cancelled | (d["qty"].to_numpy() < 0)
    value = d["qty"].to_numpy() * d["price"].to_numpy()
    d["value"] = np.where(is_return, -np.abs(value), value)
    d["is_return"] = is_return
    d["non_product"] = non_product
    report.purchase_lines = int((~is_return).sum())
    report.return_lines = int(is_return.sum())
    report.cancelled_lines = int(cancelled.sum())
    report.cancelled_orders = int(d.loc[cancelled, ["cid", "order"]].drop_duplicates().shape[0])
    report.zero_price_lines = int((d["price"] == 0).sum())
    # identical lines may be two real scans of one item or an export glitch: kept (as the source has
    # them) but counted, so a reader can judge
    report.duplicate_lines = int(lines.loc[keep].duplicated().sum())
    report.non_product_lines = int(non_product.sum())

    sub = lines.loc[keep].reset_index(drop=True)
    sub.index = d.index
    category, report.categories_from = _categorise(sub, non_product, config)

    # ---- per customer
    ids = pd.Index(np.sort(d["cid"].unique()), name="customer_id")
    report.customers = len(ids)
    buy = d.loc[~is_return].copy()
    ret = d.loc[is_return]
    orders = (buy.groupby(["cid", "order"], sort=False)["ts"].min().rename("ots").reset_index())
    report.orders = int(len(orders))
    n_orders = orders.groupby("cid").size().reindex(ids, fill_value=0)
    gross = buy.groupby("cid")["value"].sum().reindex(ids, fill_value=0.0)
    returned = (-ret.groupby("cid")["value"].sum()).reindex(ids, fill_value=0.0)
    total = gross - returned
    first = buy.groupby("cid")["ts"].min().reindex(ids)
    last = buy.groupby("cid")["ts"].max().reindex(ids)
    merch = buy.loc[~buy["non_product"]]
    units = merch.groupby("cid")["qty"].sum().reindex(ids, fill_value=0.0)
    has_orders = n_orders > 0
    report.customers_without_purchase = int((~has_orders).sum())

    # reorder ratio: one row per (customer, order, product) in order time, then "seen before"
    if prod_text is not None:
        merch_prod = pd.Series(prod_text, dtype=object)[~is_return & ~non_product]
        cop = pd.DataFrame({"cid": merch["cid"].to_numpy(), "order": merch["order"].to_numpy(),
                            "product": merch_prod.to_numpy()}).dropna().drop_duplicates()
        cop = cop.merge(orders, on=["cid", "order"], how="left")
        cop = cop.sort_values(["cid", "ots", "order"], kind="stable")
        cop["again"] = cop.duplicated(["cid", "product"])  # bought in an earlier order of this customer
        reorders = cop.groupby(["cid", "order"])["again"].any().groupby(level="cid").sum()
        reorders = reorders.reindex(ids, fill_value=0).astype("float64")
        n_products = cop.groupby("cid")["product"].nunique().reindex(ids, fill_value=0)
    else:
        reorders = pd.Series(np.nan, index=ids)
        n_products = pd.Series(0, index=ids)

    # weekday and hour band of each order (orders counted, not lines)
    weekday = _mode(orders["cid"], pd.Series(np.asarray(WEEKDAYS, dtype=object)[orders["ots"].dt.day_of_week]),
                    None, list(WEEKDAYS)).reindex(ids)
    band_names = [b for b, _ in config.hour_bands]
    starts = np.array([h for _, h in config.hour_bands])
    band_idx = np.searchsorted(starts, orders["ots"].dt.hour.to_numpy(), side="right") - 1
    hour_band = _mode(orders["cid"], pd.Series(np.asarray(band_names, dtype=object)[band_idx]), None,
                      band_names).reindex(ids)

    region = pd.Series(UNKNOWN, index=ids, dtype=object)
    if "region" in sub.columns:
        reg = sub["region"].astype("string").str.strip()
        ok = reg.notna() & (reg != "")
        if ok.any():
            region = _mode(d.loc[ok.to_numpy(), "cid"], reg[ok].astype(str), None, None).reindex(ids).fillna(UNKNOWN)

    shares: dict[str, pd.Series] = {}
    categories: tuple[str, ...] = ()
    fav = pd.Series(UNKNOWN, index=ids, dtype=object)
    if category is not None:
        cat_buy = pd.Series(category.to_numpy(dtype=object)[~is_return], index=buy.index)
        if report.categories_from == "description keywords":
            categories = tuple(dict.fromkeys([n for n, _ in config.category_keywords]
                                             + [config.other_category, config.fee_category]))
            report.uncategorised_lines = int((cat_buy == config.other_category).sum())
        else:
            categories = tuple(sorted(cat_buy.unique().tolist()))
        by_cat = (buy.assign(cat=cat_buy).groupby(["cid", "cat"])["value"].sum().unstack("cat")
                  .reindex(index=ids, columns=list(categories)).fillna(0.0))
        pos_gross = gross.where(gross > 0)
        for cat in categories:
            shares[f"share_{_slug(cat)}"] = (by_cat[cat] / pos_gross).fillna(0.0)
        if len(buy):
            fav = _mode(buy["cid"], cat_buy, buy["value"], sorted(categories)).reindex(ids).fillna(UNKNOWN)

    tenure_days = (as_of_date - first.dt.normalize()).dt.days.astype("float64")
    recency = (as_of_date - last.dt.normalize()).dt.days.astype("float64")
    orders_f = n_orders.astype("float64").where(has_orders)
    out = pd.DataFrame(index=ids)
    # float NaN, not the cleaner's Int64 <NA>: an all-<NA> Int64 column breaks code that takes
    # float(mean) of a numeric column (audience profiles); the values are the same (all missing)
    out["age"] = np.nan
    out["gender"] = pd.Categorical([UNKNOWN] * len(ids))
    out["income"] = np.nan
    out["tenure_months"] = np.floor(tenure_days / DAYS_PER_MONTH).astype("Int64")
    out["total_orders"] = n_orders.astype("Int64")
    out["days_since_last_purchase"] = recency
    out["never_purchased"] = ~has_orders.to_numpy()
    out["pct_reordered"] = (reorders / orders_f).astype("float64")
    out["avg_items_per_order"] = (units / orders_f).astype("float64")
    out["avg_ticket"] = (total / orders_f).astype("float64")
    out["region"] = pd.Categorical(region.to_numpy(dtype=object))
    out["fav_category"] = pd.Categorical(fav.to_numpy(dtype=object))
    out["signup_channel"] = pd.Categorical([UNKNOWN] * len(ids))
    out["signup_date"] = first.dt.normalize().astype("datetime64[ns]")
    out["total_spent"] = total.astype("float64")
    out["vip_score"] = np.nan
    out["vip_flag"] = pd.array(np.zeros(len(ids), dtype=int), dtype="Int64")
    out["promo_channel"] = pd.Categorical(["unknown"] * len(ids))
    out["promo_level"] = np.nan
    out["notes"] = pd.array([pd.NA] * len(ids), dtype="string")
    out["first_purchase"] = first.astype("datetime64[ns]")
    out["last_purchase"] = last.astype("datetime64[ns]")
    out["tenure_days"] = tenure_days
    out["gross_spent"] = gross.astype("float64")
    out["returned_spent"] = returned.astype("float64")
    out["return_lines"] = ret.groupby("cid").size().reindex(ids, fill_value=0).astype("int64")
    out["cancelled_orders"] = (d.loc[cancelled, ["cid", "order"]].drop_duplicates().groupby("cid").size()
                               .reindex(ids, fill_value=0).astype("int64"))
    out["n_products"] = n_products.astype("int64")
    out["preferred_weekday"] = pd.Categorical(weekday.to_numpy(dtype=object), categories=list(WEEKDAYS))
    out["hour_band"] = pd.Categorical(hour_band.to_numpy(dtype=object), categories=band_names)
    for name, s in shares.items():
        out[name] = s.to_numpy(dtype="float64")
    out = out.reset_index()
    out["customer_id"] = out["customer_id"].astype("str")
    return TransactionsResult(customers=out, report=report, categories=categories)
