"""Task TOML mistakes: one line naming the key and the fix, InputError (exit code 3 on the command line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookalike.cli import app
from lookalike.errors import InputError
from lookalike.evaluation.tasks import TASK_KEYS, load_task

DATA = "id,age,spend,plan,y\n" + "\n".join(
    f"{i},{20 + i % 50},{(i * 37) % 1000},{'month' if i % 3 else 'year'},{'yes' if i % 7 == 0 else 'no'}"
    for i in range(1, 301)) + "\n"

GOOD = """
name = "tiny"
file = "data.csv"
id = "id"

[columns]
total_spent = "spend"

[features]
numeric = ["age", "total_spent"]
categorical = ["plan"]
label = ["y"]

[task]
mode = "hide"
positives = "y == 'yes'"
hide_share = 0.3
"""


@pytest.fixture()
def write(tmp_path: Path):
    (tmp_path / "data.csv").write_text(DATA)

    def _write(text: str) -> Path:
        p = tmp_path / "task.toml"
        p.write_text(text)
        return p
    return _write


def test_the_good_task_loads(write):
    t = load_task(write(GOOD))
    assert t.positives.sum() == 300 // 7 and t.value == "total_spent" and t.hide_share == 0.3


@pytest.mark.parametrize("change, key, fix", [
    (("", 'sensitive = ["age"]\n'), "sensitive is not a task key", "use one of name, title, file"),
    (('hide_share = 0.3', 'hide_share = 0.3\nexcluded = ["x"]'), "[task] excluded is not a task key", "docs/evaluation.md"),
    (('"age", "total_spent"]', '"age", "tenure"]'), "[features] numeric lists 'tenure', not a column", "derive it in [columns]"),
    (("y == 'yes'", "y == 'maybe'"), "[task] positives selects 0 customer(s)", "check the expression"),
    (("y == 'yes'", "nope > 1"), "[task] positives = 'nope > 1' cannot be evaluated", "use the data's columns"),
    (('file = "data.csv"', 'file = "missing.csv"'), "file = 'missing.csv' does not exist", "relative to the task TOML"),
    (('file = "data.csv"', ''), "file is missing", "name the data file"),
    (('mode = "hide"', 'mode = "future"'), "[task] mode = 'future' is not a mode", "use one of hide, given, time"),
    (("hide_share = 0.3", "hide_share = 30"), "[task] hide_share must be a number between 0 and 1", "hide_share = 0.3"),
    (("hide_share = 0.3", "split_at = 0.5"), "[task] split_at has no meaning in mode 'hide'", "change the mode"),
    (("hide_share = 0.3", 'seed_order = "signup"'), "[task] seed_order = 'signup' is not a column", "date or number"),
    (("hide_share = 0.3", 'value = "plan"'), "[task] value = 'plan' is not a numeric column", "numeric column"),
    (('label = ["y"]', 'label = ["y", "age"]'), "[features] numeric uses age, which [features] label says define",
     "remove them from the features"),
    (('categorical = ["plan"]', 'categorical = ["plan", "age"]'), "[features] lists age more than once",
     "keep each column in one"),
    (('total_spent = "spend"', 'total_spent = "spend +"'), "[columns] total_spent = 'spend +' cannot be evaluated",
     "use the data's columns"),
    (('mode = "hide"', 'mode = "given"'), "[task] seeds is missing (mode 'given' needs seeds and target)",
     "add the expression"),
    (("[task]", "[task\n"), "is not valid TOML", "fix the syntax"),
])
def test_each_mistake_names_its_key_and_the_fix(write, change, key, fix):
    old, new = change
    text = (new + GOOD) if old == "" else GOOD.replace(old, new)
    with pytest.raises(InputError) as err:
        load_task(write(text))
    msg = str(err.value)
    assert key in msg and fix in msg and "\n" not in msg


def test_every_documented_key_is_a_task_key():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "evaluation.md").read_text("utf-8")
    for section, keys in TASK_KEYS.items():
        for key in keys:
            assert f"`{key}`" in doc, f"docs/evaluation.md does not document {section or 'top-level'} key {key}"


def test_cli_exit_code_3_and_one_line(write):
    p = write(GOOD.replace('"age", "total_spent"]', '"age", "tenure"]'))
    r = CliRunner().invoke(app, ["evaluate", "--task", str(p), "--splits", "2", "--out", str(p.parent / "out")])
    assert r.exit_code == 3, r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "[features] numeric lists 'tenure'" in lines[0] and "Traceback" not in r.output
