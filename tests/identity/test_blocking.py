"""Blocking on an e-mail user name that spells another record's name: labelled cases, and
`across` rules (only pairs whose two records differ on a column) against brute force."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.blocking import (
    DEFAULT_RULES,
    MAIL_NAME_KEYS,
    BlockingRule,
    add_derived_keys,
    candidate_pairs,
    derived_keys,
    estimate_pairs,
)
from identity.standardise import standardise

_SPELLED = "e-mail spells"


def _spelled_pairs(*records: dict[str, Any]) -> dict[str, set[tuple[int, int]]]:
    """Per e-mail-spells rule the pairs (row numbers) it proposes among `records`."""
    frame = add_derived_keys(
        standardise([{"source": "s", "source_id": str(i), **r} for i, r in enumerate(records)])
    )
    out: dict[str, set[tuple[int, int]]] = {}
    for rule in DEFAULT_RULES:
        if rule.name.startswith(_SPELLED):
            left, right, report = candidate_pairs(frame, (rule,))
            assert report.pairs_per_rule[rule.name] == left.size
            assert estimate_pairs(frame, rule, 200) == left.size
            out[rule.name] = set(zip(left.tolist(), right.tolist(), strict=True))
    return out


_NAMED = {"given_name": "Sean", "family_name": "Pratt"}


@pytest.mark.parametrize(
    ("other", "rule"),
    [
        # a web sign-up with only an e-mail, at another provider: the user name spells the name
        ({"email": "sean.pratt84@icloud.com"}, "e-mail spells given + family"),
        ({"email": "PRATT_SEAN@gmail.com"}, "e-mail spells family + given"),
        ({"email": "spratt@outlook.com"}, "e-mail spells initial + family"),
        # a help-desk display name of the given name alone, with the e-mail
        ({"full_name": "sean", "email": "pratt.sean@web.de"}, "e-mail spells family + given"),
    ],
)
def test_a_record_without_a_full_name_is_compared_with_the_name_its_e_mail_spells(
    other: dict[str, Any], rule: str
) -> None:
    assert _spelled_pairs(_NAMED, other)[rule] == {(0, 1)}


@pytest.mark.parametrize(
    "other",
    [
        {"email": "sean.prat@icloud.com"},  # another family name
        {"email": "seanp@icloud.com"},  # too short to tell: a given name and an initial
        {"email": "joe@pratt.com"},  # spells nobody's full name
        # both records carry a full name: the name rules compare those names, not the mailbox
        {"given_name": "Tom", "family_name": "Ward", "email": "seanpratt@icloud.com"},
        # two named records sharing the full name: never paired by these rules (at 1M records
        # every two Sean Pratts, every two S. Pratts, would be)
        {"given_name": "Sean", "family_name": "Pratt", "email": "seanpratt@icloud.com"},
        {"given_name": "Steve", "family_name": "Pratt"},
    ],
)
def test_no_spelled_name_no_pair(other: dict[str, Any]) -> None:
    assert not any(_spelled_pairs(_NAMED, other).values())


def test_two_named_records_each_meet_the_mailbox_but_not_each_other() -> None:
    found = _spelled_pairs(
        _NAMED,
        {"given_name": "Sean", "family_name": "Pratt", "postal_code": "90210"},
        {"email": "sean.pratt@icloud.com"},
        {"email": "seanpratt@gmail.com"},  # two mailboxes spelling one name: not each other
    )
    assert found["e-mail spells given + family"] == {(0, 2), (0, 3), (1, 2), (1, 3)}


@pytest.mark.parametrize(
    ("record", "keys"),
    [
        ({"given_name": "Sean", "family_name": "Hays"}, ("seanhays", "hayssean", None, True)),
        (
            {"given_name": "Sean", "family_name": "Pratt"},
            ("seanpratt", "prattsean", "spratt", True),
        ),
        ({"given_name": "Jo", "family_name": "Li"}, (None, None, None, None)),  # too short
        ({"given_name": "Ann", "family_name": "Kim"}, ("annkim", "kimann", None, True)),
        ({"email": "anna.kovacs49@freemail.hu"}, ("annakovacs",) * 3 + (False,)),
        ({"full_name": "anna", "email": "kovacs.anna@x.hu"}, ("kovacsanna",) * 3 + (False,)),
        ({"email": "kim@x.com"}, (None, None, None, None)),
        ({}, (None, None, None, None)),
    ],
)
def test_spelled_name_keys_of_one_record_equal_the_frame_s(
    record: dict[str, Any], keys: tuple[str | bool | None, ...]
) -> None:
    full = {"source": "s", "source_id": "1", **record}
    frame = add_derived_keys(standardise([full]))
    columns = [*MAIL_NAME_KEYS, "mail_named"]
    assert tuple(frame.loc[0, columns].tolist()) == keys
    one = derived_keys(standardise([full]).iloc[0].to_dict())
    assert tuple(one[c] for c in columns) == keys


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", None]),
            st.sampled_from([True, False, None]),
            st.sampled_from(["person", "organisation"]),
        ),
        max_size=30,
    ),
    st.integers(min_value=1, max_value=8),
)
def test_an_across_rule_pairs_the_records_of_a_block_on_different_sides(
    rows: list[tuple[str | None, bool | None, str]], max_block: int
) -> None:
    frame = pd.DataFrame(
        {
            "key": [r[0] for r in rows],
            "side": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "family_key": [None] * len(rows),  # keys derived already: none to add
        },
        dtype=object,
    )
    rule = BlockingRule("across", ("key",), across="side")
    left, right, report = candidate_pairs(frame, (rule,), max_block=max_block)
    expected: set[tuple[int, int]] = set()
    blocks: dict[tuple[str, str], list[int]] = {}
    for i, (key, side, kind) in enumerate(rows):
        if key is not None and side is not None:
            blocks.setdefault((kind, key), []).append(i)
    for members in blocks.values():
        if len(members) <= max_block:
            expected |= {
                (i, j) for i, j in itertools.combinations(members, 2) if rows[i][1] != rows[j][1]
            }
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == expected
    assert np.all(left < right)
    assert report.pairs_per_rule.get("across", 0) == len(expected)
    assert estimate_pairs(frame, rule, max_block) == len(expected)
    assert len(report.oversized) == (1 if any(len(m) > max_block for m in blocks.values()) else 0)
