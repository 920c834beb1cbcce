"""push-back runs, state and failures; hub locks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 08:26:24.936500
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hub_locks",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_hub_locks")),
    )
    with op.batch_alter_table("connector_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("records_echoed", sa.Integer(), nullable=False, server_default="0")
        )

    op.create_table(
        "push_failures",
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("item_key", sa.String(length=500), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("retriable", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "item_key", name=op.f("pk_push_failures")),
    )
    op.create_table(
        "push_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_runs")),
    )
    with op.batch_alter_table("push_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_runs_connector"), ["connector"], unique=False)

    op.create_table(
        "push_state",
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.String(length=500), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column(
            "written",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connector", "source_id", name=op.f("pk_push_state")),
    )
    with op.batch_alter_table("push_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_state_golden_id"), ["golden_id"], unique=False)


def downgrade() -> None:
    op.drop_table("hub_locks")
    with op.batch_alter_table("connector_runs", schema=None) as batch_op:
        batch_op.drop_column("records_echoed")

    with op.batch_alter_table("push_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_state_golden_id"))

    op.drop_table("push_state")
    with op.batch_alter_table("push_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_runs_connector"))

    op.drop_table("push_runs")
    op.drop_table("push_failures")
