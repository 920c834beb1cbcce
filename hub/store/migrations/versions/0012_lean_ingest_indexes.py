"""Fewer index writes per synced record: two unread indexes dropped, one narrowed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 00:10:00

A sync writes a raw row and a canonical row per record; each index on those tables is one
more B-tree insert per record. Who reads each index the sync writes (grep of hub/):

* raw_records (source, stream, source_id), unique — the upsert's conflict key and the sync's
  lookup of stored rows: kept;
* raw_records (source, stream, last_seen_run_id) — dropped. Its readers are the deletion
  sweep after a full-table read (`mark_missing_deleted`: the stream's rows not seen in this
  run, found from the unique key's (source, stream) prefix; that read has just stamped every
  row of the stream, so it is a pass over the stream either way) and the count of an
  interrupted run's records (`crmhub sync`, after Ctrl-C: once, by source);
* raw_records (source, deleted) — narrowed to `(source, deleted) WHERE deleted`, which a
  live record never enters. The home page and `crmhub status` count each source's records
  from the unique key (covering: `GROUP BY source`) and its deleted ones from this index;
* customer_records (source, source_id), unique — the canonical upsert's key: kept;
* customer_records (email) — dropped: no query looks customer records up by e-mail (the
  identity engine blocks in memory; the steward search has its own index);
* customer_records (loaded_at) — an incremental resolve's "changed since": kept.

Measured on the same 200,000 captured rows through a bare `sqlite3` harness (the sync's
lookup, raw and canonical upserts, commit per 5,000; best of 3 and of 5): 2.65 / 2.78 s CPU
before, 2.13 / 2.22 s after, 164 MB instead of 179. With no secondary index at all it was
2.18 s: what is left is the rows themselves. A 16-byte binary content hash (instead of 64 hex
characters, and none on the canonical row) saved 27 MB but no CPU (2.23 s), so it was not
made.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# the partial index's condition, as each dialect renders `deleted == true()` in a query
_SQLITE_DELETED = sa.text("deleted = 1")
_PG_DELETED = sa.text("deleted")


def upgrade() -> None:
    op.drop_index("ix_raw_records_source_stream_last_seen_run_id", table_name="raw_records")
    op.drop_index("ix_customer_records_email", table_name="customer_records")
    op.drop_index("ix_raw_records_source_deleted", table_name="raw_records")
    op.create_index(
        "ix_raw_records_deleted",
        "raw_records",
        ["source", "deleted"],  # deleted too: SQLite then counts from the index alone
        sqlite_where=_SQLITE_DELETED,
        postgresql_where=_PG_DELETED,
    )


def downgrade() -> None:
    op.drop_index("ix_raw_records_deleted", table_name="raw_records")
    op.create_index("ix_raw_records_source_deleted", "raw_records", ["source", "deleted"])
    op.create_index("ix_customer_records_email", "customer_records", ["email"])
    op.create_index(
        "ix_raw_records_source_stream_last_seen_run_id",
        "raw_records",
        ["source", "stream", "last_seen_run_id"],
    )
