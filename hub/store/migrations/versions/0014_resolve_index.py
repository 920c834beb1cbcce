"""The incremental resolve's key index in a table of its own: a base and the changes since

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:00:00

`resolve_state.record_index` held the whole key index of the live records (~180 bytes a
record: ~180 MB at a million records) and was written again by every incremental run,
though a run after a sync changes a few thousand rows of it — 2 to 3 s of a 25 s run at 1M
records. Now `resolve_index` holds it in two rows: `base`, written by a full run, and
`delta`, the rows set and the records gone since (with the links between golden records),
rewritten by an incremental run; each an .npz archive in pieces of at most 64 MB, so the
index of more than ~5.5M records does not pass the 1 GB SQLite and PostgreSQL allow a
value. The state row is left small. The existing index is moved over as the base.

Downgrading drops the index and the stored state with it: the next resolve is a full run.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    index = op.create_table(
        "resolve_index",
        sa.Column("part", sa.String(length=8), nullable=False),
        sa.Column("piece", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("arrays", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("part", "piece", name=op.f("pk_resolve_index")),
    )
    state = sa.table(
        "resolve_state",
        sa.column("record_index", sa.LargeBinary),
        sa.column("updated_at", _TS),
    )
    conn = op.get_bind()
    row = conn.execute(sa.select(state.c.record_index, state.c.updated_at)).first()
    if row is not None:
        op.bulk_insert(
            index,
            [
                {
                    "part": "base",
                    "piece": 0,
                    "arrays": row.record_index,
                    "updated_at": row.updated_at,
                }
            ],
        )
    with op.batch_alter_table("resolve_state") as batch:
        batch.drop_column("record_index")


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM resolve_state"))
    with op.batch_alter_table("resolve_state") as batch:
        batch.add_column(sa.Column("record_index", sa.LargeBinary(), nullable=False))
    op.drop_table("resolve_index")
