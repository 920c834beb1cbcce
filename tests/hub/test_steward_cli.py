"""`crmhub user` and `crmhub review` from the terminal, as real subprocesses on the demo hub."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import sqlalchemy as sa

from hub.store.database import Store
from hub.store.tables import api_tokens, audit_log, steward_decisions
from tests.cli import crmhub as run_crmhub
from tests.hub.conftest import PASSWORD, ResolvedHub


def crmhub(
    *args: str, cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_crmhub(*args, cwd=cwd, stdin=stdin, env=env, inherit=True, columns=None)


def test_user_add_review_list_show_decide(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    added = crmhub(
        "user",
        "add",
        "stella",
        "--role",
        "steward",
        "--password-stdin",
        cwd=base,
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert "user stella added as steward" in added.stdout
    short = crmhub("user", "add", "bob", "--password-stdin", cwd=base, stdin="short\n")
    assert short.returncode == 2 and "password too short" in short.stderr

    listed = crmhub("review", "list", cwd=base)
    assert listed.returncode == 0 and " open review item(s)" in listed.stdout
    queue = json.loads(crmhub("review", "list", "--json", cwd=base).stdout)
    item = str(queue["items"][0]["id"])
    assert re.search(rf"^ *{item} ", listed.stdout, re.MULTILINE), listed.stdout
    shown = crmhub("review", "show", item, cwd=base)
    assert shown.returncode == 0 and "probability" in shown.stdout and "bits" in shown.stdout

    viewer = crmhub("review", "decide", item, "match", "--as", "vera", cwd=base)
    assert viewer.returncode == 2 and "needs the steward role" in viewer.stderr
    decided = crmhub("review", "decide", item, "no_match", "--as", "stella", cwd=base)
    assert decided.returncode == 0, decided.stderr
    assert f"review item {item}: not a match" in decided.stdout
    again = crmhub("review", "decide", item, "match", "--as", "sam", cwd=base)
    assert again.returncode == 1 and "already decided" in again.stderr

    store = Store.open(sqlite_hub.store.url)
    with store.engine.connect() as conn:
        by = conn.execute(sa.select(steward_decisions.c.decided_by)).scalars().all()
        actions = conn.execute(sa.select(audit_log.c.actor, audit_log.c.action)).all()
    store.dispose()
    assert by == ["stella"]
    assert ("stella", "steward.decision") in actions and ("cli", "user.add") in actions


def test_user_token_prints_a_token_once(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    made = crmhub("user", "token", "sam", "--name", "airflow", cwd=base)
    assert made.returncode == 0 and made.stdout.startswith("chub_")
    missing = crmhub("user", "token", "nobody", cwd=base)
    assert missing.returncode == 2 and "crmhub user add" in missing.stderr


def test_user_tokens_lists_and_revoke_revokes_one(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    first = crmhub("user", "token", "vera", "--name", "report", cwd=base)
    second = crmhub("user", "token", "vera", "--name", "sync", "--expires-days", "7", cwd=base)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    listed = crmhub("user", "tokens", "vera", cwd=base)
    assert listed.returncode == 0 and "report" in listed.stdout and "sync" in listed.stdout
    assert "2 of 2 token(s) usable" in listed.stdout
    with sqlite_hub.store.engine.connect() as conn:
        report = conn.execute(
            sa.select(api_tokens.c.id).where(api_tokens.c.name == "report")
        ).scalar_one()
    revoked = crmhub("user", "revoke", str(report), cwd=base)
    assert revoked.returncode == 0 and f"token {report} (report) of vera revoked" in revoked.stdout
    assert "1 of 2 token(s) usable" in crmhub("user", "tokens", "vera", cwd=base).stdout
    missing = crmhub("user", "revoke", "99999", cwd=base)
    assert missing.returncode == 2 and "no API token 99999" in missing.stderr


def test_review_list_in_informative_order(sqlite_hub: ResolvedHub) -> None:
    """`crmhub review list --order informative`: the same items, what teaches the model
    most first; an unknown order is a usage error naming the choices."""
    base = sqlite_hub.config.base_dir
    impact = json.loads(crmhub("review", "list", "--json", cwd=base).stdout)
    taught = crmhub("review", "list", "--json", "--order", "informative", cwd=base)
    assert taught.returncode == 0, taught.stderr
    items = json.loads(taught.stdout)["items"]
    assert sorted(i["id"] for i in items) == sorted(i["id"] for i in impact["items"])
    priorities = [i["priority"] for i in items]
    assert priorities == sorted(priorities, reverse=True)
    unknown = crmhub("review", "list", "--order", "banana", cwd=base)
    assert unknown.returncode == 2
    assert "--order 'banana' is unknown: use one of impact, informative" in unknown.stderr
