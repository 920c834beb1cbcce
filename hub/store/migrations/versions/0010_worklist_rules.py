"""Worklist rules: items opened by hub.yaml's proactive rules, and the risk each last had

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:20:00

A rule's item (birthday, service, churn_rise, welcome) carries the rule's name, a key that
makes re-running analyse idempotent (`rule|golden id|day`: unique, so a second run or a
concurrent one cannot open the same item twice; NULL for call-backs), what the rule saw when
it fired (`rule_data`), and `stale_since`: set when the rule's condition no longer holds —
the item stays open, people decide. `worklist_risk_seen` keeps each customer's churn risk of
the latest analysed day and of the day before it, so "risk rose since the previous analyse"
survives the profiles being replaced by each run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("worklist_items") as batch:
        batch.add_column(sa.Column("rule", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("rule_key", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("rule_data", _JSON, nullable=True))
        batch.add_column(sa.Column("stale_since", _TS, nullable=True))
    op.create_index("ix_worklist_items_rule_key", "worklist_items", ["rule_key"], unique=True)
    op.create_index("ix_worklist_items_rule_status", "worklist_items", ["rule", "status"])
    op.create_table(
        "worklist_risk_seen",
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("churn_risk", sa.Float(), nullable=True),
        sa.Column("prev_as_of", sa.Date(), nullable=True),
        sa.Column("prev_churn_risk", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("golden_id", name=op.f("pk_worklist_risk_seen")),
    )


def downgrade() -> None:
    op.drop_table("worklist_risk_seen")
    op.drop_index("ix_worklist_items_rule_status", table_name="worklist_items")
    op.drop_index("ix_worklist_items_rule_key", table_name="worklist_items")
    with op.batch_alter_table("worklist_items") as batch:
        for name in ("stale_since", "rule_data", "rule_key", "rule"):
            batch.drop_column(name)
