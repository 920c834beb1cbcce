"""The batch check never passes a record the compiled validator would refuse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.sync.column_check import column_check
from hub.sync.validation import compile_schema

JSON_TYPES = ["string", "integer", "number", "boolean", "null", "object", "array"]
PROPERTY = st.one_of(
    st.builds(
        lambda kinds, fmt: {"type": kinds} | ({"format": fmt} if fmt else {}),
        st.one_of(st.sampled_from(JSON_TYPES), st.lists(st.sampled_from(JSON_TYPES), max_size=3)),
        st.sampled_from([None, None, "date-time", "date", "email", "singer.decimal"]),
    ),
    st.sampled_from(
        [
            {"type": ["string", "null"], "enum": ["a", "b"]},
            {"type": ["string", "null"], "maxLength": 2},
            {"type": ["integer", "null"], "maximum": 5},
            {
                "type": ["object", "null"],
                "properties": {"x": {"type": "string"}},
                "required": ["x"],
            },
            {"type": ["array", "null"], "items": {"type": "integer"}},
            {"anyOf": [{"type": "string"}, {"type": "null"}]},
            {},
        ]
    ),
)
SCHEMA = st.builds(
    lambda props, required: {"type": "object", "properties": props, "required": required},
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), PROPERTY, max_size=4),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True),
)
VALUE = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["x", "y"]), st.text(max_size=2), max_size=2),
)
RECORD = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), VALUE, max_size=5)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCHEMA, st.lists(RECORD, min_size=1, max_size=6))
def test_a_batch_passed_at_once_is_one_the_validator_passes(
    schema: dict[str, Any], records: list[dict[str, Any]]
) -> None:
    validator = compile_schema(schema)
    one_by_one = [validator.reason(r) for r in records]
    check = column_check(schema)
    if check is not None and check(records):
        assert one_by_one == [None] * len(records)
    assert validator.reasons(records) == one_by_one


SINGER_SDK_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "null"]},
        "name": {"type": ["string", "null"]},
        "amount": {"type": ["number", "null"]},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "_crmhub_error": {
            "type": ["object", "null"],
            "properties": {"reason": {"type": ["string"]}},
            "required": ["reason"],
        },
    },
}


@pytest.mark.parametrize(
    ("records", "at_once"),
    [
        ([{"id": 1, "name": "Anna", "amount": Decimal("1.50"), "updated_at": "x"}], True),
        ([{"id": 1}, {"name": None}], True),  # absent or null: admitted
        ([{"id": True}], False),  # a boolean is not an integer here
        ([{"id": 1.0}], False),  # a float in an integer column: the validator decides
        ([{"_crmhub_error": {"reason": "r"}}], False),  # nested values: the validator
        ([{"name": 5}], False),
    ],
    ids=["plain", "absent-null", "bool-id", "float-id", "nested", "number-as-name"],
)
def test_labelled_batches(records: list[dict[str, Any]], at_once: bool) -> None:
    check = column_check(SINGER_SDK_SCHEMA)
    assert check is not None
    assert check(records) is at_once


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
        {"type": "object", "properties": {"a": {"type": "string"}}, "allOf": [{}]},
        {"type": ["object", "null"], "properties": {}},
    ],
    ids=["closed", "combinator", "nullable-record"],
)
def test_schemas_with_record_level_rules_take_no_fast_path(schema: dict[str, Any]) -> None:
    assert column_check(schema) is None


@pytest.mark.parametrize("fmt", ["email", "singer.decimal", "uri"])
def test_checked_formats_are_left_to_the_validator(fmt: str) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "format": fmt}}}
    check = column_check(schema)
    assert check is not None and check([{"a": "not valid"}]) is False
    assert compile_schema(schema).reasons([{"a": "not valid"}]) != [None] or fmt == "uri"
