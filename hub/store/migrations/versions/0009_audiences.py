"""Audiences: their members now, their append-only entered/exited events, delivery cursors

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:10:00

`audiences` remembers the rule each audience was computed with (a changed rule is recomputed
before a sync), `audience_members` who is in it, `audience_events` every entry and exit with
its time (append-only: the membership history), and `audience_cursors` the last event each
destination has received — committed together with the delivery, so a killed sync resumes
where it stopped and sends each change once. Refused deliveries are kept in `push_failures`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audiences",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("rule_hash", sa.String(length=64), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("computed_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audiences")),
    )
    op.create_table(
        "audience_members",
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("entered_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("audience", "golden_id", name=op.f("pk_audience_members")),
    )
    op.create_table(
        "audience_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=10), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("fields", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_events")),
    )
    op.create_index("ix_audience_events_audience_id", "audience_events", ["audience", "id"])
    op.create_index(
        "ix_audience_events_audience_golden", "audience_events", ["audience", "golden_id", "id"]
    )
    op.create_table(
        "audience_cursors",
        sa.Column("audience", sa.String(length=40), nullable=False),
        sa.Column("destination", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("delivered_at", _TS, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("audience", "destination", name=op.f("pk_audience_cursors")),
    )


def downgrade() -> None:
    op.drop_table("audience_cursors")
    for name in ("ix_audience_events_audience_golden", "ix_audience_events_audience_id"):
        op.drop_index(name, table_name="audience_events")
    op.drop_table("audience_events")
    op.drop_table("audience_members")
    op.drop_table("audiences")
