"""Schemas of every Singer generation: draft-04 booleans, singer.decimal, Decimal numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.sync.validation import compile_schema, upgrade_schema

# what pipelinewise-tap-postgres declares for a numeric(20,4) column (draft-04 terms)
PIPELINEWISE_NUMERIC = {
    "type": ["null", "number"],
    "exclusiveMaximum": True,
    "maximum": 1e16,
    "multipleOf": 0.0001,
    "exclusiveMinimum": True,
    "minimum": -1e16,
}


def orders_schema(amount: dict[str, object]) -> dict[str, object]:
    return {"type": "object", "properties": {"id": {"type": "integer"}, "amount": amount}}


def test_draft04_boolean_exclusive_bounds_become_draft07_numbers() -> None:
    upgraded, multiples = upgrade_schema(orders_schema(PIPELINEWISE_NUMERIC))
    amount = upgraded["properties"]["amount"]
    assert amount == {
        "type": ["null", "number"],
        "exclusiveMaximum": 1e16,
        "exclusiveMinimum": -1e16,
    }
    assert multiples == {"amount": Decimal("0.0001")}
    false_flag = upgrade_schema({"maximum": 5, "exclusiveMaximum": False})[0]
    assert false_flag == {"maximum": 5}


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (Decimal("12345678901234.5678"), None),  # the tester's order: was quarantined
        (Decimal("-9999999999999999.9999"), None),
        (1.5, None),
        (7, None),
        (None, None),
        (Decimal("1E+16"), "amount: must be smaller than 1e+16"),  # exclusive
        (1e16, "amount: must be smaller than 1e+16"),
        (-1e16, "amount: must be bigger than -1e+16"),
        (Decimal("1.23456"), "amount: must be a multiple of 0.0001 (got 1.23456)"),
        ("12.5", "amount: must be null or number"),
    ],
)
def test_a_pipelinewise_numeric_is_enforced_as_draft04_meant(amount: object, reason: str) -> None:
    validator = compile_schema(orders_schema(PIPELINEWISE_NUMERIC))
    assert validator.reason({"id": 1, "amount": amount}) == reason
    assert validator.problem is None


def test_a_declared_draft04_schema_is_read_as_draft04() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        **orders_schema({"type": "number", "maximum": 10, "exclusiveMaximum": True}),
    }
    validator = compile_schema(schema)
    assert validator.reason({"amount": 9.99}) is None
    assert validator.reason({"amount": 10}) == "amount: must be smaller than 10"


@pytest.mark.parametrize("fmt", ["singer.decimal", "x-singer.decimal"])
def test_singer_decimal_strings_are_checked_and_kept_as_text(fmt: str) -> None:
    validator = compile_schema(orders_schema({"type": ["null", "string"], "format": fmt}))
    record = {"id": 1, "amount": "12345678901234.5678"}
    assert validator.reason(record) is None
    assert record["amount"] == "12345678901234.5678"  # untouched: the exact text
    assert validator.reason({"id": 2, "amount": "-0.0001"}) is None
    assert validator.reason({"id": 3, "amount": "12,50"}) == f"amount: must be {fmt}"
    assert validator.reason({"id": 4, "amount": "NaN"}) == f"amount: must be {fmt}"


def test_unknown_and_date_formats_are_not_checked() -> None:
    validator = compile_schema(
        {
            "type": "object",
            "properties": {
                "when": {"type": "string", "format": "date-time"},
                "odd": {"type": "string", "format": "x-vendor-thing"},
            },
        }
    )
    assert validator.reason({"when": "not a date", "odd": "anything"}) is None


def test_a_schema_that_cannot_compile_takes_records_unvalidated_and_says_why() -> None:
    validator = compile_schema({"type": "object", "properties": {"a": {"type": "strnig"}}})
    assert validator.reason({"a": 1}) is None
    assert validator.problem is not None and "records not validated" in validator.problem


def test_decimal_schema_bounds_from_an_exact_parser_compile() -> None:
    """A tap read with `parse_float=Decimal` hands over its schema's numbers as Decimals."""
    amount = {**PIPELINEWISE_NUMERIC, "maximum": Decimal("1E+16"), "multipleOf": Decimal("0.0001")}
    validator = compile_schema(orders_schema(amount))
    assert validator.reason({"amount": Decimal("0.0001")}) is None
    assert validator.reason({"amount": Decimal("0.00001")}) is not None
