"""CustomerRecord and Interaction: the public interchange contract."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import CUSTOMER_FIELDS, CustomerRecord, Interaction
from schemas.export import SCHEMA_DIR, json_schemas

CONTRACT = [
    "source",
    "source_id",
    "kind",
    "given_name",
    "family_name",
    "full_name",
    "organization_name",
    "tax_id",
    "email",
    "phone",
    "birth_date",
    "street",
    "house_number",
    "postal_code",
    "city",
    "country",
    "updated_at",
]


def test_field_set_is_the_public_contract() -> None:
    assert list(CUSTOMER_FIELDS) == CONTRACT


def test_missing_keys_are_null_and_extra_keys_are_kept() -> None:
    rec = CustomerRecord.model_validate({"source": "erp", "source_id": 7, "loyalty": "gold"})
    assert rec.source_id == "7"
    assert all(getattr(rec, f) is None for f in CONTRACT[2:])
    assert rec.model_extra == {"loyalty": "gold"}
    assert json.loads(rec.model_dump_json())["loyalty"] == "gold"


VALID: list[tuple[str, dict[str, Any], str, Any]] = [
    ("iso date", {"birth_date": "1980-02-29"}, "birth_date", dt.date(1980, 2, 29)),
    (
        "timestamp date part",
        {"birth_date": "1980-02-29T00:00:00"},
        "birth_date",
        dt.date(1980, 2, 29),
    ),
    ("empty means unknown", {"email": "  "}, "email", None),
    ("country upper-cased", {"country": "hu"}, "country", "HU"),
    ("numeric postal code", {"postal_code": 1051}, "postal_code", "1051"),
    ("organisation kind", {"kind": "organization"}, "kind", "organization"),
    ("whitespace trimmed", {"city": " Budapest "}, "city", "Budapest"),
]


@pytest.mark.parametrize(("case", "extra", "field", "expected"), VALID, ids=[v[0] for v in VALID])
def test_valid_values(case: str, extra: dict[str, Any], field: str, expected: Any) -> None:
    rec = CustomerRecord.model_validate({"source": "s", "source_id": "1", **extra})
    value = getattr(rec, field)
    assert (value.value if hasattr(value, "value") else value) == expected


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("dotted date", {"birth_date": "1980.02.29"}, "birth_date"),
    ("impossible date", {"birth_date": "1980-02-30"}, "birth_date"),
    ("three-letter country", {"country": "HUN"}, "country"),
    ("unknown kind", {"kind": "robot"}, "kind"),
    ("missing id", {"source_id": None}, "source_id"),
    ("boolean id", {"source_id": True}, "source_id"),
    ("empty source", {"source": ""}, "source"),
]


@pytest.mark.parametrize(("case", "values", "field"), INVALID, ids=[v[0] for v in INVALID])
def test_invalid_values_name_the_field(case: str, values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        CustomerRecord.model_validate({"source": "s", "source_id": "1", **values})
    assert field in {str(e["loc"][0]) for e in info.value.errors()}


def test_interaction_requires_type_and_time() -> None:
    ok = Interaction.model_validate(
        {
            "source": "erp",
            "source_id": 5,
            "type": "order",
            "occurred_at": "2026-01-02T03:04:05Z",
            "amount": "12.50",
            "currency": "eur",
        }
    )
    assert ok.currency == "EUR" and str(ok.amount) == "12.50"
    with pytest.raises(ValidationError) as info:
        Interaction.model_validate({"source": "erp", "source_id": 5, "type": "gift"})
    assert {"type", "occurred_at"} <= {str(e["loc"][0]) for e in info.value.errors()}


def test_exported_json_schemas_are_up_to_date() -> None:
    for name, schema in json_schemas().items():
        on_disk = json.loads((SCHEMA_DIR / name).read_text())
        assert on_disk == schema, f"schemas/json/{name} is stale: run `make schemas`"
