"""Small vectorized helpers of the generator: NumPy string arrays, draws from probability rows."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np

#: NumPy's variable-width string dtype: the generator builds every text column with it.
STR = np.dtypes.StringDType()


def phi(x: np.ndarray) -> np.ndarray:
    """Normal CDF, logistic approximation (max error < 0.01): maps scores to (0, 1)."""
    return 1.0 / (1.0 + np.exp(-1.702 * x))


def mix(rng: np.random.Generator, z: np.ndarray, rho: float) -> np.ndarray:
    """A standard normal draw with correlation ``rho`` to the latent factor ``z``."""
    return rho * z + np.sqrt(1.0 - rho * rho) * rng.standard_normal(z.shape[0])


def strs(a: Any) -> np.ndarray:
    return np.asarray(a).astype(STR)


def join(*parts: Any) -> np.ndarray:
    """Element-wise string concatenation of arrays and scalars."""
    out = parts[0] if isinstance(parts[0], np.ndarray) else np.asarray(parts[0], dtype=STR)
    for part in parts[1:]:
        out = np.strings.add(out, part)
    return out


def zfill(a: np.ndarray, width: int) -> np.ndarray:
    return np.strings.zfill(strs(a), width)


def grouped(ip: np.ndarray, sep: str) -> np.ndarray:
    """Integers with thousands separators: 1234567 -> '1,234,567'."""
    ip = np.asarray(ip, dtype=np.int64)
    out = strs(ip)
    for k in (1, 2, 3):
        big = ip >= 1000**k
        if not big.any():
            break
        head = ip[big] // 1000**k
        parts = [strs(head)]
        for j in range(k - 1, -1, -1):
            parts += [sep, zfill((ip[big] // 1000**j) % 1000, 3)]
        out[big] = join(*parts)
    return out


def ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def pick(values: np.ndarray, table: Mapping[str, tuple[Any, ...]], r: np.ndarray) -> np.ndarray:
    """For each row, one of ``table[value]`` chosen by the uniform draw ``r``."""
    out = np.empty(values.shape[0], dtype=object)
    for key, options in table.items():
        m = values == key
        if m.any():
            opts = np.empty(len(options), dtype=object)
            opts[:] = options
            out[m] = opts[(r[m] * len(options)).astype(np.int64)]
    return out


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row from a row-wise probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def ascii_lower(names: tuple[str, ...]) -> np.ndarray:
    folded = [unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower() for s in names]
    return np.array(folded, dtype=STR)


def objects(a: Any) -> np.ndarray:
    out = np.empty(len(a), dtype=object)
    out[:] = a
    return out
