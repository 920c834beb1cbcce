"""`crmhub resolve`: the batch contract, and golden records in the hub store."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
from pathlib import Path

import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.resolve.run import resolve_store
from hub.store.database import now
from hub.store.tables import audit_log, crosswalk, golden_records, steward_decisions
from hub.sync.run import sync
from tests.cli import crmhub as run_crmhub
from tests.hub.test_sync import demo_project

RECORDS = [
    {
        "source": "erp",
        "source_id": "1",
        "given_name": "Anna",
        "family_name": "Kovács",
        "email": "anna.kovacs@mail.hu",
        "phone": "+36 30 123 4567",
        "country": "HU",
        "birth_date": "1980-02-03",
        "city": "Budapest",
        "loyalty": "gold",
    },
    {
        "source": "support",
        "source_id": "S1",
        "full_name": "Kovács Anna",
        "email": "Anna.Kovacs+support@mail.hu",
        "phone": "06 30 123 4567",
        "country": "HU",
    },
    {
        "source": "web",
        "source_id": "w-9",
        "given_name": "Bill",
        "family_name": "Smith",
        "email": "bill@mail.co.uk",
    },
    {
        "source": "billing",
        "source_id": "B7",
        "kind": "organization",
        "organization_name": "Acme Kft.",
        "email": "anna.kovacs@mail.hu",
    },
]


def crmhub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_crmhub(*args, cwd=cwd, inherit=True, columns=None)


def read_crosswalk(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_batch_contract(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl.gz"
    with gzip.open(source, "wt", encoding="utf-8") as fh:
        for record in RECORDS:
            fh.write(json.dumps(record) + "\n")
        fh.write("{not json\n")
    out = crmhub(
        "resolve",
        "--input",
        str(source),
        "--crosswalk",
        "x.csv",
        "--golden",
        "g.jsonl",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "resolved 4 records into 3 golden records" in out.stdout
    assert f"{source}:5: not valid JSON" in out.stderr
    header = (tmp_path / "x.csv").read_text().splitlines()[0]
    assert header == "source,source_id,golden_id"
    rows = read_crosswalk(tmp_path / "x.csv")
    assert [(r["source"], r["source_id"]) for r in rows] == [
        (r["source"], r["source_id"]) for r in RECORDS
    ]
    ids = {r["source_id"]: r["golden_id"] for r in rows}
    assert ids["1"] == ids["S1"]  # swapped name order, +tag, national phone format
    assert len({ids["1"], ids["w-9"], ids["B7"]}) == 3  # the company is not its contact
    golden = [json.loads(line) for line in (tmp_path / "g.jsonl").read_text().splitlines()]
    anna = next(g for g in golden if g["golden_id"] == ids["1"])
    assert anna["family_name"] == "Kovács" and sorted(map(tuple, anna["members"])) == [
        ("erp", "1"),
        ("support", "S1"),
    ]
    assert anna["provenance"]["birth_date"]["source"] == "erp"

    again = crmhub("resolve", "--input", str(source), "--crosswalk", "y.csv", cwd=tmp_path)
    assert again.returncode == 0
    assert (tmp_path / "y.csv").read_text() == (tmp_path / "x.csv").read_text()  # same ids


def test_a_parquet_export_resolves_as_its_json_lines(tmp_path: Path) -> None:
    """A Parquet export (typed columns: a real date, nulls) is the batch contract's input
    too: the same crosswalk and golden records as the JSON Lines of the same records, and
    a row without its key reported by row number."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    fields = sorted({k for r in RECORDS for k in r})
    rows = [{k: r.get(k) for k in fields} for r in RECORDS]
    rows.insert(2, {**{k: None for k in fields}, "source": "web", "given_name": "No Key"})
    typed = [
        {**r, "birth_date": dt.date.fromisoformat(r["birth_date"])} if r["birth_date"] else r
        for r in rows
    ]
    schema = pa.schema([(k, pa.date32() if k == "birth_date" else pa.string()) for k in fields])
    pq.write_table(pa.Table.from_pylist(typed, schema=schema), tmp_path / "in.parquet")
    with (tmp_path / "in.jsonl").open("w", encoding="utf-8") as fh:
        for record in RECORDS:
            fh.write(json.dumps(record) + "\n")
    stderr = {}
    for name in ("in.parquet", "in.jsonl"):
        out = crmhub(
            "resolve",
            "--input",
            name,
            "--crosswalk",
            f"{name}.csv",
            "--golden",
            f"{name}.golden",
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        assert "resolved 4 records into 3 golden records" in out.stdout
        stderr[name] = out.stderr
    assert "in.parquet:3: missing source or source_id — line skipped" in stderr["in.parquet"]
    assert (tmp_path / "in.parquet.csv").read_text() == (tmp_path / "in.jsonl.csv").read_text()
    assert (tmp_path / "in.parquet.golden").read_text() == (
        tmp_path / "in.jsonl.golden"
    ).read_text()


def test_batch_mode_needs_both_paths(tmp_path: Path) -> None:
    out = crmhub("resolve", "--input", "missing.jsonl", "--crosswalk", "x.csv", cwd=tmp_path)
    assert out.returncode == 2 and "missing.jsonl: no such file" in out.stderr


def test_store_resolution_is_stable_and_honours_stewards(tmp_path: Path, store_url: str) -> None:
    config, store = demo_project(tmp_path, store_url)
    assert all(r.ok for r in sync(config, store, retry=RetryPolicy(attempts=1)))
    first = resolve_store(config, store, actor="test")
    assert first.records == 37 and first.golden < first.records
    with store.engine.connect() as conn:
        xw = {(r.source, r.source_id): r.golden_id for r in conn.execute(sa.select(crosswalk))}
    anna = {xw[("erp", "1001")], xw[("billing", "B-0001")], xw[("support", "S1")]}
    assert len(anna) == 1, "Anna Kovács is one customer in every system"
    assert xw[("erp", "1006")] != xw[("erp", "1010")]  # Avraham and David Cohen differ

    second = resolve_store(config, store, actor="test")
    assert (second.new, second.merged, second.split, second.changed_golden) == (0, 0, 0, 0)

    gid = xw[("erp", "1001")]
    with store.transaction() as conn:  # a steward says the support record is someone else
        conn.execute(
            steward_decisions.insert().values(
                left_source="erp",
                left_source_id="1001",
                right_source="support",
                right_source_id="S1",
                decision="no_match",
                decided_by="steward",
                decided_at=now(),
            )
        )
    resolve_store(config, store, actor="test")
    with store.engine.connect() as conn:
        after = {(r.source, r.source_id): r.golden_id for r in conn.execute(sa.select(crosswalk))}
        actions = [a for (a,) in conn.execute(sa.select(audit_log.c.action))]
        active = conn.execute(
            sa.select(sa.func.count()).where(golden_records.c.status == "active")
        ).scalar_one()
    assert after[("erp", "1001")] != after[("support", "S1")]
    assert gid in {after[("erp", "1001")], after[("support", "S1")]}  # the id stays with one part
    assert "golden.split" in actions
    assert active == len(set(after.values()))
