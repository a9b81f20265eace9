"""``lookalike uplift …``: fit an uplift model on past campaigns with a control group, plan audience sizes.

A thin layer over :mod:`lookalike.campaigns.uplift_models` and :func:`lookalike.campaigns.plan.uplift_plan`;
data on stdout, messages on stderr. ``lookalike expand --objective uplift --uplift-model DIR`` ranks by the
model's predicted incremental response.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from lookalike.audience.options import OBJECTIVES
from lookalike.cli.common import (
    OutputFormat,
    customers_for,
    done,
    err_console,
    friendly_errors,
    print_frame,
    step,
    warn,
)
from lookalike.errors import ParameterError

uplift_app = typer.Typer(help="Uplift models: who will a campaign change? Fit on past campaigns, plan audience sizes.",
                         no_args_is_help=True)


class Learner(str, Enum):
    auto = "auto"
    two_model = "two_model"
    x_learner = "x_learner"
    class_transformation = "class_transformation"


class Base(str, Enum):
    auto = "auto"
    logistic = "logistic"
    boosting = "boosting"


class Outcome(str, Enum):
    conversions = "conversions"
    clicks = "clicks"
    revenue = "revenue"


def parse_sizes(text: str) -> list[float]:
    """``"10,20,50"`` or ``"10%,20%"`` → shares ``[0.1, 0.2, 0.5]``.

    >>> parse_sizes("10, 50%,100")
    [0.1, 0.5, 1.0]
    """

    out = []
    for part in text.split(","):
        p = part.strip().rstrip("%")
        try:
            v = float(p)
        except ValueError:
            raise ParameterError(f"--sizes {text!r}: {part.strip()!r} is not a percentage; use e.g. 10,20,50,100") from None
        if not 0 < v <= 100:
            raise ParameterError(f"--sizes {text!r}: {part.strip()!r} must be a percentage between 0 and 100")
        out.append(v / 100)
    return out


@uplift_app.command("fit")
def fit(
    campaigns: Annotated[list[str], typer.Argument(help="Campaign names or ids with a control group and imported outcomes")],
    data: Annotated[Path, typer.Option("--data", help="Customers of those campaigns (model dir, clean parquet or raw export): the features")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Model directory to write")],
    outcome: Annotated[Outcome, typer.Option(help="What to increase: conversions (converted or not), clicks, or revenue")] = Outcome.conversions,
    learner: Annotated[Learner, typer.Option(help="auto (chosen by cross-validated Qini), two_model, x_learner or class_transformation")] = Learner.auto,
    base: Annotated[Base, typer.Option(help="Base learner: auto, logistic or boosting")] = Base.auto,
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds")] = 5,
    repeats: Annotated[int, typer.Option(min=1, max=10, help="Repeat the folds with other shuffles (steadier choice, slower)")] = 1,
    db: Annotated[Optional[str], typer.Option("--db", help="Database URL (default: LOOKALIKE_DB_URL, else sqlite under LOOKALIKE_HOME or ./.lookalike)")] = None,
) -> None:
    """Train an uplift model on treatment against control outcomes of past campaigns, and save it."""
    # lazy: keeps --help fast
    from lookalike.campaigns.uplift_models import UpliftModel, campaign_training_data
    from lookalike.database import open_database
    from lookalike.finder import saved_spec
    from lookalike.io import check_not_input

    with friendly_errors() as settings:
        check_not_input([out], [data])
        customers = customers_for(data, settings)
        # a model directory: use the features it was fitted with
        spec = saved_spec(data) if data.is_dir() else None
        td = campaign_training_data(open_database(db), campaigns, customers)
        err = err_console()
        if td.not_found:
            warn(f"{td.not_found:,} campaign customers are not in {data} and were left out")
        model = UpliftModel(learner.value, base.value, spec=spec, outcome=outcome.value, n_splits=folds,
                            n_repeats=repeats)
        with step(f"cross-validate and fit on {len(td.treatment):,} customers ({int(td.treatment.sum()):,} treated)"):
            model.fit(td.customers, td.treatment, td.outcome(outcome.value), outcomes=td.outcomes,
                      source={"campaigns": td.campaigns, "data": str(data)})
        model.save(out)
        shown = model.cv_[["candidate", "qini_mean", "qini_sd", "auuc_mean"]].head(8)
        print_frame(shown, OutputFormat.table, title=f"Cross-validated Qini ({folds} folds × {repeats})")
        d = model.describe()
        done(f"uplift model {d['learner']}/{d['base']} {d['params']} on {outcome.value} "
             f"(CV Qini {d['cv_qini_mean']:.3g} ± {d['cv_qini_sd']:.3g} per fold) saved to {out}")
        if d["cv_qini_mean"] is not None and d["cv_qini_mean"] <= 0:
            warn("the cross-validated Qini is not above zero: this model ranks no better "
                 "than a random order on these campaigns; do not target by it")


@uplift_app.command("plan")
def plan(
    model_dir: Annotated[Path, typer.Argument(help="Uplift model directory (lookalike uplift fit)")],
    data: Annotated[Path, typer.Argument(help="Customers to target (model dir, clean parquet or raw export)")],
    sizes: Annotated[str, typer.Option(help="Audience sizes as percentages of DATA")] = "10,20,30,40,50,60,70,80,90,100",
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples for the intervals")] = 1000,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Expected incremental conversions and revenue (95% intervals) when targeting the best 10%…100%."""
    # lazy: keeps --help fast
    from lookalike.campaigns.plan import uplift_plan
    from lookalike.campaigns.uplift_models import UpliftModel

    with friendly_errors() as settings:
        shares = parse_sizes(sizes)
        model = UpliftModel.load(model_dir)
        customers = customers_for(data, settings)
        with step(f"plan {len(shares)} audience sizes over {len(customers):,} customers"):
            table = uplift_plan(model, customers, shares, n_resamples=resamples)
        print_frame(table.round(2), OutputFormat(fmt), title="Uplift plan (incremental, 95% CI)")
        if fmt == "table":
            err_console().print("Intervals come from the training campaign's customers ranked by out-of-fold "
                             "predictions; they hold for customers like those and the same message.", soft_wrap=True)


def uplift_scores(objective: str, model_dir: Optional[Path], customers):
    """Predicted uplift per customer for ``expand --objective uplift|blend`` (None for similarity)."""
    from lookalike.campaigns.uplift_models import UpliftModel  # lazy: keeps --help fast

    if objective not in OBJECTIVES:
        raise ParameterError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    if objective == "similarity":
        return None
    if model_dir is None:
        raise ParameterError(f"--objective {objective} needs --uplift-model DIR (make one with lookalike uplift fit)")
    with step(f"predict uplift with {model_dir}"):
        return UpliftModel.load(model_dir).predict(customers)
