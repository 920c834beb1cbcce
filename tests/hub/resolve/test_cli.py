"""`crmhub resolve` in store mode: incremental by default, `--full` on demand."""

from __future__ import annotations

from pathlib import Path

from tests.cli import crmhub
from tests.hub.resolve.population import delete, population, put
from tests.hub.test_sync import demo_project


def test_resolve_is_incremental_and_full_when_asked(tmp_path: Path) -> None:
    _, store = demo_project(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}")
    records = population(40, 5)
    put(store, records)

    def run(*args: str) -> str:
        out = crmhub("resolve", *args, cwd=tmp_path, inherit=True, columns=400)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert f"resolved {len(records)} customer records" in run()
    assert "(full run)" in run("--full")
    assert "(nothing changed since the last run)" in run()
    delete(store, [(records[0]["source"], records[0]["source_id"])])
    assert "(incremental, " in run()
    helped = crmhub("resolve", "--help", cwd=tmp_path, inherit=True, columns=200).stdout
    assert "--full" in helped and "20%" in helped
    store.dispose()
