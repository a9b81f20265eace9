"""The CLI is a package of thin command modules; the faces import downwards only."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lookalike
from lookalike.cli import app

SRC = Path(lookalike.__file__).parent
HEAVY = ("pandas", "numpy", "sklearn", "scipy", "statsmodels", "sqlalchemy", "fastapi", "matplotlib", "faiss",
         "pyarrow", "jinja2")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout.split()
    return set(out)


@pytest.mark.slow
def test_help_loads_no_data_library():
    loaded = _modules_after("import sys\nfrom lookalike.cli import app\nsys.argv = ['lookalike', '--help']\n"
                            "try:\n    app()\nexcept SystemExit as e:\n    assert e.code == 0, e.code")
    assert {"lookalike.cli.data", "lookalike.cli.campaigns", "typer"} <= loaded
    assert [m for m in HEAVY if m in loaded] == []


def test_import_lookalike_loads_no_data_library():
    loaded = _modules_after("import lookalike")
    assert "lookalike" in loaded and "lookalike.finder" not in loaded
    assert [m for m in HEAVY if m in loaded] == []
    loaded = _modules_after("import lookalike\nlookalike.__version__")
    assert [m for m in HEAVY if m in loaded] == []


def test_the_data_libraries_are_installed_with_their_bytecode():
    """make install compiles at install time: where PYTHONDONTWRITEBYTECODE is set (CI images,
    containers) Python never caches what it compiles, and each command would compile pandas,
    scikit-learn and SciPy from source again (2-3 s a process; the demo took 12 s, not 9)."""
    import importlib
    import importlib.util
    import os

    missing = []
    for name in ("pandas", "pandas.core.frame", "numpy", "sklearn.base", "sklearn.utils.validation",
                 "scipy.stats._continuous_distns", "pyarrow.parquet.core", "faiss"):
        source = importlib.import_module(name).__file__
        cached = importlib.util.cache_from_source(source)
        if not os.path.exists(cached) or os.path.getmtime(cached) < os.path.getmtime(source):
            missing.append(name)
    assert missing == [], f"no bytecode for {missing}: install with make install (pip compiles), not --no-compile"


@pytest.mark.slow
def test_the_api_does_not_import_the_web_ui_nor_the_app_factory():
    loaded = _modules_after("import lookalike.api.routes, lookalike.api.service")
    assert "lookalike.api.routes" in loaded
    assert not {m for m in loaded if m.startswith(("lookalike.web", "lookalike.server", "lookalike.cli"))}
    loaded = _modules_after("import lookalike.web.routes")
    assert "lookalike.web.routes" in loaded and "lookalike.server" not in loaded


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_domain_package_holds_cli_code():
    """Typer and the CLI helpers are used under lookalike/cli only (and by the spark-submit entry script)."""
    users = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                   if p.relative_to(SRC).parts[0] != "cli"
                   and any(n == "typer" or n.startswith("lookalike.cli") for n in _imports(p)))
    assert users == ["distributed/__main__.py"]
    assert not list(SRC.rglob("cli.py")) and not (SRC / "privacy_cli.py").exists()


def test_a_database_that_cannot_be_opened_exits_4(tmp_path):
    res = CliRunner().invoke(app, ["campaign", "list", "--db", "nosuchdriver://host/db"])
    assert res.exit_code == 4 and "cannot use database URL" in res.output and "Traceback" not in res.output
