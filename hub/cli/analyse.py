"""`crmhub analyse`: customer intelligence from interactions (the batch contract)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import console, err

__all__ = ["analyse", "register"]


def analyse(
    interactions: Annotated[
        Path,
        typer.Option(
            "--interactions",
            help="Interaction JSON Lines (.jsonl or .jsonl.gz) with the extra key customer_id.",
        ),
    ],
    as_of: Annotated[
        str, typer.Option("--as-of", help="Cut-off date YYYY-MM-DD: only what happened before.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Write customers.csv and segments.csv here.")],
    horizon_days: Annotated[
        int, typer.Option("--horizon-days", help="Churn risk: no purchase in this many days.")
    ] = 90,
    customers: Annotated[
        Path | None,
        typer.Option("--customers", help="Known customers (JSON Lines: customer_id, segment…)."),
    ] = None,
) -> None:
    """Profiles, lifetime value, churn risk with reasons, types, stage, offers, segment value.

    A standalone batch run: no hub.yaml, no store.
    """
    import datetime as dt

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from analytics import AnalysisSpec, with_horizon
    from analytics import analyse as run_analysis
    from hub.analyse.batch import read_customers, read_interactions, write_results
    from hub.core.errors import HubError

    try:
        cut = dt.date.fromisoformat(as_of)
    except ValueError:
        raise HubError(f"--as-of {as_of!r}: give a date as YYYY-MM-DD") from None
    for path in (interactions, customers):
        if path is not None and not path.is_file():
            raise HubError(f"{path}: no such file - give an Interaction JSON Lines file")
    if horizon_days < 1:
        raise HubError("--horizon-days must be at least 1")
    started = time.monotonic()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(f"reading {interactions}", total=None)
        read = read_interactions(interactions)
        known = read_customers(customers) if customers is not None else None
        bad = read.bad + (known.bad if known is not None else [])
        for line in bad[:10]:
            err.print(f"[yellow]warning:[/] line {line.line}: {line.reason} - left out")
        result = run_analysis(
            read.frame,
            str(cut),
            with_horizon(AnalysisSpec(), horizon_days),
            customers=known.frame if known is not None else None,
            progress=lambda msg: progress.update(task, description=msg),
        )
        progress.update(task, description=f"writing {out}")
        write_results(result, out)
    rows = result.customers
    left_out = {k: v for k, v in result.rejected.items() if k != "after_as_of"}
    why = ", ".join(f"{v:,} {k}" for k, v in sorted(left_out.items())) or "none"
    model = "model" if result.churn_model is not None else "rules (too little history)"
    console.print(
        f"analysed {len(rows):,} customers from {len(read.frame):,} interactions "
        f"({result.rejected.get('after_as_of', 0):,} on or after {cut} ignored; "
        f"{len(bad):,} unreadable lines; left out: {why}); churn risk by {model}; "
        f"{(rows['stage'] == 'at risk').sum():,} at risk; wrote {out}/customers.csv and "
        f"segments.csv in {time.monotonic() - started:.1f}s"
    )


def register(app: typer.Typer) -> None:
    """Add `crmhub analyse` to the app."""
    app.command()(analyse)
