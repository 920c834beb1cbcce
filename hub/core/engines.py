"""Where a full run goes: in process, or on Apache Spark — shared by resolve and analyse.

`identity.engine`/`identity.spark` and `analytics.engine`/`analytics.spark` in hub.yaml
choose an engine the same way, and the command line overrides them for one run the same
way. `EngineChoice` is that choice; the resolve and analyse engines subclass it with what
each does on it, and `chosen_engine` builds either from hub.yaml and the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from hub.core.errors import HubError
from schemas.config import HubConfig, SparkConfig, resolve_env

__all__ = ["ENGINES", "EngineChoice", "chosen_engine"]

ENGINES = ("local", "spark")


@dataclass(frozen=True, kw_only=True)
class EngineChoice:
    """An engine: `local`, or `spark` on `master` with its files under `run_dir` and extra
    Spark settings `conf`."""

    name: str = "local"
    master: str = "local[2]"
    run_dir: Path = Path(".crmhub/spark")
    conf: Mapping[str, str] = field(default_factory=dict)
    driver_records: int = 1_000_000  # identity: records above which a full run stays in Spark

    def describe(self) -> str:
        return f"Spark, {self.master}" if self.name == "spark" else "in process"


E = TypeVar("E", bound=EngineChoice)


def chosen_engine(
    kind: type[E],
    config: HubConfig,
    *,
    section: str,
    configured: str,
    spark: SparkConfig,
    engine: str | None = None,
    spark_master: str | None = None,
    run_dir: Path | None = None,
    options: tuple[str, ...] = ("--spark-master", "--run-dir"),
) -> E:
    """The engine hub.yaml's `section` names (`configured`, with its `spark` settings),
    with the command line's choices for one run over it.

    `--run-dir` is relative to where the command runs; `<section>.spark.run_dir` to
    hub.yaml's folder. `options` are the command's Spark-only options, named when one is
    given with the local engine.
    """
    name = engine if engine is not None else configured
    if name not in ENGINES:
        raise HubError(f"--engine {name}: unknown engine — use one of {', '.join(ENGINES)}")
    if name == "local":
        if spark_master is not None or run_dir is not None:
            verb = "is an option" if len(options) == 1 else "are options"
            raise HubError(
                f"{' and '.join(options)} {verb} of --engine spark "
                f"(hub.yaml's {section}.engine is {configured})"
            )
        return kind()
    where = f"{section}.spark"
    master = str(resolve_env(spark_master or spark.master, f"{where}.master"))
    folder = run_dir.resolve() if run_dir is not None else spark.run_dir
    conf = resolve_env(dict(spark.conf), f"{where}.conf")
    return kind(
        name="spark",
        master=master,
        run_dir=folder if folder.is_absolute() else Path(config.base_dir) / folder,
        conf=conf,
        driver_records=spark.driver_records,
    )
