"""Incremental resolve: the fitted model, the blocking-key index and the watermarks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:30:00

`resolve_state` holds one row (`id` = 1): the identity model of the last full resolve
(m/u/prior/term frequencies, so an incremental run needs no EM), per live customer record
its blocking keys as 64-bit hashes (so the records a changed one may match are found
without reading every record), and what the last successful resolve had seen — the latest
`customer_records.loaded_at`, steward decision, field override and crosswalk assignment.
`customer_records.loaded_at` gets an index: an incremental resolve asks for the records
loaded since its watermark.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "resolve_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("record_index", sa.LargeBinary(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("records_at_full", sa.Integer(), nullable=False),
        sa.Column("changed_since_full", sa.Integer(), nullable=False),
        sa.Column("full_at", _TS, nullable=False),
        sa.Column("loaded_mark", _TS, nullable=True),
        sa.Column("decision_mark", sa.Integer(), nullable=False),
        sa.Column("override_mark", sa.Integer(), nullable=False),
        sa.Column("crosswalk_mark", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resolve_state")),
    )
    op.create_index("ix_customer_records_loaded_at", "customer_records", ["loaded_at"])


def downgrade() -> None:
    op.drop_index("ix_customer_records_loaded_at", table_name="customer_records")
    op.drop_table("resolve_state")
