"""The `crmhub` command line, run as a real process."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from hub.cli.example import write_example
from hub.store.tables import crosswalk, interactions, raw_records
from tests.cli import crmhub


def test_help_lists_every_command(tmp_path: Path) -> None:
    out = crmhub("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("init", "check", "sync", "status", "quarantine", "demo"):
        assert command in out.stdout
    sync_help = crmhub("sync", "--help", cwd=tmp_path).stdout
    assert "--full-refresh" in sync_help and "--dry-run" in sync_help


def test_init_check_sync_status_quarantine(tmp_path: Path) -> None:
    assert crmhub("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "hub.yaml").exists() and (tmp_path / "data" / "erp.sqlite").exists()
    check = crmhub("check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "erp: 2 stream(s): customers, orders" in check.stdout

    dry = crmhub("sync", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and "DRY RUN (nothing written)" in dry.stdout
    first = crmhub("sync", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "synced 4/4 connector(s)" in first.stdout and "4 quarantined" in first.stdout
    erp_only = crmhub("sync", "--connector", "erp", cwd=tmp_path)
    assert "synced 1/1 connector(s)" in erp_only.stdout and "0 new, 0 updated" in erp_only.stdout

    status = crmhub("status", cwd=tmp_path)
    assert status.returncode == 0
    assert "Last runs" in status.stdout and "succeeded" in status.stdout
    assert "4 in quarantine" in status.stdout and "golden records" in status.stdout
    quarantine = crmhub("quarantine", "--source", "billing", cwd=tmp_path)
    assert "balance" in quarantine.stdout and "billing_customers.csv" in quarantine.stdout


def test_demo_prints_a_summary(tmp_path: Path) -> None:
    out = crmhub("demo", "--dir", "d", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    summary = re.search(
        r"Demo summary: (\d+) records from (\d+) sources, (\d+) customer records, "
        r"(\d+) interactions, (\d+) quarantined, (\d+) golden records",
        out.stdout,
    )
    assert summary, out.stdout
    raw, sources, customers, events, quarantined, golden = map(int, summary.groups())
    assert (sources, customers, quarantined) == (4, 37, 4)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'd' / '.crmhub' / 'hub.db'}")
    try:  # the printed numbers are the store's
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(
                    sa.select(sa.func.count())
                    .where(raw_records.c.deleted.is_(False))
                    .scalar_subquery(),
                    sa.select(sa.func.count()).select_from(interactions).scalar_subquery(),
                    sa.select(sa.func.count(sa.distinct(crosswalk.c.golden_id))).scalar_subquery(),
                )
            ).one()
    finally:
        engine.dispose()
    assert (raw, events, golden) == tuple(stored)
    assert 0 < golden < customers  # the duplicates were merged


def test_user_mistakes_are_one_clear_line(tmp_path: Path) -> None:
    missing = crmhub("sync", cwd=tmp_path)
    assert missing.returncode == 2 and "crmhub init" in missing.stderr
    assert "Traceback" not in missing.stderr
    write_example(tmp_path)
    unknown = crmhub("sync", "--connector", "nope", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "no connector named 'nope'" in unknown.stderr and "erp, billing" in unknown.stderr
    text = (tmp_path / "hub.yaml").read_text().replace("type: sql", "type: oracle-magic")
    (tmp_path / "hub.yaml").write_text(text)
    bad_type = crmhub("sync", "--connector", "erp", cwd=tmp_path)
    assert bad_type.returncode == 1
    assert "oracle-magic" in bad_type.stdout and "files" in bad_type.stdout
    (tmp_path / "hub.yaml").write_text("connectors:\n  - {name: x, type: sql, streams: 3}\n")
    invalid = crmhub("check", cwd=tmp_path)
    assert invalid.returncode == 2 and "hub.yaml: connectors.0.streams" in invalid.stderr
