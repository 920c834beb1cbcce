"""The rule baseline, the quality report's pieces and the second (web-shop) generator."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.identity import crm_webshop
from benchmarks.identity.quality import calibration, oracle_ceiling
from benchmarks.identity.rules import rule_labels


def _r(i: int, **fields: Any) -> dict[str, Any]:
    return {"source": "s", "source_id": str(i), **fields}


@pytest.mark.parametrize(
    ("left", "right", "linked"),
    [
        pytest.param(
            {"email": "Anna.Kiss@Gmail.com"},
            {"email": "annakiss@gmail.com"},
            True,
            id="gmail-dots-and-case",
        ),
        pytest.param({"phone": "+36 30 123 4567"}, {"phone": "06301234567"}, True, id="phone-8"),
        pytest.param({"tax_id": "de 123-456"}, {"tax_id": "DE123456"}, True, id="tax-id"),
        pytest.param(
            {"full_name": "Kiss Anna", "postal_code": "1011"},
            {"given_name": "Anna", "family_name": "Kiss", "postal_code": "1011"},
            True,
            id="name-tokens-and-postcode",
        ),
        pytest.param({"full_name": "Anna Kiss"}, {"full_name": "Anna Kiss"}, False, id="name-only"),
        pytest.param({"email": "a@x.hu"}, {"email": "b@x.hu"}, False, id="different-email"),
    ],
)
def test_rule_matcher_links(left: dict[str, Any], right: dict[str, Any], linked: bool) -> None:
    labels = rule_labels([_r(1, **left), _r(2, **right)])
    assert (labels[0] == labels[1]) is linked


def test_rule_matcher_ignores_values_on_many_records() -> None:
    records = [_r(i, email="test@test.com") for i in range(12)]
    assert len(set(rule_labels(records, max_shared=10))) == 12


def test_calibration_bands_count_every_pair_once() -> None:
    p = np.array([0.0, 0.01, 0.5, 0.96, 1.0, 1.0])
    truth = np.array([False, False, True, True, True, False])
    bands = calibration(p, truth)
    assert sum(b.pairs for b in bands) == p.size
    top = bands[-1]
    assert top.pairs == 2 and top.true_share == 0.5


def test_oracle_links_exactly_the_true_candidate_pairs() -> None:
    left, right = np.array([0, 1, 2]), np.array([1, 2, 3])
    is_match = np.array([True, False, True])
    scores = oracle_ceiling(4, left, right, is_match, ["a", "a", "b", "b"])
    assert scores.precision == 1.0 and scores.recall == 1.0


def test_webshop_generator_is_deterministic_and_has_identifier_only_records() -> None:
    first, again = crm_webshop.generate(300, 5), crm_webshop.generate(300, 5)
    assert first.records == again.records and first.truth == again.truth
    assert len(first.truth) == len(first.records) and len({c.key for c in first.customers}) == 300
    only_email = [
        r for r in first.records if set(r) - {"source", "source_id", "country"} == {"email"}
    ]
    assert only_email  # web identify calls that carry nothing but an e-mail
    sources = {r["source"] for r in first.records}
    assert {"shop", "payments", "helpdesk", "tracking"} <= sources
