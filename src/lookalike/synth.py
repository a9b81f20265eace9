"""Synthetic CRM exports: the demo's default data and the ground truth of the tests.

The generator has two layers, both vectorized and deterministic by seed:

1. :func:`sample_customers` draws the *truth*: one clean row per customer, from a
   mixture of behavioural :data:`SEGMENTS`, with every column of the clean schema
   (contract section 2) plus ``segment``, ``vip_like`` and the optional
   contact/consent columns.
2. :func:`render_dirty` renders a truth table as a raw CRM export: the 22 contract
   columns of section 1 (plus contact/consent columns on request), with the kinds
   of dirt real exports carry, duplicated customers, the truth row behind every
   raw row and a mask saying which cells a contract-following parser can recover.

:func:`generate` does both; :func:`write_synthetic` streams exports of any size to
``.parquet``, ``.csv`` or ``.xlsx`` chunk by chunk.

Randomness. Nothing global: chunk ``i`` of seed ``s`` draws its customers from
``SeedSequence([s, i, 0])``, renders raw column ``j`` from its own stream
``SeedSequence([s, i, 1, j])`` (duplicate rows: ``[s, i, 2, j]``; which customers
are duplicated and where they go: ``[s, i, 3]``). The public one-shot functions
are chunk 0. Every stream draws the same numbers whatever the options, so
``unrecoverable=False`` changes exactly the cells that were unrecoverable,
``currency="EUR"`` only the money-like columns, and ``contact=True`` only adds
columns.

Example:
    >>> import lookalike.synth as synth
    >>> data = synth.generate(200, seed=7)
    >>> list(data.raw.columns) == list(synth.RAW_COLUMNS)
    True
    >>> bool(data.customers["customer_id"].is_unique)
    True
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from lookalike.errors import ParameterError, UnsupportedFormatError

__all__ = [
    "CATEGORIES",
    "CATEGORY_VARIANTS",
    "CHANNELS",
    "CHANNEL_VARIANTS",
    "CONSENT_VARIANTS",
    "CONTACT_COLUMNS",
    "GENDERS",
    "GENDER_VARIANTS",
    "NEVER_CODES",
    "NOTES",
    "PROMO_CHANNELS",
    "RAW_COLUMNS",
    "REFERENCE_DATE",
    "REGIONS",
    "REGION_ENGLISH",
    "REGION_TYPOS",
    "SEGMENTS",
    "TRUTH_COLUMNS",
    "XLSX_MAX_ROWS",
    "Segment",
    "SynthData",
    "generate",
    "render_dirty",
    "sample_customers",
    "write_synthetic",
]

# --------------------------------------------------------------------------------------
# Vocabulary of the contract
# --------------------------------------------------------------------------------------

RAW_COLUMNS: tuple[str, ...] = (
    "customer_id", "age", "age_str_dirty", "gender", "income", "tenure_months",
    "total_orders", "days_since_last_purchase", "days_since_last_purchase_dirty",
    "pct_reordered", "pct_reordered_dirty", "avg_items_per_order", "region", "region_dirty",
    "fav_category", "signup_channel", "signup_date_dirty", "total_spent_dirty", "vip_score",
    "vip_flag", "notes", "json_prefs",
)
"""The 22 columns of the reference export, in contract order (section 1)."""

CONTACT_COLUMNS: tuple[str, ...] = (
    "email", "phone", "first_name", "last_name", "country", "zip",
    "consent_email", "consent_sms", "consent_push", "consent_ads",
)
"""Optional contact and consent columns, appended to the raw export when ``contact=True``."""

TRUTH_COLUMNS: tuple[str, ...] = (
    "customer_id", "segment", "vip_like", "age", "gender", "income", "tenure_months",
    "total_orders", "days_since_last_purchase", "never_purchased", "pct_reordered",
    "avg_items_per_order", "avg_ticket", "region", "fav_category", "signup_channel",
    "signup_date", "total_spent", "vip_score", "vip_flag", "promo_channel", "promo_level",
    "notes", *CONTACT_COLUMNS,
)
"""Columns of :func:`sample_customers`: the clean schema (section 2) plus truth extras."""

REGIONS: tuple[str, ...] = ("Norte", "Sur", "Este", "Oeste", "Centro")
CATEGORIES: tuple[str, ...] = ("Kids", "Grocery", "Sports", "Beauty", "Electronics", "Fashion", "Home")
CHANNELS: tuple[str, ...] = ("Mobile", "Web", "Store", "Referral", "Social")
GENDERS: tuple[str, ...] = ("F", "M", "Other", "Unknown")
PROMO_CHANNELS: tuple[str, ...] = ("push", "sms", "email", "none")

REFERENCE_DATE = np.datetime64("2025-06-30", "D")
"""The export date: ``signup_date`` is this date minus ``tenure_months`` (and a few days)."""

XLSX_MAX_ROWS = 1_048_575
"""Data rows an .xlsx sheet holds (1,048,576 rows minus the header)."""

# --------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One behavioural customer segment of the synthetic base.

    Numeric behaviour is drawn per customer around the segment's values and tied
    together by a latent *engagement* factor, so that within a segment more orders
    go with a higher ticket, income and re-order ratio and a shorter recency.

    Attributes:
        name: segment key (``segment`` column of the truth).
        share: expected share of customers (the shares of :data:`SEGMENTS` sum to 1).
        description: one line for humans.
        age: ``(mean, sd, min, max)`` in years.
        income: ``(median, max)`` yearly income; log-normal, never below 5,000.
        orders: ``(min, max)`` lifetime orders, inclusive.
        tenure: ``(min, max)`` months since signup, inclusive.
        recency: ``(min, max, skew)``: days since last purchase are
            ``min + (max - min) * u ** skew``; ``skew > 1`` pulls towards ``min``.
        reorder: typical share of orders that were re-orders.
        ticket: median average ticket (log-normal, in the export's currency).
        items: median items per order.
        never: probability of no recorded purchase (recency "never").
        vip: probability of carrying the business VIP label (``vip_flag``).
        categories: probabilities over :data:`CATEGORIES` (favourite category).
        channels: probabilities over :data:`CHANNELS` (signup channel).
        regions: probabilities over :data:`REGIONS`.
        promos: probabilities over :data:`PROMO_CHANNELS` (stated contact preference).
    """

    name: str
    share: float
    description: str
    age: tuple[float, float, int, int]
    income: tuple[float, float]
    orders: tuple[int, int]
    tenure: tuple[int, int]
    recency: tuple[int, int, float]
    reorder: float
    ticket: float
    items: float
    never: float
    vip: float
    categories: tuple[float, ...]
    channels: tuple[float, ...]
    regions: tuple[float, ...]
    promos: tuple[float, ...]


SEGMENTS: tuple[Segment, ...] = (
    Segment(
        "high_value_loyal", 0.03,
        "older, high income, many recent orders with a high ticket; Electronics/Home/Fashion; Store/Web",
        age=(50, 7, 35, 65), income=(62_000, 98_000), orders=(20, 35), tenure=(36, 119),
        recency=(0, 45, 1.6), reorder=0.72, ticket=165.0, items=5.0, never=0.0, vip=0.18,
        categories=(0.04, 0.06, 0.08, 0.07, 0.32, 0.22, 0.21),
        channels=(0.12, 0.38, 0.40, 0.07, 0.03),
        regions=(0.20, 0.16, 0.22, 0.14, 0.28),
        promos=(0.30, 0.15, 0.50, 0.05),
    ),
    Segment(
        "loyal", 0.15,
        "frequent, recent buyers with a good ticket; the rest of the VIP label comes from here",
        age=(45, 10, 22, 74), income=(46_000, 85_000), orders=(12, 28), tenure=(18, 119),
        recency=(0, 90, 1.5), reorder=0.58, ticket=92.0, items=4.2, never=0.002, vip=0.004,
        categories=(0.08, 0.14, 0.12, 0.10, 0.20, 0.18, 0.18),
        channels=(0.25, 0.33, 0.27, 0.10, 0.05),
        regions=(0.21, 0.19, 0.21, 0.16, 0.23),
        promos=(0.38, 0.17, 0.38, 0.07),
    ),
    Segment(
        "regular", 0.35,
        "the broad middle: a handful of orders a year, average ticket",
        age=(40, 12, 18, 74), income=(33_000, 85_000), orders=(5, 16), tenure=(6, 110),
        recency=(0, 180, 1.4), reorder=0.42, ticket=58.0, items=3.5, never=0.008, vip=0.0,
        categories=(0.14, 0.20, 0.14, 0.13, 0.12, 0.14, 0.13),
        channels=(0.35, 0.28, 0.20, 0.09, 0.08),
        regions=(0.20, 0.20, 0.20, 0.20, 0.20),
        promos=(0.40, 0.20, 0.32, 0.08),
    ),
    Segment(
        "occasional", 0.22,
        "few orders, long gaps, few re-orders",
        age=(38, 13, 18, 74), income=(28_000, 85_000), orders=(2, 7), tenure=(3, 100),
        recency=(20, 364, 1.0), reorder=0.20, ticket=52.0, items=2.6, never=0.025, vip=0.0,
        categories=(0.13, 0.16, 0.15, 0.15, 0.12, 0.16, 0.13),
        channels=(0.33, 0.27, 0.17, 0.08, 0.15),
        regions=(0.19, 0.21, 0.19, 0.22, 0.19),
        promos=(0.36, 0.21, 0.33, 0.10),
    ),
    Segment(
        "discount_hunter", 0.12,
        "many small orders with a low ticket; Grocery/Kids; Mobile",
        age=(34, 10, 18, 68), income=(21_000, 85_000), orders=(10, 30), tenure=(6, 90),
        recency=(0, 100, 1.6), reorder=0.48, ticket=21.0, items=2.0, never=0.005, vip=0.0,
        categories=(0.30, 0.38, 0.07, 0.08, 0.04, 0.07, 0.06),
        channels=(0.62, 0.16, 0.06, 0.06, 0.10),
        regions=(0.18, 0.25, 0.20, 0.22, 0.15),
        promos=(0.55, 0.25, 0.15, 0.05),
    ),
    Segment(
        "at_risk", 0.10,
        "used to buy, now silent: long recency, falling activity",
        age=(43, 12, 18, 74), income=(31_000, 85_000), orders=(4, 14), tenure=(18, 119),
        recency=(150, 364, 0.8), reorder=0.25, ticket=57.0, items=3.0, never=0.04, vip=0.0,
        categories=(0.14, 0.18, 0.14, 0.13, 0.14, 0.14, 0.13),
        channels=(0.28, 0.30, 0.24, 0.10, 0.08),
        regions=(0.20, 0.20, 0.20, 0.20, 0.20),
        promos=(0.31, 0.19, 0.36, 0.14),
    ),
    Segment(
        "new", 0.03,
        "joined in the last months: short tenure, few orders",
        age=(31, 9, 18, 62), income=(27_000, 85_000), orders=(2, 4), tenure=(1, 5),
        recency=(0, 60, 1.2), reorder=0.10, ticket=45.0, items=2.6, never=0.08, vip=0.0,
        categories=(0.15, 0.16, 0.16, 0.15, 0.13, 0.14, 0.11),
        channels=(0.40, 0.20, 0.08, 0.12, 0.20),
        regions=(0.20, 0.20, 0.20, 0.20, 0.20),
        promos=(0.45, 0.15, 0.32, 0.08),
    ),
)
"""The customer segments: share and behaviour (see :class:`Segment`).

Shares: high_value_loyal 3%, loyal 15%, regular 35%, occasional 22%,
discount_hunter 12%, at_risk 10%, new 3%. VIP labels (about 0.6% of all customers)
come from high_value_loyal (expected 90%) and loyal; the unlabelled
high_value_loyal customers are the ``vip_like`` audience a lookalike model should find.
"""

# --------------------------------------------------------------------------------------
# Texts and contact data (all fictional)
# --------------------------------------------------------------------------------------

NOTES: tuple[str, ...] = (
    "Prefiere comunicación por WhatsApp",
    "Cliente pide factura con NIF",
    "Llamar solo por la tarde",
    "No enviar publicidad en papel",
    "Prefiere recoger en tienda",
    "Reclamación resuelta, pedido devuelto",
    "Interesado en productos ecológicos",
    "Cambio de dirección, verificar código postal",
    "Pregunta por el programa de puntos",
    "Devolvió un pedido por talla",
    "Pidió hablar con un supervisor; resuelto",
    "Prefiere entregas los sábados",
    "Alergia al látex, no enviar muestras",
    "Compra regalos en Navidad",
    'Quiere recibir el "newsletter" mensual',
    "Contactar en catalán",
    "Pago con tarjeta regalo, sin incidencias",
    "Problema con la app, resuelto por chat",
    "Pregunta siempre por cupones de descuento",
    "Se quejó del retraso del último envío",
)
"""Service-agent notes (Spanish); about 60% of customers have none."""

_FEMALE_NAMES = (
    "María", "Lucía", "Carmen", "Ana", "Laura", "Marta", "Sofía", "Paula", "Elena", "Isabel",
    "Cristina", "Sara", "Raquel", "Beatriz", "Nuria", "Pilar", "Andrea", "Irene", "Rocío", "Alba",
)
_MALE_NAMES = (
    "José", "Antonio", "Manuel", "Francisco", "David", "Javier", "Daniel", "Carlos", "Miguel",
    "Alejandro", "Pablo", "Sergio", "Jorge", "Alberto", "Luis", "Álvaro", "Adrián", "Raúl",
    "Iván", "Rubén",
)
_LAST_NAMES = (
    "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
    "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
    "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
    "Gil", "Ramírez", "Serrano", "Blanco", "Molina", "Morales", "Suárez", "Ortega", "Delgado",
    "Castro", "Ortiz", "Rubio", "Marín", "Sanz", "Núñez", "Iglesias", "Medina", "Garrido",
    "Cortés", "Castillo", "Santos", "Lozano", "Guerrero", "Cano", "Prieto",
)
# Two-digit province prefixes of Spanish postal codes, by region.
_ZIP_PREFIXES: Mapping[str, tuple[str, ...]] = {
    "Norte": ("48", "33", "39", "20", "15"),
    "Sur": ("41", "29", "18", "14", "11"),
    "Este": ("08", "46", "03", "43", "07"),
    "Oeste": ("06", "10", "36", "37", "49"),
    "Centro": ("28", "45", "47", "19", "05"),
}

# --------------------------------------------------------------------------------------
# Dirt vocabulary (raw spellings of canonical values)
# --------------------------------------------------------------------------------------

GENDER_VARIANTS: Mapping[str, tuple[Any, ...]] = {
    "F": ("female", "Mujer", "f", "F ", "FEMALE", "Femenino"),
    "M": ("male", "Hombre", "m", " M ", "MALE", "Masculino"),
    "Other": ("other", "Otro", "OTHER"),
    "Unknown": ("unknown", "Desconocido", "", None),
}
"""Raw spellings of each gender (a blank reads as Unknown, so it is only used for Unknown)."""

REGION_TYPOS: Mapping[str, tuple[str, ...]] = {
    "Norte": ("nortee", " nortee ", "Nrte", "Norrte", "Nortw", "NORTTE"),
    "Sur": ("surr", "Sud", "Suur", "Sut", "SURR"),
    "Este": ("Estee", "Ete", "Esre", "Eate", "ESTEE"),
    "Oeste": ("Oestee", "Oest", "Oexte", "Oestte", "oestee "),
    "Centro": ("Centroo", "Cntro", "Cetro", "Centr", "Cemtro", "centro."),
}
"""Region typos: each is at most one edit (insert/delete/substitute) from its region after lower-casing
and stripping spaces and punctuation, and at least two edits from every other region."""

REGION_ENGLISH: Mapping[str, tuple[str, ...]] = {
    "Norte": ("North",), "Sur": ("South",), "Este": ("East",), "Oeste": ("West",),
    "Centro": ("Centre", "Center"),
}

CATEGORY_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "Kids": ("kids", "KIDS", " Kids ", "Niños", "ninos"),
    "Grocery": ("grocery", "GROCERY", "Grocery ", "Alimentación", "alimentacion"),
    "Sports": ("sports", "SPORTS", " Sports", "Deportes", "deportes"),
    "Beauty": ("beauty", "BEAUTY", "Beauty ", "Belleza", "belleza"),
    "Electronics": ("electronics", "ELECTRONICS", " Electronics", "Electrónica", "electronica"),
    "Fashion": ("fashion", "FASHION", "Fashion ", "Moda", "moda"),
    "Home": ("home", "HOME", " Home ", "Hogar", "hogar"),
}

CHANNEL_VARIANTS: Mapping[str, tuple[str, ...]] = {
    "Mobile": ("mobile", "MOBILE", " Mobile", "App", "Móvil"),
    "Web": ("web", "WEB ", "Web ", "Online", "online"),
    "Store": ("store", "STORE", " Store", "Tienda", "tienda"),
    "Referral": ("referral", "REFERRAL", "Referral ", "Referido", "referido"),
    "Social": ("social", "SOCIAL", " Social", "Redes sociales", "redes sociales"),
}

NEVER_CODES: tuple[Any, ...] = ("Never", "NEVER", "NUNCA", "nunca", 9999, "9999", 99999, "99999", -1, "-1")
"""Raw spellings of "never purchased" besides the canonical ``"never"``."""

CONSENT_VARIANTS: Mapping[str, tuple[Any, ...]] = {
    "true": ("TRUE", "True", "yes", "sí", "1", True),
    "false": ("FALSE", "False", "no", "0", False),
    "unknown": ("", None, "desconocido", "UNKNOWN"),
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_ES = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic")
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")

_UNREC_SHARE = 0.07
"""Unrecoverable cells per column, as a share of ``dirt_rate`` (about 1% of rows at 0.15)."""

_STREAMS: tuple[str, ...] = (*RAW_COLUMNS, *CONTACT_COLUMNS, "_duplicate_blanks")

_S = np.dtypes.StringDType()

# --------------------------------------------------------------------------------------
# Small vectorized helpers
# --------------------------------------------------------------------------------------


def _phi(x: np.ndarray) -> np.ndarray:
    """Normal CDF, logistic approximation (max error < 0.01): maps scores to (0, 1)."""
    return 1.0 / (1.0 + np.exp(-1.702 * x))


def _mix(rng: np.random.Generator, z: np.ndarray, rho: float) -> np.ndarray:
    """A standard normal draw with correlation ``rho`` to the latent factor ``z``."""
    return rho * z + np.sqrt(1.0 - rho * rho) * rng.standard_normal(z.shape[0])


def _str(a: Any) -> np.ndarray:
    return np.asarray(a).astype(_S)


def _join(*parts: Any) -> np.ndarray:
    """Element-wise string concatenation of arrays and scalars."""
    out = parts[0] if isinstance(parts[0], np.ndarray) else np.asarray(parts[0], dtype=_S)
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def _z(a: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(_str(a), width)


def _grouped(ip: np.ndarray, sep: str) -> np.ndarray:
    """Integers with thousands separators: 1234567 -> '1,234,567'."""
    ip = np.asarray(ip, dtype=np.int64)
    out = _str(ip)
    for k in (1, 2, 3):
        big = ip >= 1000**k
        if not big.any():
            break
        head = ip[big] // 1000**k
        parts = [_str(head)]
        for j in range(k - 1, -1, -1):
            parts += [sep, _z((ip[big] // 1000**j) % 1000, 3)]
        out[big] = _join(*parts)
    return out


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _pick(values: np.ndarray, table: Mapping[str, tuple[Any, ...]], r: np.ndarray) -> np.ndarray:
    """For each row, one of ``table[value]`` chosen by the uniform draw ``r``."""
    out = np.empty(values.shape[0], dtype=object)
    for key, options in table.items():
        m = values == key
        if m.any():
            opts = np.empty(len(options), dtype=object)
            opts[:] = options
            out[m] = opts[(r[m] * len(options)).astype(np.int64)]
    return out


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row from a row-wise probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _ascii_lower(names: tuple[str, ...]) -> np.ndarray:
    folded = [unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower() for s in names]
    return np.array(folded, dtype=_S)


def _draw(
    rng: np.random.Generator,
    n: int,
    rate: float,
    forms: Mapping[str, float],
    unrec_forms: tuple[str, ...] = (),
    *,
    unrecoverable: bool = True,
    unrec_rate: float | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Form name per cell: "canonical", one of ``forms`` (weighted) on about ``rate`` of
    the cells, or one of ``unrec_forms`` on about ``rate * _UNREC_SHARE`` (only when
    ``unrecoverable``; only on ``eligible`` cells if given). The same random numbers are
    drawn whatever the options."""
    names = np.array(("canonical", *forms, *unrec_forms))
    w = np.fromiter(forms.values(), dtype=float)
    dirty = rng.random(n) < rate
    pick = rng.choice(w.size, size=n, p=w / w.sum()) + 1
    bad = rng.random(n) < (rate * _UNREC_SHARE if unrec_rate is None else unrec_rate)
    bad_pick = rng.integers(0, max(len(unrec_forms), 1), size=n) + 1 + w.size
    code = np.where(dirty, pick, 0)
    if unrecoverable and unrec_forms:
        code = np.where(bad if eligible is None else bad & eligible, bad_pick, code)
    return names[code]


def _set(out: np.ndarray, kind: np.ndarray, name: str, render: Callable[[np.ndarray], Any]) -> None:
    """Fill the cells whose form is ``name`` with ``render(mask)``."""
    m = kind == name
    if m.any():
        out[m] = render(m)


class _Lazy:
    """Format only the cells asked for: ``_Lazy(fn, a, b)[mask] == fn(a[mask], b[mask])``."""

    def __init__(self, fn: Callable[..., np.ndarray], *arrays: np.ndarray):
        self.fn, self.arrays = fn, arrays

    def __getitem__(self, mask: np.ndarray) -> np.ndarray:
        return self.fn(*(a[mask] for a in self.arrays))


def _objects(a: Any) -> np.ndarray:
    out = np.empty(len(a), dtype=object)
    out[:] = a
    return out


# --------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------


def _check_n(n: Any, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"{name} must be a positive integer number of customers, got {n!r}")
    return int(n)


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _id_width(n: int) -> int:
    return max(6, len(str(n)))


def _segment_arrays() -> dict[str, np.ndarray]:
    """The segment table as arrays indexed by segment number."""
    return {
        "share": np.array([s.share for s in SEGMENTS]),
        "age": np.array([s.age for s in SEGMENTS], dtype=float),
        "income": np.array([s.income for s in SEGMENTS], dtype=float),
        "orders": np.array([s.orders for s in SEGMENTS], dtype=float),
        "tenure": np.array([s.tenure for s in SEGMENTS], dtype=float),
        "recency": np.array([s.recency for s in SEGMENTS], dtype=float),
        "reorder": np.array([s.reorder for s in SEGMENTS]),
        "ticket": np.array([s.ticket for s in SEGMENTS]),
        "items": np.array([s.items for s in SEGMENTS]),
        "never": np.array([s.never for s in SEGMENTS]),
        "vip": np.array([s.vip for s in SEGMENTS]),
        "categories": np.array([s.categories for s in SEGMENTS]),
        "channels": np.array([s.channels for s in SEGMENTS]),
        "regions": np.array([s.regions for s in SEGMENTS]),
        "promos": np.array([s.promos for s in SEGMENTS]),
    }


def _sample_contact(rng: np.random.Generator, gender: np.ndarray, region: np.ndarray, promo: np.ndarray,
                    number: np.ndarray) -> dict[str, np.ndarray]:
    """Fictional contact and consent columns (drawn last, so skipping them changes nothing else)."""
    n = number.shape[0]
    # names follow gender; e-mails use the reserved example.com / example.org domains
    female = np.array(_FEMALE_NAMES, dtype=_S)
    male = np.array(_MALE_NAMES, dtype=_S)
    fi = rng.integers(0, len(_FEMALE_NAMES), size=n)
    use_female = np.where(gender >= 2, rng.random(n) < 0.5, gender == 0)
    first = np.where(use_female, female[fi], male[fi])
    first_ascii = np.where(use_female, _ascii_lower(_FEMALE_NAMES)[fi], _ascii_lower(_MALE_NAMES)[fi])
    li = rng.integers(0, len(_LAST_NAMES), size=n)
    last = np.array(_LAST_NAMES, dtype=_S)[li]
    domain = np.where(rng.random(n) < 0.7, "@example.com", "@example.org")
    email = _objects(_join(first_ascii, ".", _ascii_lower(_LAST_NAMES)[li], ".", _str(number), domain))
    email[rng.random(n) < 0.04] = None
    phone = _objects(_join("+346", _z(rng.integers(0, 10**8, size=n), 8)))
    phone[rng.random(n) < 0.06] = None
    zi = (rng.random(n) * 5).astype(np.int64)
    prefix = np.array([_ZIP_PREFIXES[r] for r in REGIONS], dtype=_S)[region, zi]
    zips = _join(prefix, _z(rng.integers(0, 1000, size=n), 3))

    # consent (true/false/unknown) follows the stated preference: the preferred channel is
    # mostly consented, "none" (opted out) mostly refused
    consent_names = np.array(("true", "false", "unknown"), dtype=_S)
    consents = {}
    opted_out = (promo == PROMO_CHANNELS.index("none"))[:, None]
    for channel_name in ("email", "sms", "push"):
        preferred = (promo == PROMO_CHANNELS.index(channel_name))[:, None]
        p = np.where(preferred, [0.92, 0.03, 0.05], np.where(opted_out, [0.05, 0.85, 0.10], [0.55, 0.25, 0.20]))
        consents[f"consent_{channel_name}"] = consent_names[_categorical(rng, p)]
    consents["consent_ads"] = consent_names[_categorical(rng, np.tile([0.5, 0.3, 0.2], (n, 1)))]

    return {
        "email": email,
        "phone": phone,
        "first_name": _objects(first),
        "last_name": _objects(last),
        "country": np.full(n, "ES", dtype=object),
        "zip": _objects(zips),
        **{k: _objects(v) for k, v in consents.items()},
    }


def _sample(n: int, seed: int, chunk: int, start: int, width: int, contact: bool = True) -> dict[str, np.ndarray]:
    """Truth arrays for customers ``start + 1 .. start + n`` (chunk ``chunk`` of seed ``seed``).

    Text columns are object arrays with ``None`` for missing values. Without ``contact``
    the contact/consent columns are left out (the other columns are the same)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, chunk, 0]))
    P = _segment_arrays()
    seg = rng.choice(len(SEGMENTS), size=n, p=P["share"] / P["share"].sum())
    z = rng.standard_normal(n)  # latent engagement, shared by the behaviour columns

    a_mean, a_sd, a_lo, a_hi = P["age"][seg].T
    age_z = _mix(rng, z, 0.25)
    age = np.clip(np.rint(a_mean + a_sd * age_z), a_lo, a_hi).astype(np.int64)

    inc_med, inc_max = P["income"][seg].T
    inc_noise = 0.35 * z + 0.30 * age_z + 0.887 * rng.standard_normal(n)
    income = np.clip(np.round(inc_med * np.exp(0.38 * inc_noise), -1), 5_000, inc_max)

    o_lo, o_hi = P["orders"][seg].T
    orders = np.minimum(o_lo + np.floor(_phi(_mix(rng, z, 0.7)) * (o_hi - o_lo + 1)), o_hi).astype(np.int64)

    t_lo, t_hi = P["tenure"][seg].T
    tenure = np.minimum(t_lo + np.floor(_phi(_mix(rng, z, 0.4)) * (t_hi - t_lo + 1)), t_hi).astype(np.int64)

    r_lo, r_hi, r_skew = P["recency"][seg].T
    u = _phi(_mix(rng, -z, 0.6))
    recency = np.floor(r_lo + (r_hi - r_lo) * u**r_skew)
    recency = np.minimum(np.minimum(recency, tenure * 30), 364.0)
    never = rng.random(n) < P["never"][seg]
    recency[never] = np.nan

    logit = np.log(P["reorder"][seg] / (1 - P["reorder"][seg]))
    pct = np.round(1.0 / (1.0 + np.exp(-(logit + 0.8 * _mix(rng, z, 0.6)))), 3)

    ticket = P["ticket"][seg] * np.exp(0.42 * _mix(rng, z, 0.45))
    items = np.clip(np.round(P["items"][seg] * np.exp(0.3 * _mix(rng, z, 0.3)), 1), 1.0, 14.0)

    whole = rng.random(n) < 0.04  # customers whose lifetime spend is a whole amount
    spent = orders * ticket
    total = np.where(whole, np.round(spent), np.round(spent, 2))
    avg_ticket = total / orders

    region = _categorical(rng, P["regions"][seg])
    category = _categorical(rng, P["categories"][seg])
    channel = _categorical(rng, P["channels"][seg])
    promo = _categorical(rng, P["promos"][seg])
    level = 1 + (_phi(_mix(rng, z, 0.3)) > 0.35).astype(np.int64) + (_phi(_mix(rng, z, 0.3)) > 0.72)

    days_ago = np.floor(tenure * 30.4375 + rng.random(n) * 30.0).astype(np.int64)
    signup = REFERENCE_DATE - days_ago.astype("timedelta64[D]")

    vip = rng.random(n) < P["vip"][seg]
    value = (
        0.45 * (np.log(total) - 6.3) / 1.1
        + 0.25 * (orders - 11) / 7
        + 0.20 * (pct - 0.4) / 0.2
        - 0.25 * (np.nan_to_num(recency, nan=364.0) - 90) / 90
    )
    score = _phi(1.3 * value - 1.2) + 0.04 * rng.standard_normal(n)
    vip_score_draw = 0.80 + 0.19 * rng.random(n) ** 0.7
    vip_high = rng.random(n) < 0.9  # most VIPs score >= 0.8; the label is a business decision
    score = np.where(vip & vip_high, np.maximum(score, vip_score_draw), score)
    vip_score = np.round(np.clip(score, 0.0, 1.0), 2)

    gender = rng.choice(4, size=n, p=[0.49, 0.45, 0.02, 0.04])
    has_note = rng.random(n) < 0.4
    note_idx = rng.integers(0, len(NOTES), size=n)

    # Some high-value customers are cooling down: late for their next purchase by 1.6-3 of their
    # own purchase intervals, not lapsed yet (what the retention playbook must find). Drawn last
    # so that every other column keeps its values for a given seed.
    cooling = (seg <= 1) & ~never & (rng.random(n) < 0.12)
    interval = 30.44 * tenure / orders
    late = np.floor(interval * (1.6 + 1.4 * rng.random(n)))
    recency = np.where(cooling, np.minimum(np.minimum(late, tenure * 30), 270.0), recency)

    number = np.arange(start + 1, start + n + 1)
    seg_names = np.array([s.name for s in SEGMENTS], dtype=object)
    segment = seg_names[seg]
    data = {
        "customer_id": _objects(_join("C", _z(number, width))),
        "segment": segment,
        "vip_like": (seg == 0) & ~vip,
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


_TEXT_COLUMNS = ("customer_id", "segment", "gender", "region", "fav_category", "signup_channel",
                 "promo_channel", "notes", *CONTACT_COLUMNS)


def _truth_frame(arrays: Mapping[str, np.ndarray]) -> pd.DataFrame:
    frame = pd.DataFrame({c: arrays[c] for c in TRUTH_COLUMNS}, columns=list(TRUTH_COLUMNS))
    for col in _TEXT_COLUMNS:
        frame[col] = frame[col].astype("str")
    return frame


def _truth_arrays(frame: pd.DataFrame, contact: bool) -> dict[str, np.ndarray]:
    """The inverse of :func:`_truth_frame`, for truth frames given by users."""
    needed = [c for c in TRUTH_COLUMNS if contact or c not in CONTACT_COLUMNS]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ParameterError(
            f"truth is missing column(s) {', '.join(missing)}; pass a frame made by sample_customers()"
        )
    out = {}
    for c in needed:
        if c in _TEXT_COLUMNS:
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
    n = _check_n(n)
    seed = _check_seed(seed)
    return _truth_frame(_sample(n, seed, 0, 0, _id_width(n)))


# --------------------------------------------------------------------------------------
# Rendering a raw export
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Currency:
    code: str
    symbol: str
    group: str
    decimal: str
    symbol_after: bool  # the currency's usual placement: "2.464,06 €" vs "$2,464.06"


_CURRENCIES: Mapping[str, _Currency] = {
    "USD": _Currency("USD", "$", ",", ".", False),
    "EUR": _Currency("EUR", "€", ".", ",", True),
}

# form -> (thousands groups, decimals, symbol placement)
_MONEY_FORMS: Mapping[str, tuple[bool, bool, str | None]] = {
    "symbol": (True, True, "usual"),            # $2,464.06      2.464,06 €
    "symbol_other_side": (True, True, "other"),  # 2,464.06 $     €2.464,06
    "symbol_space": (True, True, "space"),       # $ 2,464.06     € 2.464,06
    "code": (True, True, "code"),                # USD 2,464.06   EUR 2.464,06
    "grouped": (True, True, None),               # 2,464.06       2.464,06
    "plain": (False, True, None),                # 2464.06        2464,06
    "int_symbol": (False, False, "usual"),       # $2464          2464 €
    "int_symbol_grouped": (True, False, "usual"),  # $1,250 (ambiguous)  1.250 € (ambiguous)
    "int_grouped": (True, False, None),          # 45,320 (ambiguous)  45.320 (ambiguous)
    "int_plain": (False, False, None),           # 1250           1250
}
_AMBIGUOUS_MONEY = ("int_symbol_grouped", "int_grouped")


def _money(cents: np.ndarray, cur: _Currency, form: str) -> np.ndarray:
    """Render amounts given in integer cents in one of :data:`_MONEY_FORMS`."""
    group, decimals, where = _MONEY_FORMS[form]
    ip, fr = cents // 100, cents % 100
    body = _grouped(ip, cur.group) if group else _str(ip)
    if decimals:
        body = _join(body, cur.decimal, _z(fr, 2))
    if where is None:
        return body
    if where == "code":
        return _join(cur.code + " ", body)
    if where == "space":
        return _join(cur.symbol + " ", body)
    after = cur.symbol_after if where == "usual" else not cur.symbol_after
    return _join(body, " " + cur.symbol) if after else _join(cur.symbol, body)


@dataclass(frozen=True)
class _Options:
    dirt_rate: float
    unrecoverable: bool
    contact: bool
    currency: _Currency


class _Renderer:
    """Renders the rows of a truth frame as raw cells; one method per raw column."""

    def __init__(self, truth: Mapping[str, np.ndarray], seed: int, chunk: int, stream: int, opts: _Options,
                 duplicate: bool):
        self.t = truth
        self.n = len(truth["customer_id"])
        self.seed, self.chunk, self.stream = seed, chunk, stream
        self.o = opts
        self.dup = duplicate
        self.rate = min(1.0, 2 * opts.dirt_rate) if duplicate else opts.dirt_rate
        self.minor = self.rate * _UNREC_SHARE / 2  # blanks in columns where the contract saw none
        self.cols: dict[str, Any] = {}
        self.rec: dict[str, np.ndarray] = {}

    # infrastructure ----------------------------------------------------------------
    def rng(self, column: str) -> np.random.Generator:
        ss = np.random.SeedSequence([self.seed, self.chunk, self.stream, _STREAMS.index(column)])
        return np.random.default_rng(ss)

    def draw(self, rng: np.random.Generator, forms: Mapping[str, float], unrec: tuple[str, ...] = (),
             **kw: Any) -> np.ndarray:
        return _draw(rng, self.n, self.rate, forms, unrec, unrecoverable=self.o.unrecoverable, **kw)

    def twin(
        self,
        rng: np.random.Generator,
        blank_rate: float,
        forms: Mapping[str, float],
        missing: tuple[str, ...],
        eligible: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dirt for a clean column and its dirty twin.

        Returns (clean blank mask, dirty form per row, unrecoverable mask). A missing-like
        dirty form (``missing``) is recoverable where the clean twin has the value;
        where the clean twin is blank it is replaced by the canonical form, except on
        the designed unrecoverable cells (about 7% of the blanks, when ``unrecoverable``).
        """
        n = self.n
        blank = rng.random(n) < min(1.0, blank_rate)
        kind = self.draw(rng, forms)
        bad = rng.random(n) < _UNREC_SHARE
        bad_kind = np.array(missing)[rng.integers(0, len(missing), size=n)]
        kind = np.where(blank & np.isin(kind, missing), "canonical", kind)
        unrec = blank & bad & self.o.unrecoverable
        if eligible is not None:
            unrec &= eligible
        kind = np.where(unrec, bad_kind, kind)
        return blank, kind, unrec

    def truth(self, col: str, dtype: Any = None) -> np.ndarray:
        return np.asarray(self.t[col], dtype=dtype)

    def ok(self, col: str, rec: np.ndarray | None = None) -> None:
        self.rec[col] = np.ones(self.n, dtype=bool) if rec is None else rec

    # columns -----------------------------------------------------------------------
    def customer_id(self) -> None:
        rng = self.rng("customer_id")
        ids = _str(self.truth("customer_id", object))
        rate = min(1.0, 5 * self.o.dirt_rate) if self.dup else self.o.dirt_rate / 3
        kind = _draw(rng, self.n, rate, {"pad": 1, "trail": 1, "lower": 1, "lower_pad": 1})
        out = _objects(ids)
        _set(out, kind, "pad", lambda m: _join(" ", ids[m], " "))
        _set(out, kind, "trail", lambda m: _join(ids[m], " "))
        _set(out, kind, "lower", lambda m: np.strings.lower(ids[m]))
        _set(out, kind, "lower_pad", lambda m: _join(" ", np.strings.lower(ids[m]), " "))
        self.cols["customer_id"] = out
        self.ok("customer_id")

    def age(self) -> None:
        rng = self.rng("age")
        age = self.truth("age", np.int64)
        forms = {"years": 3, "int": 2, "anos": 2, "dot0": 1.5, "spaces": 1.5, "y": 1,
                 "na": 1, "unknown": 0.7, "blank": 0.5}
        blank, kind, unrec = self.twin(rng, self.o.dirt_rate * 2 / 3, forms, ("na", "unknown", "blank"))
        s = _str(age)
        out = _objects(s)
        _set(out, kind, "years", lambda m: _join(s[m], " years"))
        _set(out, kind, "int", lambda m: _objects(age[m]))
        _set(out, kind, "anos", lambda m: _join(s[m], " años"))
        _set(out, kind, "dot0", lambda m: _join(s[m], ".0"))
        _set(out, kind, "spaces", lambda m: _join(" ", s[m], " "))
        _set(out, kind, "y", lambda m: _join(s[m], "y"))
        _set(out, kind, "na", lambda m: "N/A")
        _set(out, kind, "unknown", lambda m: "unknown")
        _set(out, kind, "blank", lambda m: None)
        clean = np.where(blank, np.nan, age)  # float with NaN here, nullable Int64 in the frame
        self.cols["age"], self.cols["age_str_dirty"] = clean, out
        self.ok("age", ~unrec)
        self.ok("age_str_dirty", ~unrec)

    def gender(self) -> None:
        rng = self.rng("gender")
        g = self.truth("gender", object)
        # a blank reads as "Unknown": it loses information only where the gender is known
        kind = self.draw(rng, {"variant": 1}, ("blank",), unrec_rate=self.minor, eligible=g != "Unknown")
        r = rng.random(self.n)
        out = g.copy()
        variants = _pick(g, GENDER_VARIANTS, r)
        _set(out, kind, "variant", lambda m: variants[m])
        _set(out, kind, "blank", lambda m: None)
        self.cols["gender"] = out
        self.ok("gender", kind != "blank")

    def income(self) -> None:
        rng = self.rng("income")
        cents = np.rint(self.truth("income", float) * 100).astype(np.int64)
        forms = {"grouped": 3, "int_grouped": 2, "int_symbol_grouped": 1, "symbol": 1,
                 "int_plain": 1, "spaces": 1, "plain": 1, "code": 0.5}
        kind = self.draw(rng, forms, ("blank", "na"))
        kind = _resolve_ambiguity(kind, ("grouped", "symbol", "plain", "code"), "grouped")
        out = _objects(cents // 100)
        cur = self.o.currency
        for form in _MONEY_FORMS:
            if form in forms:
                _set(out, kind, form, lambda m, f=form: _money(cents[m], cur, f))
        _set(out, kind, "spaces", lambda m: _join(" ", _str(cents[m] // 100), " "))
        _set(out, kind, "blank", lambda m: None)
        _set(out, kind, "na", lambda m: "N/A")
        self.cols["income"] = out
        self.ok("income", ~np.isin(kind, ("blank", "na")))

    def _count(self, col: str) -> None:
        """tenure_months / total_orders: integers, sometimes as strings."""
        rng = self.rng(col)
        v = self.truth(col, np.int64)
        kind = self.draw(rng, {"str": 2, "dot0": 1, "spaces": 1, "float": 1}, ("blank",), unrec_rate=self.minor)
        s = _Lazy(_str, v)
        out = _objects(v)
        _set(out, kind, "str", lambda m: s[m])
        _set(out, kind, "dot0", lambda m: _join(s[m], ".0"))
        _set(out, kind, "spaces", lambda m: _join(" ", s[m], " "))
        _set(out, kind, "float", lambda m: _objects(v[m].astype(float)))
        _set(out, kind, "blank", lambda m: None)
        self.cols[col] = out
        self.ok(col, kind != "blank")

    def tenure_months(self) -> None:
        self._count("tenure_months")

    def total_orders(self) -> None:
        self._count("total_orders")

    def recency(self) -> None:
        rng = self.rng("days_since_last_purchase_dirty")
        days = self.truth("days_since_last_purchase", float)
        never = self.truth("never_purchased", bool)
        forms = {"str": 3, "days": 2, "dias": 2, "spaces": 1, "dot0": 1, "d": 0.5, "blank": 0.5, "na": 0.3}
        blank, kind, unrec = self.twin(rng, self.o.dirt_rate * 4 / 3, forms, ("blank", "na"), eligible=~never)
        never_dirty = rng.random(self.n) < min(1.0, 3 * self.rate)
        never_form = (rng.random(self.n) * len(NEVER_CODES)).astype(np.int64)
        d = np.nan_to_num(days).astype(np.int64)
        s = _Lazy(_str, d)
        out = _objects(d)
        _set(out, kind, "str", lambda m: s[m])
        _set(out, kind, "days", lambda m: _join(s[m], " days"))
        _set(out, kind, "dias", lambda m: _join(s[m], " días"))
        _set(out, kind, "spaces", lambda m: _join(" ", s[m], " "))
        _set(out, kind, "dot0", lambda m: _join(s[m], ".0"))
        _set(out, kind, "d", lambda m: _join(s[m], "d"))
        _set(out, kind, "blank", lambda m: None)
        _set(out, kind, "na", lambda m: "N/A")
        codes = _objects(NEVER_CODES)
        out[never] = "never"
        out[never & never_dirty] = codes[never_form[never & never_dirty]]
        clean = np.where(blank | never, np.nan, d)
        self.cols["days_since_last_purchase"] = clean
        self.cols["days_since_last_purchase_dirty"] = out
        self.ok("days_since_last_purchase", ~unrec)
        self.ok("days_since_last_purchase_dirty", ~unrec)

    def pct_reordered(self) -> None:
        rng = self.rng("pct_reordered_dirty")
        p = self.truth("pct_reordered", float)
        pm = np.rint(p * 1000).astype(np.int64)  # per mille: 0.452 -> 452 -> "45.2%"
        forms = {"pct": 3, "pct_comma": 1, "bare_float": 2, "bare_str": 1, "share_str": 1.5,
                 "pct_spaces": 1, "na": 0.5, "blank": 0.5}
        blank, kind, unrec = self.twin(rng, self.o.dirt_rate, forms, ("na", "blank"))
        # a bare percentage must be above 1 to read as a percentage (contract)
        kind = np.where(np.isin(kind, ("bare_float", "bare_str")) & (pm <= 10), "pct", kind)
        whole, tenth = _Lazy(lambda x: _str(x // 10), pm), _Lazy(lambda x: _str(x % 10), pm)
        out = _objects(p)
        _set(out, kind, "pct", lambda m: _join(whole[m], ".", tenth[m], "%"))
        _set(out, kind, "pct_comma", lambda m: _join(whole[m], ",", tenth[m], " %"))
        _set(out, kind, "bare_float", lambda m: _objects(pm[m] / 10))
        _set(out, kind, "bare_str", lambda m: _join(whole[m], ".", tenth[m]))
        _set(out, kind, "share_str", lambda m: _str(p[m]))
        _set(out, kind, "pct_spaces", lambda m: _join(" ", whole[m], ".", tenth[m], " % "))
        _set(out, kind, "na", lambda m: "N/A")
        _set(out, kind, "blank", lambda m: None)
        clean = p.copy()
        clean[blank] = np.nan
        self.cols["pct_reordered"], self.cols["pct_reordered_dirty"] = clean, out
        self.ok("pct_reordered", ~unrec)
        self.ok("pct_reordered_dirty", ~unrec)

    def avg_items_per_order(self) -> None:
        rng = self.rng("avg_items_per_order")
        v = self.truth("avg_items_per_order", float)
        forms = {"str": 2, "spaces": 1, "dec2": 1}
        if self.o.currency.decimal == ",":
            forms["comma"] = 1
        kind = self.draw(rng, forms, ("blank",), unrec_rate=self.minor)
        tenths = np.rint(v * 10).astype(np.int64)
        s = _Lazy(lambda t: _join(_str(t // 10), ".", _str(t % 10)), tenths)
        out = _objects(v)
        _set(out, kind, "str", lambda m: _str(v[m]))
        _set(out, kind, "spaces", lambda m: _join(" ", s[m], " "))
        _set(out, kind, "dec2", lambda m: _join(s[m], "0"))
        _set(out, kind, "comma", lambda m: np.strings.replace(s[m], ".", ","))
        _set(out, kind, "blank", lambda m: None)
        self.cols["avg_items_per_order"] = out
        self.ok("avg_items_per_order", kind != "blank")

    def region(self) -> None:
        rng = self.rng("region_dirty")
        reg = self.truth("region", object)
        forms = {"lower": 2, "upper": 1, "pad": 1, "typo": 3, "english": 1, "na": 0.2, "blank": 0.3}
        blank, kind, unrec = self.twin(rng, self.o.dirt_rate, forms, ("na", "blank"))
        r = rng.random(self.n)
        s = _str(reg)
        out = reg.copy()
        _set(out, kind, "lower", lambda m: np.strings.lower(s[m]))
        _set(out, kind, "upper", lambda m: np.strings.upper(s[m]))
        pads = np.array([" {} ", "{} ", " {}"])[(r * 3).astype(np.int64)]
        _set(out, kind, "pad", lambda m: _pad(np.strings.lower(s[m]), pads[m]))
        typos = _pick(reg, REGION_TYPOS, r)
        english = _pick(reg, REGION_ENGLISH, r)
        _set(out, kind, "typo", lambda m: typos[m])
        _set(out, kind, "english", lambda m: english[m])
        _set(out, kind, "na", lambda m: "N/A")
        _set(out, kind, "blank", lambda m: None)
        clean = reg.copy()
        clean[blank] = None
        self.cols["region"], self.cols["region_dirty"] = clean, out
        self.ok("region", ~unrec)
        self.ok("region_dirty", ~unrec)

    def _category(self, col: str, table: Mapping[str, tuple[str, ...]]) -> None:
        rng = self.rng(col)
        v = self.truth(col, object)
        kind = self.draw(rng, {"variant": 1}, ("blank",), unrec_rate=self.minor)
        variants = _pick(v, table, rng.random(self.n))
        out = v.copy()
        _set(out, kind, "variant", lambda m: variants[m])
        _set(out, kind, "blank", lambda m: None)
        self.cols[col] = out
        self.ok(col, kind != "blank")

    def fav_category(self) -> None:
        self._category("fav_category", CATEGORY_VARIANTS)

    def signup_channel(self) -> None:
        self._category("signup_channel", CHANNEL_VARIANTS)

    def signup_date(self) -> None:
        rng = self.rng("signup_date_dirty")
        d = self.truth("signup_date").astype("datetime64[D]")
        forms = {"dmy_slash": 2, "dmy_slash_short": 0.5, "dmy_dash": 1, "dmy_dot": 1, "ymd_slash": 1,
                 "d_mon_y": 1, "mon_d_y": 1, "d_mes_y": 1, "excel": 1.5, "iso_time": 0.5}
        kind = self.draw(rng, forms, ("not_available", "na", "blank"))
        year, month, day = _ymd(d)
        y, mo, dd = _str(year), _z(month, 2), _z(day, 2)
        en = np.array(_MONTHS_EN, dtype=_S)[month - 1]
        es = np.array(_MONTHS_ES, dtype=_S)[month - 1]
        out = _objects(_join(y, "-", mo, "-", dd))
        _set(out, kind, "dmy_slash", lambda m: _join(dd[m], "/", mo[m], "/", y[m]))
        _set(out, kind, "dmy_slash_short", lambda m: _join(_str(day[m]), "/", _str(month[m]), "/", y[m]))
        _set(out, kind, "dmy_dash", lambda m: _join(dd[m], "-", mo[m], "-", y[m]))
        _set(out, kind, "dmy_dot", lambda m: _join(dd[m], ".", mo[m], ".", y[m]))
        _set(out, kind, "ymd_slash", lambda m: _join(y[m], "/", mo[m], "/", dd[m]))
        _set(out, kind, "d_mon_y", lambda m: _join(_str(day[m]), " ", en[m], " ", y[m]))
        _set(out, kind, "mon_d_y", lambda m: _join(en[m], " ", _str(day[m]), ", ", y[m]))
        _set(out, kind, "d_mes_y", lambda m: _join(_str(day[m]), " ", es[m], " ", y[m]))
        _set(out, kind, "excel", lambda m: _objects((d[m] - _EXCEL_EPOCH).astype(np.int64)))
        _set(out, kind, "iso_time", lambda m: _join(y[m], "-", mo[m], "-", dd[m], " 00:00:00"))
        _set(out, kind, "not_available", lambda m: "not available")
        _set(out, kind, "na", lambda m: "N/A")
        _set(out, kind, "blank", lambda m: "")
        self.cols["signup_date_dirty"] = out
        self.ok("signup_date_dirty", ~np.isin(kind, ("not_available", "na", "blank")))

    def total_spent(self) -> None:
        rng = self.rng("total_spent_dirty")
        total = self.truth("total_spent", float)
        cents = np.rint(total * 100).astype(np.int64)
        whole = cents % 100 == 0
        forms = {"symbol": 3, "unrounded": 2, "plain": 2, "code": 1, "symbol_other_side": 1,
                 "symbol_space": 1, "grouped": 1}
        kind = self.draw(rng, forms, ("blank", "na"))
        # whole amounts are mostly shown without cents: "$2464", "$1,250" (ambiguous), "1250"
        r = rng.random(self.n)
        int_kind = np.array(("int_symbol", "int_symbol_grouped", "int_plain"))[rng.integers(0, 3, size=self.n)]
        jitter = rng.uniform(-0.0049, 0.0049, size=self.n)
        dirty = np.isin(kind, tuple(forms))
        kind = np.where(whole & dirty & (r < 0.8), int_kind, kind)
        kind = np.where(whole & (kind == "unrounded"), "plain", kind)
        kind = _resolve_ambiguity(kind, ("symbol", "unrounded", "plain", "code", "symbol_other_side",
                                         "symbol_space", "grouped"), "symbol")
        cur = self.o.currency
        if cur.decimal == ".":
            out = _objects(cents / 100)
        else:
            out = _objects(_money(cents, cur, "plain"))
        for form in _MONEY_FORMS:
            _set(out, kind, form, lambda m, f=form: _money(cents[m], cur, f))
        micro = np.rint((total + jitter) * 1e6).astype(np.int64)  # "25706.401475": rounds to the cents
        _set(out, kind, "unrounded", lambda m: _join(_str(micro[m] // 10**6), cur.decimal, _z(micro[m] % 10**6, 6)))
        _set(out, kind, "blank", lambda m: None)
        _set(out, kind, "na", lambda m: "N/A")
        self.cols["total_spent_dirty"] = out
        self.ok("total_spent_dirty", ~np.isin(kind, ("blank", "na")))

    def vip_score(self) -> None:
        rng = self.rng("vip_score")
        v = self.truth("vip_score", float)
        forms = {"str": 2, "pad": 1}
        if self.o.currency.decimal == ",":
            forms["comma"] = 1
        kind = self.draw(rng, forms, ("blank",), unrec_rate=self.minor)
        s = _Lazy(_str, v)
        out = _objects(v)
        _set(out, kind, "str", lambda m: s[m])
        _set(out, kind, "pad", lambda m: _join(" ", s[m], " "))
        _set(out, kind, "comma", lambda m: np.strings.replace(s[m], ".", ","))
        _set(out, kind, "blank", lambda m: None)
        self.cols["vip_score"] = out
        self.ok("vip_score", kind != "blank")

    def vip_flag(self) -> None:
        rng = self.rng("vip_flag")
        v = self.truth("vip_flag", np.int64)
        kind = self.draw(rng, {"str": 2, "bool": 1, "float": 1})
        out = _objects(v)
        _set(out, kind, "str", lambda m: _str(v[m]))
        _set(out, kind, "bool", lambda m: _objects(v[m].astype(bool)))
        _set(out, kind, "float", lambda m: _objects(v[m].astype(float)))
        self.cols["vip_flag"] = out
        self.ok("vip_flag")

    def notes(self) -> None:
        rng = self.rng("notes")
        text = self.truth("notes", object)
        empty = pd.isna(text)
        kind = self.draw(rng, {"pad": 1, "newline": 0.5})
        s = _str(np.where(empty, "", text))
        out = text.copy()
        _set(out, kind, "pad", lambda m: _join("  ", s[m], " "))
        _set(out, kind, "newline", lambda m: _join(s[m], "\n"))
        self.cols["notes"] = out
        self.ok("notes")

    def json_prefs(self) -> None:
        rng = self.rng("json_prefs")
        promo = self.truth("promo_channel", object)
        level = self.truth("promo_level", np.int64)
        forms = {"single_quotes": 2, "upper_str_level": 2, "compact": 2, "reordered": 1, "title_pad": 1}
        kind = self.draw(rng, forms, ("truncated", "empty", "null", "garbage", "blank"))
        p, lv = _str(promo), _str(level)
        out = _objects(_join('{"promo": "', p, '", "level": ', lv, "}"))
        _set(out, kind, "single_quotes", lambda m: _join("{'promo': '", p[m], "', 'level': ", lv[m], "}"))
        _set(out, kind, "upper_str_level",
             lambda m: _join('{"promo": "', np.strings.upper(p[m]), '", "level": "', lv[m], '"}'))
        _set(out, kind, "compact", lambda m: _join('{"promo":"', p[m], '","level":', lv[m], "}"))
        _set(out, kind, "reordered", lambda m: _join('{"level": ', lv[m], ', "promo": "', p[m], '"}'))
        titled = _pick(promo, {c: (c.title(),) for c in PROMO_CHANNELS}, np.zeros(self.n))
        _set(out, kind, "title_pad", lambda m: _join(' {"promo": "', _str(titled[m]), '", "level": ', lv[m], "} "))
        _set(out, kind, "truncated", lambda m: _join('{"promo": "', p[m], '", "level": ', lv[m]))
        _set(out, kind, "empty", lambda m: "{}")
        _set(out, kind, "null", lambda m: "null")
        _set(out, kind, "garbage", lambda m: "promo?")
        _set(out, kind, "blank", lambda m: None)
        self.cols["json_prefs"] = out
        self.ok("json_prefs", ~np.isin(kind, ("truncated", "empty", "null", "garbage", "blank")))

    # contact ----------------------------------------------------------------------
    def contact(self) -> None:
        n = self.n
        # e-mail
        rng = self.rng("email")
        email = self.truth("email", object)
        has = ~pd.isna(email)
        kind = self.draw(rng, {"capitalized": 1, "upper": 1, "pad": 1})
        kind = np.where(has, kind, "canonical")
        s = _str(np.where(has, email, ""))
        out = email.copy()
        _set(out, kind, "capitalized",
             lambda m: _join(np.strings.upper(np.strings.slice(s[m], 0, 1)), np.strings.slice(s[m], 1, None)))
        _set(out, kind, "upper", lambda m: np.strings.upper(s[m]))
        _set(out, kind, "pad", lambda m: _join(" ", s[m], " "))
        self.cols["email"] = out
        # phone: E.164 truth "+34612345678" in several renderings
        rng = self.rng("phone")
        phone = self.truth("phone", object)
        has = ~pd.isna(phone)
        forms = {"national": 2, "e164": 2, "intl00": 1, "dashes": 1, "paren": 1, "pairs": 1, "int": 1}
        kind = np.where(has, self.draw(rng, forms), "canonical")
        nat = np.strings.slice(_str(np.where(has, phone, "+34000000000")), 3, None)
        a, b, c = (np.strings.slice(nat, i, i + 3) for i in (0, 3, 6))
        p2 = [np.strings.slice(nat, i, i + 2) for i in (3, 5, 7)]
        out = _objects(_join("+34 ", a, " ", b, " ", c))
        out[~has] = None
        _set(out, kind, "national", lambda m: nat[m])
        _set(out, kind, "e164", lambda m: _join("+34", nat[m]))
        _set(out, kind, "intl00", lambda m: _join("0034 ", a[m], " ", p2[0][m], " ", p2[1][m], " ", p2[2][m]))
        _set(out, kind, "dashes", lambda m: _join(a[m], "-", b[m], "-", c[m]))
        _set(out, kind, "paren", lambda m: _join("(+34) ", a[m], " ", b[m], " ", c[m]))
        _set(out, kind, "pairs", lambda m: _join(a[m], " ", p2[0][m], " ", p2[1][m], " ", p2[2][m]))
        _set(out, kind, "int", lambda m: _objects(nat[m].astype(np.int64)))
        self.cols["phone"] = out
        # names
        for col in ("first_name", "last_name"):
            rng = self.rng(col)
            v = _str(self.truth(col, object))
            kind = self.draw(rng, {"upper": 1, "lower": 1, "pad": 1})
            out = _objects(v)
            _set(out, kind, "upper", lambda m, v=v: np.strings.upper(v[m]))
            _set(out, kind, "lower", lambda m, v=v: np.strings.lower(v[m]))
            _set(out, kind, "pad", lambda m, v=v: _join(v[m], " "))
            self.cols[col] = out
        # country
        rng = self.rng("country")
        kind = self.draw(rng, {"variant": 1})
        variants = _pick(self.truth("country", object), {"ES": ("es", "España", "Spain", " ES", "ESP")}, rng.random(n))
        out = self.truth("country", object).copy()
        _set(out, kind, "variant", lambda m: variants[m])
        self.cols["country"] = out
        # zip: leading zeros lost when stored as a number
        rng = self.rng("zip")
        z = _str(self.truth("zip", object))
        kind = self.draw(rng, {"int": 2, "pad": 1})
        out = _objects(z)
        _set(out, kind, "int", lambda m: _objects(z[m].astype(np.int64)))
        _set(out, kind, "pad", lambda m: _join(" ", z[m]))
        self.cols["zip"] = out
        # consent flags
        for col in CONTACT_COLUMNS[6:]:
            rng = self.rng(col)
            v = self.truth(col, object)
            kind = self.draw(rng, {"variant": 1})
            variants = _pick(v, CONSENT_VARIANTS, rng.random(n))
            out = v.copy()
            _set(out, kind, "variant", lambda m, variants=variants: variants[m])
            self.cols[col] = out
        for col in CONTACT_COLUMNS:
            self.ok(col)

    # all ----------------------------------------------------------------------------
    def render(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        for step in (self.customer_id, self.age, self.gender, self.income, self.tenure_months,
                     self.total_orders, self.recency, self.pct_reordered, self.avg_items_per_order,
                     self.region, self.fav_category, self.signup_channel, self.signup_date,
                     self.total_spent, self.vip_score, self.vip_flag, self.notes, self.json_prefs):
            step()
        if self.o.contact:
            self.contact()
        if self.dup:
            self.blank_fields()
        return self.cols, self.rec

    def blank_fields(self) -> None:
        """Duplicate rows leave some fields blank (both twins of a field); unrecoverable cells."""
        rng = self.rng("_duplicate_blanks")
        draws = rng.random((self.n, len(_BLANKABLE)))
        if not self.o.unrecoverable:
            return
        for j, group in enumerate(_BLANKABLE):
            m = draws[:, j] < self.o.dirt_rate
            if group == ("gender",):
                m &= self.truth("gender", object) != "Unknown"
            if not m.any():
                continue
            for col in group:
                col_values = self.cols[col]
                col_values[m] = None if col_values.dtype == object else np.nan
                self.rec[col] = self.rec[col] & ~m


_BLANKABLE: tuple[tuple[str, ...], ...] = (
    ("age", "age_str_dirty"), ("gender",), ("income",), ("tenure_months",), ("total_orders",),
    ("days_since_last_purchase", "days_since_last_purchase_dirty"),
    ("pct_reordered", "pct_reordered_dirty"), ("avg_items_per_order",), ("region", "region_dirty"),
    ("fav_category",), ("signup_channel",), ("signup_date_dirty",), ("total_spent_dirty",),
    ("vip_score",), ("json_prefs",),
)


def _pad(values: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Surround values with spaces following ``" {} "``-style patterns."""
    lead = np.strings.startswith(patterns, " ")
    trail = np.strings.endswith(patterns, " ")
    out = np.where(lead, _join(" ", values), values)
    return np.where(trail, _join(out, " "), out)


def _resolve_ambiguity(kind: np.ndarray, evidence: tuple[str, ...], fallback: str) -> np.ndarray:
    """Keep ambiguous money forms ("45,320") only if the column also shows its decimal
    convention in unambiguous cells; otherwise render them as ``fallback``."""
    ambiguous = np.isin(kind, _AMBIGUOUS_MONEY)
    if not ambiguous.any():
        return kind
    if np.isin(kind, evidence).any():
        return kind
    return np.where(ambiguous, fallback, kind)


def _check_render(dirt_rate: float, duplicate_rate: float, currency: str) -> _Currency:
    if not 0.0 <= float(dirt_rate) <= 1.0:
        raise ParameterError(f"dirt_rate must be between 0 and 1, got {dirt_rate!r}")
    if not 0.0 <= float(duplicate_rate) <= 0.5:
        raise ParameterError(f"duplicate_rate must be between 0 and 0.5, got {duplicate_rate!r}")
    cur = _CURRENCIES.get(str(currency).upper())
    if cur is None:
        raise ParameterError(f"currency must be one of {', '.join(_CURRENCIES)}, got {currency!r}")
    return cur


def _frame(cols: Mapping[str, np.ndarray], names: list[str]) -> pd.DataFrame:
    data = {}
    for c in names:
        if c in ("age", "days_since_last_purchase"):
            data[c] = pd.array(cols[c], dtype="Int64")
        elif c == "pct_reordered":
            data[c] = pd.Series(cols[c], dtype="float64")
        else:
            data[c] = pd.Series(cols[c], dtype=object)
    return pd.DataFrame(data)


@dataclass(frozen=True)
class _Rendered:
    raw: pd.DataFrame
    recoverable: pd.DataFrame | None
    source: np.ndarray  # truth row (position in the chunk) of each raw row
    duplicate: np.ndarray  # True on the second appearance of a customer


def _render(
    truth: Mapping[str, np.ndarray],
    seed: int,
    chunk: int,
    *,
    dirt_rate: float,
    unrecoverable: bool,
    contact: bool,
    duplicate_rate: float,
    currency: str,
    max_duplicates: int | None = None,
    with_mask: bool = True,
) -> _Rendered:
    cur = _check_render(dirt_rate, duplicate_rate, currency)
    n = len(truth["customer_id"])
    opts = _Options(float(dirt_rate), bool(unrecoverable), bool(contact), cur)
    names = list(RAW_COLUMNS) + (list(CONTACT_COLUMNS) if contact else [])

    cols, rec = _Renderer(truth, seed, chunk, 1, opts, duplicate=False).render()

    rng = np.random.default_rng(np.random.SeedSequence([seed, chunk, 3]))
    m = int(rng.binomial(n, duplicate_rate)) if n else 0
    if max_duplicates is not None:
        m = min(m, max_duplicates)
    pick = np.sort(rng.choice(n, size=m, replace=False)) if m else np.zeros(0, dtype=np.int64)
    later = pick + rng.random(m) * (n - pick)  # a random position after the original
    order = np.argsort(np.concatenate([np.arange(n, dtype=float), later]), kind="stable")
    if m:
        dup_truth = {c: a[pick] for c, a in truth.items()}
        dcols, drec = _Renderer(dup_truth, seed, chunk, 2, opts, duplicate=True).render()
        cols = {c: np.concatenate([cols[c], dcols[c]])[order] for c in names}
        rec = {c: np.concatenate([rec[c], drec[c]])[order] for c in names}
    raw = _frame(cols, names)
    recov = pd.DataFrame({c: rec[c] for c in names}) if with_mask else None
    source = np.concatenate([np.arange(n), pick])[order]
    return _Rendered(raw, recov, source, order >= n)


def _row_truth(frame: pd.DataFrame, rendered: _Rendered) -> pd.DataFrame:
    row_truth = frame.take(rendered.source).reset_index(drop=True)
    row_truth["is_duplicate"] = rendered.duplicate
    return row_truth


def render_dirty(
    truth: pd.DataFrame,
    seed: int = 1,
    *,
    dirt_rate: float = 0.15,
    unrecoverable: bool = True,
    contact: bool = False,
    duplicate_rate: float = 0.005,
    currency: Literal["USD", "EUR"] = "USD",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Render a truth table (from :func:`sample_customers`) as a dirty raw CRM export.

    Returns ``(raw, row_truth, recoverable)``, all with the same RangeIndex:

    * ``raw``: the 22 :data:`RAW_COLUMNS` in contract order (then :data:`CONTACT_COLUMNS`
      when ``contact``). Cells hold what Excel/CSV/parquet readers deliver: Python
      ``int``/``float``/``bool``/``str`` or ``None`` (object columns), except ``age`` and
      ``days_since_last_purchase`` (nullable ``Int64``) and ``pct_reordered`` (float).
    * ``row_truth``: the truth row behind each raw row (canonical ``customer_id``
      included) plus ``is_duplicate`` (True on the second appearance of a customer).
    * ``recoverable``: bool, one column per raw column; False where the cell does not
      let a contract-following parser recover the truth from its own row (designed
      cases only: the table below). With ``unrecoverable=False`` it is all True and no
      such cell is rendered.

    About ``dirt_rate`` of the cells of each column get a dirty form (``dirt_rate=0``
    renders the canonical export). About ``duplicate_rate`` of the customers appear a
    second time at a random later position, re-rendered with twice the dirt, an id
    variant on most of them, and (when ``unrecoverable``) some fields blank.

    Dirt catalogue (USD; ``currency="EUR"`` swaps money to ``2.464,06 €``-style)::

        column                          canonical           dirty forms                                  unrecoverable
        customer_id                     C000123             " C000123 ", "C000123 ", c000123, " c000123 "  -
        age / age_str_dirty             35 / "35"           clean blank (~2/3 rate); "35 years", 35,       both twins missing
                                                            "35 años", "35.0", " 35 ", "35y", "N/A",
                                                            "unknown", blank (these 3 only if age given)
        gender                          F M Other Unknown   female Mujer f "F " FEMALE Femenino, male ...  blank (truth known)
                                                            Otro; unknown Desconocido "" (Unknown only)
        income                          45320               "45,320.00", "45,320"*, "$45,320"*,           blank, "N/A"
                                                            "$45,320.00", "45320", " 45320 ",
                                                            "45320.00", "USD 45,320.00"
        tenure_months / total_orders    12                  "12", "12.0", " 12 ", 12.0                     blank
        days_since_last_purchase(+dirty) 71 / 71            clean blank (~4/3 rate); "71", "71 days",      both twins missing
                                                            "71 días", " 71 ", "71.0", "71d", blank, N/A;
                                        never: NaN/"never"  Never NEVER NUNCA nunca 9999 "9999" 99999
                                                            "99999" -1 "-1"
        pct_reordered(+dirty)           0.452 / 0.452       clean blank (rate); "45.2%", "45,2 %", 45.2,   both twins missing
                                                            "45.2", "0.452", " 45.2 % ", N/A, blank
                                                            (bare percentages only above 1)
        avg_items_per_order             3.5                 "3.5", " 3.5 ", "3.50" ("3,5" in EUR)          blank
        region / region_dirty           Norte / Norte       clean blank (rate); este NORTE " sur " typos   both twins missing
                                                            (REGION_TYPOS: nortee Nrte Oestee centro.),
                                                            North Centre Center, N/A, blank
        fav_category / signup_channel   Home / Mobile       case/space variants, Hogar Moda Deportes      blank
                                                            Belleza Electrónica Niños Alimentación;
                                                            App Móvil Tienda Online Referido Redes sociales
        signup_date_dirty               "2022-12-17"        17/12/2022 7/3/2022 17-12-2022 17.12.2022      "not available",
                                                            2022/12/17 "17 Dec 2022" "Dec 17, 2022"         "N/A", ""
                                                            "17 dic 2022" 44912 (Excel serial)
                                                            "2022-12-17 00:00:00"  -- never month-first
        total_spent_dirty               2464.06 (float)     "$2,464.06", "25706.401475", "2464.06",        blank, "N/A"
                                                            "USD 2,464.06", "2,464.06 $", "$ 2,464.06",
                                                            "2,464.06"; whole amounts: "$2464",
                                                            "$1,250"*, "1250"
        vip_score                       0.85                "0.85", " 0.85 " ("0,85" in EUR)               blank
        vip_flag                        1 / 0               "1"/"0", True/False, 1.0/0.0                   -
        notes                           text or None        "  text ", "text\\n", "" / " " when empty        -
        json_prefs                      {"promo": "push",   {'promo': 'sms', 'level': 1},                 truncated, "{}",
                                         "level": 2}        {"promo": "EMAIL", "level": "3"}, compact,     "null", "promo?",
                                                            key order, ' {"promo": "Push", ...} '          blank
        contact (contact=True)          fictional values    e-mail case/spaces; phone "612345678",         -
                                                            "+34612345678", "0034 612 34 56 78",
                                                            "612-345-678", "(+34) 612 345 678", int;
                                                            zip as int (leading 0 lost); country
                                                            es/España/Spain/ESP; consent TRUE/yes/sí/1/...

    ``*`` ambiguous by the contract (one separator followed by three digits): they are
    only rendered when the same column also shows its decimal convention in
    unambiguous cells, so a contract-following parser reads them right. Money columns
    use one currency and one decimal convention each; ``pct_reordered_dirty`` mixes
    ``"45.2%"`` and ``"45,2 %"`` but never needs a convention (shares are ``0.xxx``,
    percentages carry one decimal). Unrecoverable cells are about ``0.07 * dirt_rate``
    of the rows per column (about 1% at the default): json_prefs, signup_date_dirty,
    income, total_spent_dirty and the twins; half that for the blanks of gender,
    tenure_months, total_orders, avg_items_per_order, fav_category, signup_channel and
    vip_score. Duplicate rows also blank each field with probability ``dirt_rate``.

    Example:
        >>> truth = sample_customers(500, seed=2)
        >>> raw, row_truth, ok = render_dirty(truth, seed=2)
        >>> len(raw) >= 500 and raw.index.equals(row_truth.index) and ok.shape == raw.shape
        True
    """
    seed = _check_seed(seed)
    frame = truth.reset_index(drop=True)
    rendered = _render(
        _truth_arrays(frame, bool(contact)), seed, 0, dirt_rate=dirt_rate, unrecoverable=unrecoverable, contact=contact,
        duplicate_rate=duplicate_rate, currency=currency,
    )
    assert rendered.recoverable is not None
    return rendered.raw, _row_truth(frame, rendered), rendered.recoverable


# --------------------------------------------------------------------------------------
# One-shot generation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SynthData:
    """A synthetic export and its ground truth (see :func:`generate`).

    Attributes:
        raw: the dirty export (:func:`render_dirty`), one row per raw row.
        row_truth: the truth row of each raw row (same index as ``raw``).
        recoverable: bool mask, same shape as ``raw``.
        customers: the clean truth, one row per customer (:func:`sample_customers`).
    """

    raw: pd.DataFrame
    row_truth: pd.DataFrame
    recoverable: pd.DataFrame
    customers: pd.DataFrame


def generate(n: int, seed: int = 1, **render_kwargs: Any) -> SynthData:
    """Sample ``n`` customers and render them as a dirty export.

    ``render_kwargs`` go to :func:`render_dirty` (``dirt_rate``, ``unrecoverable``,
    ``contact``, ``duplicate_rate``, ``currency``). Deterministic by ``(n, seed)``.
    This is chunk 0 of :func:`write_synthetic`, so ``write_synthetic(path, n, seed)``
    writes exactly ``generate(n, seed).raw`` when ``n <= chunk_size``.

    Example:
        >>> data = generate(300, seed=5)
        >>> data.raw.shape[1], len(data.customers)
        (22, 300)
    """
    n = _check_n(n)
    seed = _check_seed(seed)
    opts = _render_options(render_kwargs)
    arrays = _sample(n, seed, 0, 0, _id_width(n))
    customers = _truth_frame(arrays)
    rendered = _render(arrays, seed, 0, **opts)
    assert rendered.recoverable is not None
    return SynthData(raw=rendered.raw, row_truth=_row_truth(customers, rendered),
                     recoverable=rendered.recoverable, customers=customers)


def _render_options(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    allowed = {"dirt_rate": 0.15, "unrecoverable": True, "contact": False, "duplicate_rate": 0.005,
               "currency": "USD"}
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ParameterError(
            f"unknown option(s) {', '.join(unknown)}; render options are {', '.join(allowed)}"
        )
    return {**allowed, **kwargs}


# --------------------------------------------------------------------------------------
# Writing large exports
# --------------------------------------------------------------------------------------

_FORMATS = (".parquet", ".csv", ".xlsx")


def _parquet_schema(columns: list[str]) -> Any:
    import pyarrow as pa

    typed = {"age": pa.int64(), "days_since_last_purchase": pa.int64(), "pct_reordered": pa.float64()}
    return pa.schema([pa.field(c, typed.get(c, pa.string()), nullable=True) for c in columns])


def _arrow_table(raw: pd.DataFrame, schema: Any) -> Any:
    """The raw chunk as an Arrow table: object columns as ``str()`` of each value, None as null."""
    import pyarrow as pa

    na_strings = np.dtypes.StringDType(na_object=None)
    arrays = []
    for field in schema:
        col = raw[field.name]
        if col.dtype == object:
            values = col.to_numpy()
            try:  # columns of text and blanks go straight to Arrow
                arrays.append(pa.array(values, type=pa.string(), from_pandas=True))
            except (pa.ArrowTypeError, pa.ArrowInvalid):  # numbers/booleans among the text
                arrays.append(pa.array(values.astype(na_strings), type=pa.string()))
        else:
            arrays.append(pa.array(col, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_synthetic(
    path: str | Path,
    n: int,
    seed: int = 1,
    *,
    chunk_size: int = 100_000,
    contact: bool = False,
    progress: Callable[[int], None] | None = None,
    **render_kwargs: Any,
) -> Path:
    """Write a synthetic raw export of ``n`` customers to ``.parquet``, ``.csv`` or ``.xlsx``.

    Customers are generated ``chunk_size`` at a time (chunk ``i`` from
    ``SeedSequence([seed, i, ...])``, ids continuing across chunks, duplicates placed
    within their chunk), so exports of 10M rows never hold more than one chunk of raw
    strings. The file is deterministic for a given ``(n, seed, chunk_size)`` and
    options; with ``n <= chunk_size`` it holds exactly ``generate(n, seed).raw``.
    The file is written under a temporary name and moved into place when complete.

    Formats:
        * ``.parquet`` (pyarrow ``ParquetWriter``, one row group per chunk). Mixed
          columns cannot be typed in parquet, so the schema is fixed: ``age`` and
          ``days_since_last_purchase`` are nullable int64, ``pct_reordered`` float64,
          every other column a nullable string holding ``str()`` of the exported value
          (``45320``, ``"$2,464.06"``, ``"True"``); blanks are null, ``""`` stays ``""``.
        * ``.csv``: UTF-8 (no BOM), comma-separated, header once, ``\\n`` line ends,
          appended chunk by chunk.
        * ``.xlsx``: xlsxwriter in ``constant_memory`` mode, one sheet ``customers``;
          numbers and booleans stay typed cells. At most :data:`XLSX_MAX_ROWS` rows:
          larger ``n`` raises :class:`~lookalike.errors.ParameterError`, and near the
          limit fewer duplicate rows are added so the sheet never overflows.

    Args:
        path: output file; its extension picks the format.
        n: number of customers (raw rows are slightly more because of duplicates).
        seed: random seed.
        chunk_size: customers per chunk (and per parquet row group).
        contact: add the contact/consent columns.
        progress: called after each chunk with the number of customers written so far
            (the last call receives ``n``).
        render_kwargs: ``dirt_rate``, ``unrecoverable``, ``duplicate_rate``, ``currency``
            as in :func:`render_dirty`.

    Returns:
        The path written.

    Raises:
        UnsupportedFormatError: the extension is not .parquet, .csv or .xlsx.
        ParameterError: bad ``n``, ``seed``, ``chunk_size`` or options; ``n`` too big for .xlsx.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in _FORMATS:
        raise UnsupportedFormatError(
            f"cannot write synthetic data to {str(path)!r}: unknown extension {ext or '(none)'!r}; "
            f"use {', '.join(_FORMATS)}"
        )
    n = _check_n(n)
    seed = _check_seed(seed)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ParameterError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if ext == ".xlsx" and n > XLSX_MAX_ROWS:
        raise ParameterError(
            f"n = {n:,} customers do not fit in an .xlsx sheet (at most {XLSX_MAX_ROWS:,} rows); "
            f"write .parquet or .csv instead"
        )
    opts = _render_options({**render_kwargs, "contact": contact})
    _check_render(opts["dirt_rate"], opts["duplicate_rate"], opts["currency"])
    width = _id_width(n)
    spare = XLSX_MAX_ROWS - n  # rows left for duplicates in an .xlsx sheet

    def chunks() -> Any:
        for i, start in enumerate(range(0, n, chunk_size)):
            size = min(chunk_size, n - start)
            cap = spare * size // n if ext == ".xlsx" else None
            truth = _sample(size, seed, i, start, width, contact=contact)
            yield start + size, _render(truth, seed, i, max_duplicates=cap, with_mask=False, **opts).raw

    tmp = path.with_name(path.name + ".part")
    try:
        writer = {".parquet": _write_parquet, ".csv": _write_csv, ".xlsx": _write_xlsx}[ext]
        writer(tmp, chunks(), progress)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_parquet(path: Path, chunks: Any, progress: Callable[[int], None] | None) -> None:
    import pyarrow.parquet as pq

    writer = None
    try:
        for done, raw in chunks:
            if writer is None:
                schema = _parquet_schema(list(raw.columns))
                writer = pq.ParquetWriter(path, schema)
            table = _arrow_table(raw, schema)
            writer.write_table(table, row_group_size=max(len(table), 1))
            if progress is not None:
                progress(done)
    finally:
        if writer is not None:
            writer.close()


def _write_csv(path: Path, chunks: Any, progress: Callable[[int], None] | None) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        for i, (done, raw) in enumerate(chunks):
            raw.to_csv(fh, header=i == 0, index=False, lineterminator="\n")
            if progress is not None:
                progress(done)


def _write_xlsx(path: Path, chunks: Any, progress: Callable[[int], None] | None) -> None:
    import xlsxwriter

    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    try:
        sheet = workbook.add_worksheet("customers")
        row = 0
        for done, raw in chunks:
            if row == 0:
                sheet.write_row(0, 0, list(raw.columns))
                row = 1
            columns = [raw[c].astype(object).where(raw[c].notna(), None).to_numpy() for c in raw.columns]
            for values in zip(*columns):  # xlsxwriter streams row by row
                sheet.write_row(row, 0, values)
                row += 1
            if progress is not None:
                progress(done)
    finally:
        workbook.close()
