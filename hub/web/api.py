"""The REST API (`/api/...`, described at `/openapi.json`).

Reading needs the viewer role; decisions, merges, unmerges, overrides and undo need
steward; users and the audit log need admin. Conflicting concurrent changes answer 409.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.steward import (
    MAX_TOTAL,
    ROLES,
    ActionResult,
    QueueFilter,
    User,
    add_user,
    create_token,
    customer_view,
    decide_group,
    decide_many,
    export_audit,
    list_audit,
    list_groups,
    list_queue,
    list_tokens,
    list_users,
    merge_golden,
    override_field,
    review_group,
    review_pair,
    revoke_token,
    search_page,
    set_user,
    undo_action,
    unmerge_golden,
)
from hub.web.responses import JSON_200, json_response
from hub.web.security import Hub, current_user, get_hub, require

__all__ = ["router"]

router = APIRouter(prefix="/api")
HubDep = Annotated[Hub, Depends(get_hub)]
Viewer = Annotated[User, Depends(require("viewer"))]
Steward = Annotated[User, Depends(require("steward"))]
Admin = Annotated[User, Depends(require("admin"))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecisionIn(_Body):
    decision: Literal["match", "no_match", "unsure", "skip"]
    note: str | None = Field(None, max_length=2000)
    pairs: list[int] | None = Field(
        None, description="the pair ids of the group you reviewed; 409 if it changed since"
    )


class BulkDecisionIn(_Body):
    decision: Literal["match", "no_match", "unsure"]
    source: str | None = None
    min_score: float | None = Field(None, ge=0, le=1)
    max_score: float | None = Field(None, ge=0, le=1)
    kind: str | None = None
    limit: int = Field(500, ge=1, le=5000)


class MergeIn(_Body):
    golden_ids: list[str] = Field(min_length=2)
    versions: dict[str, int] = Field(description="the version of each golden record you saw")


class SourceKey(_Body):
    source: str
    source_id: str


class UnmergeIn(_Body):
    members: list[SourceKey] = Field(min_length=1)
    version: int
    target: str | None = Field(None, description="an existing golden id; omit for a new one")


class FieldIn(_Body):
    value: str | None
    version: int


class UserIn(_Body):
    username: str
    password: str = Field(min_length=10)
    role: Literal["viewer", "steward", "admin"]


class UserPatch(_Body):
    role: Literal["viewer", "steward", "admin"] | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=10)


class TokenIn(_Body):
    name: str = Field(min_length=1, max_length=100)
    expires_days: int | None = Field(default=None, ge=1, description="None: until revoked")


def _result(result: ActionResult) -> dict[str, Any]:
    return {"action_id": result.action_id, "summary": result.summary, "versions": result.versions}


@router.get("/me", tags=["session"], responses=JSON_200)
def me(user: Annotated[User, Depends(current_user)]) -> Response:
    return json_response({"username": user.username, "role": user.role})


@router.get("/review", tags=["review"], responses=JSON_200)
def review_queue(
    hub: HubDep,
    _user: Viewer,
    source: str | None = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    kind: str | None = None,
    status: Literal["open", "unsure"] = "open",
    group: Annotated[
        bool, Query(description="false: one item per pair, as before the grouping")
    ] = True,
    order: Annotated[
        Literal["impact", "informative"],
        Query(
            description="impact: uncertainty x records affected; informative: the answers "
            "that teach the model most first (their `priority` is that value, `impact` the "
            "other)"
        ),
    ] = "impact",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The review queue, most consequential first (uncertainty x records affected), or with
    `order=informative` the decisions that teach the model most first.

    One item per group: a candidate against a golden record, covering every uncertain pair
    between them. Each item keeps its first pair's fields (`id`, `left`, `right`, `kind`,
    `score`, `status`, `records_affected`, `priority`) and adds `candidate` and `golden`
    ({`golden_id`, `size`, `records`: [[source, source_id], ...]}), `pair_ids`, `pair_count`,
    `min_score` and `max_score`. Every score is a match probability, a float 0..1. `total`
    counts groups (with `group=false`: pairs, one item per pair).
    """
    flt = QueueFilter(
        source=source,
        min_score=min_score,
        max_score=max_score,
        kind=kind,
        status=status,
        order=order,
    )
    with hub.read() as conn:
        if group:
            items, total = list_groups(conn, flt, limit=limit, offset=offset)
        else:
            items, total = list_queue(conn, flt, limit=limit, offset=offset)
    return json_response({"total": total, "items": items})


@router.get("/review/{item_id}", tags=["review"], responses=JSON_200)
def review_item(
    item_id: int,
    hub: HubDep,
    _user: Viewer,
    view: Annotated[
        Literal["group", "pair"], Query(description="pair: the single pair, as before")
    ] = "group",
) -> Response:
    """The group of review item `item_id` (any of its pair ids): the candidate's and the
    golden record's members (`candidate`, `golden`: {`golden_id`, `version`, `size`,
    `records`}), aligned `fields`, `merged_preview`, and per pair (`pairs`: {`id`, `score`,
    `candidate`, `member`, `explanation`}) every comparison of the model: `name`,
    `sentence` (the engine's explanation), `level`, `weight` (bits; null when there was
    no evidence) and `note` (why not); `prior_bits`, `total_bits`. Scores are 0..1.
    With `view=pair`: the pair side by side with its stored weights, as before."""
    with hub.read() as conn:
        if view == "pair":
            return json_response(review_pair(conn, hub.settings, item_id))
        return json_response(review_group(conn, hub.settings, item_id))


@router.post("/review/{item_id}/decision", tags=["review"])
def review_decide(item_id: int, body: DecisionIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Decide the whole group of review item `item_id` once: a decision row for every pair
    of it, one action, one audit entry. Send `pairs` (the `pair_ids` you reviewed) to be
    told (409) when the group changed meanwhile; a group decided by someone else is 409."""
    with hub.write() as conn:
        result = decide_group(
            conn,
            hub.settings,
            user.actor,
            item_id,
            body.decision,
            note=body.note,
            expected_pairs=body.pairs,
        )
    return _result(result)


@router.post("/review/bulk-decision", tags=["review"])
def review_bulk(body: BulkDecisionIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """One decision for every open group matching the filter (each its own transaction):
    `decided` counts pairs, `groups` groups, `conflicts` the groups decided meanwhile."""
    flt = QueueFilter(
        source=body.source, min_score=body.min_score, max_score=body.max_score, kind=body.kind
    )
    return decide_many(hub.write, hub.settings, user.actor, flt, body.decision, limit=body.limit)


@router.get("/customers", tags=["customers"], responses=JSON_200)
def customers_search(
    hub: HubDep,
    _user: Viewer,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_TOTAL)] = 0,
) -> Response:
    """Fuzzy search by name, e-mail, phone or source id, a page at a time.

    Each hit's `score` is the similarity of the query to the value it matched (`matched`),
    0..1 with 1 for identical: the same scale as the review queue's match probabilities.

    `total` counts the matching golden records up to 1,000; `total_capped` true means more
    ("1,000+").
    """
    with hub.read() as conn:
        page = search_page(conn, q, limit=limit, offset=offset)
    return json_response(
        {
            "query": q,
            "hits": page.hits,  # dataclasses: rendered as objects, no asdict() per hit
            "total": page.total,
            "total_capped": page.capped,
            "offset": offset,
            "limit": limit,
        }
    )


@router.get("/customers/{golden_id}", tags=["customers"], responses=JSON_200)
def customer(golden_id: str, hub: HubDep, _user: Viewer) -> Response:
    """The single customer view: golden record, provenance, sources, timeline, reviews."""
    with hub.read() as conn:
        return json_response(customer_view(conn, golden_id))


@router.post("/customers/merge", tags=["customers"])
def customers_merge(body: MergeIn, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Merge golden records; the oldest id survives."""
    with hub.write() as conn:
        return _result(
            merge_golden(conn, hub.settings, user.actor, body.golden_ids, dict(body.versions))
        )


@router.post("/customers/{golden_id}/unmerge", tags=["customers"])
def customers_unmerge(
    golden_id: str, body: UnmergeIn, hub: HubDep, user: Steward
) -> dict[str, Any]:
    """Move source records out to a new golden record (or to `target`)."""
    members = [(m.source, m.source_id) for m in body.members]
    with hub.write() as conn:
        return _result(
            unmerge_golden(
                conn, hub.settings, user.actor, golden_id, members, body.version, body.target
            )
        )


@router.put("/customers/{golden_id}/fields/{field}", tags=["customers"])
def customers_override(
    golden_id: str, field: str, body: FieldIn, hub: HubDep, user: Steward
) -> dict[str, Any]:
    """Override a golden field by hand (value null clears the override)."""
    with hub.write() as conn:
        return _result(
            override_field(
                conn, hub.settings, user.actor, golden_id, field, body.value, body.version
            )
        )


@router.post("/actions/{action_id}/undo", tags=["customers"])
def actions_undo(action_id: int, hub: HubDep, user: Steward) -> dict[str, Any]:
    """Undo a decision, merge, unmerge or override (newest first when they overlap)."""
    with hub.write() as conn:
        return _result(undo_action(conn, hub.settings, user.actor, action_id))


@router.get("/audit", tags=["admin"])
def audit(
    hub: HubDep,
    _user: Admin,
    actor: str | None = None,
    action: str | None = None,
    target_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    with hub.read() as conn:
        entries = list_audit(
            conn, actor=actor, action=action, target_id=target_id, limit=limit, offset=offset
        )
    return {"entries": entries}


@router.get("/audit/export", tags=["admin"])
def audit_export(
    hub: HubDep, _user: Admin, format: Literal["csv", "jsonl"] = "csv"
) -> StreamingResponse:
    def chunks() -> Any:
        with hub.read() as conn:
            yield from export_audit(conn, format)

    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        chunks(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="crmhub-audit.{format}"'},
    )


@router.get("/users", tags=["admin"])
def users(hub: HubDep, _user: Admin) -> dict[str, Any]:
    with hub.read() as conn:
        return {"users": list_users(conn), "roles": list(ROLES)}


@router.post("/users", tags=["admin"], status_code=201)
def users_add(body: UserIn, hub: HubDep, user: Admin) -> dict[str, str]:
    with hub.write() as conn:
        created = add_user(conn, body.username, body.password, body.role, actor=user.actor)
    return {"username": created.username, "role": created.role}


@router.patch("/users/{username}", tags=["admin"])
def users_change(username: str, body: UserPatch, hub: HubDep, user: Admin) -> dict[str, str]:
    if username == user.username and (body.role not in (None, "admin") or body.active is False):
        raise HTTPException(409, "you cannot demote or deactivate yourself; ask another admin")
    with hub.write() as conn:
        set_user(
            conn,
            username,
            actor=user.actor,
            role=body.role,
            active=body.active,
            password=body.password,
        )
    return {"username": username}


@router.post("/users/{username}/tokens", tags=["admin"], status_code=201)
def users_token(
    username: str, body: TokenIn, hub: HubDep, user: Annotated[User, Depends(current_user)]
) -> dict[str, str]:
    """A new API token (shown once). Admins for anyone; everyone for themselves."""
    if username != user.username and user.role != "admin":
        raise HTTPException(403, "only admins create tokens for other users")
    with hub.write() as conn:
        token = create_token(
            conn, username, body.name, actor=user.actor, expires_days=body.expires_days
        )
    return {"username": username, "name": body.name, "token": token}


@router.get("/users/{username}/tokens", tags=["admin"])
def users_tokens(
    username: str, hub: HubDep, user: Annotated[User, Depends(current_user)]
) -> dict[str, Any]:
    """A user's API tokens (never the secrets): name, created, last used, expiry, revoked.
    Admins for anyone; everyone for themselves."""
    if username != user.username and user.role != "admin":
        raise HTTPException(403, "only admins list other users' tokens")
    with hub.read() as conn:
        return {"username": username, "tokens": list_tokens(conn, username)}


@router.delete("/tokens/{token_id}", tags=["admin"])
def tokens_revoke(token_id: int, hub: HubDep, user: Admin) -> dict[str, Any]:
    """Revoke one API token for good; the user's other tokens keep working. Audited."""
    with hub.write() as conn:
        return revoke_token(conn, token_id, actor=user.actor)
