"""End-to-end tests of the command line (Typer's CliRunner), including every README command."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from lookalike.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module", autouse=True)
def _cache(workdir, monkeypatch_module):
    monkeypatch_module.setenv("LOOKALIKE_CACHE_DIR", str(workdir / "cache"))


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def raw_csv(workdir):
    path = workdir / "raw.csv"
    res = runner.invoke(app, ["generate", "--n", "20000", "--seed", "3", "-o", str(path), "--contact"])
    assert res.exit_code == 0, res.output
    return path


@pytest.fixture(scope="module")
def model_dir(workdir, raw_csv):
    out = workdir / "model"
    res = runner.invoke(app, ["fit", str(raw_csv), "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.slow
def test_clean_writes_table_quarantine_and_reports(workdir, raw_csv):
    out = workdir / "clean"
    res = runner.invoke(app, ["clean", str(raw_csv), "-o", str(out)])
    assert res.exit_code == 0, res.output
    customers = pd.read_parquet(out / "customers.parquet")
    report = json.loads((out / "quality.json").read_text())
    rows = report["rows"]
    assert rows["balanced"] and rows["in"] == rows["kept"] + rows["quarantined"] + rows["duplicates_merged"]
    assert rows["in"] > 20000 and len(customers) == rows["kept"]  # generated duplicates were merged
    assert customers.customer_id.is_unique
    assert (out / "quality.html").read_text().startswith("<!DOCTYPE html") or "<html" in (out / "quality.html").read_text()
    assert "rows in" in (out / "quality.md").read_text().lower()
    # second run hits the cache and gives the same table
    res2 = runner.invoke(app, ["clean", str(raw_csv), "-o", str(workdir / "clean2")])
    assert res2.exit_code == 0 and "cache" in res2.output
    pd.testing.assert_frame_equal(customers, pd.read_parquet(workdir / "clean2" / "customers.parquet"))


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_find_from_model_in_every_format(model_dir, fmt):
    res = runner.invoke(app, ["find", str(model_dir), "C000007", "-k", "4", "--format", fmt])
    assert res.exit_code == 0, res.output
    if fmt == "csv":
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith("C0")]
        assert len(lines) == 4 and not any(ln.startswith("C000007,") for ln in lines)
    elif fmt == "json":
        data = json.loads(res.stdout[res.stdout.index("["):])
        assert len(data) == 4 and data[0]["distance"] <= data[-1]["distance"]


def test_find_errors_are_one_line_with_exit_codes(model_dir, workdir):
    res = runner.invoke(app, ["find", str(model_dir), "NOPE1", "-k", "3"])
    assert res.exit_code == 2 and "unknown customer id" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["find", str(model_dir), "C000007", "-k", "999999"])
    assert res.exit_code == 2 and "k <=" in res.output
    empty = workdir / "empty.csv"
    empty.write_text("")
    res = runner.invoke(app, ["clean", str(empty), "-o", str(workdir / "x")])
    assert res.exit_code == 3 and "empty" in res.output and "Traceback" not in res.output
    nocols = workdir / "nocols.csv"
    nocols.write_text("name,city\nAna,Madrid\n")
    res = runner.invoke(app, ["clean", str(nocols), "-o", str(workdir / "x")])
    assert res.exit_code == 3 and "missing required column" in res.output and "customer_id" in res.output


@pytest.mark.slow
def test_expand_playbook_and_export_flow(model_dir, workdir):
    aud = workdir / "aud" / "vip.parquet"
    res = runner.invoke(app, ["expand", str(model_dir), "--seeds", "vip", "--size", "2%", "-o", str(aud)])
    assert res.exit_code == 0, res.output
    audience = pd.read_parquet(aud)
    assert len(audience) == 400 and audience["rank"].tolist() == list(range(1, 401))
    manifest = json.loads((aud.parent / "vip.manifest.json").read_text())
    assert manifest["counts"]["audience"] == 400
    assert (aud.parent / "vip.reach.png").stat().st_size > 1000
    res = runner.invoke(app, ["export", str(aud), str(model_dir), "-o", str(workdir / "exp")])
    assert res.exit_code == 0, res.output
    files = sorted(p.name for p in (workdir / "exp").glob("*.csv"))
    assert files == ["vip_email.csv", "vip_push.csv", "vip_sms.csv"]
    exported = pd.concat([pd.read_csv(workdir / "exp" / f) for f in files])
    assert set(exported.customer_id) <= set(audience.customer_id)
    res = runner.invoke(app, ["export", str(aud), str(model_dir), "--format", "meta", "-o", str(workdir / "exp")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["playbook", "list"])
    assert res.exit_code == 0 and "win-back" in res.stdout
    for name in ("retention-high-value", "cross-sell", "win-back", "acquisition-lookalike"):
        res = runner.invoke(app, ["playbook", "run", name, str(model_dir), "-o", str(workdir / "pb")])
        assert res.exit_code == 0, (name, res.output)
        assert len(pd.read_parquet(workdir / "pb" / f"{name}.parquet")) > 0
    res = runner.invoke(app, ["audience", "compare", str(aud), str(workdir / "pb" / "acquisition-lookalike.parquet")])
    assert res.exit_code == 0 and json.loads(res.stdout)["old_size"] == 400


@pytest.mark.slow
def test_expand_with_rule_seeds_and_bad_rule(model_dir, workdir):
    res = runner.invoke(app, ["expand", str(model_dir), "--seeds", "total_spent top 2%", "--size", "300",
                              "-o", str(workdir / "rule.parquet")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["expand", str(model_dir), "--seeds", "total_spent ~~ 3", "-o", str(workdir / "x.parquet")])
    assert res.exit_code == 2 and "cannot read rule" in res.output


@pytest.mark.slow
def test_expand_with_a_seed_order_validates_forward(model_dir, workdir):
    out = workdir / "ordered.parquet"
    res = runner.invoke(app, ["expand", str(model_dir), "--seeds", "total_spent top 2%", "--size", "300",
                              "--seed-order", "signup_date", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "why this method: Validated forward in time" in res.output
    params = json.loads((workdir / "ordered.manifest.json").read_text())["parameters"]
    assert params["seed_order"] == "signup_date" and params["validation"]["kind"] == "forward"
    res = runner.invoke(app, ["expand", str(model_dir), "--seed-order", "nope", "-o", str(workdir / "x.parquet")])
    assert res.exit_code == 2 and "seed order column 'nope'" in res.output and "Traceback" not in res.output


@pytest.mark.slow
def test_demo_on_given_data(raw_csv, workdir):
    out = workdir / "demo"
    res = runner.invoke(app, ["demo", "--data", str(raw_csv), "--out", str(out), "-k", "3"])
    assert res.exit_code == 0, res.output
    for name in ("customers.parquet", "quarantine.csv", "quality.json", "quality.md", "quality.html",
                 "pca_vip.png", "distributions.png", "model/manifest.json"):
        assert (out / name).is_file(), name
    assert (out / "pca_vip.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Lookalikes of VIP" in res.stdout
    audience = pd.read_parquet(out / "audiences" / "vip-lookalikes.parquet")
    assert len(audience) == 1000 and (audience.vip_flag == 0).all()  # 5% of 20,000, VIPs excluded
    assert (out / "audiences" / "vip-lookalikes.manifest.json").is_file()


@pytest.mark.parametrize("enabled", [True, False])
def test_imports_frozen_pauses_the_collector_for_the_imports_then_freezes_them_for_the_body(enabled):
    import gc

    from lookalike.cli.common import imports_frozen

    before = gc.get_freeze_count()
    (gc.enable if enabled else gc.disable)()
    try:
        with imports_frozen() as imported:
            assert not gc.isenabled()  # the imports load with no collection
            objects = [[i] for i in range(1000)]  # what the imports leave alive
            imported()
            assert gc.get_freeze_count() >= before + len(objects)  # they and all before are out of every collection
            assert gc.isenabled() is enabled  # the body's own garbage is collected as before
        assert gc.get_freeze_count() == before  # back in the generations: a long test process leaks nothing
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), imports_frozen():  # restored when the imports fail too
            raise RuntimeError("an import failed")
        assert gc.get_freeze_count() == before and gc.isenabled() is enabled
    finally:
        gc.enable()


def test_the_cli_process_skips_the_final_collections_at_exit():
    import subprocess
    import sys

    code = ("import atexit, gc, lookalike.cli; atexit._run_exitfuncs(); "  # what the interpreter runs at exit
            "print(gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
