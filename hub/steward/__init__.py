"""Data stewardship: users and roles, the review queue, golden record maintenance (merge,
unmerge, override, undo), customer search and the single customer view, logged contacts and
the call-back worklist, and the audit log.

Every mutation is one transaction, appends an action (undoable) and an audit entry, and is
optimistically locked; the web server (`hub.web`) and `crmhub review` both call this API.
"""

from __future__ import annotations

from hub.steward.audit import export_audit, list_audit, record_audit
from hub.steward.auth import (
    ROLES,
    User,
    add_user,
    authenticate,
    create_session,
    create_token,
    end_session,
    has_role,
    list_tokens,
    list_users,
    login_delay,
    revoke_token,
    session_user,
    set_user,
    token_user,
)
from hub.steward.contacts import ContactIn, LoggedContact, log_contact
from hub.steward.customer import customer_view
from hub.steward.customers_list import BROWSE_SORTS, BrowsePage, BrowseRow, browse_customers
from hub.steward.dashboard import Dashboard, SourceHealth, dashboard
from hub.steward.edits import ActionResult, SurvivorshipSettings
from hub.steward.errors import Conflict, InvalidInput, NotFound, StewardError
from hub.steward.maintenance import merge_golden, override_field, undo_action, unmerge_golden
from hub.steward.quarantine import (
    QuarantineFacets,
    QuarantinePage,
    list_quarantine,
    quarantine_facets,
)
from hub.steward.review import DECISIONS, QueueFilter, decide, list_queue, review_pair
from hub.steward.review_cluster import (
    decide_group,
    decide_many,
    explain_pair,
    list_groups,
    review_group,
)
from hub.steward.search import (
    MAX_TOTAL,
    SearchHit,
    SearchPage,
    index_info,
    search_customers,
    search_page,
    warm_search_index,
)
from hub.steward.worklist import (
    WorkItem,
    WorklistPage,
    assign_item,
    complete_item,
    list_worklist,
    snooze_item,
)

__all__ = [
    "BROWSE_SORTS",
    "DECISIONS",
    "MAX_TOTAL",
    "ROLES",
    "ActionResult",
    "BrowsePage",
    "BrowseRow",
    "Conflict",
    "ContactIn",
    "Dashboard",
    "InvalidInput",
    "LoggedContact",
    "NotFound",
    "QuarantineFacets",
    "QuarantinePage",
    "QueueFilter",
    "SearchHit",
    "SearchPage",
    "SourceHealth",
    "StewardError",
    "SurvivorshipSettings",
    "User",
    "WorkItem",
    "WorklistPage",
    "add_user",
    "assign_item",
    "authenticate",
    "browse_customers",
    "complete_item",
    "create_session",
    "create_token",
    "customer_view",
    "dashboard",
    "decide",
    "decide_group",
    "decide_many",
    "end_session",
    "explain_pair",
    "export_audit",
    "has_role",
    "index_info",
    "list_audit",
    "list_groups",
    "list_quarantine",
    "list_queue",
    "list_tokens",
    "list_users",
    "list_worklist",
    "log_contact",
    "login_delay",
    "merge_golden",
    "override_field",
    "quarantine_facets",
    "record_audit",
    "review_group",
    "review_pair",
    "revoke_token",
    "search_customers",
    "search_page",
    "session_user",
    "set_user",
    "snooze_item",
    "token_user",
    "undo_action",
    "unmerge_golden",
    "warm_search_index",
]
