"""Catalog rules as Meltano applies them (hub.sync.catalog): tables of labelled cases for the
`select:` syntax, `metadata:` and `schema:` rules, and which properties the hub drops."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hub.sync.catalog import (
    LOG_POSITION,
    SelectPattern,
    apply_catalog_rules,
    bookmarked_streams,
    deselected_properties,
    metadata_rules,
    selected_streams,
)


def _entry(sid: str, props: dict[str, dict[str, Any]], **inclusion: str) -> dict[str, Any]:
    metadata: list[dict[str, Any]] = [
        {
            "breadcrumb": ["properties", name],
            "metadata": {"inclusion": inclusion.get(name, "available")},
        }
        for name in props
    ]
    metadata.append({"breadcrumb": [], "metadata": {"inclusion": "available"}})
    return {
        "tap_stream_id": sid,
        "stream": sid.split("-", 1)[-1],
        "schema": {"type": "object", "properties": props},
        "metadata": metadata,
    }


STRING: dict[str, Any] = {"type": ["string", "null"]}
CATALOG: dict[str, Any] = {
    "streams": [
        _entry(
            "public-customers",
            {
                "id": {"type": "integer"},
                "name": STRING,
                "email": STRING,
                "internal_note": STRING,
                "address": {
                    "type": "object",
                    "properties": {"city": STRING, "street": STRING},
                },
            },
            id="automatic",
        ),
        _entry(
            "public-orders",
            {"id": {"type": "integer"}, "amount": {"type": "number"}, "updated_at": STRING},
            id="automatic",
        ),
        _entry(
            "crm-contacts",
            {"id": {"type": "integer"}, "email": STRING, "blob": STRING},
            id="automatic",
            blob="unsupported",
        ),
    ]
}
EVERY = {
    "public-customers": {"id", "name", "email", "internal_note", "address"},
    "public-orders": {"id", "amount", "updated_at"},
    "crm-contacts": {"id", "email"},  # `blob` is unsupported: never selected
}


def chosen(catalog: dict[str, Any]) -> dict[str, set[str]]:
    """Selected stream -> its selected top-level properties."""
    out: dict[str, set[str]] = {}
    for entry in catalog["streams"]:
        nodes = {tuple(m["breadcrumb"]): m["metadata"] for m in entry["metadata"]}
        if nodes[()].get("selected"):
            out[entry["tap_stream_id"]] = {
                crumb[1] for crumb, node in nodes.items() if len(crumb) == 2 and node["selected"]
            }
    return out


SELECT_CASES: list[tuple[str, list[str] | None, dict[str, set[str]]]] = [
    ("no select: everything (the hub's default, *.*)", None, EVERY),
    ("*.* selects every stream and property", ["*.*"], EVERY),
    ("an empty list selects nothing", [], {}),
    (
        "stream.* selects one stream's properties",
        ["public-orders.*"],
        {"public-orders": EVERY["public-orders"]},
    ),
    (
        "stream.prop selects that property (and the automatic key)",
        ["public-customers.email"],
        {"public-customers": {"id", "email"}},
    ),
    (
        "a bare stream selects the stream with only its automatic properties",
        ["public-orders"],
        {"public-orders": {"id"}},
    ),
    (
        "! excludes one property after the includes",
        ["public-customers.*", "!public-customers.internal_note"],
        {"public-customers": EVERY["public-customers"] - {"internal_note"}},
    ),
    (
        "the order of includes and exclusions does not matter",
        ["!public-customers.internal_note", "public-customers.*"],
        {"public-customers": EVERY["public-customers"] - {"internal_note"}},
    ),
    (
        "* in the stream part",
        ["public-*.*"],
        {"public-customers": EVERY["public-customers"], "public-orders": EVERY["public-orders"]},
    ),
    (
        "? matches one character",
        ["crm-contact?.*"],
        {"crm-contacts": EVERY["crm-contacts"]},
    ),
    (
        "!stream excludes a whole stream",
        ["*.*", "!public-*"],
        {"crm-contacts": EVERY["crm-contacts"]},
    ),
    (
        "!*.prop excludes a property everywhere",
        ["*.*", "!*.email"],
        {
            "public-customers": EVERY["public-customers"] - {"email"},
            "public-orders": EVERY["public-orders"],
            "crm-contacts": {"id"},
        },
    ),
    (
        "an automatic property cannot be excluded",
        ["public-orders.*", "!public-orders.id"],
        {"public-orders": EVERY["public-orders"]},
    ),
    (
        "an unsupported property cannot be selected",
        ["crm-contacts.blob"],
        {"crm-contacts": {"id"}},
    ),
    (
        "* in the property part",
        ["public-orders.*_at"],
        {"public-orders": {"id", "updated_at"}},
    ),
    (
        "patterns that match nothing select nothing",
        ["erp-*.*", "public"],
        {},
    ),
]


@pytest.mark.parametrize(
    ("case", "select", "expected"), SELECT_CASES, ids=[c[0] for c in SELECT_CASES]
)
def test_meltano_select_syntax(
    case: str, select: list[str] | None, expected: dict[str, set[str]]
) -> None:
    result = apply_catalog_rules(CATALOG, select=select)
    assert chosen(result) == expected
    assert selected_streams(result) == sorted(expected)


def test_nested_properties_follow_breadcrumbs() -> None:
    result = apply_catalog_rules(
        CATALOG, select=["public-customers.address.*", "!public-customers.address.street"]
    )
    [customers] = [s for s in result["streams"] if s["tap_stream_id"] == "public-customers"]
    nodes = {tuple(m["breadcrumb"]): m["metadata"] for m in customers["metadata"]}
    city = ("properties", "address", "properties", "city")
    street = ("properties", "address", "properties", "street")
    assert (nodes[city]["selected"], nodes[street]["selected"]) == (True, False)
    # as in Meltano, the parent is not selected by a pattern naming its children only
    assert nodes[("properties", "address")]["selected"] is False


def test_rules_leave_the_discovered_catalog_unchanged() -> None:
    before = copy.deepcopy(CATALOG)
    apply_catalog_rules(CATALOG, select=["public-*.*"], metadata={"*": {"x": 1}})
    assert before == CATALOG


PARSE_CASES = [
    ("public-orders.*", SelectPattern("public-orders", ("*",), False)),
    ("!public-orders.amount", SelectPattern("public-orders", ("amount",), True)),
    ("stream.a.b", SelectPattern("stream", ("a", "b"), False)),
    ("!stream", SelectPattern("stream", (), True)),
    ("  spaced.x  ", SelectPattern("spaced", ("x",), False)),
]


@pytest.mark.parametrize(("text", "pattern"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_select_pattern_parse(text: str, pattern: SelectPattern) -> None:
    assert SelectPattern.parse(text) == pattern


@pytest.mark.parametrize("text", ["", "!", ".prop", "!.x"])
def test_a_pattern_without_a_stream_is_an_error_naming_it(text: str) -> None:
    with pytest.raises(ValueError, match="names no stream"):
        SelectPattern.parse(text)


def stream_node(catalog: dict[str, Any], sid: str) -> dict[str, Any]:
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == sid)
    return next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])


def prop_node(catalog: dict[str, Any], sid: str, *crumb: str) -> dict[str, Any]:
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == sid)
    return next(m["metadata"] for m in entry["metadata"] if tuple(m["breadcrumb"]) == crumb)


def test_metadata_sets_replication_on_the_stream_node_and_the_entry() -> None:
    result = apply_catalog_rules(
        CATALOG,
        metadata={
            "public-*": {"replication-method": "INCREMENTAL", "replication-key": "updated_at"}
        },
    )
    for sid in ("public-customers", "public-orders"):
        node = stream_node(result, sid)
        assert (node["replication-method"], node["replication-key"]) == (
            "INCREMENTAL",
            "updated_at",
        )
        entry = next(s for s in result["streams"] if s["tap_stream_id"] == sid)
        # singer-python taps of the old school read these from the entry itself
        assert (entry["replication_method"], entry["replication_key"]) == (
            "INCREMENTAL",
            "updated_at",
        )
    assert "replication-method" not in stream_node(result, "crm-contacts")


METADATA_CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...], str, Any]] = [
    (
        "a property key (mapping value)",
        {"public-orders": {"updated_at": {"is-replication-key": True}}},
        "public-orders",
        ("properties", "updated_at"),
        "is-replication-key",
        True,
    ),
    (
        "the explicit `properties:` form",
        {"public-orders": {"properties": {"amount": {"sql-datatype": "numeric"}}}},
        "public-orders",
        ("properties", "amount"),
        "sql-datatype",
        "numeric",
    ),
    (
        "a nested property",
        {"public-customers": {"address": {"city": {"inclusion": "available", "x": 1}}}},
        "public-customers",
        ("properties", "address", "properties", "city"),
        "x",
        1,
    ),
    (
        "a stream wildcard",
        {"*": {"replication-method": "FULL_TABLE"}},
        "crm-contacts",
        (),
        "replication-method",
        "FULL_TABLE",
    ),
    (
        "metadata may select (as Meltano's `selected: true`)",
        {"crm-contacts": {"blob": {"selected": True}}},
        "crm-contacts",
        ("properties", "blob"),
        "selected",
        False,  # ... but never an unsupported property
    ),
]


@pytest.mark.parametrize(
    ("case", "rules", "sid", "crumb", "key", "value"),
    METADATA_CASES,
    ids=[c[0] for c in METADATA_CASES],
)
def test_metadata_rules(
    case: str,
    rules: dict[str, Any],
    sid: str,
    crumb: tuple[str, ...],
    key: str,
    value: Any,
) -> None:
    result = apply_catalog_rules(CATALOG, metadata=rules)
    node = stream_node(result, sid) if not crumb else prop_node(result, sid, *crumb)
    assert node[key] == value


def test_metadata_applies_after_select_so_it_can_override_it() -> None:
    result = apply_catalog_rules(
        CATALOG,
        select=["public-orders.*"],
        metadata={"public-orders": {"amount": {"selected": False}}},
    )
    assert chosen(result) == {"public-orders": {"id", "updated_at"}}


def test_a_metadata_stream_that_is_not_a_mapping_names_it() -> None:
    with pytest.raises(ValueError, match=r"metadata\.public-orders: expected a mapping"):
        metadata_rules({"public-orders": "INCREMENTAL"})


def test_schema_overrides_replace_and_add_properties() -> None:
    result = apply_catalog_rules(
        CATALOG,
        select=["public-orders.*"],
        schema={
            "public-*": {"amount": {"type": ["string", "null"]}},
            "public-orders": {"channel": {"type": ["string", "null"]}},
        },
    )
    orders = next(s for s in result["streams"] if s["tap_stream_id"] == "public-orders")
    props = orders["schema"]["properties"]
    assert props["amount"] == {"type": ["string", "null"]}
    assert props["channel"] == {"type": ["string", "null"]}
    customers = next(s for s in result["streams"] if s["tap_stream_id"] == "public-customers")
    assert customers["schema"]["properties"]["amount"] == {"type": ["string", "null"]}
    # an added property is selectable like a discovered one (`stream.*` selects it)
    assert prop_node(result, "public-orders", "properties", "channel")["selected"] is True


FILTER_CASES = [
    (
        "a stream pattern keeps matching streams",
        ["public-*"],
        ["public-customers", "public-orders"],
    ),
    ("! drops streams", ["!public-orders"], ["crm-contacts", "public-customers"]),
    ("both", ["public-*", "!public-orders"], ["public-customers"]),
]


@pytest.mark.parametrize(
    ("case", "select_filter", "expected"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES]
)
def test_select_filter_narrows_the_selection(
    case: str, select_filter: list[str], expected: list[str]
) -> None:
    result = apply_catalog_rules(CATALOG, select_filter=select_filter)
    assert selected_streams(result) == expected


def test_selected_streams_reads_selected_by_default_when_nothing_is_said() -> None:
    catalog = {
        "streams": [
            {"tap_stream_id": "a", "metadata": [{"breadcrumb": [], "metadata": {}}]},
            {
                "tap_stream_id": "b",
                "metadata": [{"breadcrumb": [], "metadata": {"selected-by-default": True}}],
            },
            {"stream": "c", "selected": True, "metadata": []},  # the oldest catalogs
        ]
    }
    assert selected_streams(catalog) == ["b", "c"]


def test_deselected_properties_are_those_the_hub_drops() -> None:
    result = apply_catalog_rules(
        CATALOG, select=["*.*", "!public-customers.internal_note", "!*.id", "!*.email"]
    )
    assert deselected_properties(result) == {
        "public-customers": frozenset({"internal_note", "email"}),
        "customers": frozenset({"internal_note", "email"}),  # the entry's `stream` name too
        "crm-contacts": frozenset({"email", "blob"}),
        "contacts": frozenset({"email", "blob"}),
    }


def test_bookmarked_streams_are_the_selected_incremental_and_log_based_ones() -> None:
    """pipelinewise-tap-mysql sends a LOG_BASED stream's SCHEMA without bookmark properties
    (its bookmark is a binlog position): the catalog says the stream is not read in full."""

    def entry(sid: str, stream: str, **node: object) -> dict[str, Any]:
        return {
            "tap_stream_id": sid,
            "stream": stream,
            "metadata": [{"breadcrumb": [], "metadata": {"selected": True, **node}}],
        }

    catalog = {
        "streams": [
            entry("erp-customers", "customers", **{"replication-method": "LOG_BASED"}),
            entry(
                "erp-orders",
                "orders",
                **{"replication-method": "INCREMENTAL", "replication-key": "updated_at"},
            ),
            entry("erp-notes", "notes", **{"replication-method": "FULL_TABLE"}),
            entry("erp-tags", "tags"),  # the tap's default method: nothing said
            entry("erp-forced", "erp-forced", **{"forced-replication-method": "INCREMENTAL"}),
            {  # not selected
                "tap_stream_id": "erp-audit",
                "metadata": [{"breadcrumb": [], "metadata": {"replication-method": "LOG_BASED"}}],
            },
            {  # the oldest catalogs: on the entry itself
                "stream": "legacy",
                "selected": True,
                "replication_method": "INCREMENTAL",
                "replication_key": "modified",
                "metadata": [],
            },
        ]
    }
    assert bookmarked_streams(catalog) == {
        "erp-customers": [LOG_POSITION],
        "customers": [LOG_POSITION],  # singer-io taps send the `stream` name
        "erp-orders": ["updated_at"],
        "orders": ["updated_at"],
        "erp-forced": [LOG_POSITION],
        "legacy": ["modified"],
    }
