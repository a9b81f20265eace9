"""Faults: a writer killed mid-write, and tampered or incompatible model and audience files.

Every file Lookalike writes (clean tables, quarantine, reports, models, audiences, exports)
goes through ``lookalike.io.atomic_path``: a hidden temporary file next to the target,
renamed over it only when complete. A child process is SIGKILLed (1) while blocked just
before that rename — the old file must be exactly as it was — and (2) at a random moment of
a loop that keeps rewriting a large table — the target must always be one complete version.
"""

from __future__ import annotations

import json
import os
import re
import signal
import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lookalike as lk
from lookalike.audience.store import load_audience, save_audience
from lookalike.cli import app
from lookalike.errors import InputError, ModelFormatError
from lookalike.io import file_digest

from .conftest import base_rows, error_lines

SRC = Path(lk.__file__).resolve().parent

# The writer runs in a forked child process (it inherits the data, so it only writes). With
# ``block_at=n`` the n-th os.replace announces itself and hangs: the kill lands just before that
# rename. With ``loop=True`` the child rewrites the target forever: the kill lands anywhere.
_FORK = multiprocessing.get_context("fork")


def _child(write: Callable[[], object], block_at: int, loop: bool, ready, blocked) -> None:  # pragma: no cover
    real_replace, calls = os.replace, [0]

    def replace(src, dst):
        calls[0] += 1
        if calls[0] == block_at:
            blocked.set()
            time.sleep(600)
        return real_replace(src, dst)

    os.replace = replace  # this process only: it was forked for this write
    ready.set()
    while True:
        write()
        if not loop:
            break
    os._exit(0)


class Writer:
    """A forked writer process with its READY/BLOCKED events."""

    def __init__(self, write: Callable[[], object], *, block_at: int = 0, loop: bool = False):
        self.ready, self.blocked = _FORK.Event(), _FORK.Event()
        self.proc = _FORK.Process(target=_child, args=(write, block_at, loop, self.ready, self.blocked), daemon=True)
        self.proc.start()

    def wait_blocked(self, timeout: float = 60) -> None:
        assert self.blocked.wait(timeout), f"the writer did not reach its rename (exit code {self.proc.exitcode})"

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.join(30)
        assert self.proc.exitcode == -signal.SIGKILL


def _leftovers(directory: Path, keep: set[str]) -> list[str]:
    """Files other than ``keep``: they may only be hidden temporaries, never the target's name."""
    other = sorted(p.name for p in directory.iterdir() if p.name not in keep)
    assert all(re.fullmatch(r"\..+\.tmp", name) for name in other), other
    return other


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """An 'old' clean table and model, and a different 'new' model, built once for the module."""
    d = tmp_path_factory.mktemp("faults")
    customers = lk.clean_customers(pd.DataFrame(base_rows(120))).customers
    lk.io.write_table(customers, d / "customers.parquet")
    finder = lk.LookalikeFinder().fit(customers)
    other = customers.assign(income=customers["income"] * 1.5)
    return {"dir": d, "customers": d / "customers.parquet", "finder": finder, "new": lk.LookalikeFinder().fit(other)}


def _digests(directory: Path) -> dict[str, str]:
    return {p.name: file_digest(p) for p in sorted(directory.iterdir()) if not p.name.startswith(".")}


def _table(n: int, label: str) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"customer_id": [f"{label}{i:07d}" for i in range(n)], "x": rng.random(n), "note": [label] * n})


@pytest.mark.parametrize("kind, name", [("parquet", "customers.parquet"), ("csv", "quarantine.csv"),
                                        ("report", "quality.md")])
def test_kill_before_rename_keeps_the_old_file(kind, name, tmp_path):
    target = tmp_path / name
    old, new = _table(2, "OLD"), _table(50_000, "NEW")
    if kind == "report":
        lk.io.write_text(target, "old report\n")
        writer = Writer(lambda: lk.io.write_text(target, "new report\n" * 50_000), block_at=1)
    else:
        lk.io.write_table(old, target)
        writer = Writer(lambda: lk.io.write_table(new, target), block_at=1)
    before = file_digest(target)
    writer.wait_blocked()
    temps = [p for p in tmp_path.iterdir() if p.name != name]
    assert temps and temps[0].stat().st_size > 0  # the new content was fully written, only not renamed
    writer.kill()
    assert file_digest(target) == before
    assert _leftovers(tmp_path, {name})  # the dead writer's temporary stays hidden, never as the target
    if kind == "parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(target), old)


@pytest.mark.parametrize("kind, name", [("parquet", "customers.parquet"), ("csv", "quarantine.csv")])
def test_kill_at_a_random_moment_leaves_one_complete_version(kind, name, tmp_path):
    target = tmp_path / name
    lk.io.write_table(_table(1, "OLD"), target)
    new = _table(300_000, "NEW")
    writer = Writer(lambda: lk.io.write_table(new, target), loop=True)
    assert writer.ready.wait(60)
    # kill while a temporary file is being filled (it exists and has bytes), not between writes
    deadline, caught = time.monotonic() + 60, False
    while time.monotonic() < deadline and not caught:
        try:
            caught = any(p.stat().st_size > 0 for p in tmp_path.iterdir() if p.name.startswith("."))
        except FileNotFoundError:  # renamed between listing and stat
            caught = False
        if not caught:
            time.sleep(0.001)
    assert caught, "the writer never started writing"
    writer.kill()
    got = pd.read_parquet(target) if kind == "parquet" else pd.read_csv(target)
    assert len(got) in (1, 300_000)  # the old version or a complete new one, never a torn file
    assert got["customer_id"].iloc[-1] in ("OLD0000000", "NEW0299999")
    _leftovers(tmp_path, {name})


def test_kill_during_model_save(state, tmp_path):
    """Killed while replacing the first model file: the old model loads as before. Killed between
    files: the manifest's checksums refuse the mixed directory with a clear message."""
    root = tmp_path / "model"
    state["finder"].save(root)
    before = _digests(root)
    writer = Writer(lambda: state["new"].save(root), block_at=1)
    writer.wait_blocked()
    writer.kill()
    assert _digests(root) == before
    again = lk.LookalikeFinder.load(root)
    pd.testing.assert_frame_equal(again.find_lookalikes("C0001", k=5), state["finder"].find_lookalikes("C0001", k=5))

    writer = Writer(lambda: state["new"].save(root), block_at=2)  # customers.parquet replaced, features.npy not
    writer.wait_blocked()
    writer.kill()
    with pytest.raises(ModelFormatError, match="does not match its checksum"):
        lk.LookalikeFinder.load(root)


def test_kill_during_audience_and_export_writes(state, tmp_path):
    aud_path = tmp_path / "aud.parquet"
    save_audience(state["finder"].build_audience("vip", 12), aud_path, model_version="old", data_fingerprint="old")
    old = load_audience(aud_path)
    new = state["new"].build_audience("vip", 15)

    def write_new():
        save_audience(new, aud_path, model_version="new", data_fingerprint="new")

    writer = Writer(write_new, block_at=1)
    writer.wait_blocked()
    writer.kill()
    pd.testing.assert_frame_equal(load_audience(aud_path), old)

    writer = Writer(write_new, block_at=2)  # the table replaced, not yet its manifest: refused
    writer.wait_blocked()
    writer.kill()
    with pytest.raises(InputError, match="does not match its checksum"):
        load_audience(aud_path)

    from lookalike.export import export_audience

    out = tmp_path / "exports"
    customers = state["finder"].customers_
    res = export_audience(state["finder"].expand("vip", 25, exclude_opted_out=False), customers, "email", out,
                          name="aud", user="test")
    before = _digests(out)
    assert res.paths and before
    new_aud = state["new"].expand("vip", 40, exclude_opted_out=False)
    writer = Writer(lambda: export_audience(new_aud, customers, "email", out, name="aud", user="child"), block_at=1)
    writer.wait_blocked()
    writer.kill()
    assert _digests(out) == before


# ------------------------------------------------------------------ tampered and incompatible files
def _flip_byte(path: Path, where: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    path.write_bytes(bytes(data))


def _edit_manifest(root: Path, edit) -> None:
    m = json.loads((root / "manifest.json").read_text())
    edit(m)
    (root / "manifest.json").write_text(json.dumps(m))


MODEL_TAMPERING = {
    "byte_flipped_customers": (lambda r: _flip_byte(r / "customers.parquet"), "does not match its checksum"),
    "byte_flipped_features": (lambda r: _flip_byte(r / "features.npy", 0.9), "does not match its checksum"),
    "features_file_deleted": (lambda r: (r / "features.npy").unlink(), "incomplete: features.npy is missing"),
    "manifest_newer_format": (lambda r: _edit_manifest(r, lambda m: m.update(format_version=2)), "model format 2"),
    "manifest_not_json": (lambda r: (r / "manifest.json").write_text("{oops"), "not valid JSON"),
    "manifest_other_kind": (lambda r: _edit_manifest(r, lambda m: m.update(format="something-else")),
                            "not a Lookalike model manifest"),
    "manifest_checksum_edited": (lambda r: _edit_manifest(r, lambda m: m["files"].update({"features.npy": "0" * 64})),
                                 "does not match its checksum"),
    "manifest_file_list_emptied": (lambda r: _edit_manifest(r, lambda m: m.update(files={})), "does not list the model files"),
    "manifest_weights_edited": (lambda r: _edit_manifest(r, lambda m: m.update(weights={"value": 5.0})),
                                "cannot be reproduced"),
    "manifest_spec_broken": (lambda r: _edit_manifest(r, lambda m: m.update(spec={"bogus": 1})), "invalid feature spec"),
    "manifest_feature_names_edited": (lambda r: _edit_manifest(r, lambda m: m.update(feature_names=["a"])),
                                      "cannot be reproduced"),
}


@pytest.mark.parametrize("name", sorted(MODEL_TAMPERING))
def test_tampered_model_is_refused(name, state, tmp_path, runner):
    root = state["finder"].save(tmp_path / "model")
    tamper, match = MODEL_TAMPERING[name]
    tamper(root)
    with pytest.raises(ModelFormatError, match=match) as info:
        lk.LookalikeFinder.load(root)
    res = runner.invoke(app, ["find", str(root), "C0001"])
    assert res.exit_code == 3 and "Traceback" not in res.output
    assert error_lines(res.output) == [f"error: {info.value}"]


AUDIENCE_TAMPERING = {
    "byte_flipped_table": (".parquet", lambda p: _flip_byte(p), "does not match its checksum"),
    "row_deleted_csv": (".csv", lambda p: p.write_text("\n".join(p.read_text().splitlines()[:-1]) + "\n"),
                        "does not match its checksum"),
    "rank_edited_csv": (".csv", lambda p: p.write_text(p.read_text().replace(",1,", ",2,", 1)),
                        "does not match its checksum"),
    "manifest_newer_format": (".parquet", lambda p: _edit_audience_manifest(p, lambda m: m.update(format_version=99)),
                              "manifest format version 99"),
    "manifest_checksum_edited": (".parquet", lambda p: _edit_audience_manifest(
        p, lambda m: m["files"].update({p.name: "0" * 64})), "does not match its checksum"),
    "manifest_without_checksum_and_ids_changed": (".csv", lambda p: (
        _edit_audience_manifest(p, lambda m: m.pop("files")),
        p.write_text(p.read_text().replace("C0", "X0", 1))), "does not match the ids and ranks"),
    "manifest_not_json": (".parquet", lambda p: p.with_name(p.stem + ".manifest.json").write_text("nope"),
                          "not valid JSON"),
}


def _edit_audience_manifest(p: Path, edit) -> None:
    mpath = p.with_name(p.stem + ".manifest.json")
    m = json.loads(mpath.read_text())
    edit(m)
    mpath.write_text(json.dumps(m))


@pytest.mark.parametrize("name", sorted(AUDIENCE_TAMPERING))
def test_tampered_audience_is_refused(name, state, tmp_path, runner):
    ext, tamper, match = AUDIENCE_TAMPERING[name]
    path = tmp_path / f"aud{ext}"
    save_audience(state["finder"].build_audience("vip", 20), path, model_version="t", data_fingerprint="t")
    assert len(load_audience(path)) == 20  # untouched, it loads
    tamper(path)
    with pytest.raises(InputError, match=match) as info:
        load_audience(path)
    res = runner.invoke(app, ["export", str(path), str(state["customers"]), "-o", str(tmp_path / "exp")])
    assert res.exit_code == 3 and "Traceback" not in res.output
    assert error_lines(res.output) == [f"error: {info.value}"]
    assert not (tmp_path / "exp").exists() or not any((tmp_path / "exp").glob("*.csv"))


def test_audience_without_manifest_is_still_accepted(state, tmp_path):
    """A hand-made audience (customer_id + rank, no manifest) is a documented input: nothing to verify."""
    p = tmp_path / "hand.csv"
    p.write_text("customer_id,rank\nC0001,1\nC0002,2\n")
    assert load_audience(p)["customer_id"].tolist() == ["C0001", "C0002"]


def test_no_pickle_anywhere():
    """Models and audiences are parquet + .npy (allow_pickle=False) + JSON: no code runs on load."""
    pattern = re.compile(r"\bimport pickle\b|\bfrom pickle\b|\bjoblib\b|\bcloudpickle\b|\bdill\b|\bshelve\b|"
                         r"\bmarshal\.load|allow_pickle\s*=\s*True|torch\.load|read_pickle|to_pickle")
    offenders = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
                 for i, line in enumerate(p.read_text("utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []
    loads = [f"{p.relative_to(SRC)}:{i}" for p in SRC.rglob("*.py")
             for i, line in enumerate(p.read_text("utf-8").splitlines(), 1)
             if "np.load(" in line and "allow_pickle=False" not in line]
    assert loads == []


# the modules that write models, audiences, exports, reports, clean tables and synthetic exports
# (a name is a module or a package: either form is found)
WRITERS = ("finder", "export", "cli", "privacy", "cleaning", "audience", "report", "evaluation",
           "campaigns", "transactions", "distributed", "api", "web", "synth", "features", "index", "config")
ALLOWED = (
    'path.open("a"',  # the export log: one JSON line appended per export, never rewritten
    "os.fdopen(fd,",  # the session secret: created once with O_EXCL and mode 0600, never rewritten
)


def _module_files(name: str) -> list[Path]:
    package = SRC / name
    return sorted(package.rglob("*.py")) if package.is_dir() else [SRC / f"{name}.py"]


def test_every_writer_goes_through_the_atomic_helpers():
    """No module that writes results writes a file directly: to_parquet/to_csv/savefig/np.save and
    parquet/xlsx writers only into a temporary path from lookalike.io (atomic_path / write_table /
    write_text / write_csv)."""
    direct = re.compile(r"\.to_parquet\((?!tmp|buf)|\.to_csv\((?!tmp|index=False|buf|fh)|\.to_excel\(|"
                        r"np\.save\((?!fh)|\.write_text\(|\.write_bytes\(|open\([^)]*[\"'][wa]b?[\"']|"
                        r"\.savefig\((?!fh|buf)|ParquetWriter\(|Workbook\(")
    files = [p for w in WRITERS for p in _module_files(w)]
    assert len(files) > 10 and all(p.is_file() for p in files)
    offenders = []
    for p in files:
        for i, line in enumerate(p.read_text("utf-8").splitlines(), 1):
            if direct.search(line) and "tmp" not in line and not any(ok in line for ok in ALLOWED):
                offenders.append(f"{p.relative_to(SRC)}:{i}: {line.strip()}")
    assert offenders == []


def test_one_atomic_writer():
    """Only lookalike.io makes temporary files and renames them into place (atomic_path): no twin."""
    rename = re.compile(r"\bos\.(?:replace|rename)\(|\bmkstemp\(|NamedTemporaryFile\(|\btmp\w*\.(?:replace|rename)\(")
    offenders = [f"{p.relative_to(SRC)}:{i}: {line.strip()}" for p in sorted(SRC.rglob("*.py")) if p != SRC / "io.py"
                 for i, line in enumerate(p.read_text("utf-8").splitlines(), 1) if rename.search(line)]
    assert offenders == []
    assert rename.search((SRC / "io.py").read_text("utf-8"))  # the pattern finds the one implementation


# Synthetic exports are written as the dirty CRM files they imitate (formula-like text included, on purpose):
# they are test input, never a result, and hold no customer's data.
CSV_WRITERS_ALLOWED = {"synth/write.py"}


def test_every_csv_goes_through_the_escaping_writer():
    """CSV text only from lookalike.io (write_csv / csv_text, which escape spreadsheet formulas): no
    ``to_csv(`` or ``csv.writer`` anywhere else (issue 16, item 6)."""
    pattern = re.compile(r"\.to_csv\(|\bcsv\.(?:writer|DictWriter)\(")
    offenders = [f"{p.relative_to(SRC)}:{i}: {line.strip()}" for p in sorted(SRC.rglob("*.py"))
                 if p != SRC / "io.py" and str(p.relative_to(SRC)) not in CSV_WRITERS_ALLOWED
                 for i, line in enumerate(p.read_text("utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []
    assert pattern.search((SRC / "io.py").read_text("utf-8"))  # the pattern finds the one implementation
    assert all(pattern.search((SRC / f).read_text("utf-8")) for f in CSV_WRITERS_ALLOWED)  # no stale exception
