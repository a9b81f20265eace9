"""``lookalike evaluate``: do lookalike segments beat rules at finding hidden or future positives?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from lookalike.cli.common import (OutputFormat, done, err_console, finder_for, friendly_errors, print_frame,
                                  progress_bar)


def evaluate(
    data: Annotated[Optional[Path], typer.Argument(help="Customers (model dir, clean parquet or raw export); hides VIPs and finds them again")] = None,
    task: Annotated[Optional[str], typer.Option(help="A task .toml (see datasets/real/*/task.toml), or 'synthetic'")] = None,
    splits: Annotated[int, typer.Option(min=1, help="Random splits (confidence intervals need 20+)")] = 20,
    out: Annotated[Path, typer.Option("--out", help="Directory for results (json, md, csv, gain chart)")] = Path("out/evaluation"),
    no_learned_weights: Annotated[bool, typer.Option(help="Use the features unweighted")] = False,
    scorer: Annotated[str, typer.Option(help="The scorer compared with the rules: auto (what expand ships) or one candidate")] = "auto",
) -> None:
    """Backtest: do lookalike segments find hidden or future positives better than rules?"""
    # lazy: keeps --help fast
    from lookalike.audience.scoring import check_scorer
    from lookalike.evaluation.backtest import LOOKALIKE_SCORERS, backtest
    from lookalike.evaluation.report import LABELS, conclusion
    from lookalike.evaluation.tasks import load_task, synthetic_task
    from lookalike.report.evaluation import write_evaluation

    from lookalike.io import check_not_input

    with friendly_errors() as settings:
        check_not_input([out], [data, None if task in (None, "synthetic") else task])
        if task == "synthetic" or (task is None and data is None):
            # lazy: keeps --help fast
            from lookalike.cleaning.table import clean_customers
            from lookalike.synth import generate

            gen = generate(20_000, seed=5)
            t = synthetic_task(clean_customers(gen.raw).customers, gen.customers)
        elif task is not None:
            t = load_task(task)
        else:
            finder = finder_for(data, settings)
            t = synthetic_task(finder.customers_)
        err_console().print(f"task {t.name}: {json.dumps({k: v for k, v in t.describe().items() if k != 'features'})}",
                            soft_wrap=True, markup=False)
        check_scorer(scorer)
        scorers = (scorer, *[s for s in LOOKALIKE_SCORERS if s != scorer])
        bar, update = progress_bar(splits, "backtest splits")
        with bar:
            result = backtest(t, n_splits=splits, scorers=scorers, learn_weights=not no_learned_weights,
                              progress=lambda i, n, sec: update(i + 1))
        done(f"backtest, {splits} splits ({result.params['seconds']:.1f} s)")
        paths = write_evaluation(result, out, default=scorer)
        table = result.summary[["method", "precision@N", "precision@N ci_low", "precision@N ci_high", "lift@N", "auc"]].copy()
        table["method"] = table["method"].replace(LABELS)
        print_frame(table.round(3), OutputFormat.table,
                    title=f"{t.name}: precision at N = {int(result.splits.n_target.iloc[0]):,} targets")
        Console().print(conclusion(result, default=scorer), soft_wrap=True)
        done(f"wrote {', '.join(p.name for p in paths)} to {out}")
