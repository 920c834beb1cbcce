"""`crmhub analyse` on the store from the terminal: the one-line summary, the run recorded,
a bad date or a half batch command refused with what to do."""

from __future__ import annotations

import re

import sqlalchemy as sa

from hub.analyse import queries
from hub.store.tables import analysis_runs
from tests.hub.conftest import ResolvedHub
from tests.hub.test_steward_cli import crmhub


def test_analyse_on_the_store(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    done = crmhub("analyse", "--as-of", "2026-06-01", "--horizon-days", "60", cwd=base)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1]
    assert re.match(r"analysed \d+ customers as of 2026-06-01 from \d+ interactions", line), line
    assert "churn: " in line
    with sqlite_hub.store.engine.connect() as conn:
        run = queries.last_run(conn)
        count = conn.execute(sa.select(sa.func.count()).select_from(analysis_runs)).scalar_one()
    assert run is not None and run["as_of"] == "2026-06-01" and run["horizon_days"] == 60
    assert count == 2  # the demo hub's own run and this one


def test_analyse_refuses_bad_arguments(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    bad_date = crmhub("analyse", "--as-of", "June", cwd=base)
    assert bad_date.returncode != 0 and "YYYY-MM-DD" in bad_date.stderr
    half = crmhub("analyse", "--out", str(base / "out"), cwd=base)
    assert half.returncode != 0 and "--interactions" in half.stderr
    assert not (base / "out").exists()
