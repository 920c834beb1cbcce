"""`crmhub audiences list|show|sync` as real processes on the demo hub, against a real local
webhook receiver (tests/hub/push/test_audience_sync.py's), and `crmhub check` refusing an
unknown trait with its key path. Marked slow: several process starts."""

from __future__ import annotations

import json

import pytest

from tests.hub.conftest import ResolvedHub
from tests.hub.push.test_audience_sync import SECRET, Receiver, free_port, receiver
from tests.hub.test_steward_cli import crmhub

__all__ = ["receiver"]  # the fixture, used by name below

pytestmark = pytest.mark.slow

AUDIENCES = """
audiences:
  - name: buyers
    description: everyone who bought
    rule: {all: [{trait: frequency, gte: 1}, {not: {trait: stage, is_null: true}}]}
    fields: [stage, next_best_offers]
    destinations:
      - {kind: webhook, url: "${HOOK_URL}", secret: "${HOOK_SECRET}", backoff_seconds: 0}
      - {kind: file, path: exports, format: csv}
"""


def test_list_dry_run_sync_show_and_a_second_sync_sends_nothing(
    sqlite_hub: ResolvedHub, receiver: Receiver
) -> None:
    base = sqlite_hub.config.base_dir
    hub_yaml = base / "hub.yaml"
    hub_yaml.write_text(hub_yaml.read_text() + AUDIENCES)
    env = {"HOOK_URL": receiver.url, "HOOK_SECRET": SECRET, "COLUMNS": "100"}

    listed = crmhub("audiences", "list", cwd=base, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "buyers" in listed.stdout and "never computed" in listed.stdout

    dry = crmhub("audiences", "sync", "--dry-run", cwd=base, env=env)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    webhook = next(line for line in lines if "buyers → webhook (webhook) (dry run)" in line)
    entered = int(webhook.split("would send ")[1].split(" entered")[0])
    assert entered > 0 and "0 exited" in webhook
    assert any("buyers → file (file) (dry run)" in line for line in lines)
    assert receiver.requests == [] and not (base / "exports").exists()

    sent = crmhub("audiences", "sync", cwd=base, env=env)
    assert sent.returncode == 0, sent.stderr
    assert (
        f"buyers → webhook (webhook): sent {entered} ({entered} entered, 0 exited)" in sent.stdout
    )
    assert sent.stdout.rstrip().splitlines()[-1] == (
        f"audiences synced: {2 * entered} change(s) sent to 2 destination(s) of 1 audience(s), "
        "0 refused"
    )
    assert len(receiver.keys) == entered and receiver.bad_signatures == 0
    assert len(list((base / "exports").iterdir())) == 1

    again = crmhub("audiences", "sync", "--json", cwd=base, env=env)
    document = json.loads(again.stdout)
    assert document["sent"] == 0 and [d["entered"] for d in document["destinations"]] == [0, 0]
    assert len(receiver.keys) == entered

    shown = crmhub("audiences", "show", "buyers", "--json", cwd=base, env=env)
    status = json.loads(shown.stdout)
    assert status["members"] == entered and status["stale"] is False
    assert [d["target"] for d in status["destinations"]] == ["${HOOK_URL}", "exports (csv)"]
    assert len(status["recent"]) == min(entered, 10)
    text = crmhub("audiences", "show", "buyers", cwd=base, env=env)
    assert "everyone who bought" in text.stdout and "Latest changes" in text.stdout

    missing = crmhub("audiences", "show", "nobody", cwd=base, env=env)
    assert missing.returncode == 2 and "no audience named 'nobody'" in missing.stderr


def test_receiver_down_is_one_line_and_exit_1(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    hub_yaml = base / "hub.yaml"
    hub_yaml.write_text(hub_yaml.read_text() + AUDIENCES)
    env = {"HOOK_URL": f"http://127.0.0.1:{free_port()}/x", "HOOK_SECRET": SECRET}
    down = crmhub("audiences", "sync", cwd=base, env=env)
    assert down.returncode == 1
    assert len(down.stderr.strip().splitlines()) == 1 and "unreachable" in down.stderr


def test_check_refuses_an_unknown_trait_with_its_key_path(sqlite_hub: ResolvedHub) -> None:
    base = sqlite_hub.config.base_dir
    hub_yaml = base / "hub.yaml"
    hub_yaml.write_text(hub_yaml.read_text() + AUDIENCES.replace("trait: stage", "trait: stag"))
    checked = crmhub("check", cwd=base, env={"HOOK_URL": "http://x", "HOOK_SECRET": "k"})
    assert checked.returncode == 2
    assert "audiences[0].rule.all[1].not.trait: unknown trait 'stag' (known: " in checked.stderr
