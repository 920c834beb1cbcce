"""The audience builder's live count through FastAPI's test client on the demo store: the
count equals the row-by-row reference, a bad rule is a 422 naming its key path, viewers may
read it and anonymous callers may not."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from analytics.audiences import matches
from hub.analyse.audiences import stored_profile_frame
from schemas.audiences import Rule
from tests.hub.conftest import ResolvedHub

URL = "/api/analytics/audiences/count"


RULES = [
    {"all": [{"trait": "churn_risk", "gte": 0.3}]},
    {"any": [{"trait": "stage", "in": ["new", "repeat"]}, {"trait": "open_tickets", "gt": 0}]},
    {"all": [{"not": {"trait": "type", "eq": "all buyers"}}, {"trait": "frequency", "gte": 1}]},
]


@pytest.mark.parametrize("rule", RULES)
def test_the_count_is_the_reference_count(
    api: Callable[[str | None], TestClient], sqlite_hub: ResolvedHub, rule: dict[str, object]
) -> None:
    with sqlite_hub.store.engine.connect() as conn:
        frame, run_id = stored_profile_frame(conn)
    parsed = Rule.model_validate(rule)
    expected = sum(matches(parsed, r) for r in frame.to_dict("records"))
    answer = api("vera").get(URL, params={"rule": json.dumps(rule)})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["count"], body["customers"], body["run_id"]) == (expected, len(frame), run_id)


BAD = [
    ('{"all": [{"trait": "churnrisk", "gte": 0.5}]}', "rule.all[0].trait: unknown trait 'churnr"),
    ('{"trait": "churn_risk"}', "exactly one operator"),
    ('{"trait": "churn_risk", "gte": 0.5', "rule: not JSON"),
    ('"churn_risk > 0.5"', "rule: Input should be a valid dictionary"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "message"), BAD)
def test_a_bad_rule_is_422_naming_its_key_path(
    api: Callable[[str | None], TestClient], rule: str, message: str
) -> None:
    answer = api("vera").get(URL, params={"rule": rule})
    assert answer.status_code == 422 and message in answer.json()["detail"]


def test_anonymous_callers_may_not_count(api: Callable[[str | None], TestClient]) -> None:
    assert api(None).get(URL, params={"rule": json.dumps(RULES[0])}).status_code == 401
