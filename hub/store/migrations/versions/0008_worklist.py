"""Worklist: call-back items from logged contacts, and their append-only events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 07:40:00

`worklist_items` holds each item's current state (owner, due day, open or done with its
outcome); every change to it is also appended to `worklist_events` (who, when, what). An item
names its customer by a member source record (`source/source_id`), as the hub's own logged
interactions do (hub.store.hub_source), so merges and unmerges carry it along. The
first two indexes serve the paged worklist (one owner's open items by due day, and
everyone's), the third a customer's open items on their page.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worklist_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("member", sa.String(length=700), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("first_due_on", sa.Date(), nullable=False),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.Column("done_contact_id", sa.String(length=100), nullable=True),
        sa.Column("done_by", sa.String(length=100), nullable=True),
        sa.Column("done_at", _TS, nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklist_items")),
    )
    op.create_index("ix_worklist_items_golden_id", "worklist_items", ["golden_id"])
    op.create_index(
        "ix_worklist_items_owner_due", "worklist_items", ["owner", "status", "due_on", "id"]
    )
    op.create_index("ix_worklist_items_status_due", "worklist_items", ["status", "due_on", "id"])
    op.create_index("ix_worklist_items_member", "worklist_items", ["member", "status"])
    op.create_table(
        "worklist_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklist_events")),
    )
    op.create_index("ix_worklist_events_item_id", "worklist_events", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_worklist_events_item_id", table_name="worklist_events")
    op.drop_table("worklist_events")
    for name in (
        "ix_worklist_items_member",
        "ix_worklist_items_status_due",
        "ix_worklist_items_owner_due",
    ):
        op.drop_index(name, table_name="worklist_items")
    op.drop_index("ix_worklist_items_golden_id", table_name="worklist_items")
    op.drop_table("worklist_items")
