"""Keying and hashing a batch a column at a time gives what the record-by-record path gives,
and a keyed batch handed to the writer process (pickled: plain JSON records as their JSON
text) maps and stores exactly what the batch prepared in one place does."""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.store.database import JSONText, canonical_json, json_default
from hub.sync.prepare import (
    Keyed,
    Prepared,
    _keyed,
    _keyed_whole,
    key,
    map_keyed,
    prepare,
    stream_info,
)
from schemas.config import StreamConfig

VALUES = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(2**70), 2**70),  # beyond 64 bits: orjson refuses, canonical_json copes
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)
RECORDS = st.lists(
    st.fixed_dictionaries(
        {"id": st.one_of(st.integers(0, 10**6), st.text(max_size=4))},
        optional={"name": VALUES, "amount": VALUES, "tags": VALUES},
    ),
    min_size=1,
    max_size=6,
)


def refused(record: dict[str, Any]) -> bool:
    try:
        orjson.dumps(record, default=json_default)
    except orjson.JSONEncodeError:
        return True
    return False


def one_by_one(records: list[dict[str, Any]]) -> list[tuple[str, Any, str, dict[str, Any]]]:
    out = []
    for record in records:
        content = canonical_json(record)
        out.append(
            (str(record["id"]), content.decode(), hashlib.sha256(content).hexdigest(), record)
        )
    return out


@settings(max_examples=300, deadline=None)
@given(RECORDS)
def test_whole_batch_keys_and_hashes_as_record_by_record(records: list[dict[str, Any]]) -> None:
    whole = _keyed_whole("id", records)
    if whole is None:  # a value orjson refuses alone (a big integer): the loop takes it
        assert any(refused(r) for r in records)
        return
    assert [(s, str(p), h, r) for s, p, h, r in whole] == one_by_one(records)
    assert all(type(p) is JSONText for _, p, _, _ in whole)  # stored as serialised


def test_batch_with_a_missing_key_takes_the_record_path() -> None:
    info = stream_info(
        "erp",
        StreamConfig(entity="raw"),
        {"type": "object", "properties": {"id": {"type": ["integer", "null"]}}},
        ["id"],
        full_table=True,
    )
    records = [{"id": 1, "amount": Decimal("12345678901234.5678")}, {"id": None}]
    into = Prepared()
    keyed = _keyed("s", info, records, into).rows
    assert [k[0] for k in keyed] == ["1"]
    assert str(keyed[0][1]) == '{"amount":12345678901234.5678,"id":1}'  # exact decimal
    assert [q.stage for q in into.quarantined] == ["identity"]


CUSTOMER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "string"]},
        "first_name": {"type": ["string", "null"]},
        "email": {"type": ["string", "null"]},
        "birth_date": {"type": ["string", "null"]},
        "updated_at": {"type": ["string", "null"]},
        "score": {},
        "tags": {},
    },
}
PLAIN = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
ANY_VALUE = st.one_of(
    PLAIN,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),  # infinities: JSON has no such number (NaN: below)
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.lists(st.integers(), max_size=2),
    st.dates(),
)
CUSTOMERS = st.lists(
    st.fixed_dictionaries(
        {"id": st.one_of(st.integers(0, 50), st.text(min_size=1, max_size=3))},
        optional={
            "first_name": st.one_of(st.none(), st.text(max_size=6)),
            "email": st.one_of(st.none(), st.emails()),
            "birth_date": st.sampled_from([None, "1980-02-29", "2001-13-01", "x"]),
            "updated_at": st.sampled_from([None, "2026-01-01T00:00:01+00:00", "yesterday"]),
            "score": ANY_VALUE,
            "tags": ANY_VALUE,
        },
    ),
    min_size=1,
    max_size=8,
)


def customer_info() -> Any:
    config = StreamConfig.model_validate(
        {"entity": "customer", "mapping": {"given_name": "first_name", "kind": {"const": "person"}}}
    )
    return stream_info("erp", config, CUSTOMER_SCHEMA, ["id"], full_table=True)


@settings(max_examples=300, deadline=None)
@given(CUSTOMERS)
def test_a_keyed_batch_through_the_pipe_prepares_as_in_one_place(
    records: list[dict[str, Any]],
) -> None:
    """The writer process maps what the sync's process keyed and pickled: the same rows,
    quarantine and problems as preparing the batch in one place."""
    info = customer_info()
    whole = Prepared()
    prepare("customers", info, records, whole)
    head = Prepared()
    keyed = key("customers", info, records, head)
    crossed = pickle.loads(pickle.dumps(keyed))
    assert crossed.rows == keyed.rows
    assert [type(p) for _, p, _, _ in crossed.rows] == [type(p) for _, p, _, _ in keyed.rows]
    map_keyed("customers", info, crossed, head)
    assert head == whole


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.fixed_dictionaries({"id": st.integers(0, 99)}, optional={"v": PLAIN}), min_size=1)
)
def test_plain_json_records_cross_as_their_json_text(records: list[dict[str, Any]]) -> None:
    keyed = Keyed(_keyed_whole("id", records) or [], plain=True)
    state = keyed.__getstate__()
    assert len(state) == 3 and isinstance(state[1], str)  # one text, not the records
    crossed = pickle.loads(pickle.dumps(keyed))
    assert crossed.rows == keyed.rows
    assert [list(r) for _, _, _, r in crossed.rows] == [sorted(r) for r in records]


@pytest.mark.parametrize(
    "value",
    [Decimal("1.10"), float("nan"), float("inf"), [1, 2], {"a": 1}, dt.date(2026, 1, 1)],
)
def test_a_record_json_cannot_give_back_crosses_as_itself(value: Any) -> None:
    records = [{"id": 1, "v": "x"}, {"id": 2, "v": value}]
    keyed = Keyed([("1", "{}", "h1", records[0]), ("2", "{}", "h2", records[1])], plain=True)
    assert len(keyed.__getstate__()) == 1  # the rows themselves
    assert repr(pickle.loads(pickle.dumps(keyed)).rows) == repr(keyed.rows)  # NaN != NaN
