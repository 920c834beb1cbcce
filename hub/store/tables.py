"""The hub store's tables (SQLAlchemy Core); the migrations in hub/store/migrations own the DDL."""

from __future__ import annotations

import decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

from hub.core.states import CandidateStatus, GoldenStatus

__all__ = [
    "Money",
    "analysis_runs",
    "api_tokens",
    "as_decimal",
    "audience_cursors",
    "audience_events",
    "audience_members",
    "audiences",
    "audit_log",
    "audit_targets",
    "connector_runs",
    "crosswalk",
    "customer_profiles",
    "customer_records",
    "decimal_text",
    "golden_overrides",
    "golden_records",
    "hub_locks",
    "interactions",
    "match_candidates",
    "metadata",
    "profit_lorenz",
    "push_failures",
    "push_runs",
    "push_state",
    "quarantine",
    "raw_records",
    "resolve_index",
    "resolve_state",
    "segment_members",
    "segment_values",
    "stage_history",
    "steward_actions",
    "steward_decisions",
    "stream_state",
    "users",
    "web_sessions",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

_TS = sa.DateTime(timezone=True)


class Money(sa.TypeDecorator[decimal.Decimal]):
    """An exact amount: `NUMERIC` without a fixed scale on PostgreSQL, the canonical decimal
    text on SQLite (whose NUMERIC/REAL affinity would round it to a float).

    Binds Decimal, int, float (by its shortest repr) or numeric text; reads back Decimal.
    Sum amounts in Python (`sum(..., Decimal(0))`), never with SQL `SUM()`, which SQLite
    computes in floating point.
    """

    impl = sa.Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = as_decimal(value)
        if not amount.is_finite():
            return None  # NaN or infinity: no amount
        text = decimal_text(amount)  # one form per value: 19.90 and 19.9 are stored alike
        return text if dialect.name == "sqlite" else decimal.Decimal(text)

    def process_result_value(self, value: Any, dialect: Dialect) -> decimal.Decimal | None:
        return None if value is None else as_decimal(value)


def as_decimal(value: Any) -> decimal.Decimal:
    """An amount as an exact Decimal (a float by its shortest repr: `0.1` is `0.1`)."""
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("an amount cannot be a boolean")
    if isinstance(value, int | str):
        return decimal.Decimal(value)
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    raise TypeError(f"an amount must be a number, not {type(value).__name__}")


def decimal_text(value: decimal.Decimal) -> str:
    """A decimal as canonical text: every digit, no exponent, no trailing zeros (`1.50` and
    `1.5E0` are both `1.5`; `1E+2` is `100`), so equal amounts have equal text. Nothing is
    rounded. NaN and infinities have no JSON form: they become `null`."""
    if not value.is_finite():
        return "null"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_JSON = sa.JSON().with_variant(JSONB(), "postgresql")

connector_runs = sa.Table(
    "connector_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("connector", sa.String(100), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),  # RunStatus
    sa.Column("full_refresh", sa.Boolean, nullable=False, default=False),
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("finished_at", _TS),
    sa.Column("pid", sa.Integer),
    sa.Column("records_read", sa.Integer, nullable=False, default=0),
    sa.Column("records_inserted", sa.Integer, nullable=False, default=0),
    sa.Column("records_updated", sa.Integer, nullable=False, default=0),
    sa.Column("records_unchanged", sa.Integer, nullable=False, default=0),
    sa.Column("records_echoed", sa.Integer, nullable=False, default=0),
    sa.Column("records_quarantined", sa.Integer, nullable=False, default=0),
    sa.Column("records_deleted", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
)

raw_records = sa.Table(
    "raw_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("stream", sa.String(200), nullable=False),
    sa.Column("source_id", sa.String(500), nullable=False),
    sa.Column("payload", _JSON, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("mapping_hash", sa.String(16), nullable=False, default=""),
    sa.Column("first_seen_at", _TS, nullable=False),
    sa.Column("last_seen_at", _TS, nullable=False),
    sa.Column("last_seen_run_id", sa.Integer, nullable=False),
    sa.Column("changed_run_id", sa.Integer, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("deleted_at", _TS),
    sa.UniqueConstraint("source", "stream", "source_id"),
    sa.Index(  # 0012: deleted records per source (home page, status); live ones never enter
        "ix_raw_records_deleted",
        "source",
        "deleted",
        sqlite_where=sa.text("deleted = 1"),
        postgresql_where=sa.text("deleted"),
    ),
)


def _canonical_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("source_id", sa.String(500), nullable=False),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("extra", _JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("loaded_at", _TS, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    ]


customer_records = sa.Table(
    "customer_records",
    metadata,
    *_canonical_columns(),
    sa.Column("kind", sa.String(20)),
    sa.Column("given_name", sa.String(200)),
    sa.Column("family_name", sa.String(200)),
    sa.Column("full_name", sa.String(400)),
    sa.Column("organization_name", sa.String(400)),
    sa.Column("tax_id", sa.String(100)),
    sa.Column("email", sa.String(320)),  # 0012: unindexed, no query looks it up
    sa.Column("phone", sa.String(100)),
    sa.Column("birth_date", sa.String(10)),
    sa.Column("street", sa.String(400)),
    sa.Column("house_number", sa.String(50)),
    sa.Column("postal_code", sa.String(50)),
    sa.Column("city", sa.String(200)),
    sa.Column("country", sa.String(2)),
    sa.Column("updated_at", _TS),
    sa.UniqueConstraint("source", "source_id"),
    sa.Index("ix_customer_records_loaded_at", "loaded_at"),  # 0011: changed since a resolve
)

interactions = sa.Table(
    "interactions",
    metadata,
    *_canonical_columns(),
    sa.Column("customer_source_id", sa.String(500), index=True),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("occurred_at", _TS, nullable=False),
    sa.Column("amount", Money()),
    sa.Column("currency", sa.String(3)),
    sa.Column("status", sa.String(100)),
    sa.Column("channel", sa.String(100)),
    sa.Column("subject", sa.Text),
    sa.UniqueConstraint("source", "source_id"),
)

stream_state = sa.Table(
    "stream_state",
    metadata,
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("stream", sa.String(200), primary_key=True),  # "" holds tap-level keys
    sa.Column("state", _JSON, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("stream", sa.String(200), nullable=False),
    sa.Column("source_id", sa.String(500)),
    sa.Column("stage", sa.String(20), nullable=False),  # parse|schema|identity|mapping|protocol
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("location", sa.String(500)),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("raw_hash", sa.String(64), nullable=False),
    sa.Column("first_run_id", sa.Integer, nullable=False),
    sa.Column("last_run_id", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("resolved_at", _TS),
    sa.UniqueConstraint("source", "stream", "raw_hash"),
    sa.Index("ix_quarantine_open", "resolved_at", "source"),  # 0007: home page
)

golden_records = sa.Table(
    "golden_records",
    metadata,
    sa.Column("golden_id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(20)),
    sa.Column("record", _JSON, nullable=False),
    sa.Column("provenance", _JSON, nullable=False),
    sa.Column(
        "status", sa.String(20), nullable=False, default=GoldenStatus.ACTIVE
    ),  # active|merged|retired
    sa.Column("merged_into", sa.String(40)),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index(  # 0007: active records counted from the index (partial: see the migration)
        "ix_golden_records_active",
        "kind",
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    ),
    sa.Index("ix_golden_records_updated_at", "updated_at", "golden_id"),  # 0007: marker, list
    # and on SQLite ix_golden_records_name_sort, an expression index: see migration 0007
)

crosswalk = sa.Table(
    "crosswalk",
    metadata,
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("source_id", sa.String(500), primary_key=True),
    sa.Column("golden_id", sa.String(40), nullable=False, index=True),
    sa.Column("match_score", sa.Float),
    sa.Column("assigned_by", sa.String(100), nullable=False),  # engine|steward:<user>
    sa.Column("assigned_at", _TS, nullable=False),
    sa.Index("ix_crosswalk_assigned_at", "assigned_at"),  # 0007: search marker
    sa.Index("ix_crosswalk_source_assigned", "source", "assigned_by", "assigned_at"),
)

match_candidates = sa.Table(
    "match_candidates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("left_source", sa.String(100), nullable=False),
    sa.Column("left_source_id", sa.String(500), nullable=False),
    sa.Column("right_source", sa.String(100), nullable=False),
    sa.Column("right_source_id", sa.String(500), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("weights", _JSON, nullable=False),
    sa.Column(
        "status", sa.String(20), nullable=False, default=CandidateStatus.OPEN
    ),  # open|decided|stale
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("left_source", "left_source_id", "right_source", "right_source_id"),
    sa.Index("ix_match_candidates_status", "status"),  # 0007: review queue count
)

steward_decisions = sa.Table(  # append-only
    "steward_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("left_source", sa.String(100), nullable=False),
    sa.Column("left_source_id", sa.String(500), nullable=False),
    sa.Column("right_source", sa.String(100), nullable=False),
    sa.Column("right_source_id", sa.String(500), nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),  # match|no_match|unsure|skip
    sa.Column("score_at_decision", sa.Float),
    sa.Column("decided_by", sa.String(100), nullable=False),
    sa.Column("decided_at", _TS, nullable=False),
    sa.Column("before", _JSON),
    sa.Column("after", _JSON),
    sa.Column("note", sa.Text),
    sa.Column("action_id", sa.Integer),  # the steward action this decision belongs to
    sa.Column("left_hash", sa.String(64)),  # identifying data at decision time: a decision
    sa.Column("right_hash", sa.String(64)),  # is asked again only when these change
    sa.Index(None, "left_source", "left_source_id", "right_source", "right_source_id"),
)

audit_log = sa.Table(  # append-only
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", _TS, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target_type", sa.String(50), nullable=False),
    sa.Column("target_id", sa.String(500), nullable=False),
    sa.Column("detail", _JSON, nullable=False),
    sa.Index("ix_audit_log_action_id", "action", "id"),  # 0007: recent merges
    sa.Index("ix_audit_log_target_id", "target_id", "id"),  # 0013: one target's history
)

audit_targets = sa.Table(  # append-only: the golden records of an entry naming several
    "audit_targets",
    metadata,
    sa.Column("golden_id", sa.String(64), primary_key=True),
    sa.Column("audit_id", sa.Integer, primary_key=True),
)

steward_actions = sa.Table(  # append-only: one row per steward operation, and per undo
    "steward_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),  # decision|merge|unmerge|override|undo
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("detail", _JSON, nullable=False),  # what an undo needs: before/after, members
    sa.Column("undoes", sa.Integer, unique=True),  # set on an undo: the action it reverted
)

golden_overrides = sa.Table(  # append-only: the latest row per golden id and field wins
    "golden_overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("golden_id", sa.String(40), nullable=False, index=True),
    sa.Column("field", sa.String(50), nullable=False),
    sa.Column("value", _JSON),
    sa.Column("cleared", sa.Boolean, nullable=False, default=False),
    sa.Column("by", sa.String(100), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("action_id", sa.Integer),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),  # viewer|steward|admin
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", _TS, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 of the token
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("last_used_at", _TS),
    sa.Column("revoked_at", _TS),
    sa.Column("expires_at", _TS),  # None: until revoked
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # sha256 of the cookie value
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
)

push_runs = sa.Table(
    "push_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("connector", sa.String(100), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),  # RunStatus
    sa.Column("mode", sa.String(20), nullable=False),  # upsert|update-only
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("finished_at", _TS),
    sa.Column("pid", sa.Integer),
    sa.Column("created", sa.Integer, nullable=False, default=0),
    sa.Column("updated", sa.Integer, nullable=False, default=0),
    sa.Column("unchanged", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
)

push_state = sa.Table(  # what the hub last wrote into each record of each system
    "push_state",
    metadata,
    sa.Column("connector", sa.String(100), primary_key=True),
    sa.Column("source_id", sa.String(500), primary_key=True),
    sa.Column("golden_id", sa.String(40), nullable=False, index=True),
    sa.Column("written", _JSON, nullable=False),  # canonical field -> value written
    sa.Column("written_at", _TS, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
)

push_failures = sa.Table(  # records a system refused; retried on the next run
    "push_failures",
    metadata,
    sa.Column("connector", sa.String(100), primary_key=True),
    sa.Column("item_key", sa.String(500), primary_key=True),  # source id, or golden id to create
    sa.Column("golden_id", sa.String(40), nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("retriable", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_failed_at", _TS, nullable=False),
    sa.Column("last_failed_at", _TS, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),
)

hub_locks = sa.Table(  # one row per held lock: sync:<connector>, resolve, push:<connector>
    "hub_locks",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", _TS, nullable=False),
)


# -- analytics (`crmhub analyse`): the latest run's results, replaced by each run ------------

_MONEY = sa.Numeric(18, 4)

analysis_runs = sa.Table(
    "analysis_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("status", sa.String(20), nullable=False),  # RunStatus
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("finished_at", _TS),
    sa.Column("pid", sa.Integer),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("horizon_days", sa.Integer, nullable=False),
    sa.Column("customers", sa.Integer, nullable=False, default=0),
    sa.Column("interactions", sa.Integer, nullable=False, default=0),
    sa.Column("unmapped", sa.Integer, nullable=False, default=0),  # no golden id
    sa.Column("rejected", _JSON, nullable=False),  # reason -> interactions left out
    sa.Column("note", sa.Text),  # how churn risk was scored: model or rules
    sa.Column("error", sa.Text),
)

customer_profiles = sa.Table(  # one row per golden record, from the latest run
    "customer_profiles",
    metadata,
    sa.Column("golden_id", sa.String(40), primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("recency_days", sa.Float),
    sa.Column("frequency", sa.Integer, nullable=False, default=0),
    sa.Column("monetary", _MONEY),
    sa.Column("revenue", _MONEY),
    sa.Column("profit", _MONEY),
    sa.Column("clv_12m", _MONEY),
    sa.Column("p_alive", sa.Float),
    sa.Column("churn_risk", sa.Float),
    sa.Column("churn_reasons", sa.Text, nullable=False, default=""),  # ";"-separated
    sa.Column("stage", sa.String(20), nullable=False, index=True),
    sa.Column("customer_type", sa.String(200), nullable=False),
    sa.Column("rfm_segment", sa.String(100)),
    sa.Column("next_best_offers", sa.Text, nullable=False, default=""),  # ";"-separated
    sa.Column("traits", _JSON, nullable=False),
)

segment_values = sa.Table(  # share of customers against share of revenue and profit
    "segment_values",
    metadata,
    sa.Column("segmentation", sa.String(100), primary_key=True),
    sa.Column("segment", sa.String(200), primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("customers", sa.Integer, nullable=False),
    sa.Column("customers_share", sa.Float, nullable=False),
    sa.Column("revenue_share", sa.Float, nullable=False),
    sa.Column("profit_share", sa.Float, nullable=False),
    sa.Column("revenue", _MONEY, nullable=False),
    sa.Column("profit", _MONEY, nullable=False),
)

segment_members = sa.Table(  # each customer in one segment of each segmentation
    "segment_members",
    metadata,
    sa.Column("segmentation", sa.String(100), primary_key=True),
    sa.Column("golden_id", sa.String(40), primary_key=True),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Index(None, "segmentation", "segment"),
)

stage_history = sa.Table(  # append-only: a row when a customer's lifecycle stage changes
    "stage_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("golden_id", sa.String(40), nullable=False, index=True),
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("entered_at", sa.Date, nullable=False),  # the as-of date of the run that saw it
    sa.Column("run_id", sa.Integer, nullable=False),
)

profit_lorenz = sa.Table(  # the profit concentration curve of the latest run
    "profit_lorenz",
    metadata,
    sa.Column("point", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("customer_share", sa.Float, nullable=False),
    sa.Column("profit_share", sa.Float, nullable=False),
)


# -- worklist (issue 16): call-backs and other proactive items, one row per item ---------------

worklist_items = sa.Table(  # the item's current state; each change is also a worklist_events row
    "worklist_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(30), nullable=False),  # call_back
    sa.Column("golden_id", sa.String(40), nullable=False, index=True),  # when it was created
    sa.Column("member", sa.String(700), nullable=False),  # source/source_id: follows merges
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("channel", sa.String(50)),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),  # hub time zone (UTC); moved by a snooze
    sa.Column("first_due_on", sa.Date, nullable=False),
    sa.Column("snoozed_until", sa.Date),
    sa.Column("status", sa.String(20), nullable=False),  # open|done
    sa.Column("contact_id", sa.String(100)),  # hub/<uuid>: the logged contact that asked for it
    sa.Column("outcome", sa.String(100)),
    sa.Column("done_contact_id", sa.String(100)),  # hub/<uuid>: the outcome on the timeline
    sa.Column("done_by", sa.String(100)),
    sa.Column("done_at", _TS),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("rule", sa.String(40)),  # the hub.yaml worklist rule that opened it (0010)
    sa.Column("rule_key", sa.String(120)),  # rule|golden id|day: unique, so idempotent
    sa.Column("rule_data", _JSON),  # what the rule saw when it fired
    sa.Column("stale_since", _TS),  # set when the rule's condition no longer holds
    sa.Index("ix_worklist_items_owner_due", "owner", "status", "due_on", "id"),
    sa.Index("ix_worklist_items_status_due", "status", "due_on", "id"),
    sa.Index("ix_worklist_items_member", "member", "status"),  # a customer's open items
    sa.Index("ix_worklist_items_rule_status", "rule", "status"),
    sa.Index("ix_worklist_items_rule_key", "rule_key", unique=True),
)

worklist_risk_seen = sa.Table(  # churn risk of the latest analysed day and of the day before
    "worklist_risk_seen",
    metadata,
    sa.Column("golden_id", sa.String(40), primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("churn_risk", sa.Float),
    sa.Column("prev_as_of", sa.Date),
    sa.Column("prev_churn_risk", sa.Float),
)

worklist_events = sa.Table(  # append-only: created, assigned, snoozed, done — who, when, what
    "worklist_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.Integer, nullable=False, index=True),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Column("detail", _JSON, nullable=False),
)


# -- audiences (issue 16): named rules over the profiles, their members and changes ------------

audiences = sa.Table(  # one row per audience computed: what rule its members answer to
    "audiences",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("rule_hash", sa.String(64), nullable=False),  # a changed rule is recomputed
    sa.Column("members", sa.Integer, nullable=False),
    sa.Column("run_id", sa.Integer),  # the analysis run whose profiles it was computed on
    sa.Column("computed_at", _TS, nullable=False),
)

audience_members = sa.Table(  # who is in each audience now
    "audience_members",
    metadata,
    sa.Column("audience", sa.String(40), primary_key=True),
    sa.Column("golden_id", sa.String(40), primary_key=True),
    sa.Column("entered_at", _TS, nullable=False),
)

audience_events = sa.Table(  # append-only: a row each time a customer enters or exits
    "audience_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audience", sa.String(40), nullable=False),
    sa.Column("golden_id", sa.String(40), nullable=False),
    sa.Column("event", sa.String(10), nullable=False),  # entered|exited
    sa.Column("at", _TS, nullable=False),
    sa.Column("run_id", sa.Integer),
    sa.Column("fields", _JSON, nullable=False),  # the audience's carried fields on entering
    sa.Index("ix_audience_events_audience_id", "audience", "id"),
    sa.Index("ix_audience_events_audience_golden", "audience", "golden_id", "id"),
)

audience_cursors = sa.Table(  # per destination: the last event delivered, moved with delivery
    "audience_cursors",
    metadata,
    sa.Column("audience", sa.String(40), primary_key=True),
    sa.Column("destination", sa.String(40), primary_key=True),
    sa.Column("event_id", sa.Integer, nullable=False),
    sa.Column("delivered_at", _TS, nullable=False),
    sa.Column("run_id", sa.Integer, nullable=False),  # push_runs.id of the delivering sync
)

resolve_state = sa.Table(  # 0011: one row (id 1), what an incremental resolve builds on
    "resolve_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # settings + comparisons digest
    sa.Column("model", sa.LargeBinary, nullable=False),  # the last full run's fitted model
    sa.Column("records", sa.Integer, nullable=False),  # live records after the last run
    sa.Column("records_at_full", sa.Integer, nullable=False),
    sa.Column("changed_since_full", sa.Integer, nullable=False),
    sa.Column("full_at", _TS, nullable=False),
    sa.Column("loaded_mark", _TS),  # newest customer_records.loaded_at seen
    sa.Column("decision_mark", sa.Integer, nullable=False),  # newest steward_decisions.id
    sa.Column("override_mark", sa.Integer, nullable=False),  # newest golden_overrides.id
    sa.Column("crosswalk_mark", _TS),  # newest crosswalk.assigned_at after the run
    sa.Column("updated_at", _TS, nullable=False),
)

resolve_index = sa.Table(  # 0014: the key index of the live records (`hub.resolve.state`)
    "resolve_index",
    metadata,
    sa.Column("part", sa.String(8), primary_key=True),  # "base" (a full run's), "delta"
    sa.Column("piece", sa.Integer, primary_key=True, autoincrement=False),  # 64 MB each
    sa.Column("arrays", sa.LargeBinary, nullable=False),  # the pieces joined: an .npz archive
    sa.Column("updated_at", _TS, nullable=False),
)
