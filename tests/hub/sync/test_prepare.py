"""Keying and hashing a batch a column at a time gives what the record-by-record path gives."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.store.database import JSONText, canonical_json, json_default
from hub.sync.prepare import Prepared, _keyed, _keyed_whole, stream_info
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
    keyed = _keyed("s", info, records, into)
    assert [k[0] for k in keyed] == ["1"]
    assert str(keyed[0][1]) == '{"amount":12345678901234.5678,"id":1}'  # exact decimal
    assert [q.stage for q in into.quarantined] == ["identity"]
