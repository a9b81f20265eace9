"""The README's evaluation table is the committed results, not a copy that can go stale."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("readme_table", ROOT / "bench" / "readme_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_table_matches_the_committed_json():
    mod = _module()
    readme = (ROOT / "README.md").read_text("utf-8")
    assert mod.START in readme and mod.END in readme
    between = readme.split(mod.START, 1)[1].split(mod.END, 1)[0].strip()
    assert between == mod.table(), "README table is stale: run python bench/readme_table.py"


def test_committed_results_come_from_the_shipped_default_with_20_splits():
    for key, _ in _module().TASKS:
        doc = json.loads((ROOT / "bench" / "results" / "evaluation" / f"{key}.json").read_text("utf-8"))
        assert doc["params"]["n_splits"] == 20 and doc["params"]["scorers"][0] == "auto"
        methods = {r["method"] for r in doc["summary"]}
        assert {"auto", "best_rule", "spend"} <= methods
        assert doc["validation"]["kinds"], "auto's validation is recorded"
