"""The files of a cleaned export: clean table, quarantine, and the quality report in three formats.

Written by ``lookalike clean`` / ``lookalike demo`` and by the service when a dataset is prepared,
so the same directory layout comes out of every face.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from lookalike.cleaning.cache import quarantine_for_storage
from lookalike.io import write_table, write_text
from lookalike.report.quality import render_quality_html, render_quality_markdown

if TYPE_CHECKING:
    from lookalike.cleaning.table import CleanResult

#: The files :func:`write_clean_outputs` writes, in order.
CLEAN_OUTPUTS = ("customers.parquet", "quarantine.csv", "quality.json", "quality.md", "quality.html")


def write_clean_outputs(result: CleanResult, out_dir: str | Path) -> list[Path]:
    """Write the clean table, the quarantine and the quality report (json, md, html) to ``out_dir``.

    Each file is written atomically; returns their paths in the order of :data:`CLEAN_OUTPUTS`.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = result.report.to_dict()
    return [
        write_table(result.customers, out_dir / "customers.parquet"),
        write_table(quarantine_for_storage(result.quarantine), out_dir / "quarantine.csv"),
        write_text(out_dir / "quality.json", json.dumps(report, indent=2, default=str)),
        write_text(out_dir / "quality.md", render_quality_markdown(report)),
        write_text(out_dir / "quality.html", render_quality_html(report)),
    ]


__all__ = ["CLEAN_OUTPUTS", "write_clean_outputs"]
