"""The layers of lookalike (docs/architecture.md): import-linter's contract, and the function-level imports.

``lint-imports`` checks the ``[tool.importlinter]`` contracts of pyproject.toml: the layers, top to bottom,
and no cycle between top-level units. It reads every import, also those inside functions; so a
function-level import is only for an optional or heavy dependency that the importing module must not load
when it is imported (``lookalike --help``, the web server's start), and says so on its line:
``# lazy: <reason>`` or ``# optional: <reason>`` (on the import, or on the comment line that opens a
block of imports). The test below finds each function-level import of another unit and checks both the
comment and the reason: the imported module must bring a heavy library the importing module does not
already load. Anything else belongs at the top of the module.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import lookalike

SRC = Path(lookalike.__file__).resolve().parent
ROOT = SRC.parents[1]
#: Libraries slow to import (tenths of a second and more).
HEAVY = frozenset({"pandas", "numpy", "scipy", "sklearn", "statsmodels", "sqlalchemy", "alembic", "matplotlib",
                   "faiss", "pyarrow", "pyspark", "playwright", "uvicorn", "fastapi", "psycopg", "jinja2"})
#: What a module may put off until a function needs it: optional extras, the plotting library, FAISS (at
#: query time) and the database stack outside the database modules. The CLI may put off any heavy library:
#: ``lookalike --help`` imports every command module.
DEFERRABLE = frozenset({"matplotlib", "faiss", "pyspark", "playwright", "uvicorn", "sqlalchemy", "alembic",
                        "psycopg"})
_REASON = re.compile(r"#\s*(lazy|optional):\s*\S")

#: Imports that break the rules today in files other branches own, and the fix each needs at merge (each
#: entry must still be found: remove it once fixed). Keep in step with pyproject's ``ignore_imports``.
PENDING: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str        # the importing module
    target: str        # the lookalike module imported
    line: int
    in_function: bool
    comment: bool      # a # lazy: / # optional: reason on the line or above the block


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SRC.rglob("*.py")}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "lookalike"


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - node.level + 1]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    # ``from pkg import sub`` imports the submodule when there is one
    subs = [f"{name}.{a.name}" for a in node.names if f"{name}.{a.name}" in _modules()]
    return subs or [name]


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


@cache
def _imports(module: str) -> tuple[Import, ...]:
    path = _modules()[module]
    text = path.read_text("utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    skip = _type_checking_lines(tree)
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    in_function.add(id(sub))
    import_lines = {i for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                    for i in range(node.lineno, (node.end_lineno or node.lineno) + 1)}
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in skip:
            continue
        own = any(_REASON.search(lines[i - 1]) for i in range(node.lineno, (node.end_lineno or node.lineno) + 1))
        for target in _targets(node, module, path.name == "__init__.py"):
            out.append(Import(module, target, node.lineno, id(node) in in_function,
                              own or _block_comment(lines, node, import_lines)))
    return tuple(out)


def _block_comment(lines: list[str], node: ast.stmt, import_lines: set[int]) -> bool:
    """True when the import sits in a run of imports opened by a ``# lazy:``/``# optional:`` comment line."""
    i = node.lineno - 1  # 1-based line number of the line above
    while i >= 1 and (i in import_lines or not lines[i - 1].strip()):
        i -= 1
    return i >= 1 and lines[i - 1].strip().startswith("#") and bool(_REASON.search(lines[i - 1]))


@cache
def heavy_closure(module: str) -> frozenset[str]:
    """The heavy libraries importing ``module`` loads (its module-level imports, followed through lookalike)."""
    seen: set[str] = set()
    heavy: set[str] = set()
    stack = [module]
    while stack:
        m = stack.pop()
        if m in seen:
            continue
        seen.add(m)
        parts = m.split(".")
        stack += [".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in _modules()]
        for imp in _imports(m):
            if imp.in_function:
                continue
            root = imp.target.split(".")[0]
            if root == "lookalike":
                stack += [t for t in (imp.target,) if t in _modules()]
            elif root in HEAVY:
                heavy.add(root)
    return frozenset(heavy)


def _cross_unit_function_imports() -> list[Import]:
    return [imp for m in sorted(_modules()) for imp in _imports(m)
            if imp.in_function and imp.target.startswith("lookalike") and _unit(imp.target) != _unit(m)]


def test_lint_imports_keeps_the_layer_contracts():
    """lint-imports (import-linter, a test dependency) with pyproject.toml's contracts, on this tree."""
    exe = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC.parent), os.environ.get("PYTHONPATH", "")])}
    res = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Contracts: 3 kept, 0 broken." in res.stdout, res.stdout[-2000:]


def test_function_level_imports_across_units_are_lazy_for_a_reason():
    problems = []
    pending = set()
    for imp in _cross_unit_function_imports():
        if (imp.module, imp.target) in PENDING:
            pending.add((imp.module, imp.target))
            continue
        allowed = HEAVY if _unit(imp.module) == "cli" else DEFERRABLE
        gained = (heavy_closure(imp.target) - heavy_closure(imp.module)) & allowed
        if not imp.comment:
            problems.append(f"{imp.module}:{imp.line} imports {imp.target} inside a function without a "
                            "'# lazy: <reason>' or '# optional: <reason>' comment")
        elif not gained:
            problems.append(f"{imp.module}:{imp.line} imports {imp.target} inside a function, but it puts off no "
                            f"library of {sorted(allowed)} that {imp.module} does not already load: import it "
                            "at the top of the module")
    assert problems == []
    fixed = {k for k in PENDING if k[1] != "lookalike"} - pending
    assert fixed == set(), "fixed: remove these entries from PENDING (and pyproject's ignore_imports)"


def test_no_module_imports_the_package_root():
    """``lookalike`` (the lazy public face) is imported by users, never from inside the package."""
    found = {(imp.module, imp.target) for m in _modules() if m != "lookalike" for imp in _imports(m)
             if imp.target == "lookalike"}
    roots = {k for k in PENDING if k[1] == "lookalike"}
    assert found - roots == set()
    assert roots - found == set(), "fixed: remove these entries from PENDING"


def test_the_heavy_closure_sees_through_modules():
    """The analysis itself: the CLI's shared helpers load no data library, the finder loads the stack."""
    assert heavy_closure("lookalike.cli.common") == frozenset()
    assert {"pandas", "numpy", "sklearn"} <= heavy_closure("lookalike.finder")  # faiss: at query time
    assert "matplotlib" in heavy_closure("lookalike.report.plots")
    assert "matplotlib" not in heavy_closure("lookalike.web.routes")  # figures load matplotlib on first use


#: The units that draw, render and print; everything below them returns data.
FACE_UNITS = frozenset({"cli", "server", "web", "api", "report", "distributed"})
PRESENTATION = frozenset({"matplotlib", "jinja2", "rich", "typer"})
#: Imports of a presentation library outside the faces that are waiting for a fix (none today).
PENDING_PRESENTATION: set[tuple[str, str]] = set()


def test_domain_code_returns_data():
    """Figures, templates and console output belong to the faces: no other unit imports their libraries."""
    found = {(imp.module, imp.target.split(".")[0]) for m in _modules() for imp in _imports(m)
             if _unit(m) not in FACE_UNITS and imp.target.split(".")[0] in PRESENTATION}
    assert found - PENDING_PRESENTATION == set()
    assert PENDING_PRESENTATION - found == set(), "fixed: empty PENDING_PRESENTATION"


def test_one_jinja_environment():
    """Every template is rendered by lookalike.report.templating.environment(), and its names are unique."""
    from lookalike.report.templating import TEMPLATE_DIRS, environment

    makers = sorted(m for m in _modules() if "jinja2.Environment(" in _modules()[m].read_text("utf-8"))
    assert makers == ["lookalike.report.templating"]
    names = [p.name for d in TEMPLATE_DIRS for p in d.iterdir() if p.is_file()]
    assert len(names) == len(set(names)) and {"base.html", "report.html.j2", "_campaign.html.j2"} <= set(names)
    env = environment()
    assert env is environment() and set(env.list_templates()) == set(names)
    assert env.get_template("quality.md.j2").environment.autoescape("quality.md.j2") is False
    assert env.autoescape("campaign.html") and env.autoescape("report.html.j2")
