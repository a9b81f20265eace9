"""Export: formula injection, normalisation + hashing, profiles, suppression, files, log, manifests."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pandas as pd
import pytest

from lookalike.errors import InputError, MissingColumnsError, ParameterError
from lookalike.export import (
    audience_digest,
    escape_formula,
    export_audience,
    load_export_profiles,
    load_manifest,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_zip,
    sha256_hex,
    write_manifest,
)

HEX64 = re.compile(r"[0-9a-f]{64}")
CHANNELS = ["email", "sms", "push", "none", "unknown"]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_audience(n: int = 40) -> pd.DataFrame:
    """n members, shuffled so that row order differs from rank order."""
    ids = [f"C{i:04d}" for i in range(1, n + 1)]
    aud = pd.DataFrame(
        {
            "customer_id": ids,
            "rank": range(1, n + 1),
            "similarity": [round(1 - i / (2 * n), 4) for i in range(n)],
            "reason": ["close on total_spent, avg_ticket, region"] * n,
            "vip_flag": [0] * n,
            "region": pd.Categorical(["Norte", "Sur"] * (n // 2)),
            "promo_channel": pd.Categorical([CHANNELS[i % 5] for i in range(n)], categories=CHANNELS),
        }
    )
    return aud.sample(frac=1.0, random_state=1).reset_index(drop=True)


def make_customers(n: int = 40) -> pd.DataFrame:
    """Contact and consent columns for the audience's customers (+ some non-members)."""
    ids = [f"C{i:04d}" for i in range(1, n + 11)]
    m = len(ids)
    tri = [True, False, pd.NA]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "promo_channel": pd.Categorical([CHANNELS[i % 5] for i in range(m)], categories=CHANNELS),
            "email": [f" User.{i}@Example.COM " if i % 7 else None for i in range(m)],
            "phone": [f"6{i:08d}" if i % 3 else None for i in range(m)],
            "first_name": ["José"] * m,
            "last_name": ["O'Neill"] * m,
            "country": ["ES"] * m,
            "zip": ["28001"] * m,
            # consent pattern independent of the channel pattern (period 3 vs 5)
            "consent_email": pd.array([tri[(i // 5) % 3] for i in range(m)], dtype="boolean"),
            "consent_sms": pd.array([tri[(i // 5) % 3] for i in range(m)], dtype="boolean"),
            "consent_push": pd.array([True] * m, dtype="boolean"),
            "consent_ads": pd.array([tri[i % 3] if i % 2 else True for i in range(m)], dtype="boolean"),
        }
    )


def read_csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def all_ids_in(paths, column: str) -> set[str]:
    return {v for p in paths for v in read_csv(p)[column]}


# --------------------------------------------------------------------------- formula injection


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1+2", "'  =1+2"),
        ("María O'Neill", "María O'Neill"),
        ("close on total_spent, avg_ticket", "close on total_spent, avg_ticket"),
    ],
)
def test_escape_formula_cases(cell, expected):
    assert escape_formula(pd.Series([cell], dtype=object)).tolist() == [expected]
    assert escape_formula(pd.Series([cell], dtype="string")).tolist() == [expected]


def test_escape_formula_leaves_numbers_alone():
    numbers = pd.Series([-1.5, 2.0, -3.0])
    assert escape_formula(numbers).equals(numbers)
    mixed = escape_formula(pd.Series([-7, "-7", None], dtype=object)).tolist()
    assert mixed[0] == -7 and mixed[1] == "'-7" and mixed[2] is None


def test_written_text_cells_are_escaped(tmp_path):
    aud = make_audience(10)
    aud["reason"] = "=HYPERLINK(\"http://x\")"
    res = export_audience(aud, None, "email", tmp_path, name="a", user="t")
    df = read_csv(res.paths[0])
    assert (df["reason"] == "'=HYPERLINK(\"http://x\")").all()
    assert not df["similarity"].str.startswith("'").any()


# --------------------------------------------------------------------------- normalisation + hashing


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" John.Doe@Example.COM ", "john.doe@example.com"),
        ("ANA@correo.es", "ana@correo.es"),
        ("no-at-sign.com", None),
        ("two@@example.com", None),
        ("john doe@example.com", None),
        ("user@localhost", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_email(raw, expected):
    out = normalize_email(pd.Series([raw], dtype=object))
    assert (pd.isna(out[0]) if expected is None else out[0] == expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+34 612 345 678", "+34612345678"),
        ("612345678", "+34612345678"),
        ("0034 612-345-678", "+34612345678"),
        ("(+34) 612.345.678", "+34612345678"),
        (612345678.0, "+34612345678"),
        ("not a phone", None),
        ("12", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_phone(raw, expected):
    out = normalize_phone(pd.Series([raw], dtype=object))
    assert (pd.isna(out[0]) if expected is None else out[0] == expected)


def test_normalize_phone_uses_the_customers_country():
    out = normalize_phone(pd.Series(["06 12 34 56 78", "612345678"]), regions=pd.Series(["FR", "xx"]))
    assert out.tolist() == ["+33612345678", "+34612345678"]
    with pytest.raises(ParameterError, match="default_region"):
        normalize_phone(pd.Series(["612345678"]), default_region="Spain")


def test_normalize_name_zip_country():
    assert normalize_name(pd.Series([" José-Luis ", "O'Neill", "MÜLLER", "42", None])).tolist() == [
        "joseluis", "oneill", "muller", pd.NA, pd.NA]
    assert normalize_zip(pd.Series([" SW1A 1AA", "28001", 8001.0, "94105-1234"])).tolist() == [
        "sw1a1aa", "28001", "8001", "94105"]
    # names and 3-letter codes are read since issue 16 (pycountry): "Spain" is es
    assert normalize_country(pd.Series([" ES", "fr", "Spain", None])).tolist() == ["es", "fr", "es", pd.NA]


def test_sha256_known_answer():
    digest = hashlib.sha256(b"adsapi").hexdigest()
    assert digest.startswith("49e0be2a") and digest.endswith("b1470d")
    out = sha256_hex(pd.Series(["adsapi", None, "adsapi"], dtype=object))
    assert out[0] == digest and out[2] == digest and pd.isna(out[1])


def test_hashes_of_normalised_values_match_hashlib():
    emails = normalize_email(pd.Series([" John.Doe@Example.COM "]))
    assert sha256_hex(emails)[0] == sha("john.doe@example.com")
    phones = normalize_phone(pd.Series(["0034 612-345-678"]))
    assert sha256_hex(phones)[0] == sha("+34612345678")
    assert sha256_hex(phones.str.removeprefix("+"))[0] == sha("34612345678")


# --------------------------------------------------------------------------- profiles


def test_packaged_profiles():
    profiles = load_export_profiles()
    assert sorted(profiles) == ["email", "google", "meta", "push", "sms"]
    assert profiles["meta"].headers == ("email", "phone", "fn", "ln", "zip", "country", "extern_id")
    assert profiles["google"].headers == ("Email", "Phone", "First Name", "Last Name", "Country", "Zip")
    assert all(p.encoding == "utf-8" for p in profiles.values())
    assert profiles["meta"].min_rows == 100


def test_bad_profile_file_is_an_input_error(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('[profiles.x]\ncolumns = [{ header = "a", source = "customer_id", normalize = "rot13" }]\n')
    with pytest.raises(InputError, match="unknown normalize 'rot13'"):
        load_export_profiles(bad)


def test_unknown_profile_lists_the_valid_ones(tmp_path):
    with pytest.raises(ParameterError, match="email, google, meta, push, sms"):
        export_audience(make_audience(), make_customers(), "tiktok", tmp_path, name="a")


def test_unsafe_name_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="file names"):
        export_audience(make_audience(), make_customers(), "email", tmp_path, name="../x")


# --------------------------------------------------------------------------- channel files


@pytest.mark.parametrize("channel", ["email", "sms", "push"])
def test_channel_files_hold_only_consenting_channel_members_in_rank_order(tmp_path, channel):
    aud, cust = make_audience(), make_customers()
    res = export_audience(aud, cust, channel, tmp_path, name="spring", user="t")
    df = read_csv(res.paths[0])
    contact = {"email": ["email", "first_name"], "sms": ["phone", "first_name"], "push": []}[channel]
    assert list(df.columns) == ["customer_id", *contact, "rank", "similarity", "reason"]
    info = cust.set_index("customer_id")
    members = info.loc[df["customer_id"]]
    assert (members["promo_channel"] == channel).all()
    assert (members[f"consent_{channel}"] == True).all()  # noqa: E712 - <NA> must not pass
    ranks = df["rank"].astype(int).tolist()
    assert ranks == sorted(ranks)
    # every consenting member of the channel is there
    expected = aud.merge(cust[["customer_id", f"consent_{channel}"]], on="customer_id")
    expected = expected[(expected["promo_channel"] == channel) & expected[f"consent_{channel}"].fillna(False)]
    # e-mail and SMS files hold the address the tool sends to: members without one are counted, not written
    reachable = (expected["customer_id"].map(cust.set_index("customer_id")[contact[0]]).notna() if contact
                 else pd.Series(True, index=expected.index))
    assert set(df["customer_id"]) == set(expected.loc[reachable, "customer_id"])
    assert res.rows_written == len(df) > 0
    steps = ["audience", f"channel={channel}", "consent", "excluded (holdout/suppression)"]
    assert list(res.counts) == steps + (["no usable identifier"] if contact else [])
    assert res.counts["audience"] == 40 and res.counts[f"channel={channel}"] == 8
    assert res.counts[list(res.counts)[-1]] == res.rows_written
    if contact:
        assert res.counts["consent"] - res.rows_written == (~reachable).sum()  # no address: counted, not written
        assert df[contact[0]].ne("").all() and (df["first_name"] == "José").all()


def test_consent_false_and_unknown_are_not_exported(tmp_path):
    aud, cust = make_audience(), make_customers()
    res = export_audience(aud, cust, "email", tmp_path, name="a", user="t")
    written = all_ids_in(res.paths, "customer_id")
    refused = set(cust.loc[~cust["consent_email"].fillna(False).astype(bool), "customer_id"])
    assert written and not written & refused
    assert cust.loc[cust["customer_id"].isin(written), "consent_email"].notna().all()


def test_none_and_unknown_channels_never_exported(tmp_path):
    aud, cust = make_audience(), make_customers()
    written: set[str] = set()
    for profile in ("email", "sms", "push"):
        written |= all_ids_in(export_audience(aud, cust, profile, tmp_path, name="a", user="t").paths,
                              "customer_id")
    never = set(aud.loc[aud["promo_channel"].isin(["none", "unknown"]), "customer_id"])
    assert never and not written & never


def test_channel_without_consent_columns_uses_the_stated_preference(tmp_path):
    aud = make_audience()
    res = export_audience(aud, None, "sms", tmp_path, name="a", user="t")
    assert res.rows_written == (aud["promo_channel"] == "sms").sum()
    assert any("consent_sms" in w for w in res.warnings)


def test_channel_needs_promo_channel(tmp_path):
    aud = make_audience().drop(columns="promo_channel")
    with pytest.raises(MissingColumnsError, match="promo_channel"):
        export_audience(aud, None, "email", tmp_path, name="a", user="t")


# --------------------------------------------------------------------------- exclusions


def test_excluded_ids_absent_from_every_file(tmp_path):
    aud, cust = make_audience(), make_customers()
    holdout = aud["customer_id"].iloc[::3].tolist()
    suppression = [" c0002 "]  # ids are matched after trimming and upper-casing
    small = {n: dataclasses.replace(p, chunk_rows=2) for n, p in load_export_profiles().items()}
    paths = []
    for profile, column in [("email", "customer_id"), ("sms", "customer_id"), ("push", "customer_id"),
                            ("meta", "extern_id")]:
        res = export_audience(aud, cust, profile, tmp_path, name="x", exclude_ids=holdout + suppression,
                              user="t", profiles=small)
        assert res.counts["excluded (holdout/suppression)"] <= res.counts["consent"]
        assert not all_ids_in(res.paths, column) & (set(holdout) | {"C0002"})
        paths += res.paths
    res = export_audience(aud, cust, "google", tmp_path, name="x", exclude_ids=holdout + suppression, user="t")
    excluded_email_hashes = {sha(f"user.{int(i[1:]) - 1}@example.com") for i in holdout + ["C0002"]}
    assert not all_ids_in(res.paths, "Email") & excluded_email_hashes
    assert len(paths) > 4  # chunked files were checked too


# --------------------------------------------------------------------------- ad platforms


@pytest.mark.parametrize("profile", ["meta", "google"])
def test_ad_profiles_refused_without_contact_columns(tmp_path, profile):
    cust = make_customers().drop(columns=["email", "phone"])
    with pytest.raises(InputError) as err:
        export_audience(make_audience(), cust, profile, tmp_path, name="a", user="t")
    msg = str(err.value)
    assert "email" in msg and "phone" in msg and "\n" not in msg
    assert not list(tmp_path.iterdir())


def test_meta_file_is_hashed_with_raw_extern_id(tmp_path):
    aud, cust = make_audience(), make_customers()
    res = export_audience(aud, cust, "meta", tmp_path, name="a", user="t")
    df = read_csv(res.paths[0])
    assert list(df.columns) == ["email", "phone", "fn", "ln", "zip", "country", "extern_id"]
    for col in ("email", "phone", "fn", "ln", "zip", "country"):
        filled = df[col][df[col] != ""]
        assert filled.str.fullmatch(HEX64).all(), col
    assert set(df["extern_id"]) <= set(aud["customer_id"])
    info = cust.set_index("customer_id").loc[df["extern_id"]]
    assert (info["consent_ads"] == True).all()  # noqa: E712
    first = info.iloc[0]
    i = int(df["extern_id"].iloc[0][1:]) - 1
    assert df["email"].iloc[0] == (sha(f"user.{i}@example.com") if first["email"] else "")
    assert df["phone"].iloc[0] == (sha(f"346{i:08d}") if first["phone"] else "")
    assert (df["fn"] == sha("jose")).all() and (df["ln"] == sha("oneill")).all()
    assert (df["country"] == sha("es")).all() and (df["zip"] == sha("28001")).all()
    # rows with neither email nor phone are dropped and counted
    assert res.counts["no usable identifier"] == res.rows_written < res.counts["excluded (holdout/suppression)"]
    assert ((df["email"] != "") | (df["phone"] != "")).all()
    assert any("minimum of 100" in w for w in res.warnings)  # a warning, not an error


def test_google_file_follows_customer_match_rules(tmp_path):
    aud, cust = make_audience(), make_customers()
    res = export_audience(aud, cust, "google", tmp_path, name="a", user="t")
    df = read_csv(res.paths[0])
    assert list(df.columns) == ["Email", "Phone", "First Name", "Last Name", "Country", "Zip"]
    assert (df["Country"] == "ES").all() and (df["Zip"] == "28001").all()  # not hashed
    phones = df["Phone"][df["Phone"] != ""]
    assert len(phones) and phones.isin({sha(f"+346{i:08d}") for i in range(60)}).all()  # E.164 with "+"
    assert (df["First Name"] == sha("josé")).all()


def test_ads_without_consent_column_skip_opted_out(tmp_path):
    aud, cust = make_audience(), make_customers().drop(columns="consent_ads")
    res = export_audience(aud, cust, "meta", tmp_path, name="a", user="t")
    opted_out = set(cust.loc[cust["promo_channel"] == "none", "customer_id"])
    assert not all_ids_in(res.paths, "extern_id") & opted_out
    assert any("consent_ads" in w for w in res.warnings)


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("profile", ["email", "meta", "google"])
def test_exports_are_byte_identical(tmp_path, profile):
    aud, cust = make_audience(), make_customers()
    a = export_audience(aud, cust, profile, tmp_path / "a", name="s", user="t")
    b = export_audience(aud.sample(frac=1.0, random_state=7), cust.sample(frac=1.0, random_state=3),
                        profile, tmp_path / "b", name="s", user="u")
    assert a.paths[0].read_bytes() == b.paths[0].read_bytes()
    assert a.sha256 == b.sha256 == {a.paths[0].name: hashlib.sha256(a.paths[0].read_bytes()).hexdigest()}


def test_utf8_without_bom(tmp_path):
    aud = make_audience()
    aud["reason"] = "cerca en región, categoría"
    res = export_audience(aud, None, "email", tmp_path, name="a", user="t")
    raw = res.paths[0].read_bytes()
    assert raw.startswith(b"customer_id,email,first_name,rank,similarity,reason\n")
    assert "región".encode("utf-8") in raw


def test_chunking(tmp_path):
    aud = make_audience()
    profiles = {"email": dataclasses.replace(load_export_profiles()["email"], chunk_rows=3)}
    whole = export_audience(aud, None, "email", tmp_path / "whole", name="a", user="t")
    res = export_audience(aud, None, "email", tmp_path / "parts", name="a", user="t", profiles=profiles)
    assert [p.name for p in res.paths] == ["a_email_001.csv", "a_email_002.csv", "a_email_003.csv"]
    parts = [read_csv(p) for p in res.paths]
    assert [len(p) for p in parts] == [3, 3, 2]
    assert pd.concat(parts, ignore_index=True).equals(read_csv(whole.paths[0]))
    assert set(res.sha256) == {p.name for p in res.paths}


def test_export_log_line(tmp_path):
    aud, cust = make_audience(), make_customers()
    log = tmp_path / "logs" / "exports.jsonl"
    res = export_audience(aud, cust, "meta", tmp_path, name="spring", user="marta", log_path=log)
    export_audience(aud, cust, "email", tmp_path, name="spring", log_path=log)
    lines = log.read_text("utf-8").splitlines()
    assert len(lines) == 2 and res.log_path == log
    rec = json.loads(lines[0])
    assert rec["user"] == "marta" and rec["audience"] == "spring" and rec["profile"] == "meta"
    assert rec["rows"] == res.rows_written
    assert rec["files"] == [{"file": "spring_meta.csv", "rows": res.rows_written,
                             "sha256": res.sha256["spring_meta.csv"]}]
    assert rec["timestamp"].endswith("+00:00")
    assert "@" not in lines[0] and "example.com" not in lines[0].lower()
    assert json.loads(lines[1])["user"]  # defaults to the login name
    default = export_audience(aud, cust, "sms", tmp_path / "d", name="s", user="t")
    assert default.log_path == tmp_path / "d" / "export_log.jsonl" and default.log_path.exists()


# --------------------------------------------------------------------------- manifests


def test_manifest_round_trip(tmp_path):
    import numpy as np

    aud = make_audience()
    kwargs = dict(audience=aud, seeds=["C0100", "C0101"], parameters={"size": np.int64(40), "scorer": "auto"},
                  model_version="0.1.0", data_fingerprint="blake2b:abc",
                  counts={"base": 50, "audience": 40}, created="2025-01-01T00:00:00+00:00")
    p1 = write_manifest(tmp_path / "m1.json", **kwargs)
    p2 = write_manifest(tmp_path / "m2.json", **kwargs)
    assert p1.read_bytes() == p2.read_bytes()
    doc = load_manifest(p1)
    assert doc["seeds"] == {"ids": ["C0100", "C0101"], "count": 2}
    assert doc["parameters"] == {"size": 40, "scorer": "auto"}
    assert doc["audience"]["rows"] == 40
    assert doc["audience"]["sha256"] == audience_digest(aud) == audience_digest(aud.sort_values("rank"))
    lines = "".join(f"C{i:04d}\t{i}\n" for i in range(1, 41))
    assert doc["audience"]["sha256"] == sha(lines)
    assert list(json.loads(p1.read_text())) == sorted(doc)
    described = write_manifest(tmp_path / "m3.json", **{**kwargs, "seeds": {"description": "VIPs", "count": 600}})
    assert load_manifest(described)["seeds"] == {"description": "VIPs", "count": 600}


def test_load_manifest_rejects_other_files(tmp_path):
    (tmp_path / "other.json").write_text('{"a": 1}')
    (tmp_path / "bad.json").write_text("not json")
    for name in ("other.json", "bad.json", "missing.json"):
        with pytest.raises(InputError, match="manifest"):
            load_manifest(tmp_path / name)


def test_result_is_frozen(tmp_path):
    res = export_audience(make_audience(), None, "push", tmp_path, name="a", user="t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.rows_written = 0  # type: ignore[misc]
