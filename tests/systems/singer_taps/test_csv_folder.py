"""`tap-csv-folder` from PyPI (singer-sdk): its records are keyed by file path and line
number, so a row inserted at the top of a file would "change" every row below it;
`streams.<name>.key_properties` in hub.yaml keys them by the file's own id (issue 13)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records
from hub.sync.run import sync
from schemas.config import load_config
from tests.systems.singer_taps.conftest import CSV_FOLDER

NO_RETRY = RetryPolicy(attempts=1)
ROWS = 2_000


def write_csv(path: Path, ids: list[int]) -> None:
    lines = ["id,first_name,last_name,email"]
    lines += [f"{n},Given{n},Family{n},person{n}@example.com" for n in ids]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def project(folder: Path, key: str) -> Path:
    (folder / "exports").mkdir()
    write_csv(folder / "exports" / "people.csv", list(range(1, ROWS + 1)))
    (folder / "hub.yaml").write_text(
        f"""
store: {{url: "sqlite:///{folder / "hub.db"}"}}
connectors:
  - name: tap-csv-folder
    pip_url: {CSV_FOLDER}
    config: {{path: exports, read_mode: merge, stream_name: people}}
    streams:
      people:
        entity: customer
        {key}
        mapping: {{given_name: first_name, family_name: last_name, email: email}}
""",
        encoding="utf-8",
    )
    return folder / "hub.yaml"


@pytest.mark.parametrize(
    ("key", "updated"),
    [("key_properties: [id]", 0), ("", ROWS)],
    ids=["keyed by id in hub.yaml", "the tap's path|line key"],
)
def test_a_row_inserted_at_the_top_changes_one_record_when_keyed_by_id(
    tmp_path: Path,
    csv_folder_tap: Path,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    updated: int,
) -> None:
    monkeypatch.setenv("CRMHUB_PLUGIN_DIR", str(csv_folder_tap.parents[2]))
    cfg = load_config(project(tmp_path, key))
    store = Store.from_config(cfg)
    store.migrate()
    try:
        [first] = sync(cfg, store, retry=NO_RETRY)
        assert first.ok, first.error
        assert (first.counts.inserted, first.counts.quarantined) == (ROWS, 0)

        csv = tmp_path / "exports" / "people.csv"
        write_csv(csv, [0, *range(1, ROWS + 1)])  # one new person on the first line
        os.utime(csv, (csv.stat().st_atime, csv.stat().st_mtime + 10))
        [second] = sync(cfg, store, retry=NO_RETRY)
        assert second.ok, second.error
        assert (second.counts.inserted, second.counts.updated) == (1, updated)
        with store.engine.connect() as conn:
            people = conn.execute(
                sa.select(sa.func.count()).select_from(customer_records)
            ).scalar_one()
        # keyed by id: one record per person; by path|line: the old lines' records stay
        assert people == ROWS + 1
    finally:
        store.dispose()
