"""A batch prepared straight into columns and handed to the writer (`hub.sync.handover`)
gives the rows, refusals and store contents the record-by-record path gives."""

from __future__ import annotations

import datetime as dt
import pickle
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.store.database import Store
from hub.sync.handover import Handover, StreamColumns, prepare_handover, records_of
from hub.sync.mapping import Mapper
from hub.sync.prepare import Prepared, StreamInfo, prepare, stream_info
from hub.sync.writes import IncomingRecord, write_batch, write_streams
from schemas.config import StreamConfig
from tests.hub.sync.test_columnar import (
    CUSTOMER,
    CUSTOMER_MAPPER,
    IDS,
    INTERACTION,
    INTERACTION_MAPPER,
    strict,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": ["integer", "string"]},
        "email": {"type": ["string", "null"]},
        "given_name": {"type": ["string", "null"]},
        "updated_at": {"type": ["string", "null"]},
    },
}
CUSTOMERS = StreamConfig.model_validate(
    {"entity": "customer", "mapping": {"loyalty": "loyalty_tier"}}
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def info_of(config: StreamConfig, schema: dict[str, Any] = SCHEMA) -> StreamInfo:
    return stream_info("erp", config, schema, ["id"], full_table=True)


def shipped(handover: Handover) -> Handover:
    """The handover as the writer receives it: through a pickle."""
    again: Handover = pickle.loads(pickle.dumps(handover))
    return again


def as_values(records: list[IncomingRecord]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Each stream's records in order, the streams in the order they first came (the
    order the writer writes them in; how streams interleave does not matter to it)."""
    by_stream: dict[str, list[tuple[Any, ...]]] = {}
    for value in _values(records):
        by_stream.setdefault(value[0], []).append(value)
    return list(by_stream.items())


def _values(records: list[IncomingRecord]) -> list[tuple[Any, ...]]:
    return [
        (
            r.stream,
            r.source_id,
            type(r.payload).__name__,
            str(r.payload),
            r.content_hash,
            r.mapping_hash,
            r.entity,
            None if r.canonical is None else strict(r.canonical),
        )
        for r in records
    ]


def by_record_path(
    groups: list[tuple[str, int, list[dict[str, Any]]]], infos: dict[int, StreamInfo]
) -> Prepared:
    prepared = Prepared()
    for stream, serial, records in groups:
        prepare(stream, infos[serial], records, prepared)
    return prepared


def check_same(
    groups: list[tuple[str, int, list[dict[str, Any]]]], infos: dict[int, StreamInfo]
) -> Handover:
    before = by_record_path(groups, infos)
    handover = shipped(
        prepare_handover(groups, infos, quarantined=[], state=None, full_table=frozenset())
    )
    assert as_values(handover.records()) == as_values(before.incoming)
    assert handover.quarantined == before.quarantined
    assert handover.deleted == before.deleted
    assert handover.problems == before.problems
    return handover


@SETTINGS
@given(st.lists(st.tuples(CUSTOMER, IDS), min_size=1, max_size=12))
def test_customer_columns_are_the_mapped_rows(batch: list[tuple[dict[str, Any], str]]) -> None:
    records, ids = [r for r, _ in batch], [i for _, i in batch]
    columns = CUSTOMER_MAPPER.map_columns(records, ids)
    rows = CUSTOMER_MAPPER.map_many(records, ids)
    if columns is None:  # some row needs the model: the row path takes the batch
        assert CUSTOMER_MAPPER.maps
        return
    names, values = columns
    assert [strict(dict(zip(names, v, strict=True))) for v in zip(*values, strict=True)] == [
        strict(r) for r in rows
    ]


@SETTINGS
@given(st.lists(st.tuples(INTERACTION, IDS), min_size=1, max_size=12))
def test_interaction_columns_are_the_mapped_rows(batch: list[tuple[dict[str, Any], str]]) -> None:
    records, ids = [r for r, _ in batch], [i for _, i in batch]
    columns = INTERACTION_MAPPER.map_columns(records, ids)
    if columns is None:
        return
    names, values = columns
    rows = INTERACTION_MAPPER.map_many(records, ids)
    assert [strict(dict(zip(names, v, strict=True))) for v in zip(*values, strict=True)] == [
        strict(r) for r in rows
    ]


INFOS = {1: info_of(CUSTOMERS), 2: info_of(CUSTOMERS), 3: info_of(StreamConfig())}
CONST_MAPPER = Mapper(
    "erp",
    StreamConfig.model_validate(
        {"entity": "customer", "mapping": {"kind": {"const": "person"}, "city": {"const": " "}}}
    ),
)


@SETTINGS
@given(st.lists(st.tuples(CUSTOMER, IDS), min_size=1, max_size=12))
def test_constant_columns_map_as_each_record_does(
    batch: list[tuple[dict[str, Any], str]],
) -> None:
    """A constant mapping fills its whole column at once: the rows equal the model's."""
    records, ids = [r for r, _ in batch], [i for _, i in batch]
    rows = CONST_MAPPER.map_many(records, ids)
    one_by_one = [CONST_MAPPER._or_error(r, i) for r, i in zip(records, ids, strict=True)]
    assert [strict(r) for r in rows] == [strict(r) for r in one_by_one]
    columns = CONST_MAPPER.map_columns(records, ids)
    if columns is not None:
        names, values = columns
        rebuilt = [dict(zip(names, v, strict=True)) for v in zip(*values, strict=True)]
        assert [strict(r) for r in rebuilt] == [strict(r) for r in rows]


IDENTIFIERS = st.one_of(st.integers(0, 30), st.sampled_from(["7", "a\nb", "x|y", "", "ü"]))
RECORDS = st.lists(
    st.builds(
        lambda rid, rest: {"id": rid, **rest},
        st.one_of(IDENTIFIERS, st.none(), st.just(1.5)),  # no id; an id of the wrong type
        CUSTOMER,
    ),
    min_size=1,
    max_size=10,
)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["customers", "leads"]), RECORDS), max_size=3))
def test_a_batch_hands_over_what_the_record_path_prepares(
    groups: list[tuple[str, list[dict[str, Any]]]],
) -> None:
    """Bad ids, a record the model refuses, a stream under two SCHEMAs, an id twice, text
    with newlines: the columns carry the same records, refusals and problems."""
    infos = INFOS
    serials = {"customers": [1, 2], "leads": [3]}
    numbered = [
        (stream, serials[stream][i % len(serials[stream])], records)
        for i, (stream, records) in enumerate(groups)
    ]
    check_same(numbered, infos)


def test_a_clean_batch_crosses_as_columns_with_its_texts_joined() -> None:
    records = [
        {"id": n, "email": f"u{n}@example.com", "given_name": "Ann\nMarie" if n == 3 else "Ann"}
        for n in range(1, 6)
    ]
    handover = check_same([("customers", 1, records)], {1: info_of(CUSTOMERS)})
    [columns] = handover.streams
    assert isinstance(columns, StreamColumns)
    state = columns.__getstate__()
    assert state["payloads"].count("\n") == 4  # JSON text holds a newline escaped only
    assert state["source_ids"] == "1\n2\n3\n4\n5"
    given = state["canonical"][columns.names.index("given_name")]
    assert given == ["Ann", "Ann", "Ann\nMarie", "Ann", "Ann"]  # a newline: kept as a list
    assert state["canonical"][columns.names.index("tax_id")] is None  # all null


def test_records_of_columns_are_fresh_rows() -> None:
    records = [{"id": n, "email": f"u{n}@example.com"} for n in range(1, 4)]
    handover = check_same([("customers", 1, records)], {1: info_of(CUSTOMERS)})
    [columns] = handover.streams
    assert isinstance(columns, StreamColumns)
    first, second = records_of(columns), records_of(columns)
    assert first[0].canonical is not second[0].canonical  # the writer may change its rows


# -- the store: what the writer writes from columns equals what the record path wrote -------

STAMP = dt.datetime(2026, 12, 6, 6, 0, tzinfo=dt.UTC)
TABLES = ("raw_records", "customer_records", "interactions", "quarantine")


@pytest.fixture
def two_stores(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> list[Store]:
    if backend == "sqlite":
        urls = [f"sqlite:///{tmp_path / name}.db" for name in ("records", "columns")]
    else:
        server = request.getfixturevalue("pg_server")
        urls = [server.create_database(), server.create_database()]
    stores = [Store.open(url) for url in urls]
    yield stores  # type: ignore[misc]
    for store in stores:
        store.dispose()


def contents(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        return {
            table: [
                tuple(row) for row in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
            ]
            for table in TABLES
        }


def customer(n: int, name: str = "Ann") -> dict[str, Any]:
    return {
        "id": n,
        "email": f"u{n}@example.com",
        "given_name": name,
        "updated_at": f"2026-01-0{1 + n % 9}T10:00:00+00:00",
    }


BATCHES: list[list[dict[str, Any]]] = [
    [customer(n) for n in range(1, 101)],  # new records: columns
    [customer(n) for n in range(1, 81)] + [customer(n) for n in range(101, 201)],  # unchanged
    [customer(n, "Bo") for n in range(150, 171)] + [customer(n) for n in range(171, 301)],
    [customer(n) for n in range(301, 401)] + [{"id": "x", "updated_at": "someday"}],
    [customer(n) for n in range(401, 501)] + [customer(401, "Cy")],  # an id twice
]


def test_the_writer_stores_columns_as_the_record_path_did(
    two_stores: list[Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Byte for byte per row (time stamps fixed): inserts, unchanged records, changed ones
    (which take the record path), a record that does not map and an id twice in a batch."""
    monkeypatch.setattr("hub.sync.writes.now", lambda: STAMP)
    infos = {1: info_of(CUSTOMERS)}
    by_records, by_columns = two_stores
    kinds: list[list[str]] = []
    for number, records in enumerate(BATCHES, start=1):
        groups = [("customers", 1, records)]
        prepared = by_record_path(groups, infos)
        handover = shipped(
            prepare_handover(
                groups, infos, quarantined=[], state=None, full_table=frozenset({"customers"})
            )
        )
        kinds.append([type(part).__name__ for part in handover.streams])
        run_ids = [s.start_run("erp", full_refresh=False) for s in two_stores]
        assert run_ids[0] == run_ids[1] == number
        with by_records.transaction() as conn:
            old = write_batch(
                conn,
                source="erp",
                run_id=number,
                records=prepared.incoming,
                quarantined=prepared.quarantined,
                full_table_streams=frozenset({"customers"}),
            )
        with by_columns.transaction() as conn:
            new = write_streams(
                conn,
                source="erp",
                run_id=number,
                streams=handover.streams,
                quarantined=handover.quarantined,
                full_table_streams=handover.full_table,
            )
        assert new == old
    assert contents(by_columns) == contents(by_records)
    assert kinds == [["StreamColumns"]] * 3 + [["list"]] * 2
