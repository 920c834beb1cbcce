"""Blocking on an e-mail user name that spells another record's name: labelled cases."""

from __future__ import annotations

from typing import Any

import pytest

from identity.blocking import MAIL_NAME_KEYS, add_derived_keys, candidate_pairs, derived_keys
from identity.standardise import standardise


def _pairs(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    """Which rules propose the pair (a, b): rule name -> pairs."""
    frame = add_derived_keys(standardise([a, b]))
    left, _, report = candidate_pairs(frame)
    assert left.size <= 1
    return {rule: n for rule, n in report.pairs_per_rule.items() if n}


_NAMED = {"source": "shop", "source_id": "1", "given_name": "Sean", "family_name": "Pratt"}


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
    assert rule in _pairs(_NAMED, {"source": "web", "source_id": "2", **other})


@pytest.mark.parametrize(
    "other",
    [
        {"email": "sean.prat@icloud.com"},  # another family name
        {"email": "seanp@icloud.com"},  # too short to tell: a given name and an initial
        {"email": "joe@pratt.com"},  # spells nobody's full name
        # both records carry a full name: the name rules compare those names, not the mailbox
        {"given_name": "Tom", "family_name": "Ward", "email": "seanpratt@icloud.com"},
    ],
)
def test_no_spelled_name_no_pair(other: dict[str, Any]) -> None:
    assert not any(
        rule.startswith("e-mail spells")
        for rule in _pairs(_NAMED, {"source": "web", "source_id": "2", **other})
    )


@pytest.mark.parametrize(
    ("record", "keys"),
    [
        ({"given_name": "Sean", "family_name": "Hays"}, ("seanhays", "hayssean", None)),
        ({"given_name": "Sean", "family_name": "Pratt"}, ("seanpratt", "prattsean", "spratt")),
        ({"given_name": "Jo", "family_name": "Li"}, (None, None, None)),  # too short
        ({"given_name": "Ann", "family_name": "Kim"}, ("annkim", "kimann", None)),
        ({"email": "anna.kovacs49@freemail.hu"}, ("annakovacs",) * 3),
        ({"full_name": "anna", "email": "kovacs.anna@x.hu"}, ("kovacsanna",) * 3),
        ({"email": "kim@x.com"}, (None, None, None)),
        ({}, (None, None, None)),
    ],
)
def test_spelled_name_keys_of_one_record_equal_the_frame_s(
    record: dict[str, Any], keys: tuple[str | None, ...]
) -> None:
    full = {"source": "s", "source_id": "1", **record}
    frame = add_derived_keys(standardise([full]))
    assert tuple(frame.loc[0, list(MAIL_NAME_KEYS)].tolist()) == keys
    one = derived_keys(standardise([full]).iloc[0].to_dict())
    assert tuple(one[k] for k in MAIL_NAME_KEYS) == keys
