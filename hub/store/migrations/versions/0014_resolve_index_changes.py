"""The incremental resolve writes what changed in the key index, not the whole index

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:00:00

`resolve_state.record_index` holds the key index of every live record (about 176 MB at a
million records), and every incremental run rewrote all of it for the ~1 % of rows it
changed. Now a full run writes the index there, and an incremental run writes only the
rows that differ from it (and the bridges) to the new `index_changes`; loading applies
them. A full run clears `index_changes`, so it holds at most the changes of the drift a
full run allows (20 %).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resolve_state") as batch:
        batch.add_column(sa.Column("index_changes", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # an older program reads only the whole index: a state with changes beside it is
    # dropped, so that program's next resolve is a full run
    conn = op.get_bind()
    state = sa.table(
        "resolve_state",
        sa.column("id", sa.Integer),
        sa.column("index_changes", sa.LargeBinary),
    )
    if conn.execute(sa.select(state.c.id).where(state.c.index_changes.is_not(None))).first():
        conn.execute(state.delete())
    with op.batch_alter_table("resolve_state") as batch:
        batch.drop_column("index_changes")
