"""The truth: one clean row per customer, drawn from the segments (deterministic by seed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from lookalike.errors import ParameterError
from lookalike.synth._arrays import STR, ascii_lower, categorical, join, mix, objects, phi, strs, zfill
from lookalike.synth.segments import SEGMENTS, segment_arrays
from lookalike.synth.vocabulary import (
    CATEGORIES,
    CHANNELS,
    CONTACT_COLUMNS,
    FEMALE_NAMES,
    GENDERS,
    LAST_NAMES,
    MALE_NAMES,
    NOTES,
    PROMO_CHANNELS,
    REFERENCE_DATE,
    REGIONS,
    TRUTH_COLUMNS,
    ZIP_PREFIXES,
)

__all__ = ["sample_customers"]


def check_n(n: Any, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"{name} must be a positive integer number of customers, got {n!r}")
    return int(n)


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def id_width(n: int) -> int:
    return max(6, len(str(n)))


def _sample_contact(rng: np.random.Generator, gender: np.ndarray, region: np.ndarray, promo: np.ndarray,
                    number: np.ndarray) -> dict[str, np.ndarray]:
    """Fictional contact and consent columns (drawn last, so skipping them changes nothing else)."""
    n = number.shape[0]
    # names follow gender; e-mails use the reserved example.com / example.org domains
    female = np.array(FEMALE_NAMES, dtype=STR)
    male = np.array(MALE_NAMES, dtype=STR)
    fi = rng.integers(0, len(FEMALE_NAMES), size=n)
    use_female = np.where(gender >= 2, rng.random(n) < 0.5, gender == 0)
    first = np.where(use_female, female[fi], male[fi])
    first_ascii = np.where(use_female, ascii_lower(FEMALE_NAMES)[fi], ascii_lower(MALE_NAMES)[fi])
    li = rng.integers(0, len(LAST_NAMES), size=n)
    last = np.array(LAST_NAMES, dtype=STR)[li]
    domain = np.where(rng.random(n) < 0.7, "@example.com", "@example.org")
    email = objects(join(first_ascii, ".", ascii_lower(LAST_NAMES)[li], ".", strs(number), domain))
    email[rng.random(n) < 0.04] = None
    phone = objects(join("+346", zfill(rng.integers(0, 10**8, size=n), 8)))
    phone[rng.random(n) < 0.06] = None
    zi = (rng.random(n) * 5).astype(np.int64)
    prefix = np.array([ZIP_PREFIXES[r] for r in REGIONS], dtype=STR)[region, zi]
    zips = join(prefix, zfill(rng.integers(0, 1000, size=n), 3))

    # consent (true/false/unknown) follows the stated preference: the preferred channel is
    # mostly consented, "none" (opted out) mostly refused
    consent_names = np.array(("true", "false", "unknown"), dtype=STR)
    consents = {}
    opted_out = (promo == PROMO_CHANNELS.index("none"))[:, None]
    for channel_name in ("email", "sms", "push"):
        preferred = (promo == PROMO_CHANNELS.index(channel_name))[:, None]
        p = np.where(preferred, [0.92, 0.03, 0.05], np.where(opted_out, [0.05, 0.85, 0.10], [0.55, 0.25, 0.20]))
        consents[f"consent_{channel_name}"] = consent_names[categorical(rng, p)]
    consents["consent_ads"] = consent_names[categorical(rng, np.tile([0.5, 0.3, 0.2], (n, 1)))]

    return {
        "email": email,
        "phone": phone,
        "first_name": objects(first),
        "last_name": objects(last),
        "country": np.full(n, "ES", dtype=object),
        "zip": objects(zips),
        **{k: objects(v) for k, v in consents.items()},
    }


def sample_arrays(n: int, seed: int, chunk: int, start: int, width: int, contact: bool = True) -> dict[str, np.ndarray]:
    """Truth arrays for customers ``start + 1 .. start + n`` (chunk ``chunk`` of seed ``seed``).

    Text columns are object arrays with ``None`` for missing values. Without ``contact``
    the contact/consent columns are left out (the other columns are the same)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, chunk, 0]))
    P = segment_arrays(SEGMENTS)
    seg = rng.choice(len(SEGMENTS), size=n, p=P["share"] / P["share"].sum())
    z = rng.standard_normal(n)  # latent engagement, shared by the behaviour columns

    a_mean, a_sd, a_lo, a_hi = P["age"][seg].T
    age_z = mix(rng, z, 0.25)
    age = np.clip(np.rint(a_mean + a_sd * age_z), a_lo, a_hi).astype(np.int64)

    inc_med, inc_max = P["income"][seg].T
    inc_noise = 0.35 * z + 0.30 * age_z + 0.887 * rng.standard_normal(n)
    income = np.clip(np.round(inc_med * np.exp(0.38 * inc_noise), -1), 5_000, inc_max)

    o_lo, o_hi = P["orders"][seg].T
    orders = np.minimum(o_lo + np.floor(phi(mix(rng, z, 0.7)) * (o_hi - o_lo + 1)), o_hi).astype(np.int64)

    t_lo, t_hi = P["tenure"][seg].T
    tenure = np.minimum(t_lo + np.floor(phi(mix(rng, z, 0.4)) * (t_hi - t_lo + 1)), t_hi).astype(np.int64)

    r_lo, r_hi, r_skew = P["recency"][seg].T
    u = phi(mix(rng, -z, 0.6))
    recency = np.floor(r_lo + (r_hi - r_lo) * u**r_skew)
    recency = np.minimum(np.minimum(recency, tenure * 30), 364.0)
    never = rng.random(n) < P["never"][seg]
    recency[never] = np.nan

    logit = np.log(P["reorder"][seg] / (1 - P["reorder"][seg]))
    pct = np.round(1.0 / (1.0 + np.exp(-(logit + 0.8 * mix(rng, z, 0.6)))), 3)

    ticket = P["ticket"][seg] * np.exp(0.42 * mix(rng, z, 0.45))
    items = np.clip(np.round(P["items"][seg] * np.exp(0.3 * mix(rng, z, 0.3)), 1), 1.0, 14.0)

    whole = rng.random(n) < 0.04  # customers whose lifetime spend is a whole amount
    spent = orders * ticket
    total = np.where(whole, np.round(spent), np.round(spent, 2))
    avg_ticket = total / orders

    region = categorical(rng, P["regions"][seg])
    category = categorical(rng, P["categories"][seg])
    channel = categorical(rng, P["channels"][seg])
    promo = categorical(rng, P["promos"][seg])
    level = 1 + (phi(mix(rng, z, 0.3)) > 0.35).astype(np.int64) + (phi(mix(rng, z, 0.3)) > 0.72)

    days_ago = np.floor(tenure * 30.4375 + rng.random(n) * 30.0).astype(np.int64)
    signup = REFERENCE_DATE - days_ago.astype("timedelta64[D]")

    vip = rng.random(n) < P["vip"][seg]
    value = (
        0.45 * (np.log(total) - 6.3) / 1.1
        + 0.25 * (orders - 11) / 7
        + 0.20 * (pct - 0.4) / 0.2
        - 0.25 * (np.nan_to_num(recency, nan=364.0) - 90) / 90
    )
    score = phi(1.3 * value - 1.2) + 0.04 * rng.standard_normal(n)
    vip_score_draw = 0.80 + 0.19 * rng.random(n) ** 0.7
    vip_high = rng.random(n) < 0.9  # most VIPs score >= 0.8; the label is a business decision
    score = np.where(vip & vip_high, np.maximum(score, vip_score_draw), score)
    vip_score = np.round(np.clip(score, 0.0, 1.0), 2)

    gender = rng.choice(4, size=n, p=[0.49, 0.45, 0.02, 0.04])
    has_note = rng.random(n) < 0.4
    note_idx = rng.integers(0, len(NOTES), size=n)

    # A segment's cooling share of buyers are late for their next purchase by 1.6-3 of their own
    # purchase intervals, not lapsed yet (what the retention playbook must find). Drawn last so
    # that every other column keeps its values for a given seed; a share of 0 selects nobody.
    cooling = ~never & (rng.random(n) < P["cooling"][seg])
    interval = 30.44 * tenure / orders
    late = np.floor(interval * (1.6 + 1.4 * rng.random(n)))
    recency = np.where(cooling, np.minimum(np.minimum(late, tenure * 30), 270.0), recency)

    number = np.arange(start + 1, start + n + 1)
    seg_names = np.array([s.name for s in SEGMENTS], dtype=object)
    segment = seg_names[seg]
    data = {
        "customer_id": objects(join("C", zfill(number, width))),
        "segment": segment,
        "vip_like": P["vip_like"][seg] & ~vip,
        "age": age,
        "gender": np.array(GENDERS, dtype=object)[gender],
        "income": income.astype(float),
        "tenure_months": tenure,
        "total_orders": orders,
        "days_since_last_purchase": recency,
        "never_purchased": never,
        "pct_reordered": pct,
        "avg_items_per_order": items,
        "avg_ticket": avg_ticket,
        "region": np.array(REGIONS, dtype=object)[region],
        "fav_category": np.array(CATEGORIES, dtype=object)[category],
        "signup_channel": np.array(CHANNELS, dtype=object)[channel],
        "signup_date": signup.astype("datetime64[ns]"),
        "total_spent": total,
        "vip_score": vip_score,
        "vip_flag": vip.astype(np.int64),
        "promo_channel": np.array(PROMO_CHANNELS, dtype=object)[promo],
        "promo_level": level.astype(np.int64),
        "notes": np.where(has_note, np.array(NOTES, dtype=object)[note_idx], None),
    }
    if contact:
        data |= _sample_contact(rng, gender, region, promo, number)
    return data


TEXT_COLUMNS = ("customer_id", "segment", "gender", "region", "fav_category", "signup_channel",
                 "promo_channel", "notes", *CONTACT_COLUMNS)


def truth_frame(arrays: Mapping[str, np.ndarray]) -> pd.DataFrame:
    frame = pd.DataFrame({c: arrays[c] for c in TRUTH_COLUMNS}, columns=list(TRUTH_COLUMNS))
    for col in TEXT_COLUMNS:
        frame[col] = frame[col].astype("str")
    return frame


def truth_arrays(frame: pd.DataFrame, contact: bool) -> dict[str, np.ndarray]:
    """The inverse of :func:`truth_frame`, for truth frames given by users."""
    needed = [c for c in TRUTH_COLUMNS if contact or c not in CONTACT_COLUMNS]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"truth is missing column(s) {', '.join(missing)}; pass a frame made by sample_customers()"
        )
    out = {}
    for c in needed:
        if c in TEXT_COLUMNS:
            out[c] = frame[c].to_numpy(dtype=object, na_value=None)
        elif c == "signup_date":
            out[c] = pd.to_datetime(frame[c]).to_numpy(dtype="datetime64[ns]")
        else:
            out[c] = frame[c].to_numpy()
    return out


def sample_customers(n: int, seed: int = 1) -> pd.DataFrame:
    """Draw the clean ground truth: one row per customer, columns :data:`TRUTH_COLUMNS`.

    ``customer_id`` is ``"C"`` + the customer number zero-padded to
    ``max(6, digits of n)``; ``segment`` is the :data:`SEGMENTS` name; ``vip_like`` is
    True for high_value_loyal customers without the VIP label. The other columns
    follow the clean schema (contract section 2): ``days_since_last_purchase`` is NaN
    exactly where ``never_purchased``; ``total_spent`` is rounded to cents (about 4%
    are whole amounts) and ``avg_ticket = total_spent / total_orders``; ``signup_date``
    lies ``tenure_months`` before :data:`REFERENCE_DATE`; ``notes`` is NaN when empty.
    Contact columns are fictional (``example.com``/``example.org`` e-mails, random
    ``+346…`` mobiles in E.164); ``email``/``phone`` are NaN for a few customers and
    consent columns hold ``"true"``/``"false"``/``"unknown"``.

    Deterministic: the same ``n`` and ``seed`` give an identical frame.

    Example:
        >>> truth = sample_customers(1000, seed=3)
        >>> truth["customer_id"].iloc[0], len(truth)
        ('C000001', 1000)
        >>> bool((truth.loc[truth.never_purchased, "days_since_last_purchase"].isna()).all())
        True
    """
    n = check_n(n)
    seed = check_seed(seed)
    return truth_frame(sample_arrays(n, seed, 0, 0, id_width(n)))
