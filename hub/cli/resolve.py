"""`crmhub resolve`: golden records from the hub store, or from a file (the batch contract)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.common import ConfigOpt, console, err, open_hub, spinner
from hub.core.errors import HubError

if TYPE_CHECKING:
    from hub.core.files import BadLine

__all__ = ["register", "resolve"]


def _warn(input_path: Path, bad: Sequence[BadLine], count: int) -> None:
    for line in bad[:10]:
        err.print(f"[yellow]warning:[/] {input_path}:{line.line}: {line.reason} — line skipped")
    if count > 10:
        err.print(f"[yellow]warning:[/] {input_path}: {count - 10:,} more unusable lines skipped")


def _resolve_batch(
    input_path: Path,
    crosswalk: Path,
    golden: Path | None,
    review: Path | None,
    engine: dict[str, Any],
    driver_records: int | None,
) -> None:
    from hub.resolve.batch import (
        read_records,
        resolve_records,
        write_crosswalk,
        write_golden,
        write_review,
    )
    from hub.resolve.spark_file import DRIVER_RECORDS, more_lines_than, resolve_file_on_spark

    started = time.monotonic()
    if driver_records is not None and engine["engine"] != "spark":
        raise HubError("--driver-records is an option of --engine spark")
    limit = DRIVER_RECORDS if driver_records is None else driver_records
    with spinner() as progress:
        task = progress.add_task(f"reading {input_path}", total=None)

        def step(msg: str) -> None:
            progress.update(task, description=msg)

        if engine["engine"] == "spark" and more_lines_than(input_path, limit):
            on_spark = resolve_file_on_spark(
                input_path,
                crosswalk,
                golden,
                review=review,
                spark_master=engine["spark_master"],
                run_dir=engine["run_dir"],
                progress=step,
            )
            s, unusable = on_spark.stats, on_spark.bad_count
            _warn(input_path, on_spark.bad, unusable)
        else:
            read = read_records(input_path)
            _warn(input_path, read.bad, len(read.bad))
            result = resolve_records(
                read.records, progress=step, build_golden=golden is not None, **engine
            )
            step(f"writing {crosswalk}")
            write_crosswalk(result, crosswalk)
            if golden is not None:
                write_golden(result, golden)
            if review is not None:
                write_review(result, review)
            s, unusable = result.stats, len(read.bad)
    non_identifying = sum(v for k, v in s.items() if k.startswith("non_identifying_"))
    console.print(
        f"resolved {s['records']:,} records into {s['golden_records']:,} golden records "
        f"({s['merged_records']:,} merged, {s['review_pairs']:,} pairs for review, "
        f"{s['candidate_pairs']:,} pairs compared, {s['placeholder_values']:,} placeholder "
        f"and {non_identifying:,} non-identifying values ignored, "
        f"{unusable:,} unusable lines) in {time.monotonic() - started:.1f}s"
    )


def resolve(
    config: ConfigOpt = Path("hub.yaml"),
    input_path: Annotated[
        Path | None,
        typer.Option(
            "--input",
            help="Batch mode: CustomerRecord JSON Lines (.jsonl or .jsonl.gz), or a "
            "Parquet export (.parquet, one record a row).",
        ),
    ] = None,
    crosswalk: Annotated[
        Path | None,
        typer.Option("--crosswalk", help="Batch mode: write source,source_id,golden_id CSV here."),
    ] = None,
    golden: Annotated[
        Path | None, typer.Option("--golden", help="Batch mode: also write golden records (JSONL).")
    ] = None,
    review: Annotated[
        Path | None,
        typer.Option(
            "--review",
            help="Batch mode: also write the pairs a steward should look at (CSV: both keys, "
            "the match probability, and the level each comparison reached), sorted by key.",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="local (in process) or spark (Apache Spark; the spark extra). Store mode: "
            "the engine of a full run, for this run (default: identity.engine in hub.yaml; "
            "incremental runs are always local). Batch mode: default local.",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="With --engine spark: local[2], spark://host:7077… (store mode default: "
            "identity.spark.master in hub.yaml; batch mode: local[2]).",
        ),
    ] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir",
            help="With --engine spark: keep each stage's result here (Parquet); a failed "
            "run given the same directory resumes after the last finished stage. Store "
            "mode: under DIR/store-resolve (default identity.spark.run_dir).",
        ),
    ] = None,
    driver_records: Annotated[
        int | None,
        typer.Option(
            "--driver-records",
            min=0,
            help="Batch mode with --engine spark: above this many input lines the whole run "
            "stays on Spark (records read by Spark; clusters, ids, golden records and the "
            "crosswalk as Spark tables), so the driver's memory does not grow with the "
            "file. Default 1000000.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Store mode: re-resolve every record and estimate the model again, instead "
            "of only what changed since the last run. Done anyway on the first run, after "
            "the identity settings change, and once more than 20% of the records have "
            "changed since the last full run.",
        ),
    ] = False,
) -> None:
    """Resolve identities into golden records.

    With --input/--crosswalk: a standalone batch run (no hub.yaml, no store, unsupervised).
    Without: resolves the hub store's customer records incrementally — only the records
    that changed since the last run and those they may match are re-scored (with the model
    of the last full run) and re-clustered — keeping golden ids stable. Full runs run on
    the engine hub.yaml's identity.engine names, or --engine.
    """
    if input_path is not None or crosswalk is not None:
        if input_path is None or crosswalk is None:
            raise HubError("batch mode needs both --input FILE.jsonl and --crosswalk OUT.csv")
        if not input_path.is_file():
            raise HubError(f"{input_path}: no such file — give a CustomerRecord JSON Lines file")
        options = {"engine": engine or "local", "spark_master": spark_master, "run_dir": run_dir}
        _resolve_batch(input_path, crosswalk, golden, review, options, driver_records)
        return
    if driver_records is not None:
        raise HubError("--driver-records is an option of batch mode (--input/--crosswalk)")
    if golden is not None:
        raise HubError("--golden is an option of batch mode (--input/--crosswalk)")
    if review is not None:
        raise HubError(
            "--review is an option of batch mode (--input/--crosswalk); in store mode the "
            "pairs for review are in the review queue (crmhub review list)"
        )
    from hub.resolve.engine import choose_engine
    from hub.resolve.run import resolve_store

    cfg, store = open_hub(config)
    chosen = choose_engine(cfg, engine=engine, spark_master=spark_master, run_dir=run_dir)
    try:
        with spinner() as progress:
            task = progress.add_task("resolving", total=None)
            summary = resolve_store(
                cfg,
                store,
                actor="crmhub resolve",
                full=full,
                engine=chosen,
                progress=lambda msg: progress.update(task, description=msg),
            )
    finally:
        store.dispose()
    console.print(summary.line())


def register(app: typer.Typer) -> None:
    """Add `crmhub resolve` to the app."""
    app.command()(resolve)
