"""The grouped review routes through FastAPI's test client on the demo store: the queue and
one group (and the legacy pair view), one decision for a group with its audit entry, the
409s (decided meanwhile, changed since shown, a standing "not a match"), roles, and one
probability scale on the pages."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub.steward import create_token, decide
from hub.store.tables import audit_log, steward_decisions
from hub.web import create_app
from hub.web.formatting import percent
from identity.compare import COMPARISONS
from tests.hub.conftest import ResolvedHub

Client = Callable[[str | None], TestClient]


@pytest.fixture
def client(sqlite_hub: ResolvedHub) -> Iterator[Client]:
    """`client("sam")`: a test client sending sam's API token; `client(None)`: anonymous."""
    app = create_app(sqlite_hub.config, sqlite_hub.store)
    with sqlite_hub.store.transaction() as conn:
        tokens = {n: create_token(conn, n, "review", actor="test") for n in ("sam", "vera")}

    def make(user: str | None) -> TestClient:
        headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}
        return TestClient(app, headers=headers)

    yield make


def decision_audit(hub: ResolvedHub) -> list[Any]:
    with hub.store.engine.connect() as conn:
        return list(
            conn.execute(sa.select(audit_log).where(audit_log.c.action == "steward.decision")).all()
        )


def decisions(hub: ResolvedHub) -> list[Any]:
    d = steward_decisions.c
    with hub.store.engine.connect() as conn:
        return list(
            conn.execute(sa.select(steward_decisions).where(d.score_at_decision.is_not(None)))
        )


def test_the_queue_is_grouped_and_group_false_lists_pairs(client: Client) -> None:
    vera = client("vera")
    grouped = vera.get("/api/review").json()
    assert grouped["total"] == 1
    (item,) = grouped["items"]
    assert item["pair_ids"] == [1, 2, 3] and item["pair_count"] == 3 and item["id"] == 1
    assert item["candidate"]["records"] == [["web", "w-6"]] and item["candidate"]["size"] == 1
    assert item["golden"]["size"] == 3
    assert {"left", "right", "score", "kind", "status", "priority"} <= set(item)  # as pairs
    assert 0 < item["min_score"] <= item["max_score"] < 1

    pairs = vera.get("/api/review", params={"group": "false"}).json()
    assert pairs["total"] == 3 and sorted(p["id"] for p in pairs["items"]) == [1, 2, 3]
    assert all("pair_ids" not in p for p in pairs["items"])
    assert vera.get("/api/review", params={"source": "nowhere"}).json() == {
        "total": 0,
        "items": [],
    }
    assert vera.get("/api/review", params={"min_score": 2}).status_code == 422


@pytest.mark.parametrize("item_id", [1, 2, 3])
def test_any_pair_id_shows_the_group_and_view_pair_the_pair(client: Client, item_id: int) -> None:
    vera = client("vera")
    group = vera.get(f"/api/review/{item_id}").json()
    assert group["id"] == 1 and group["pair_ids"] == [1, 2, 3]
    assert group["earlier_no_match"] == [] and group["match_refused"] is None
    assert {tuple(p["member"]) for p in group["pairs"]} == {
        ("billing", "B-0006"),
        ("erp", "1006"),
        ("support", "S6"),
    }
    for pair in group["pairs"]:
        rows = pair["explanation"]["comparisons"]
        assert [r["name"] for r in rows] == [c.name for c in COMPARISONS]
        assert all(r["sentence"] for r in rows)

    pair = vera.get(f"/api/review/{item_id}", params={"view": "pair"}).json()
    assert pair["id"] == item_id and pair["right"]["record"]["source_id"] == "w-6"
    assert "pairs" not in pair and pair["weights"]
    assert vera.get("/api/review/999").status_code == 404
    assert vera.get("/api/review/1", params={"view": "cluster"}).status_code == 422


def test_one_decision_for_the_group_is_one_action_and_one_audit_entry(
    client: Client, sqlite_hub: ResolvedHub
) -> None:
    sam = client("sam")
    done = sam.post(
        "/api/review/2/decision",
        json={"decision": "match", "note": "same phone", "pairs": [3, 1, 2]},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["summary"].startswith("review item 1: match (3 pairs: web/w-6 against G")
    assert len(body["versions"]) == 2  # both golden records changed

    rows = decisions(sqlite_hub)
    assert len(rows) == 3 and {r.action_id for r in rows} == {body["action_id"]}
    assert {r.note for r in rows} == {"same phone"}
    (entry,) = decision_audit(sqlite_hub)
    assert entry.actor == "sam" and entry.detail["action_id"] == body["action_id"]
    assert entry.detail["candidate_ids"] == [1, 2, 3] and entry.detail["decision"] == "match"

    assert sam.get("/api/review").json()["total"] == 0
    gid = sqlite_hub.crosswalk()[("web", "w-6")]
    sources = {
        (s["source"], s["source_id"]) for s in sam.get(f"/api/customers/{gid}").json()["sources"]
    }
    assert sources >= {("web", "w-6"), ("erp", "1006"), ("billing", "B-0006"), ("support", "S6")}


@pytest.mark.parametrize(
    ("setup", "body", "says"),
    [
        ("none", {"decision": "match", "pairs": [1, 2]}, "now covers pairs 1, 2, 3 (you saw 1, 2)"),
        ("decided", {"decision": "match"}, "review item 1 was already decided"),
        ("no_match_2", {"decision": "match"}, "match refused"),
    ],
)
def test_conflicts_are_409_with_what_to_do_and_change_nothing(
    client: Client, sqlite_hub: ResolvedHub, setup: str, body: dict[str, Any], says: str
) -> None:
    sam = client("sam")
    if setup == "decided":
        assert sam.post("/api/review/1/decision", json={"decision": "no_match"}).status_code == 200
    if setup == "no_match_2":  # pair 2 alone was decided earlier (`crmhub review decide`)
        with sqlite_hub.store.write_transaction() as conn:
            decide(conn, sqlite_hub.settings, "sam", 2, "no_match")
    before = (sqlite_hub.crosswalk(), len(decisions(sqlite_hub)), len(decision_audit(sqlite_hub)))
    refused = sam.post("/api/review/1/decision", json=body)
    assert refused.status_code == 409, refused.text
    assert says in refused.json()["detail"]
    after = (sqlite_hub.crosswalk(), len(decisions(sqlite_hub)), len(decision_audit(sqlite_hub)))
    assert after == before
    if setup == "no_match_2":
        detail = refused.json()["detail"]
        assert "erp/1006 and web/w-6 were decided not to match by sam at " in detail
        undo = r"undo action \d+ \(the Undo button on the group's review page, or POST "
        assert re.search(undo + r"/api/actions/\d+/undo\)", detail)
        shown = sam.get("/api/review/1").json()
        assert shown["match_refused"] == detail and len(shown["earlier_no_match"]) == 1


def test_simultaneous_decisions_on_one_group_give_one_200_and_409s(
    client: Client, sqlite_hub: ResolvedHub
) -> None:
    clients = [client("sam") for _ in range(6)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def post(c: TestClient, decision: str) -> None:
        barrier.wait()
        statuses.append(
            c.post(
                "/api/review/1/decision", json={"decision": decision, "pairs": [1, 2, 3]}
            ).status_code
        )

    threads = [
        threading.Thread(target=post, args=(c, ("match", "no_match")[i % 2]))
        for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * (len(clients) - 1)
    assert len(decisions(sqlite_hub)) == 3 and len(decision_audit(sqlite_hub)) == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/review/1/decision", {"decision": "match"}),
        ("POST", "/api/review/bulk-decision", {"decision": "no_match"}),
        ("POST", "/review/1/decision", None),
        ("POST", "/review/bulk", None),
    ],
)
def test_a_viewer_is_refused_403_and_an_anonymous_caller_401(
    client: Client, sqlite_hub: ResolvedHub, method: str, path: str, body: dict[str, Any] | None
) -> None:
    form = None if body else {"decision": "match"}
    anonymous = client(None).request(method, path, json=body, data=form)
    assert anonymous.status_code == 401
    viewer = client("vera").request(method, path, json=body, data=form)
    assert viewer.status_code == 403 and "needs the steward role" in viewer.text
    assert decisions(sqlite_hub) == [] and decision_audit(sqlite_hub) == []
    assert client("vera").get("/api/review").json()["total"] == 1


def test_one_probability_scale_on_the_queue_the_group_and_search(client: Client) -> None:
    """The API keeps probabilities 0..1; every page shows them as a whole percent, so the
    queue, the group and search never disagree in form (0.93 here, 85.7 there)."""
    vera = client("vera")
    item = vera.get("/api/review").json()["items"][0]
    shown = percent(item["max_score"])
    assert re.fullmatch(r"\d{1,2} %", shown)
    queue = vera.get("/review").text
    assert f'<td class="probability">{shown}</td>' in queue
    page = vera.get("/review/1").text
    assert f"match probability {shown} ·" in page
    assert page.count(f"match probability {shown}</small>") == 3  # each pair's heading
    raw = f"{item['max_score']:.2f}"
    assert raw not in queue and raw not in page
    search = vera.get("/customers", params={"q": "Avraham Cohen"}).text
    scores = re.findall(r'<td class="score"[^>]*>([^<]*) match</td>', search)
    assert scores and all(re.match(r"(\d{1,3}|<1|>99) % ", s) for s in scores), scores


def test_the_group_page_explains_a_refused_match_and_offers_the_undo(
    client: Client, sqlite_hub: ResolvedHub
) -> None:
    with sqlite_hub.store.write_transaction() as conn:
        earlier = decide(conn, sqlite_hub.settings, "sam", 2, "no_match")
    page = client("sam").get("/review/1").text
    assert "Decided earlier: not a match" in page
    assert "erp/1006 and web/w-6 were decided not to match by sam" in page
    assert f'action="/actions/{earlier.action_id}/undo"' in page
    assert 'id="decide-match" disabled' in page and 'data-key="m"' not in page
    assert 'data-key="n"' in page  # not a match, unsure and skip stay
    assert "<kbd>m</kbd> match" not in page
    undone = client("sam").post(
        f"/actions/{earlier.action_id}/undo", data={"back": "/review/1"}, follow_redirects=False
    )
    assert undone.status_code == 303 and undone.headers["location"].startswith("/review/1")
    again = client("sam").get("/review/1").text
    assert "Decided earlier" not in again and 'data-key="m"' in again


def test_a_refused_match_from_the_pages_says_why(client: Client, sqlite_hub: ResolvedHub) -> None:
    with sqlite_hub.store.write_transaction() as conn:
        decide(conn, sqlite_hub.settings, "alice", 2, "no_match")
    sam = client("sam")
    form = sam.post("/review/1/decision", data={"decision": "match", "pairs": "1,3"})
    assert form.status_code == 409
    assert "match refused — erp/1006 and web/w-6 were decided not to match by alice" in form.text
    bulk = sam.post("/review/bulk", data={"decision": "match"})
    assert bulk.status_code == 200 and 'class="flash"' in bulk.text
    assert "0 groups decided (0 pairs, match), 1 match refused: an earlier" in bulk.text
    assert "decided by someone else" not in bulk.text
    assert sam.get("/api/review").json()["items"][0]["pair_ids"] == [1, 3]


def test_the_queue_in_informative_order_on_the_api_and_the_page(client: Client) -> None:
    """`order=informative` (what teaches the model most first) through the API and the
    queue page: the same pairs, each with its teaching value as `priority` and the impact
    priority beside it; the page keeps the choice in its links and refuses an unknown one."""
    vera = client("vera")
    impact = vera.get("/api/review", params={"group": "false"}).json()["items"]
    taught = vera.get("/api/review", params={"group": "false", "order": "informative"}).json()
    assert sorted(i["id"] for i in taught["items"]) == sorted(i["id"] for i in impact)
    by_id = {i["id"]: i["priority"] for i in impact}
    assert all(i["impact"] == by_id[i["id"]] for i in taught["items"])
    priorities = [i["priority"] for i in taught["items"]]
    assert priorities == sorted(priorities, reverse=True)
    grouped = vera.get("/api/review", params={"order": "informative"}).json()
    assert grouped["total"] == 1 and grouped["items"][0]["pair_count"] == 3
    refused = vera.get("/api/review", params={"order": "banana"})
    assert refused.status_code == 422 and "informative" in refused.text

    page = vera.get("/review", params={"order": "informative"})
    assert page.status_code == 200
    assert '<option value="informative" selected>teaches the model most</option>' in page.text
    assert "order%3Dinformative" in page.text  # the item links keep the order
    unknown = vera.get("/review", params={"order": "banana"})
    assert unknown.status_code == 422
    assert "order 'banana' is unknown: use one of impact, informative" in html.unescape(
        unknown.text
    )
