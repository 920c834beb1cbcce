"""Shared fixtures (the hub store on SQLite and on a real PostgreSQL server) and the tiers.

Tiers: a test is marked `slow` — and left out of `make test-fast` (`pytest -m "not slow"`)
— when it needs a real server or a heavy runtime. The markers come from where the test is
(`SLOW_PATHS`), from its `backend` parameter (the PostgreSQL half of every test run on both
stores) and, for the few other tests over ~5 s, from `SLOW_TESTS`; nothing is marked by
hand. `make test` (and CI) runs every tier.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store.database import Store
from tests.postgres import PostgresServer, postgres_server

TESTS = Path(__file__).parent

# folder or file under tests/ -> the markers of every test in it (each also `slow`)
SLOW_PATHS: dict[str, tuple[str, ...]] = {
    "systems": ("systems",),  # stand-ins for and real servers of the source systems
    "dags": ("airflow",),  # Airflow: a metadata DB, the DAG processor, task runs
    "browser": ("browser",),  # `crmhub serve` driven by Chromium
    "hub/test_kill_rerun.py": ("kill_rerun",),  # SIGKILLed `crmhub sync` processes
    "identity/backends/spark": ("spark",),  # Apache Spark local[2] (a JVM)
    "analytics/backends": ("spark",),  # the analytics engine on Spark local[2]
    "hub/resolve/test_spark.py": ("spark",),  # store resolves on Spark local[2]
    "hub/analyse/test_spark.py": ("spark",),  # store analyses on Spark local[2]
    "dags/test_dag_spark.py": ("spark",),  # the DAG's resolve task on Spark
}

# other single tests over ~5 s on 2 cores (`pytest --durations=40`), by node id without
# parameters; a name that no longer matches a test in its module is reported
SLOW_TESTS: frozenset[str] = frozenset(
    {
        # `crmhub` commands run as subprocesses, one after another
        "tests/hub/test_cli.py::test_init_check_sync_status_quarantine",  # 11.1 s
        "tests/hub/test_steward_cli.py::test_user_add_review_list_show_decide",  # 10.2 s
        "tests/hub/test_steward_cli.py::test_user_tokens_lists_and_revoke_revokes_one",  # 12 s
        "tests/hub/analyse/test_settings.py::test_crmhub_check_refuses_an_unknown_aggregation",
        "tests/hub/test_cli.py::test_user_mistakes_are_one_clear_line",  # 9.1 s
        "tests/hub/push/test_cli.py::test_push_dry_run_plan_then_push_then_status",  # 7.8 s
        "tests/hub/cli/test_worklist.py::test_worklist_lists_call_backs_per_owner",  # 4 runs
        # `crmhub resolve` run four times as subprocesses
        "tests/hub/resolve/test_cli.py::test_resolve_is_incremental_and_full_when_asked",
        # a ~3,300-record population resolved fully twice (EM) and incrementally: 16 s
        "tests/hub/resolve/test_incremental.py::"
        "test_one_percent_changed_agrees_with_a_full_run_estimating_again",
        # 5-6 s to set up unless CRMHUB_PLUGIN_DIR holds it: installs tap-jsonl from PyPI
        "tests/hub/test_external_tap.py::test_tap_jsonl_subprocess_end_to_end",
    }
)


# Spark settings for the tests' small data, read by every JVM the tests start — the
# sessions of the fixtures and those of `crmhub` subprocesses alike (SPARK_CONF_DIR is
# spark-submit's own lookup; a setting a test gives its session still wins). Janino
# compiling generated code for each of the hundreds of tiny jobs was a fifth to a quarter
# of a run over a few hundred records (the native crm run: 39.6 -> 31.7 s cold, 19.2 ->
# 14.0 s warm); interpreted evaluation gives the same rows (Spark's own tests run both
# ways). Production sessions keep Spark's defaults (`identity.backends.spark.session`).
SPARK_TEST_DEFAULTS = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.ui.enabled": "false",
}


_SPARK_CONF = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    if "SPARK_CONF_DIR" in os.environ:  # someone chose their own Spark settings
        return
    folder = Path(tempfile.mkdtemp(prefix="crmhub-spark-conf-"))
    lines = (f"{key} {value}\n" for key, value in SPARK_TEST_DEFAULTS.items())
    (folder / "spark-defaults.conf").write_text("".join(lines))
    os.environ["SPARK_CONF_DIR"] = str(folder)
    config.stash[_SPARK_CONF] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    if (folder := config.stash.get(_SPARK_CONF, None)) is not None:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop("SPARK_CONF_DIR", None)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each store backend in turn (the PostgreSQL runs are marked `slow` and `postgres`)."""
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty hub store URL on each backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store.open(store_url)
    yield s
    s.dispose()


def _path_markers(path: Path) -> tuple[str, ...]:
    try:
        parts = path.relative_to(TESTS).parts
    except ValueError:  # a test file outside tests/
        return ()
    found: list[str] = []
    for prefix, markers in SLOW_PATHS.items():
        if parts[: len(Path(prefix).parts)] == Path(prefix).parts:
            found.extend(markers)
    return tuple(found)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier (see the module docstring)."""
    unmatched = set(SLOW_TESTS)
    for item in items:
        markers = list(_path_markers(item.path))
        callspec = getattr(item, "callspec", None)
        if (
            callspec is not None and callspec.params.get("backend") == "postgresql"
        ) or "pg_server" in getattr(item, "fixturenames", ()):
            markers.append("postgres")
        if item.nodeid.partition("[")[0] in SLOW_TESTS:
            unmatched.discard(item.nodeid.partition("[")[0])
            markers.append("slow")
        if markers and "slow" not in markers:
            markers.append("slow")
        for name in dict.fromkeys(markers):
            item.add_marker(name)
    modules = {item.nodeid.partition("::")[0]: getattr(item, "module", None) for item in items}
    for nodeid in sorted(unmatched):
        path, _, name = nodeid.partition("::")
        module = modules.get(path)
        if module is not None and not hasattr(module, name):  # renamed? keep the list true
            warnings.warn(pytest.PytestWarning(f"SLOW_TESTS names no test: {nodeid}"), stacklevel=1)
