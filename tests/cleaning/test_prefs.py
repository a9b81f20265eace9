"""parse_prefs: promo channel and level from JSON-ish preference strings."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookalike.cleaning._base import CLEAN, FIXED, INVALID, MISSING
from lookalike.cleaning.prefs import parse_prefs

NAN = math.nan


@pytest.mark.parametrize(
    ("raw", "channel", "level", "status"),
    [
        ('{"promo": "push", "level": 2}', "push", 2.0, CLEAN),
        ('{"promo": "sms", "level": 1}', "sms", 1.0, CLEAN),
        ('{"promo": "email", "level": 3}', "email", 3.0, CLEAN),
        ('{"promo": "none", "level": 1}', "none", 1.0, CLEAN),
        ('{"promo": "push"}', "push", NAN, CLEAN),
        ('{"level": 2, "promo": "sms", "extra": [1, 2]}', "sms", 2.0, CLEAN),
        (' {"promo": "push", "level": 2} ', "push", 2.0, CLEAN),
        # salvaged
        ("{'promo': 'sms', 'level': 1}", "sms", 1.0, FIXED),
        ('{"promo": "SMS", "level": 1}', "sms", 1.0, FIXED),
        ('{"Promo": "Push", "Level": 2}', "push", 2.0, FIXED),
        ('{"promo": "push", "level": "3"}', "push", 3.0, FIXED),
        ('{"promo": "push", "level": 2.0}', "push", 2.0, FIXED),
        ('{"promo": "e-mail", "level": 2}', "email", 2.0, FIXED),
        ('{"promo": "mail"}', "email", NAN, FIXED),
        ('{"promo": "correo", "level": 1}', "email", 1.0, FIXED),
        ('{"promo": "Correo electrónico"}', "email", NAN, FIXED),
        ('{"promo": "push", "level": 2,}', "push", 2.0, FIXED),
        ("{'promo': 'push', 'level': 2,}", "push", 2.0, FIXED),
        ("{promo: push, level: 2}", "push", 2.0, FIXED),
        ("{'promo': 'sms', 'level': None}", "sms", NAN, FIXED),
        ("promo=push;level=2", "push", 2.0, FIXED),
        ("promo=SMS; level=1", "sms", 1.0, FIXED),
        ("promo: email, level: 3", "email", 3.0, FIXED),
        ("promo=push&level=2", "push", 2.0, FIXED),
        ('{"promo_channel": "sms", "promo_level": 2}', "sms", 2.0, FIXED),
        ('{"canal": "correo", "nivel": 2}', "email", 2.0, FIXED),
        ('"{\\"promo\\": \\"sms\\", \\"level\\": 1}"', "sms", 1.0, FIXED),  # double-encoded
        ("SMS", "sms", NAN, FIXED),
        ("none", "none", NAN, FIXED),
        ("e-mail", "email", NAN, FIXED),
        ('{"promo": "opt-out"}', "none", NAN, FIXED),
        # level outside 1-3 -> NaN, channel kept
        ('{"promo": "push", "level": 5}', "push", NAN, FIXED),
        ('{"promo": "push", "level": 0}', "push", NAN, FIXED),
        ('{"promo": "push", "level": 2.5}', "push", NAN, FIXED),
        ('{"promo": "push", "level": "high"}', "push", NAN, FIXED),
        ('{"promo": "push", "level": true}', "push", NAN, FIXED),
        # channels outside the contract's set
        ('{"promo": "whatsapp", "level": 1}', "unknown", 1.0, INVALID),
        ('{"promo": "telegram"}', "unknown", NAN, INVALID),
        # malformed
        ('{"promo": "push", "level": 2', "unknown", NAN, INVALID),
        ('{"promo": "push"', "unknown", NAN, INVALID),
        ('"promo": "push"}', "unknown", NAN, INVALID),
        ("{}", "unknown", NAN, INVALID),
        ("null", "unknown", NAN, INVALID),
        ("[1, 2]", "unknown", NAN, INVALID),
        ("42", "unknown", NAN, INVALID),
        ('"push"x', "unknown", NAN, INVALID),
        ("random text", "unknown", NAN, INVALID),
        ("whatsapp", "unknown", NAN, INVALID),
        ("hello: world", "unknown", NAN, INVALID),
        ('{"level": 2}', "unknown", 2.0, INVALID),
        ("{{{{", "unknown", NAN, INVALID),
        ("[" * 10000, "unknown", NAN, INVALID),
        (42, "unknown", NAN, INVALID),
        (True, "unknown", NAN, INVALID),
        # missing
        ('{"promo": null, "level": 2}', "unknown", 2.0, MISSING),
        (None, "unknown", NAN, MISSING),
        (NAN, "unknown", NAN, MISSING),
        ("", "unknown", NAN, MISSING),
        ("N/A", "unknown", NAN, MISSING),
        ("not available", "unknown", NAN, MISSING),
    ],
)
def test_cells(raw: object, channel: str, level: float, status: str) -> None:
    r = parse_prefs(pd.Series([raw], dtype=object))
    assert r.values.iloc[0] == channel
    assert r.status.iloc[0] == status
    got = r.extra["promo_level"].iloc[0]
    assert (math.isnan(got) and math.isnan(level)) or got == level


def test_dict_cells_from_parquet() -> None:
    r = parse_prefs(pd.Series([{"promo": "sms", "level": 2}, {"promo": "x"}], dtype=object))
    assert r.values.tolist() == ["sms", "unknown"]
    assert r.extra["promo_level"].tolist()[0] == 2.0


def test_notes() -> None:
    s = pd.Series(
        ['{"promo": "push", "level": 2}'] * 3
        + ['{"promo": "push", "level": 2', "{}", "{}", "promo=sms;level=9", '{"promo": "whatsapp"}', None]
    )
    r = parse_prefs(s)
    assert r.notes["malformed"] == 3
    assert r.notes["salvaged"] == 1
    assert r.notes["level_out_of_range"] == 1
    assert r.notes["other_channels"] == {"whatsapp": 1}
    assert r.notes["channels"] == {"push": 3, "unknown": 4, "sms": 1}
    assert r.extra["promo_level"].name == "promo_level"
    assert r.counts() == {"clean": 3, "fixed": 1, "ambiguous": 0, "code": 0, "missing": 1, "invalid": 4}


CHANNEL = st.sampled_from(["push", "sms", "email", "none"])
LEVEL = st.one_of(st.none(), st.integers(1, 3))


@given(channel=CHANNEL, level=LEVEL, style=st.sampled_from(["json", "single", "upper", "kv", "trailing"]))
def test_round_trip(channel: str, level: int | None, style: str) -> None:
    """Well-formed preferences, written in any of the salvaged styles, come back."""
    obj = {"promo": channel} if level is None else {"promo": channel, "level": level}
    text = json.dumps(obj)
    if style == "single":
        text = text.replace('"', "'")
    elif style == "upper":
        text = json.dumps({k: v.upper() if isinstance(v, str) else v for k, v in obj.items()})
    elif style == "kv":
        text = ";".join(f"{k}={v}" for k, v in obj.items())
    elif style == "trailing":
        text = text[:-1] + ",}"
    r = parse_prefs(pd.Series([text]))
    assert r.values.iloc[0] == channel
    assert r.status.iloc[0] == (CLEAN if style == "json" else FIXED)
    lv = r.extra["promo_level"].iloc[0]
    assert (level is None and math.isnan(lv)) or lv == level
