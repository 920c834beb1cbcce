"""Field mapping expressions, as labelled cases."""

from __future__ import annotations

from typing import Any

import pytest

from hub.sync.mapping import Mapper, MappingError, evaluate
from schemas.config import StreamConfig

RECORD = {
    "id": 7,
    "display_name": "Kovács Anna Mária",
    "first": "Anna",
    "last": "Kovács",
    "empty": "",
    "contact": {"email": "anna@example.hu"},
}

CASES: list[tuple[str, Any, Any]] = [
    ("rename", "first", "Anna"),
    ("nested path", "contact.email", "anna@example.hu"),
    ("missing path", "contact.phone", None),
    ("constant", {"const": "person"}, "person"),
    ("concat", {"concat": ["first", "last"]}, "Anna Kovács"),
    ("concat skips empty", {"concat": ["first", "empty", "last"], "sep": ", "}, "Anna, Kovács"),
    ("concat all empty", {"concat": ["empty", "nothing"]}, None),
    ("split first", {"split": "display_name", "part": "first"}, "Kovács"),
    ("split last", {"split": "display_name", "part": "last"}, "Mária"),
    ("split rest", {"split": "display_name", "part": "rest"}, "Anna Mária"),
    ("split all but last", {"split": "display_name", "part": "all_but_last"}, "Kovács Anna"),
    ("split index", {"split": "display_name", "part": 1}, "Anna"),
    ("split index out of range", {"split": "display_name", "part": 5}, None),
    ("split single word has no last", {"split": "first", "part": "last"}, None),
    ("coalesce", {"coalesce": ["empty", "contact.email"]}, "anna@example.hu"),
    ("nested expressions", {"concat": [{"const": "Dr."}, "last"]}, "Dr. Kovács"),
]


@pytest.mark.parametrize(("case", "expr", "expected"), CASES, ids=[c[0] for c in CASES])
def test_expression(case: str, expr: Any, expected: Any) -> None:
    stream = StreamConfig.model_validate({"entity": "raw", "mapping": {"x": expr}})
    assert evaluate(stream.mapping["x"], RECORD) == expected


def test_customer_mapping_uses_same_named_fields_and_keeps_extras() -> None:
    stream = StreamConfig.model_validate(
        {
            "entity": "customer",
            "mapping": {"given_name": "first", "family_name": "last", "loyalty": "tier"},
        }
    )
    row = Mapper("erp", stream)(
        {"first": "Anna", "last": "Kovács", "email": "a@b.hu", "tier": "gold"}, "7"
    )
    assert row is not None
    assert (row["given_name"], row["family_name"], row["email"]) == ("Anna", "Kovács", "a@b.hu")
    assert row["source_id"] == "7" and row["extra"] == {"loyalty": "gold"}


def test_mapping_error_names_the_field_and_value() -> None:
    stream = StreamConfig.model_validate({"entity": "customer", "mapping": {"birth_date": "dob"}})
    with pytest.raises(MappingError, match=r"birth_date.*'31/12/1980'"):
        Mapper("erp", stream)({"dob": "31/12/1980"}, "1")


def test_fingerprint_changes_with_the_mapping() -> None:
    a = Mapper("s", StreamConfig.model_validate({"entity": "customer", "mapping": {"email": "m"}}))
    b = Mapper("s", StreamConfig.model_validate({"entity": "customer", "mapping": {"email": "n"}}))
    assert a.fingerprint != b.fingerprint
