"""Exact interaction amounts: NUMERIC without a fixed scale on PostgreSQL, decimal text on SQLite

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 03:20:00

`interactions.amount` was `NUMERIC(18, 4)`, which SQLite stores with REAL affinity (a float:
`12345678901234.5678` became `12345678901234.6`). It becomes `hub.store.tables.Money`:
unconstrained `NUMERIC` on PostgreSQL (a lossless widening), the canonical decimal text on
SQLite. Existing SQLite amounts are floats already; each is rewritten as the shortest decimal
that reads back as the same float (`19.99`, not `19.989999999999998`), which is the amount the
source sent whenever it had at most 15 significant digits.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BATCH = 10_000


def _text(value: object) -> str | None:
    if value is None:
        return None
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    if not amount.is_finite():
        return None
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        with op.batch_alter_table("interactions", schema=None) as batch_op:
            batch_op.alter_column(
                "amount",
                existing_type=sa.Numeric(18, 4),
                type_=sa.Numeric(),
                existing_nullable=True,
                postgresql_using="amount::numeric",
            )
        return
    # SQLite: read the float amounts as the driver gives them, then store decimal text
    found = conn.exec_driver_sql(
        "SELECT id, amount FROM interactions WHERE amount IS NOT NULL ORDER BY id"
    ).all()
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.alter_column(
            "amount", existing_type=sa.Numeric(18, 4), type_=sa.Text(), existing_nullable=True
        )
    rows = [{"pk": pk, "amount": _text(value)} for pk, value in found]
    update = sa.text("UPDATE interactions SET amount = :amount WHERE id = :pk")
    for start in range(0, len(rows), _BATCH):
        conn.execute(update, rows[start : start + _BATCH])


def downgrade() -> None:
    conn = op.get_bind()
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.alter_column(
            "amount",
            existing_type=sa.Text() if conn.dialect.name == "sqlite" else sa.Numeric(),
            type_=sa.Numeric(18, 4),
            existing_nullable=True,
            postgresql_using="amount::numeric(18,4)",
        )
    if conn.dialect.name == "sqlite":  # text back to the numbers NUMERIC affinity keeps
        conn.exec_driver_sql(
            "UPDATE interactions SET amount = CAST(amount AS REAL) WHERE amount IS NOT NULL"
        )
