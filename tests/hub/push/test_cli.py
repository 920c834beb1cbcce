"""`crmhub push` from the terminal: the dry-run plan, the one-line summary, status."""

from __future__ import annotations

import re

from tests.hub.conftest import ResolvedHub
from tests.hub.test_steward_cli import crmhub


def test_push_dry_run_plan_then_push_then_status(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    plan = crmhub("push", "--dry-run", cwd=base, env={"COLUMNS": "200"})
    assert plan.returncode == 0, plan.stderr
    assert "erp (update-only): 0 to create, 10 to update, 0 unchanged" in plan.stdout
    # the plan is a table: change, record, field, before, after
    assert re.search(r"update\s+1001\s+crmhub_golden_id\s+—\s+'G[0-9a-f]{16}'", plan.stdout)
    assert "erp (dry run): would create 0, update 10, unchanged 0" in plan.stdout

    sent = crmhub("push", cwd=base)
    assert sent.returncode == 0 and "erp: sent 10 (0 created, 10 updated)" in sent.stdout
    status = crmhub("status", cwd=base, env={"COLUMNS": "200"})
    assert "Last pushes" in status.stdout and "succeeded" in status.stdout

    unknown = crmhub("push", "--connector", "nowhere", cwd=base)
    assert unknown.returncode == 2 and "no connector named 'nowhere'" in unknown.stderr
