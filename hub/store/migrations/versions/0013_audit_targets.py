"""One golden record's audit history from an index, not a scan of the whole log

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 00:00:00

The customer page lists the audit entries about its golden record. It matched
`target_id LIKE '%<id>%'`, a scan of the whole log on every page (about 300 ms at 1.5
million entries, and the log only grows: every resolve's merges and splits, every steward
action), which also matched ids that merely contain the page's id. Now:

* audit_log (target_id, id): the entries about one target, newest first, from an index;
* audit_targets (golden_id, audit_id): a steward action on several golden records is one
  entry whose target is their ids joined by commas; each of them gets a row here, so the
  history of any of them is an index lookup too. Existing entries are copied over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_CHUNK = 1000


def upgrade() -> None:
    op.create_index("ix_audit_log_target_id", "audit_log", ["target_id", "id"])
    targets = op.create_table(
        "audit_targets",
        sa.Column("golden_id", sa.String(length=64), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("golden_id", "audit_id", name=op.f("pk_audit_targets")),
    )
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("target_type", sa.String),
        sa.column("target_id", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(log.c.id, log.c.target_id).where(
            log.c.target_type == "golden", log.c.target_id.contains(",")
        )
    ).all()
    pairs = [
        {"golden_id": gid, "audit_id": int(entry_id)}
        for entry_id, target in rows
        for gid in sorted({part.strip() for part in str(target).split(",") if part.strip()})
    ]
    for at in range(0, len(pairs), _CHUNK):
        conn.execute(targets.insert(), pairs[at : at + _CHUNK])


def downgrade() -> None:
    op.drop_table("audit_targets")
    op.drop_index("ix_audit_log_target_id", table_name="audit_log")
