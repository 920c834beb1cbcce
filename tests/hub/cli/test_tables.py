"""Every table-printing command, as a real process on the demo hub: readable at 80 columns
(no line longer, the key columns still there) and `--json` one document with stable keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli import crmhub as run_crmhub
from tests.hub.conftest import ResolvedHub

ENV = {"PATH": "/usr/bin:/bin", "COLUMNS": "80"}


def crmhub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_crmhub(*args, cwd=cwd, columns=80, timeout=120)


def fits_80(out: subprocess.CompletedProcess[str], *headers: str) -> None:
    """Exit 0, no line over 80 characters, and these column headers on one header line."""
    assert out.returncode == 0, out.stdout + out.stderr
    long = [line for line in out.stdout.splitlines() if len(line) > 80]
    assert not long, "\n".join(long)
    assert any(all(h in line.split() for h in headers) for line in out.stdout.splitlines()), (
        out.stdout
    )


def as_json(out: subprocess.CompletedProcess[str]) -> Any:
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)  # the whole of stdout: nothing but the document


# (arguments, the key columns at 80, the top-level --json keys)
TABLES = [
    (
        ["status"],
        ["run", "connector", "status", "read", "quar."],
        {"runs", "sources", "pushes", "push_retries_pending", "records", "quarantined"},
    ),
    (["quarantine"], ["source", "record", "stage", "reason"], {"total", "shown", "items"}),
    (["user", "list"], ["user", "role", "active"], {"users"}),
    (["review", "list"], ["id", "left", "right", "probability"], {"total", "shown", "items"}),
    (["push", "--dry-run"], ["change", "record", "field", "before", "after"], {"pushes"}),
]


@pytest.mark.parametrize(
    ("args", "headers", "keys"), TABLES, ids=lambda v: str(sorted(v) if isinstance(v, set) else v)
)
def test_table_fits_80_columns_and_json_has_its_keys(
    sqlite_hub: ResolvedHub, args: list[str], headers: list[str], keys: set[str]
) -> None:
    base = sqlite_hub.config.base_dir
    fits_80(crmhub(*args, cwd=base), *headers)
    document = as_json(crmhub(*args, "--json", cwd=base))
    assert keys <= set(document)


def test_json_documents_carry_the_rows(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    status = as_json(crmhub("status", "--json", cwd=base))
    assert {r["connector"] for r in status["runs"]} == {"erp", "billing", "support", "web"}
    assert all(r["status"] == "succeeded" and "T" in r["started_at"] for r in status["runs"])
    assert status["quarantined"] == 4 and status["golden_records"] > 0
    users = as_json(crmhub("user", "list", "--json", cwd=base))["users"]
    assert {(u["username"], u["role"]) for u in users} == {
        ("alice", "admin"),
        ("sam", "steward"),
        ("vera", "viewer"),
    }
    review = as_json(crmhub("review", "list", "--json", cwd=base))
    first = review["items"][0]
    assert set(first) >= {"id", "left", "right", "kind", "score", "records_affected"}
    assert set(first["left"]) == {"source", "source_id", "golden_id"}
    shown = as_json(crmhub("review", "show", str(first["id"]), "--json", cwd=base))
    assert shown["id"] == first["id"] and shown["left"]["source"] == first["left"]["source"]
    assert {"field", "left", "right", "merged"} <= set(shown["fields"][0])
    assert all(set(w) == {"name", "level", "weight"} for w in shown["weights"])
    text = crmhub("review", "show", str(first["id"]), cwd=base)
    fits_80(text, "field")
    assert "match weights" in text.stdout and "bits" in text.stdout
    assert f"probability {round(first['score'] * 100)} %" in text.stdout  # as on the pages

    [erp] = as_json(crmhub("push", "--dry-run", "--json", cwd=base))["pushes"]
    assert erp["connector"] == "erp" and erp["dry_run"] is True
    change = erp["plan"]["changes"][0]
    assert change["kind"] in {"create", "update"} and change["golden_id"].startswith("G")
    assert erp["plan"]["updates"] + erp["plan"]["creates"] == len(erp["plan"]["changes"])


def test_user_tokens_fit_80_columns(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    made = crmhub("user", "token", "vera", "--name", "nightly-report-export", cwd=base)
    assert made.returncode == 0, made.stderr
    expiring = crmhub("user", "token", "vera", "--name", "sync", "--expires-days", "7", cwd=base)
    assert expiring.returncode == 0, expiring.stderr
    listed = crmhub("user", "tokens", "vera", cwd=base)
    fits_80(listed, "id", "name", "created", "expires", "state")
    assert "nightly-report-export" in listed.stdout and "2 of 2 token(s) usable" in listed.stdout
    document = as_json(crmhub("user", "tokens", "vera", "--json", cwd=base))
    assert document["user"] == "vera" and document["usable"] == 2
    assert {t["name"] for t in document["tokens"]} == {"nightly-report-export", "sync"}
    assert all(t["usable"] and t["revoked_at"] is None for t in document["tokens"])
    assert sum(t["expires_at"] is not None for t in document["tokens"]) == 1


def test_quarantine_says_the_total_and_refuses_an_unknown_source(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    some = crmhub("quarantine", "--limit", "3", cwd=base)
    fits_80(some, "source", "reason")
    assert "showing 3 of 4 quarantined records — use --limit/--all/--json" in some.stdout
    every = crmhub("quarantine", "--all", cwd=base)
    assert "4 quarantined record(s)" in every.stdout and "showing" not in every.stdout
    billing = as_json(crmhub("quarantine", "--source", "billing", "--json", cwd=base))
    assert billing["total"] == billing["shown"] == 2 and billing["source"] == "billing"
    item = billing["items"][0]
    assert {"source", "stream", "source_id", "stage", "reason", "location", "raw"} <= set(item)
    assert item["location"].startswith("billing_customers.csv:") and item["raw"]
    wide = crmhub("quarantine", "--source", "billing", "--wide", cwd=base)
    assert wide.returncode == 0 and "raw" in wide.stdout.split()

    typo = crmhub("quarantine", "--source", "bilng", cwd=base)
    assert typo.returncode == 2 and typo.stdout == ""
    assert "unknown source 'bilng' — known: billing, erp, support, web" in typo.stderr


def test_analyse_json_and_its_summary_wrapped_on_a_terminal(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    out = crmhub("analyse", "--as-of", "2026-03-01", "--json", cwd=base)
    document = as_json(out)  # no progress on stdout: it parses as a whole
    assert document["as_of"] == "2026-03-01" and document["customers"] > 0
    assert {"interactions", "at_risk", "stage_changes", "segments", "rejected"} <= set(document)

    piped = crmhub("analyse", "--as-of", "2026-03-01", cwd=base)  # a log keeps one line
    [line] = [x for x in piped.stdout.splitlines() if x.startswith("analysed ")]
    assert len(line) > 80 and "at risk" in line
    on_terminal = on_a_terminal(["analyse", "--as-of", "2026-03-01"], cwd=base)
    assert on_terminal.startswith("analysed ") and "at risk" in on_terminal
    assert max(len(x) for x in on_terminal.splitlines()) <= 80, on_terminal
    assert " ".join(on_terminal.split()) == " ".join(line.split())  # the same words, wrapped


def on_a_terminal(args: list[str], cwd: Path) -> str:
    """stdout of `crmhub ARGS` run on a pseudo-terminal 80 columns wide (stderr apart)."""
    import os
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", *args],
        cwd=cwd,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env={**ENV, "TERM": "dumb", "NO_COLOR": "1"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n").strip()
