"""One list of audience options (lookalike.audience.options) behind every face: library, CLI, API, playbooks."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import lookalike as lk
from lookalike.api.models import AudienceOptions as ApiOptions
from lookalike.api.models import AudienceRequest, options_model
from lookalike.audience.expand import build_audience
from lookalike.audience.options import FACES, AudienceOptions, _option, option_fields
from lookalike.audience.playbooks import AUDIENCE_KEYS, load_playbook, run_playbook
from lookalike.cli import app
from lookalike.cli.audiences import CLI_ONLY, cli_option_values, option_parameters
from lookalike.errors import ParameterError
from lookalike.synth import generate

runner = CliRunner()


def _names(face: str) -> set[str]:
    return {f.name for f in option_fields(face)}


def _cli_params() -> dict[str, object]:
    command = typer.main.get_command(app).commands["expand"]
    return {p.name: p for p in command.params}


@pytest.fixture(scope="module")
def finder():
    return lk.LookalikeFinder().fit(lk.clean_customers(generate(4000, seed=21, contact=True).raw).customers)


def test_every_face_names_exactly_the_options_it_offers():
    everything = {f.name for f in option_fields()}
    assert set(ApiOptions.model_fields) == _names("api")
    assert set(AudienceRequest.model_fields) - set(ApiOptions.model_fields) == {"name", "top"}
    assert set(_cli_params()) - set(CLI_ONLY) == _names("cli")
    assert set(AUDIENCE_KEYS) | {"seeds"} == _names("playbook")  # the seeds have their own [seeds] table
    for face in FACES:  # a field a face leaves out says why
        for f in option_fields():
            if f.name not in _names(face):
                assert f.metadata["off"][face].strip(), (face, f.name)
    assert everything - _names("api") == {"objective"}  # the service has no uplift models


def test_descriptions_and_defaults_come_from_the_dataclass():
    cli = _cli_params()
    for f in option_fields("api"):
        api = ApiOptions.model_fields[f.name]
        assert api.description == f.metadata["help"]
        if f.metadata["kind"] not in ("seeds", "ids", "filters", "rule"):
            assert api.default == f.default, f.name
    for f in option_fields("cli"):
        assert cli[f.name].help.startswith(f.metadata["help"]), f.name
    assert ApiOptions().k == AudienceOptions().k == cli["k"].default == 100


def test_adding_an_option_is_one_field():
    @dataclass(frozen=True)
    class Extended(AudienceOptions):
        seed_order: str | None = _option(None, "Column holding the seeds' order in time", "text")

    model = options_model(Extended, "Extended")
    assert model.model_fields["seed_order"].description == "Column holding the seeds' order in time"
    assert model(seed_order="signup_date").seed_order == "signup_date"
    assert "seed_order" in [p.name for p in option_parameters(Extended)]
    assert cli_option_values({"seed_order": "signup_date"}, Extended)["seed_order"] == "signup_date"
    assert "seed_order" in {f.name for f in option_fields("playbook", Extended)}


@pytest.mark.slow
def _timeless(value: object) -> object:
    """``value`` without its measured times (``seconds``: auto's validation records how long each candidate took)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


@pytest.mark.slow
def test_keywords_and_the_options_object_build_the_same_audience(finder):
    kwargs = {"exclude_vips": True, "k": 40, "learn_weights": False, "filters": {"region": ["Norte", "Sur"]}}
    a = finder.build_audience("vip", "3%", explain=False, **kwargs)
    b = build_audience(finder, options=AudienceOptions(size="3%", **kwargs), explain=False)
    assert a.audience["customer_id"].tolist() == b.audience["customer_id"].tolist()
    assert _timeless(a.params) == _timeless(b.params) and a.params["k"] == 40 and a.params["learn_weights"] is False
    c = build_audience(finder, options=AudienceOptions(size="3%", **kwargs), size="2%", explain=False)
    assert len(c.audience) == round(0.02 * finder.n_customers_)  # an explicit size wins over the options'


def test_bad_options_are_one_line_parameter_errors(finder):
    with pytest.raises(ParameterError, match="value must be one of total_spent, avg_ticket"):
        AudienceOptions(value="income")
    with pytest.raises(ParameterError, match="value_weight must be between 0 and 1"):
        AudienceOptions(value_weight=2)
    with pytest.raises(ParameterError, match="unknown scorer 'nearest'"):
        AudienceOptions(scorer="nearest")
    with pytest.raises(ParameterError, match="unknown audience option.*exclude_vip;"):
        finder.build_audience("vip", "2%", exclude_vip=True)


@pytest.mark.slow
def test_playbooks_take_rules_as_text_and_id_files(finder, tmp_path):
    suppressed = finder.customers_.customer_id.iloc[:50].tolist()
    (tmp_path / "no.txt").write_text("\n".join(suppressed), encoding="utf-8")
    f = tmp_path / "pb.toml"
    f.write_text('name = "pb"\n[seeds]\npreset = "vip"\n[audience]\nsize = 200\nsuppress = "no.txt"\n'
                 'candidate_rule = "total_orders >= 3"\nk = 30\n', encoding="utf-8")
    pb = load_playbook(str(f))
    assert pb.audience["candidate_rule"] == [{"column": "total_orders", "op": ">=", "value": 3}]
    res = run_playbook(finder, pb)
    assert not set(res.audience.customer_id) & set(suppressed) and res.counts["excluded: suppression list"] > 0
    assert (finder.customers_.set_index("customer_id").loc[res.audience.customer_id, "total_orders"] >= 3).all()
    assert res.params["k"] == 30


@pytest.mark.slow
def test_cli_offers_every_option(finder, tmp_path):
    data = tmp_path / "customers.parquet"
    finder.customers_.to_parquet(data)
    ids = tmp_path / "only.txt"
    allowed = finder.customers_.customer_id.iloc[:1500].tolist()
    ids.write_text("\n".join(allowed), encoding="utf-8")
    out = tmp_path / "a.parquet"
    res = runner.invoke(app, ["expand", str(data), "--size", "100", "--k", "30", "--no-learn-weights",
                              "--include-ids", str(ids), "--filter", "region=Norte", "--filter", "region=Sur",
                              "--candidate-rule", "total_orders >= 2", "--value", "total_spent",
                              "--value-weight", "0.2", "--random-state", "3", "-o", str(out)])
    assert res.exit_code == 0, res.output
    params = json.loads((tmp_path / "a.manifest.json").read_text())["parameters"]
    assert params["k"] == 30 and params["learn_weights"] is False and params["value_weight"] == 0.2
    assert params["filters"] == {"region": ["Norte", "Sur"]} and params["random_state"] == 3
    assert params["candidate_rule"] == [{"column": "total_orders", "op": ">=", "value": 2}]
    aud = pd.read_parquet(out)
    assert set(aud.customer_id) <= set(allowed) and set(aud.region.astype(str)) <= {"Norte", "Sur"}
    res = runner.invoke(app, ["expand", str(data), "--filter", "region", "-o", str(out)])
    assert res.exit_code == 2 and "column=value" in res.output
    res = runner.invoke(app, ["expand", str(data), "--value", "income", "-o", str(out)])
    assert res.exit_code == 2 and "value must be one of" in res.output and "Traceback" not in res.output


def test_the_docs_list_every_option():
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "audiences.md").read_text("utf-8")
    assert [f.name for f in option_fields() if f"`{f.name}`" not in doc] == []
