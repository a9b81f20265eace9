"""No test touches the user's real home: the session runs with HOME and the caches in a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from conftest import REAL_HOME
from lookalike.cli import app


def _inside(path: str | Path, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


def test_home_and_caches_point_into_the_session_tmp_dir(private_home, tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    assert _inside(private_home, base) and not _inside(private_home, REAL_HOME)
    assert Path.home() == private_home
    for var in ("HOME", "XDG_CACHE_HOME", "LOOKALIKE_CACHE_DIR", "LOOKALIKE_HOME"):
        assert _inside(os.environ[var], private_home), var
    # a subprocess (e.g. `lookalike serve` in the secrets test) inherits the private home
    out = subprocess.run([sys.executable, "-c", "from pathlib import Path; print(Path.home())"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(private_home)


def test_cli_clean_caches_in_the_private_home(private_home, tmp_path):
    real_cache = REAL_HOME / ".cache" / "lookalike"
    real_before = sorted(real_cache.rglob("*")) if real_cache.is_dir() else None
    raw = tmp_path / "raw.csv"
    raw.write_text("customer_id,age,total_spent,total_orders\nC1,30,\"$1,200.50\",3\nC2,41,99,1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["clean", str(raw), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    entries = list((Path(os.environ["LOOKALIKE_CACHE_DIR"]) / "clean").glob("*/customers.parquet"))
    assert entries and all(_inside(e, private_home) for e in entries)
    assert (sorted(real_cache.rglob("*")) if real_cache.is_dir() else None) == real_before
