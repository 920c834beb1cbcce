"""TapSQL: the singer-sdk suite on SQLite, incremental reads, errors, the CLI."""

from __future__ import annotations

import atexit
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from connectors import ConnectorFatalError, ConnectorRetriableError, TapSQL
from connectors.sql import database_errors, json_value

# `_crmhub_error` only appears on quarantined rows and a SQL row never is one, so two
# singer-sdk warnings about it are expected here; any other warning stays visible.
pytestmark = [
    pytest.mark.filterwarnings(
        r"ignore:Fields in transformed catalog but not in records. \(\{'_crmhub_error'\}\)"
    ),
    pytest.mark.filterwarnings("ignore:No records were available to test"),
]

METADATA = sa.MetaData()
CUSTOMERS = sa.Table(
    "customers",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("email", sa.String(120)),
    sa.Column("vip", sa.Boolean, nullable=False),
    sa.Column("credit_limit", sa.Numeric(12, 2)),
    sa.Column("birthday", sa.Date),
    sa.Column("avatar", sa.LargeBinary),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
ORDERS = sa.Table(
    "orders",
    METADATA,
    sa.Column("order_no", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Integer, nullable=False),
    sa.Column("total", sa.Float, nullable=False),
)


def customer(number: int, *, day: int) -> dict[str, Any]:
    return {
        "id": number,
        "name": f"Customer {number}",
        "email": f"c{number}@example.com",
        "vip": number % 2 == 0,
        "credit_limit": "1000.50",
        "birthday": dt.date(1980, 1, number),
        "avatar": b"\x89PNG",
        "updated_at": dt.datetime(2024, 1, day, 9, 0),
    }


def create_erp_db(path: Path) -> str:
    """An ERP-like SQLite database at ``path``; returns its URL."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            CUSTOMERS.insert(),
            [customer(n, day=n) | {"credit_limit": 1000.5} for n in (1, 2, 3)],
        )
        connection.execute(
            ORDERS.insert(),
            [{"order_no": n, "customer_id": 1 + n % 3, "total": 9.5 * n} for n in range(1, 6)],
        )
    engine.dispose()
    return url


def erp_config(url: str) -> dict[str, Any]:
    return {
        "url": url,
        "batch_size": 2,
        "streams": [
            {"name": "customers", "table": "customers", "replication_key": "updated_at"},
            {"name": "orders", "table": "orders", "primary_keys": ["order_no"]},
            {
                "name": "order_totals",
                "query": "SELECT customer_id, SUM(total) AS total, MAX(order_no) AS last_order "
                "FROM orders GROUP BY customer_id",
                "primary_keys": ["customer_id"],
                "replication_key": "last_order",
            },
        ],
    }


_SUITE_DIR = Path(tempfile.mkdtemp(prefix="crmhub-sql-suite-"))
atexit.register(shutil.rmtree, _SUITE_DIR, ignore_errors=True)
SUITE_CONFIG = erp_config(create_erp_db(_SUITE_DIR / "erp.db"))

# The whole built-in suite runs; nothing is skipped (every stream returns records).
TestTapSQL = get_tap_test_class(TapSQL, config=SUITE_CONFIG, suite_config=SuiteConfig())


@pytest.fixture
def erp_url(tmp_path: Path) -> str:
    return create_erp_db(tmp_path / "erp.db")


def test_values_and_schema(run_tap: Any, erp_url: str) -> None:
    run = run_tap(TapSQL, erp_config(erp_url))
    first = run.records("customers")[0]
    assert first == {
        "id": 1,
        "name": "Customer 1",
        "email": "c1@example.com",
        "vip": False,
        "credit_limit": 1000.5,
        "birthday": "1980-01-01",
        "avatar": "iVBORw==",
        "updated_at": "2024-01-01T09:00:00+00:00",
    }
    properties = run.schema("customers")["properties"]
    assert properties["updated_at"] == {"type": ["string"], "format": "date-time"}
    assert properties["avatar"]["contentEncoding"] == "base64"
    assert "_crmhub_error" in properties
    assert [r["order_no"] for r in run.records("orders")] == [1, 2, 3, 4, 5]
    totals = run.schema("order_totals")["properties"]
    assert totals["total"]["type"] == ["number", "null"]


def test_declared_schema_overrides_discovery(run_tap: Any, erp_url: str) -> None:
    declared = {"order_no": {"type": ["integer"]}, "total": {"type": ["number", "null"]}}
    streams: list[dict[str, Any]] = [
        {"name": "q", "query": "SELECT order_no, total FROM orders", "primary_keys": ["order_no"]},
        {"name": "t", "table": "orders", "primary_keys": ["order_no"]},
    ]
    for stream in streams:
        stream["schema"] = declared
    run = run_tap(TapSQL, {"url": erp_url, "streams": streams})
    for name in ("q", "t"):
        assert run.schema(name)["properties"].keys() == {"order_no", "total", "_crmhub_error"}
        assert run.records(name)[0] == {"order_no": 1, "total": 9.5}


def test_second_run_reads_only_rows_at_or_after_the_bookmark(run_tap: Any, erp_url: str) -> None:
    config = erp_config(erp_url)
    first = run_tap(TapSQL, config)
    assert [r["id"] for r in first.records("customers")] == [1, 2, 3]
    bookmarks = first.state["bookmarks"]
    assert bookmarks["customers"]["replication_key_value"] == "2024-01-03T09:00:00+00:00"
    assert bookmarks["order_totals"]["replication_key_value"] == 5

    engine = sa.create_engine(erp_url)
    with engine.begin() as connection:
        connection.execute(CUSTOMERS.insert(), [customer(4, day=5), customer(5, day=2)])
        connection.execute(ORDERS.insert(), [{"order_no": 6, "customer_id": 2, "total": 1.0}])
    engine.dispose()
    second = run_tap(TapSQL, config, state=first.state)

    # Inclusive bookmark (Singer convention): the boundary row comes again; customer 5
    # was updated before the bookmark, so it is not read.
    assert [r["id"] for r in second.records("customers")] == [3, 4]
    assert [r["last_order"] for r in second.records("order_totals")] == [5, 6]
    assert len(second.records("orders")) == 6  # full table every run
    assert second.state["bookmarks"]["customers"]["replication_key_value"] == (
        "2024-01-05T09:00:00+00:00"
    )


def test_reads_are_streamed_in_batches(run_tap: Any, erp_url: str) -> None:
    seen: list[dict[str, Any]] = []

    def spy(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if context is not None:
            seen.append(dict(context.execution_options))

    engine_events = sa.event.listen
    engine_events(sa.Engine, "before_cursor_execute", spy)
    try:
        run_tap(TapSQL, erp_config(erp_url))
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", spy)
    reads = [options for options in seen if options.get("yield_per")]
    assert reads
    assert all(o["yield_per"] == 2 and o["stream_results"] for o in reads)


def test_unreachable_database_is_one_fatal_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'erp.db'}"
    config = {"url": url, "streams": [{"name": "customers", "table": "customers"}]}
    with pytest.raises(ConnectorFatalError) as caught:
        TapSQL(config=config)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("stream 'customers': discovery failed on sqlite:")
    assert "unable to open database file" in message


def test_missing_table_and_column_are_named(erp_url: str) -> None:
    config = {"url": erp_url, "streams": [{"name": "c", "table": "nope"}]}
    with pytest.raises(ConnectorFatalError, match="table 'nope' not found"):
        TapSQL(config=config)
    config = {"url": erp_url, "streams": [{"name": "c", "table": "orders"}]}
    with pytest.raises(ConnectorFatalError, match=r"no column 'id' \(columns: order_no, "):
        TapSQL(config=config)


POSTGRES_URL = "postgresql+psycopg://erp:s3cret@db.example:5432/erp"

ERROR_CASES = [
    pytest.param(
        sa.exc.OperationalError("SELECT 1", {}, Exception("password s3cret rejected\nhint")),
        ConnectorFatalError,
        "stream 'c': read failed on postgresql+psycopg://erp:***@db.example:5432/erp: "
        "Exception: password *** rejected",
        id="fatal-and-password-masked",
    ),
    pytest.param(
        sa.exc.OperationalError("SELECT 1", {}, TimeoutError("timed out")),
        ConnectorRetriableError,
        "TimeoutError: timed out",
        id="socket-timeout-is-retriable",
    ),
    pytest.param(
        sa.exc.TimeoutError("QueuePool limit reached, connection timed out"),
        ConnectorRetriableError,
        "QueuePool limit",
        id="pool-timeout-is-retriable",
    ),
]


@pytest.mark.parametrize(("error", "expected_class", "expected_text"), ERROR_CASES)
def test_database_errors_are_classified(
    error: sa.exc.SQLAlchemyError, expected_class: type[Exception], expected_text: str
) -> None:
    with pytest.raises(expected_class) as caught, database_errors("c", POSTGRES_URL, "read"):
        raise error
    assert expected_text in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(dt.datetime(2024, 1, 2, 3, 4), "2024-01-02T03:04:00+00:00", id="naive-utc"),
        pytest.param(dt.date(2024, 1, 2), "2024-01-02", id="date"),
        pytest.param(dt.time(3, 4), "03:04:00", id="time"),
        pytest.param(b"\x00\xff", "AP8=", id="bytes-base64"),
        pytest.param(
            __import__("decimal").Decimal("1.25"),
            __import__("decimal").Decimal("1.25"),
            id="decimal-exact",
        ),
        pytest.param("x", "x", id="passthrough"),
    ],
)
def test_json_value(value: Any, expected: Any) -> None:
    assert json_value(value) == expected


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param({"name": "c"}, id="neither-table-nor-query"),
        pytest.param({"name": "c", "table": "t", "query": "SELECT 1"}, id="both"),
        pytest.param({"name": "c", "tabel": "t"}, id="typo"),
    ],
)
def test_invalid_stream_config_is_rejected(erp_url: str, stream: dict[str, Any]) -> None:
    with pytest.raises(ConfigValidationError):
        TapSQL(config={"url": erp_url, "streams": [stream]})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from connectors.sql import TapSQL; TapSQL.cli()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, timeout=120
    )


def test_cli_about_discover_sync_and_state(tmp_path: Path, erp_url: str) -> None:
    about = json.loads(_cli("--about", "--format", "json").stdout)
    assert about["name"] == "tap-crmhub-sql"
    assert about["settings"]["properties"]["url"]["secret"] is True

    config = tmp_path / "config.json"
    config.write_text(json.dumps(erp_config(erp_url)))
    catalog = json.loads(_cli("--discover", "--config", str(config)).stdout)
    assert sorted(s["tap_stream_id"] for s in catalog["streams"]) == [
        "customers",
        "order_totals",
        "orders",
    ]

    messages = [json.loads(line) for line in _cli("--config", str(config)).stdout.splitlines()]
    assert sum(m["type"] == "RECORD" for m in messages) == 3 + 5 + 3
    state = [m for m in messages if m["type"] == "STATE"][-1]["value"]

    state_file = tmp_path / "state.json"
    state_file.write_text(json.dumps(state))
    rerun = _cli("--config", str(config), "--state", str(state_file)).stdout
    records = [json.loads(line) for line in rerun.splitlines()]
    customers = [
        m["record"]["id"] for m in records if m["type"] == "RECORD" and m["stream"] == "customers"
    ]
    assert customers == [3]
