"""The clean-table cache key follows the cleaning code and its configuration, not the package version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lookalike.cleaning import cache
from lookalike.config import ColumnMapping


def _csv(n: int) -> str:
    rows = [f"C{i:04d},{20 + i},{'FM'[i % 2]},\"$1,{i:03d}.50\",{1 + i % 9},Norte" for i in range(1, n + 1)]
    return "\n".join(["customer_id,age,gender,total_spent,total_orders,region", *rows]) + "\n"


@pytest.fixture
def sources(tmp_path, monkeypatch) -> dict[str, Path]:
    """A private copy of the cleaning sources that the fingerprint reads instead of the package's."""
    copies = {}
    for name, path in cache.cleaning_sources().items():
        copies[name] = tmp_path / "src" / name
        copies[name].parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copies[name])
    monkeypatch.setattr(cache, "cleaning_sources", lambda: dict(copies))
    cache.code_fingerprint.cache_clear()
    yield copies
    cache.code_fingerprint.cache_clear()


@pytest.fixture
def export(tmp_path) -> Path:
    p = tmp_path / "export.csv"
    p.write_text(_csv(30), encoding="utf-8")
    return p


def _key(path: Path, mapping: ColumnMapping | None = None) -> str:
    cache.code_fingerprint.cache_clear()
    return cache.cache_key(path, mapping or ColumnMapping.load())


def test_sources_cover_the_parsers_the_reader_and_the_packaged_config():
    names = set(cache.cleaning_sources())
    assert {"cleaning/money.py", "cleaning/dates.py", "cleaning/table.py", "config/__init__.py",
            "config/columns.toml", "config/vocabulary.toml"} <= names
    assert "io.py" in names or any(n.startswith("io/") for n in names)  # the reader, a module or a package
    assert "finder.py" not in names  # only what decides a clean table


def test_a_parser_change_changes_the_key_and_misses_the_cache(sources, export, tmp_path):
    before = _key(export)
    assert _key(export) == before  # deterministic
    store = tmp_path / "cache"
    assert cache.clean_file(export, cache_dir=store)[1] is False
    assert cache.clean_file(export, cache_dir=store)[1] is True

    original = sources["cleaning/money.py"].read_bytes()
    sources["cleaning/money.py"].write_bytes(original + b"\n# a changed parser\n")
    after = _key(export)
    assert after != before
    result, hit = cache.clean_file(export, cache_dir=store)
    assert hit is False and len(result.customers) == 30  # rebuilt, not the entry the old code wrote
    assert sorted(p.name for p in store.iterdir()) == sorted([before, after])

    sources["cleaning/money.py"].write_bytes(original)
    assert _key(export) == before


@pytest.mark.parametrize("name", ["io.py", "config/vocabulary.toml", "config/columns.toml"])
def test_a_reader_or_config_change_changes_the_key(sources, export, name):
    if name == "io.py" and name not in sources:  # io became a package: change its first module
        name = min(n for n in sources if n.startswith("io/"))
    before = _key(export)
    with sources[name].open("a", encoding="utf-8") as fh:
        fh.write("\n# edited\n")
    assert _key(export) != before


def test_the_mapping_and_the_file_change_the_key(export, tmp_path):
    mapping = ColumnMapping.load()
    before = _key(export, mapping)
    narrower = ColumnMapping(aliases=mapping.aliases, required=("customer_id", "age"), any_of=mapping.any_of)
    assert _key(export, narrower) != before
    other = tmp_path / "other.csv"
    other.write_text(_csv(31), encoding="utf-8")
    assert _key(other, mapping) != before
