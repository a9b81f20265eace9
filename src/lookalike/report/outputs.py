"""The files of a cleaned export: clean table, quarantine, and the quality report in three formats.

Written by ``lookalike clean`` / ``lookalike demo`` and by the service when a dataset is prepared,
so the same directory layout comes out of every face.

The five files are one *set*, stamped with one run id: a clean run killed half-way must not leave
the table of run N beside the report of run N-1 for ``lookalike report`` to pair. Each file is
replaced atomically, and ``quality.json`` is written last, holding the run id (also in the clean
table's parquet metadata, and shown in the Markdown and HTML reports) and the SHA-256 of the other
files; :func:`lookalike.sources.check_clean_set` refuses a directory whose files disagree. (Writing
the set into a fresh directory and swapping it in would need the whole output directory to be
Lookalike's: ``clean`` writes into directories that also hold the raw export, a model, audiences.)
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from lookalike.cleaning.cache import quarantine_for_storage
from lookalike.io import file_digest, write_table, write_text
from lookalike.report.quality import render_quality_html, render_quality_markdown
from lookalike.sources import RUN_KEY

if TYPE_CHECKING:
    from lookalike.cleaning.table import CleanResult

#: The files :func:`write_clean_outputs` writes, in order.
CLEAN_OUTPUTS = ("customers.parquet", "quarantine.csv", "quality.json", "quality.md", "quality.html")


def write_clean_outputs(result: CleanResult, out_dir: str | Path) -> list[Path]:
    """Write the clean table, the quarantine and the quality report (json, md, html) to ``out_dir``.

    Each file is written atomically, ``quality.json`` last with the run id and the other files'
    SHA-256 (see the module docstring); returns the paths in the order of :data:`CLEAN_OUTPUTS`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    run = uuid.uuid4().hex
    report = result.report.to_dict()
    report["read"] = {**report.get("read", {}), "run": run}  # shown in every rendering of the report
    paths = {
        "customers.parquet": write_table(result.customers, out_dir / "customers.parquet", metadata={RUN_KEY: run}),
        "quarantine.csv": write_table(quarantine_for_storage(result.quarantine), out_dir / "quarantine.csv"),
        "quality.md": write_text(out_dir / "quality.md", render_quality_markdown(report)),
        "quality.html": write_text(out_dir / "quality.html", render_quality_html(report)),
    }
    report["files"] = {name: file_digest(p, "sha256") for name, p in paths.items() if name != "customers.parquet"}
    paths["quality.json"] = write_text(out_dir / "quality.json", json.dumps(report, indent=2, default=str))
    return [paths[name] for name in CLEAN_OUTPUTS]


__all__ = ["CLEAN_OUTPUTS", "write_clean_outputs"]
