"""`crmhub analyse`: customer intelligence on the hub store, or from a file (the batch
contract)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hub.cli.common import ConfigOpt, err, open_hub, spinner
from hub.cli.output import JsonOpt, print_json, summary_line

if TYPE_CHECKING:
    import datetime as dt

    from pyspark.sql import DataFrame

    from analytics.backends.spark import SparkBackend

__all__ = ["analyse", "register"]


def analyse(
    config: ConfigOpt = Path("hub.yaml"),
    interactions: Annotated[
        Path | None,
        typer.Option(
            "--interactions",
            help="Batch mode: Interaction JSON Lines (.jsonl or .jsonl.gz) with the extra key "
            "customer_id.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Cut-off date YYYY-MM-DD: only what happened before (store mode: today).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Batch mode: write customers.csv and segments.csv here."),
    ] = None,
    horizon_days: Annotated[
        int | None,
        typer.Option(
            "--horizon-days",
            help="Churn risk: no purchase in this many days [default: hub.yaml's "
            "analytics.horizon_days, or 90].",
        ),
    ] = None,
    customers: Annotated[
        Path | None,
        typer.Option(
            "--customers", help="Batch mode: known customers (JSON Lines: customer_id, segment…)."
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="local (in process) or spark (Apache Spark) [default: store mode: hub.yaml's "
            "analytics.engine; batch mode: local].",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="With --engine spark: local[2], spark://host:7077… [default: store mode: "
            "hub.yaml's analytics.spark.master; batch mode: local[2]].",
        ),
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Profiles, lifetime value, churn risk with reasons, types, stage, offers, segment value.

    Without --interactions: analyses the hub store's interactions by golden record (after
    `crmhub resolve`) and writes profiles, segments and stage history to the store, on the
    engine hub.yaml's analytics.engine names (--engine/--spark-master override it). With
    --interactions/--as-of/--out: a standalone batch run (no hub.yaml, no store).

    --json keys (store): run_id, as_of, customers, interactions, unmapped, rejected, at_risk,
    stage_changes, segments, note, engine, master, worklist. (batch): as_of, customers,
    interactions, ignored_after_as_of, unreadable_lines, left_out, churn_risk_by, at_risk,
    files, seconds.
    """
    import datetime as dt

    from hub.core.errors import HubError

    cut: dt.date | None = None
    if as_of is not None:
        try:
            cut = dt.date.fromisoformat(as_of)
        except ValueError:
            raise HubError(f"--as-of {as_of!r}: give a date as YYYY-MM-DD") from None
    if horizon_days is not None and horizon_days < 1:
        raise HubError("--horizon-days must be at least 1")
    if engine is not None and engine not in ("local", "spark"):
        raise HubError(f"--engine {engine}: use local (in process) or spark (Apache Spark)")
    if interactions is None:
        if out is not None or customers is not None:
            raise HubError("--out and --customers are for batch mode: add --interactions FILE")
        _analyse_store(config, cut, horizon_days, json, engine, spark_master)
        return
    if cut is None or out is None:
        raise HubError("batch mode needs --interactions FILE, --as-of YYYY-MM-DD and --out DIR")
    if spark_master is not None and engine != "spark":
        raise HubError("--spark-master is an option of --engine spark")
    _analyse_batch(
        interactions,
        cut,
        out,
        horizon_days or 90,
        customers,
        json,
        engine or "local",
        spark_master or "local[2]",
    )


def _analyse_store(
    config: Path,
    as_of: dt.date | None,
    horizon_days: int | None,
    json: bool,
    engine: str | None = None,
    spark_master: str | None = None,
) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from hub.analyse.engine import choose_engine
    from hub.analyse.run import STEPS, analyse_store

    cfg, store = open_hub(config)
    try:
        chosen = choose_engine(cfg, engine=engine, spark_master=spark_master)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=json,
        ) as progress:
            task = progress.add_task("analysing", total=len(STEPS))

            def step(message: str) -> None:
                done = STEPS.index(message) if message in STEPS else None
                progress.update(task, description=message, completed=done)

            summary = analyse_store(
                cfg,
                store,
                as_of=as_of,
                horizon_days=horizon_days,
                actor="crmhub analyse",
                progress=step,
                engine=chosen,
            )
    finally:
        store.dispose()
    if json:
        keys = ("run_id", "as_of", "customers", "interactions", "unmapped", "rejected", "at_risk")
        more = ("stage_changes", "segments", "note", "engine", "master")
        out = {k: getattr(summary, k) for k in (*keys, *more)}
        out["worklist"] = [vars(rule) for rule in summary.worklist]
        print_json(out)
    else:
        summary_line(summary.line())
        for rule in summary.worklist:
            summary_line(rule.line())


def _analyse_batch(
    interactions: Path,
    cut: dt.date,
    out: Path,
    horizon_days: int,
    customers: Path | None,
    json: bool,
    engine: str = "local",
    spark_master: str = "local[2]",
) -> None:
    import pandas as pd

    from analytics import AnalysisSpec, prepare_input, with_horizon
    from analytics import analyse as run_analysis
    from hub.analyse.batch import ReadResult, read_customers, read_interactions, write_results
    from hub.core.errors import HubError

    for path in (interactions, customers):
        if path is not None and not path.is_file():
            raise HubError(f"{path}: no such file - give an Interaction JSON Lines file")
    started = time.monotonic()
    with spinner(disable=json) as progress:
        task = progress.add_task(f"reading {interactions}", total=None)
        backend, source = (None, None)
        if engine == "spark":  # the rows stay in Spark; unparsable lines count as no customer
            backend, source = _on_spark(interactions, spark_master)
            read = ReadResult(frame=pd.DataFrame(), bad=[])
        else:
            read = read_interactions(interactions)
        known = read_customers(customers) if customers is not None else None
        bad = read.bad + (known.bad if known is not None else [])
        for line in bad[:10]:
            err.print(f"[yellow]warning:[/] line {line.line}: {escape(line.reason)} - left out")
        spec = with_horizon(AnalysisSpec(), horizon_days)
        attrs = known.frame if known is not None else None
        n_read = len(read.frame)
        progress.update(task, description="preparing interactions")
        if backend is None or source is None:
            prepared = prepare_input(read.frame, str(cut), spec, customers=attrs)
        else:
            ids = () if attrs is None else attrs["customer_id"].astype(str)
            prepared = on_spark = backend.prepare(source, spec, pd.Timestamp(str(cut)), ids)
            n_read = on_spark.interactions
        read.frame = pd.DataFrame(columns=read.frame.columns)  # let the raw text go
        result = run_analysis(
            prepared,
            str(cut),
            spec,
            customers=attrs,
            backend=backend,
            progress=lambda msg: progress.update(task, description=msg),
        )
        progress.update(task, description=f"writing {out}")
        write_results(result, out)
        if backend is not None:
            backend.spark.stop()
    rows = result.customers
    left_out = {k: v for k, v in result.rejected.items() if k != "after_as_of"}
    model = "model" if result.churn_model is not None else "rules"
    at_risk = int((rows["stage"] == "at risk").sum())
    if json:
        print_json(
            {
                "as_of": cut,
                "customers": len(rows),
                "interactions": n_read,
                "ignored_after_as_of": result.rejected.get("after_as_of", 0),
                "unreadable_lines": len(bad),
                "left_out": left_out,
                "churn_risk_by": model,
                "at_risk": at_risk,
                "files": [str(out / "customers.csv"), str(out / "segments.csv")],
                "seconds": round(time.monotonic() - started, 2),
            }
        )
        return
    why = ", ".join(f"{v:,} {k}" for k, v in sorted(left_out.items())) or "none"
    summary_line(
        f"analysed {len(rows):,} customers from {n_read:,} interactions "
        f"({result.rejected.get('after_as_of', 0):,} on or after {cut} ignored; "
        f"{len(bad):,} unreadable lines; left out: {why}); churn risk by "
        f"{'model' if model == 'model' else 'rules (too little history)'}; "
        f"{at_risk:,} at risk; wrote {out}/customers.csv and "
        f"segments.csv in {time.monotonic() - started:.1f}s"
    )


def _on_spark(interactions: Path, master: str) -> tuple[SparkBackend, DataFrame]:
    """The Spark backend on `master` and the interactions file as a Spark DataFrame."""
    from analytics.backends.spark import SparkBackend, read_interactions
    from identity.backends.spark import spark_session

    spark = spark_session(master, app_name="crm-hub analytics")
    return SparkBackend(spark), read_interactions(spark, interactions)


def register(app: typer.Typer) -> None:
    """Add `crmhub analyse` to the app."""
    app.command()(analyse)
