"""`analyse_store` on Apache Spark (local[2], a real JVM) on SQLite and PostgreSQL: on two
stores holding the same generated customers and interactions, analysed on two days, the
same profiles (values, churn scores, offers, traits), segment values and members, profit
curve, stage history, audiences and worklist items as the in-process engine, and the same
run summaries; the Parquet file handed to Spark is removed after the run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from benchmarks.analytics.generator import AS_OF, generate
from benchmarks.analytics.spark_scale import load_store
from hub.analyse import analyse_store
from hub.analyse.engine import choose_engine
from hub.steward.auth import add_user
from hub.store.database import Store
from hub.store.tables import (
    analysis_runs,
    audience_members,
    customer_profiles,
    interactions,
    profit_lorenz,
    segment_members,
    segment_values,
    stage_history,
    worklist_items,
)
from schemas.config import HubConfig
from tests.analytics.backends.conftest import spark
from tests.postgres import PostgresServer

__all__ = ["spark"]  # the Spark tests' one session (local[2])

# a JVM: the Spark tier (tests/conftest.py marks by path the other Spark test files)
pytestmark = pytest.mark.usefixtures("spark")
FIRST = AS_OF.date()
LATER = FIRST + dt.timedelta(days=45)
TABLES = (
    customer_profiles,
    segment_values,
    segment_members,
    profit_lorenz,
    stage_history,
    audience_members,
    worklist_items,
)
# columns that name a run or a moment, not a result
SKIPPED = {"id", "run_id", "entered_at", "created_at", "updated_at"}


def _url(backend: str, folder: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'hub.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def stores(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[list[Store]]:
    """Two stores on `backend` holding the same generated customers (golden records) and
    interactions, a few of them naming a record without a golden id."""
    data = generate(300, seed=5)
    opened = []
    for name in ("local", "spark"):
        folder = tmp_path / name
        folder.mkdir()
        store = Store.open(_url(backend, folder, request))
        load_store(store, data)
        with store.transaction() as conn:  # the worklist rules' owner
            add_user(conn, "sam", "a-long-enough-password", "steward", actor="test")
        with store.transaction() as conn:
            conn.execute(
                interactions.insert(),
                [{"source": "gen", "source_id": f"x{n}", "stream": "events", "extra": {},
                  "content_hash": "", "loaded_at": dt.datetime.now(dt.UTC), "deleted": False,
                  "customer_source_id": "nobody", "type": "order", "amount": 10.0,
                  "occurred_at": dt.datetime(2023, 5, n + 1, tzinfo=dt.UTC)} for n in range(3)],
            )  # fmt: skip
        opened.append(store)
    yield opened
    for store in opened:
        store.dispose()


def _config(folder: Path, engine: str) -> HubConfig:
    """hub.yaml with the engine, an audience and worklist rules reading the new profiles."""
    return HubConfig.model_validate(
        {
            "analytics": {
                "engine": engine,
                "spark": {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": 2}},
            },
            "audiences": [
                {"name": "buyers", "rule": {"trait": "frequency", "gte": 2}, "destinations": []}
            ],
            "worklists": {
                "rules": [
                    {"name": "birthdays", "kind": "birthday", "days": 60, "owner": "sam"},
                    {"name": "welcome", "kind": "welcome", "days": 90, "after_days": 0,
                     "owner": "sam"},
                    {"name": "rising", "kind": "churn_rise", "min_value": 0, "min_rise": 0.01,
                     "owner": "sam"},
                ]
            },
            "base_dir": folder,
        }
    )  # fmt: skip


def _contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with store.engine.connect() as conn:
        for table in TABLES:
            columns = [c for c in table.columns if c.name not in SKIPPED]
            rows = conn.execute(sa.select(*columns)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def test_a_spark_store_analysis_writes_what_the_local_one_writes(
    stores: list[Store], tmp_path: Path
) -> None:
    summaries = []
    for store, engine in zip(stores, ("local", "spark"), strict=True):
        config = _config(tmp_path / engine, engine)
        runs = [analyse_store(config, store, as_of=day) for day in (FIRST, LATER)]
        summaries.append(runs)
    (local_1, local_2), (spark_1, spark_2) = summaries
    assert (spark_1.engine, spark_1.master) == ("spark", "local[2]")
    assert local_1.engine == "local" and "on Spark (local[2])" in spark_1.line()
    assert local_1.unmapped == 3 and "gradient boosting" in local_1.note
    for left, right in ((local_1, spark_1), (local_2, spark_2)):
        for key in ("customers", "interactions", "unmapped", "rejected", "at_risk"):
            assert getattr(right, key) == getattr(left, key), key
        assert (right.stage_changes, right.segments, right.note) == (
            left.stage_changes,
            left.segments,
            left.note,
        )
        assert right.audiences == left.audiences
        assert [vars(r) for r in right.worklist] == [vars(r) for r in left.worklist]

    expected, actual = _contents(stores[0]), _contents(stores[1])
    for table in TABLES:
        assert actual[table.name] == expected[table.name], table.name
    with stores[0].engine.connect() as conn:  # what was compared is not all empty
        p = customer_profiles.c
        scored = conn.execute(sa.select(p.churn_risk, p.next_best_offers, p.traits)).all()
    assert len(scored) == 300 and sum(risk is not None for risk, _, _ in scored) > 200
    assert sum(bool(offers) for _, offers, _ in scored) > 150
    assert all(traits for _, _, traits in scored)
    assert expected["audience_members"] and expected["worklist_items"]
    assert {row[0] for row in expected["worklist_items"]} >= {"birthday"}  # kind
    assert len(expected["stage_history"]) > 300  # the second day moved some stages
    folder = choose_engine(_config(tmp_path / "spark", "spark")).folder
    assert not folder.exists()  # the Parquet handed to Spark is gone after the run
    with stores[1].engine.connect() as conn:
        statuses = conn.execute(sa.select(analysis_runs.c.status)).scalars().all()
    assert statuses == ["succeeded", "succeeded"]
