"""The column-by-column mapping gives exactly the rows (and errors) the models give per record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.sync.columnar import column_plan
from hub.sync.mapping import Mapper, MappingError
from schemas.config import StreamConfig
from schemas.customer import CustomerRecord
from schemas.interaction import Interaction


def mix(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly usual values (so whole rows take the fast path), sometimes odd ones."""
    return st.integers(0, 5).flatmap(lambda i: odd if i == 0 else usual)


PLAIN = st.one_of(
    st.none(),
    st.sampled_from(["Anna", "Kovács", "0", "a b"]),
    st.from_regex(r"\w[\w ]{0,5}\w", fullmatch=True),
)
ODD = st.one_of(
    st.sampled_from(["", "  ", " padded ", "tab\t", "\x1c", "\u00a0x", "\u180e"]),
    st.text(max_size=6),
    st.integers(-5, 10**20),
    st.floats(allow_nan=True),
    st.booleans(),
    st.decimals(allow_nan=False, places=2, min_value=-1000, max_value=1000),
)
TEXTS = mix(PLAIN, ODD)
DATES = mix(
    st.one_of(st.none(), st.dates().map(dt.date.isoformat)),
    st.one_of(
        ODD,
        st.sampled_from(
            ["2026-02-30", "31/12/1980", "2026-W01-1", "1980-12-31T10:00:00", " 1980-01-02"]
        ),
        st.dates(),
        st.datetimes(),
    ),
)
DATETIMES = mix(
    st.one_of(
        st.none(),
        st.datetimes(
            timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=-5))])
        ),
        st.datetimes().map(lambda d: d.isoformat()),
        st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
    ),
    st.one_of(
        ODD,
        st.sampled_from(
            [
                "2026-01-01 10:00:00",
                "2026-01-01T10:00:00.5+02:00",
                "2026-01-01T10:00:00.1234567+00:00",
                "2026-01-01T24:00:00",
                "2026-01-01T10:00:60Z",
                "2026-01-01T10:00:00+25:00",
                "2026-01-01",
                "1700000000",
            ]
        ),
    ),
)
ENUMS = mix(
    st.sampled_from([None, "person", "organization", "order", "payment"]),
    st.one_of(ODD, st.sampled_from(["Person", " person", "robot"])),
)
CODES = mix(
    st.sampled_from([None, "hu", "HU", "eur", "EUR", "Gb"]),
    st.one_of(ODD, st.sampled_from(["HUN", "h1", " hu ", "ßx", "ÁÉ"])),
)
AMOUNTS = mix(
    st.one_of(
        st.none(),
        st.integers(-(10**15), 10**15),
        st.decimals(allow_nan=False, allow_infinity=False),
    ),
    st.one_of(
        ODD,
        st.sampled_from([Decimal("NaN"), Decimal("Infinity"), "12.5", 1.25]),
        st.decimals(allow_nan=True, allow_infinity=True),
    ),
)
CUSTOMER = st.fixed_dictionaries(
    {
        "kind": ENUMS,
        "given_name": TEXTS,
        "email": TEXTS,
        "birth_date": DATES,
        "country": CODES,
        "updated_at": DATETIMES,
        "loyalty_tier": TEXTS,  # not a model field: an extra, kept verbatim
    }
)
INTERACTION = st.fixed_dictionaries(
    {
        "customer_source_id": mix(PLAIN, st.one_of(ODD, st.integers(0, 10**6))),
        "type": ENUMS,
        "occurred_at": DATETIMES,
        "amount": AMOUNTS,
        "currency": CODES,
        "status": TEXTS,
        "channel_code": TEXTS,
    }
)
IDS = mix(st.from_regex(r"[0-9a-z|]{1,6}", fullmatch=True), st.sampled_from(["", " 2", "x "]))


def strict(value: Any) -> Any:
    """A form that tells apart values that compare equal (1.5 and 1.50, 1 and True)."""
    if isinstance(value, MappingError):
        return ("error", str(value))
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    return (type(value).__name__, repr(value))


def check(mapper: Mapper, records: list[dict[str, Any]], ids: list[str]) -> None:
    batch = mapper.map_many(records, ids)
    one_by_one = [mapper._or_error(r, i) for r, i in zip(records, ids, strict=True)]
    assert [strict(r) for r in batch] == [strict(r) for r in one_by_one]


CUSTOMER_MAPPER = Mapper(
    "erp",
    StreamConfig.model_validate(
        {"entity": "customer", "mapping": {"loyalty": "loyalty_tier", "kind": "kind"}}
    ),
)
INTERACTION_MAPPER = Mapper(
    "billing",
    StreamConfig.model_validate({"entity": "interaction", "mapping": {"channel": "channel_code"}}),
)
FAST = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(st.tuples(CUSTOMER, IDS), min_size=1, max_size=12))
def test_customer_batches_map_as_the_model_does(batch: list[tuple[dict[str, Any], str]]) -> None:
    check(CUSTOMER_MAPPER, [r for r, _ in batch], [i for _, i in batch])


@FAST
@given(st.lists(st.tuples(INTERACTION, IDS), min_size=1, max_size=12))
def test_interaction_batches_map_as_the_model_does(
    batch: list[tuple[dict[str, Any], str]],
) -> None:
    check(INTERACTION_MAPPER, [r for r, _ in batch], [i for _, i in batch])


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"given_name": "Anna"}, {"given_name": "Anna"}),
        ({"given_name": "  Anna "}, {"given_name": "Anna"}),  # stripped, by the model
        ({"given_name": "   "}, {"given_name": None}),  # blank is unknown
        ({"tax_id": 12345678}, {"tax_id": "12345678"}),  # numbers become text
        ({"birth_date": "1980-12-31T08:00:00"}, {"birth_date": "1980-12-31"}),
        ({"country": "hu"}, {"country": "HU"}),
        (
            {"updated_at": "2026-01-01T10:00:00+02:00"},
            {"updated_at": dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)},
        ),
    ],
    ids=["plain", "padded", "blank", "number", "timestamp-date", "country-case", "offset"],
)
def test_labelled_customer_values(record: dict[str, Any], expected: dict[str, Any]) -> None:
    [row] = Mapper("erp", StreamConfig(entity="customer")).map_many([record], ["1"])
    assert isinstance(row, dict)
    assert {k: row[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"birth_date": "31/12/1980"}, "birth_date must be YYYY-MM-DD"),
        ({"country": "HUN"}, "country must be an ISO-2 code"),
        ({"kind": "robot"}, "kind"),
    ],
    ids=["date", "country", "kind"],
)
def test_a_bad_value_fails_its_row_only_with_the_models_message(
    record: dict[str, Any], message: str
) -> None:
    rows = Mapper("erp", StreamConfig(entity="customer")).map_many(
        [{"given_name": "Anna"}, record], ["1", "2"]
    )
    assert isinstance(rows[0], dict) and rows[0]["given_name"] == "Anna"
    assert isinstance(rows[1], MappingError) and message in str(rows[1])


def test_an_unknown_validator_takes_no_fast_path() -> None:
    from pydantic import field_validator

    class Stricter(CustomerRecord):
        @field_validator("email")
        @classmethod
        def _at(cls, value: str | None) -> str | None:
            return value

    plan = column_plan(Stricter)
    assert plan is not None and plan["email"] is None and plan["given_name"] is not None
    assert column_plan(Interaction) is not None
    [row] = Mapper("erp", StreamConfig(entity="customer")).map_many([{"email": " a@b "}], ["1"])
    assert isinstance(row, dict) and row["email"] == "a@b"


# -- whole columns: the C-speed forms give exactly the value-by-value results --------------
def usual_or_one_odd(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> Any:
    """A column of usual values (the whole-column path), sometimes with one odd value in it."""
    column = st.lists(usual, min_size=1, max_size=8)
    return st.one_of(
        column,
        st.tuples(column, odd, st.integers(0, 8)).map(
            lambda t: [*t[0][: t[2]], t[1], *t[0][t[2] :]]
        ),
    )


WHOLE_CASES = {
    "birth_date": usual_or_one_odd(
        st.dates().map(dt.date.isoformat),
        st.one_of(
            st.sampled_from(
                ["2026-02-30", "\u0662\u0660\u0662\u0660-\u0660\u0661-\u0660\u0661", "0000-01-01"]
            ),
            ODD,
        ),
    ),
    "updated_at": usual_or_one_odd(
        st.one_of(
            st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat),
            st.datetimes().map(dt.datetime.isoformat),
            st.datetimes(timezones=st.just(dt.timezone(dt.timedelta(hours=2)))).map(
                dt.datetime.isoformat
            ),
        ),
        st.one_of(st.sampled_from(["2026-01-01T24:00:00", "2026-01-01"]), ODD),
    ),
    "country": usual_or_one_odd(
        st.sampled_from(["hu", "HU", " de ", "Gb"]), st.sampled_from(["HUN", "h1", "ßx", ""])
    ),
    "kind": usual_or_one_odd(
        st.sampled_from(["person", "organization"]), st.sampled_from(["Person", "robot", ""])
    ),
}


@pytest.mark.parametrize("field", sorted(WHOLE_CASES))
def test_whole_column_equals_value_by_value(field: str) -> None:
    plan = column_plan(CustomerRecord)
    assert plan is not None
    convert = plan[field]
    assert convert is not None

    @settings(max_examples=300, deadline=None)
    @given(WHOLE_CASES[field])
    def run(column: list[Any]) -> None:
        slow: list[int] = []
        whole = convert(column, slow)
        for i, value in enumerate(column):
            # beside a None, a column never takes the whole-column path: value by value
            alone: list[int] = []
            one = convert([value, None], alone)[0]
            if i in slow:
                assert 0 in alone, (field, value)
            else:
                assert 0 not in alone, (field, value)
                assert strict(whole[i]) == strict(one), (field, value)

    run()
