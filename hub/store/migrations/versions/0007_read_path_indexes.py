"""Indexes for the steward app's read paths at a million golden records

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:35:00

The home page counts and the search index's change marker must not scan a million rows per
request. Each index below serves one query (hub.steward.dashboard, hub.steward.search):

* golden_records (kind) WHERE status = 'active' — a partial index: active golden records
  counted from the index alone. Partial, because a plain index on status (one value for
  nearly every row) looked selective to SQLite's planner without statistics and took over
  queries by golden id (a page of 20 search hits read 1M index entries: 230 ms);
* golden_records (updated_at, golden_id), crosswalk (assigned_at): the search marker's
  maxima and the records changed since (a resolve stamps every record it changes); the
  customers list sorted by last update, read in index order;
* on SQLite, the customers list's name order (surname or organisation, then given name,
  missing values last, golden id) as an expression index over active records, so a page is
  read in index order instead of sorting a million JSON values. Its expressions are exactly
  those hub.steward.customers_list sends (literal JSON paths). PostgreSQL sorts (its JSON
  operators take the path as a bound parameter, which no expression index matches);
* crosswalk (source, assigned_by, assigned_at): each source's last resolve, one seek each;
* raw_records (source, deleted): records and deletions per source from the index alone;
* quarantine (resolved_at, source): open quarantine per source;
* audit_log (action, id): the latest merges without reading the whole log;
* match_candidates (status): the open review queue counted from the index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_golden_records_updated_at": ("golden_records", ["updated_at", "golden_id"]),
    "ix_crosswalk_assigned_at": ("crosswalk", ["assigned_at"]),
    "ix_crosswalk_source_assigned": ("crosswalk", ["source", "assigned_by", "assigned_at"]),
    "ix_raw_records_source_deleted": ("raw_records", ["source", "deleted"]),
    "ix_quarantine_open": ("quarantine", ["resolved_at", "source"]),
    "ix_audit_log_action_id": ("audit_log", ["action", "id"]),
    "ix_match_candidates_status": ("match_candidates", ["status"]),
}


ACTIVE = sa.text("status = 'active'")
_SURNAME = (
    "lower(coalesce(json_extract(record, '$.family_name'), "
    "json_extract(record, '$.organization_name'), json_extract(record, '$.full_name')))"
)
_GIVEN = "lower(json_extract(record, '$.given_name'))"
NAME_SORT = (
    "CREATE INDEX ix_golden_records_name_sort ON golden_records "
    f"({_SURNAME} IS NULL, {_SURNAME}, {_GIVEN} IS NULL, {_GIVEN}, golden_id) "
    "WHERE status = 'active'"
)


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)
    op.create_index(
        "ix_golden_records_active",
        "golden_records",
        ["kind"],
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(NAME_SORT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_golden_records_name_sort", table_name="golden_records")
    op.drop_index("ix_golden_records_active", table_name="golden_records")
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
