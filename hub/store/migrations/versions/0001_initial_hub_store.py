"""initial hub store

Revision ID: 0001
Revises:
Create Date: 2026-11-23 05:28:41.921056
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target_type", sa.String(length=50), nullable=False),
        sa.Column("target_id", sa.String(length=500), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "connector_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("full_refresh", sa.Boolean(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("records_read", sa.Integer(), nullable=False),
        sa.Column("records_inserted", sa.Integer(), nullable=False),
        sa.Column("records_updated", sa.Integer(), nullable=False),
        sa.Column("records_unchanged", sa.Integer(), nullable=False),
        sa.Column("records_quarantined", sa.Integer(), nullable=False),
        sa.Column("records_deleted", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_runs")),
    )
    with op.batch_alter_table("connector_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connector_runs_connector"), ["connector"], unique=False
        )

    op.create_table(
        "crosswalk",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.String(length=500), nullable=False),
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "source_id", name=op.f("pk_crosswalk")),
    )
    with op.batch_alter_table("crosswalk", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crosswalk_golden_id"), ["golden_id"], unique=False)

    op.create_table(
        "customer_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.String(length=500), nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("given_name", sa.String(length=200), nullable=True),
        sa.Column("family_name", sa.String(length=200), nullable=True),
        sa.Column("full_name", sa.String(length=400), nullable=True),
        sa.Column("organization_name", sa.String(length=400), nullable=True),
        sa.Column("tax_id", sa.String(length=100), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=100), nullable=True),
        sa.Column("birth_date", sa.String(length=10), nullable=True),
        sa.Column("street", sa.String(length=400), nullable=True),
        sa.Column("house_number", sa.String(length=50), nullable=True),
        sa.Column("postal_code", sa.String(length=50), nullable=True),
        sa.Column("city", sa.String(length=200), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_records")),
        sa.UniqueConstraint(
            "source", "source_id", name=op.f("uq_customer_records_source_source_id")
        ),
    )
    with op.batch_alter_table("customer_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_records_email"), ["email"], unique=False)

    op.create_table(
        "golden_records",
        sa.Column("golden_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column(
            "record",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "provenance",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("merged_into", sa.String(length=40), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("golden_id", name=op.f("pk_golden_records")),
    )
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("source_id", sa.String(length=500), nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("customer_source_id", sa.String(length=500), nullable=True),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=4), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("status", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=100), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint("source", "source_id", name=op.f("uq_interactions_source_source_id")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interactions_customer_source_id"), ["customer_source_id"], unique=False
        )

    op.create_table(
        "match_candidates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("left_source", sa.String(length=100), nullable=False),
        sa.Column("left_source_id", sa.String(length=500), nullable=False),
        sa.Column("right_source", sa.String(length=100), nullable=False),
        sa.Column("right_source_id", sa.String(length=500), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column(
            "weights",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_candidates")),
        sa.UniqueConstraint(
            "left_source",
            "left_source_id",
            "right_source",
            "right_source_id",
            name=op.f(
                "uq_match_candidates_left_source_left_source_id_right_source_right_source_id"
            ),
        ),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.String(length=500), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint(
            "source", "stream", "raw_hash", name=op.f("uq_quarantine_source_stream_raw_hash")
        ),
    )
    op.create_table(
        "raw_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.String(length=500), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("mapping_hash", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_run_id", sa.Integer(), nullable=False),
        sa.Column("changed_run_id", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_records")),
        sa.UniqueConstraint(
            "source", "stream", "source_id", name=op.f("uq_raw_records_source_stream_source_id")
        ),
    )
    with op.batch_alter_table("raw_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_raw_records_source_stream_last_seen_run_id"),
            ["source", "stream", "last_seen_run_id"],
            unique=False,
        )

    op.create_table(
        "steward_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("left_source", sa.String(length=100), nullable=False),
        sa.Column("left_source_id", sa.String(length=500), nullable=False),
        sa.Column("right_source", sa.String(length=100), nullable=False),
        sa.Column("right_source_id", sa.String(length=500), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("score_at_decision", sa.Float(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steward_decisions")),
    )
    with op.batch_alter_table("steward_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f(
                "ix_steward_decisions_left_source_left_source_id_right_source_right_source_id"
            ),
            ["left_source", "left_source_id", "right_source", "right_source_id"],
            unique=False,
        )

    op.create_table(
        "stream_state",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "stream", name=op.f("pk_stream_state")),
    )


def downgrade() -> None:
    op.drop_table("stream_state")
    with op.batch_alter_table("steward_decisions", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f(
                "ix_steward_decisions_left_source_left_source_id_right_source_right_source_id"
            )
        )

    op.drop_table("steward_decisions")
    with op.batch_alter_table("raw_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_raw_records_source_stream_last_seen_run_id"))

    op.drop_table("raw_records")
    op.drop_table("quarantine")
    op.drop_table("match_candidates")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interactions_customer_source_id"))

    op.drop_table("interactions")
    op.drop_table("golden_records")
    with op.batch_alter_table("customer_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_records_email"))

    op.drop_table("customer_records")
    with op.batch_alter_table("crosswalk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crosswalk_golden_id"))

    op.drop_table("crosswalk")
    with op.batch_alter_table("connector_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connector_runs_connector"))

    op.drop_table("connector_runs")
    op.drop_table("audit_log")
