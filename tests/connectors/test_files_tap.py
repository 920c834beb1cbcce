"""TapFiles: the singer-sdk suite, the quarantine convention, incremental reads, the CLI."""

from __future__ import annotations

import atexit
import gzip
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from connectors import ERROR_PROPERTY, ConnectorFatalError, TapFiles
from connectors.jsontypes import CoercionError, coerce

CUSTOMER_SCHEMA: dict[str, Any] = {
    "id": {"type": ["integer", "null"]},
    "name": {"type": ["string", "null"]},
    "vip": {"type": ["boolean", "null"]},
    "balance": {"type": ["number", "null"]},
    "updated_at": {"type": ["string", "null"], "format": "date-time"},
}
CUSTOMERS_CSV = (
    "id,name,vip,balance,updated_at\n"
    "1,Ann Lee,true,10.5,2024-01-01T09:00:00Z\n"
    '2,"Bob, Jr.",false,,2024-01-02T09:00:00Z\n'
    "3,Cid,yes,not-a-number,2024-01-03T09:00:00Z\n"
    '4,"Dee\nSecond line",no,7,2024-01-04T09:00:00Z\n'
)


def write_sample_exports(folder: Path) -> dict[str, Any]:
    """Legacy exports in ``folder``; returns a TapFiles config reading them."""
    (folder / "customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    contacts = [
        {"id": "c1", "email": "ann@example.com", "tags": ["vip"], "score": 3},
        {"id": "c2", "email": None, "tags": [], "score": 2.5, "meta": {"src": "crm"}},
    ]
    with gzip.open(folder / "contacts.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in contacts)
    accounts = {"data": {"accounts": [{"code": "A1", "active": True}, {"code": "A2"}]}}
    (folder / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    return {
        "streams": [
            {
                "name": "customers",
                "path": str(folder / "customers.csv"),
                "schema": CUSTOMER_SCHEMA,
                "replication_key": "updated_at",
            },
            {"name": "contacts", "path": str(folder / "contacts*.jsonl.gz")},
            {
                "name": "accounts",
                "path": str(folder / "accounts.json"),
                "records_path": "data.accounts",
                "primary_keys": ["code"],
            },
        ]
    }


_SUITE_DIR = Path(tempfile.mkdtemp(prefix="crmhub-files-suite-"))
atexit.register(shutil.rmtree, _SUITE_DIR, ignore_errors=True)
SUITE_CONFIG = write_sample_exports(_SUITE_DIR)

# The whole built-in suite runs; nothing is skipped. Every stream returns records, so
# the default SuiteConfig applies (ignore_no_records stays False).
# `_crmhub_error` only appears on quarantined rows, so streams without one trigger two
# expected singer-sdk warnings about it; any other warning stays visible.
pytestmark = [
    pytest.mark.filterwarnings(
        r"ignore:Fields in transformed catalog but not in records. \(\{'_crmhub_error'\}\)"
    ),
    pytest.mark.filterwarnings("ignore:No records were available to test"),
]

TestTapFiles = get_tap_test_class(TapFiles, config=SUITE_CONFIG, suite_config=SuiteConfig())


def test_sample_exports_read_as_expected(run_tap: Any) -> None:
    run = run_tap(TapFiles, SUITE_CONFIG)
    assert [r["id"] for r in run.good("customers")] == [1, 2, 4]
    assert run.good("customers")[1] == {
        "id": 2,
        "name": "Bob, Jr.",
        "vip": False,
        "balance": None,
        "updated_at": "2024-01-02T09:00:00Z",
    }
    assert run.good("customers")[2]["name"] == "Dee\nSecond line"
    [bad] = run.bad("customers")
    assert bad["id"] == 3
    assert bad[ERROR_PROPERTY]["location"] == "customers.csv:4"
    assert run.records("contacts")[1]["meta"] == {"src": "crm"}
    assert run.schema("contacts")["properties"]["score"]["type"] == ["number", "null"]
    assert [r["code"] for r in run.records("accounts")] == ["A1", "A2"]


# --- the quarantine convention -------------------------------------------------------

SCHEMA_WITH_AGE = {"id": {"type": ["integer", "null"]}, "age": {"type": ["integer", "null"]}}

QUARANTINE_CASES = [
    pytest.param(
        "people.csv",
        b"id,name\n1,Ann\n2,Bob,extra\n3,Cid\n",
        {},
        {"id": "2", "location": "people.csv:3", "raw": "2,Bob,extra", "reason": "3 columns"},
        id="csv-wrong-column-count",
    ),
    pytest.param(
        "people.csv",
        b"id,name\n1,Ann\n2,Jos\xe9\n3,Cid\n",
        {},
        {"id": "2", "location": "people.csv:3", "raw": "2,Jos\\xe9", "reason": "utf-8"},
        id="csv-undecodable-bytes",
    ),
    pytest.param(
        "people.csv",
        b"id,age\n1,30\n2,abc\n3,41\n",
        {"schema": SCHEMA_WITH_AGE},
        {
            "id": 2,
            "location": "people.csv:3",
            "raw": "2,abc",
            "reason": "column 'age': expected integer, got 'abc'",
        },
        id="csv-wrong-type-declared-schema",
    ),
    pytest.param(
        "people.csv",
        b'id,name\n1,Ann\n2,"Bob"x\n3,Cid\n',
        {},
        {"id": None, "location": "people.csv:3", "raw": '2,"Bob"x', "reason": "malformed CSV"},
        id="csv-bad-quoting",
    ),
    pytest.param(
        "people.jsonl",
        b'{"id": 1}\n{"id": 2,\n{"id": 3}\n',
        {},
        {"id": None, "location": "people.jsonl:2", "raw": '{"id": 2,', "reason": "invalid JSON"},
        id="jsonl-bad-json",
    ),
    pytest.param(
        "people.jsonl",
        b'{"id": 1}\n[2, "Bob"]\n{"id": 3}\n',
        {},
        {
            "id": None,
            "location": "people.jsonl:2",
            "raw": '[2, "Bob"]',
            "reason": "JSON line is an array, not an object",
        },
        id="jsonl-not-an-object",
    ),
    pytest.param(
        "people.jsonl",
        b'{"id": 1}\n{"id": 2, "name": "Jos\xe9"}\n{"id": 3}\n',
        {},
        {
            "id": 2,
            "location": "people.jsonl:2",
            "raw": '{"id": 2, "name": "Jos\\xe9"}',
            "reason": "undecodable bytes for encoding utf-8",
        },
        id="jsonl-undecodable-bytes",
    ),
    pytest.param(
        "people.json",
        b'[{"id": 1}, "two", {"id": 3}]',
        {},
        {
            "id": None,
            "location": "people.json#/1",
            "raw": '"two"',
            "reason": "JSON item is a string, not an object",
        },
        id="json-item-not-an-object",
    ),
    pytest.param(
        "people.json",
        b'[{"id": 1}, {"id": 2, "name": "Jos\xe9"}, {"id": 3}]',
        {},
        {
            "id": 2,
            "location": "people.json#/1",
            "raw": '{"id": 2, "name": "Jos\\xe9"}',
            "reason": "undecodable bytes",
        },
        id="json-undecodable-bytes",
    ),
]


@pytest.mark.parametrize(("name", "content", "extra", "expected"), QUARANTINE_CASES)
def test_bad_row_is_quarantined_and_neighbours_pass(
    run_tap: Any,
    write_file: Any,
    name: str,
    content: bytes,
    extra: dict[str, Any],
    expected: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # each row's detail is DEBUG; a sync prints one count
    path = write_file(name, content)
    run = run_tap(TapFiles, {"streams": [{"name": "people", "path": str(path), **extra}]})

    [bad] = run.bad("people")
    error = bad[ERROR_PROPERTY]
    assert set(error) == {"reason", "raw", "location"}
    assert expected["reason"] in error["reason"]
    assert error["location"] == expected["location"]
    assert error["raw"] == expected["raw"]
    assert bad["id"] == expected["id"]
    good_ids = [str(r["id"]) for r in run.good("people")]
    assert good_ids == ["1", "3"]
    assert any(expected["location"] in m for m in caplog.messages)


def test_unparseable_json_document_is_one_quarantined_record(run_tap: Any, write_file: Any) -> None:
    path = write_file("broken.json", '[\n  {"id": 1},\n  {"id": 2\n]\n')
    run = run_tap(TapFiles, {"streams": [{"name": "people", "path": str(path)}]})
    [bad] = run.records("people")
    assert bad[ERROR_PROPERTY]["location"] == "broken.json:4"
    assert "invalid JSON document" in bad[ERROR_PROPERTY]["reason"]


def test_unterminated_quote_quarantines_its_row_only(run_tap: Any, write_file: Any) -> None:
    path = write_file("people.csv", 'id,name\n1,Ann\n2,"Bob\n3,Cid\n')
    run = run_tap(TapFiles, {"streams": [{"name": "people", "path": str(path)}]})
    assert [r["id"] for r in run.good("people")] == ["1", "3"]
    [bad] = run.bad("people")
    assert bad[ERROR_PROPERTY] == {
        "reason": "malformed CSV: unclosed quote; the lines after it are read as rows of their "
        "own (unexpected end of data)",
        "raw": '2,"Bob',
        "location": "people.csv:3",
    }


def test_an_unclosed_quote_mid_file_does_not_swallow_the_good_rows_after_it(
    run_tap: Any, write_file: Any
) -> None:
    rows = "".join(f"{i},Name {i}\n" for i in range(4, 10))
    path = write_file("people.csv", f'id,name\n1,Ann\n2,"Bob\n3,Cid\n{rows}10,"Quoted, Closed"\n')
    run = run_tap(TapFiles, {"streams": [{"name": "people", "path": str(path)}]})
    assert [r["id"] for r in run.good("people")] == [str(i) for i in range(1, 11) if i != 2]
    assert run.good("people")[-1]["name"] == "Quoted, Closed"
    [bad] = run.bad("people")
    assert bad[ERROR_PROPERTY]["location"] == "people.csv:3"
    assert bad[ERROR_PROPERTY]["raw"] == '2,"Bob'
    assert "unclosed quote" in bad[ERROR_PROPERTY]["reason"]


def test_a_quoted_field_over_several_lines_is_still_one_row(run_tap: Any, write_file: Any) -> None:
    path = write_file("people.csv", 'id,name,street\n1,Ann,"Main St 1\nFlat 2"\n2,Bob,Elm\n')
    run = run_tap(TapFiles, {"streams": [{"name": "people", "path": str(path)}]})
    assert [r["street"] for r in run.good("people")] == ["Main St 1\nFlat 2", "Elm"]
    assert run.bad("people") == []


def test_null_primary_keys_are_passed_through(run_tap: Any, write_file: Any) -> None:
    path = write_file("people.csv", "id,name\n,Nobody\n1,Ann\n")
    run = run_tap(TapFiles, {"streams": [{"name": "people", "path": str(path)}]})
    assert run.records("people") == [{"id": None, "name": "Nobody"}, {"id": "1", "name": "Ann"}]


# --- reading details -------------------------------------------------------------------


def test_glob_reads_files_in_sorted_order_with_bom_and_latin1(
    run_tap: Any, write_file: Any
) -> None:
    write_file("in/b.csv", "id;name\n2;Zoë\n".encode("latin-1"))
    write_file("in/a.csv", "id;name\n1;Ann\n".encode("latin-1"))
    write_file("in/skip.txt", "not matched")
    pattern = str(write_file("in/c.csv", "id;name\n").parent / "*.csv")
    config = {"name": "p", "path": pattern, "encoding": "latin-1", "delimiter": ";"}
    run = run_tap(TapFiles, {"streams": [config]})
    assert run.records("p") == [{"id": "1", "name": "Ann"}, {"id": "2", "name": "Zoë"}]


def test_utf8_bom_is_not_part_of_the_first_column(run_tap: Any, write_file: Any) -> None:
    path = write_file("bom.csv", b"\xef\xbb\xbfid,name\n1,Ann\n")
    run = run_tap(TapFiles, {"streams": [{"name": "p", "path": str(path)}]})
    assert run.records("p") == [{"id": "1", "name": "Ann"}]


def test_schema_inference_reads_at_most_1000_records(write_file: Any) -> None:
    lines = [json.dumps({"id": i, "n": i}) for i in range(1000)] + ['{"id": 1000, "late": 1}']
    path = write_file("big.jsonl", "\n".join(lines) + "\nthis line is never parsed\n")
    tap = TapFiles(config={"streams": [{"name": "big", "path": str(path)}]})
    properties = tap.streams["big"].schema["properties"]
    assert set(properties) == {"id", "n", ERROR_PROPERTY}


def test_missing_primary_key_column_is_added_to_schema(write_file: Any) -> None:
    path = write_file("p.csv", "code,name\nA,Ann\n")
    tap = TapFiles(config={"streams": [{"name": "p", "path": str(path)}]})
    assert tap.streams["p"].schema["properties"]["id"] == {"type": ["string", "null"]}


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        pytest.param({"name": "p", "path": "p.txt"}, "cannot tell the format", id="unknown-ext"),
        pytest.param({"name": "p", "path": "p.csv", "encoding": "utf-16"}, "not ASCII", id="utf16"),
        pytest.param({"name": "p", "path": "p.csv", "encoding": "nope"}, "unknown enc", id="enc"),
    ],
)
def test_invalid_stream_config_is_rejected(stream: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigValidationError, match=message):
        TapFiles(config={"streams": [stream]})


def test_missing_file_is_a_clear_fatal_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ConnectorFatalError, match="stream 'p': file not found"):
        TapFiles(config={"streams": [{"name": "p", "path": str(missing)}]})


def test_glob_without_matches_yields_no_records(run_tap: Any, tmp_path: Path) -> None:
    run = run_tap(TapFiles, {"streams": [{"name": "p", "path": str(tmp_path / "*.csv")}]})
    assert run.records("p") == []


COERCE_CASES = [
    pytest.param("42", {"type": ["integer", "null"]}, 42, id="int"),
    pytest.param(" 7 ", {"type": "integer"}, 7, id="int-padded"),
    pytest.param("", {"type": ["integer", "null"]}, None, id="empty-is-null"),
    pytest.param("2.5", {"type": ["number"]}, 2.5, id="number"),
    pytest.param("Yes", {"type": ["boolean"]}, True, id="bool-yes"),
    pytest.param("0", {"type": ["boolean"]}, False, id="bool-zero"),
    pytest.param("2024-01-02", {"type": "string", "format": "date"}, "2024-01-02", id="date"),
    pytest.param('{"a": 1}', {"type": ["object", "null"]}, {"a": 1}, id="object-from-text"),
    pytest.param(3, {"type": ["string"]}, "3", id="number-to-string"),
    pytest.param(4.0, {"type": ["integer"]}, 4, id="whole-float-to-int"),
    pytest.param("x", {}, "x", id="untyped-passes"),
]


@pytest.mark.parametrize(("value", "schema", "expected"), COERCE_CASES)
def test_coerce(value: Any, schema: dict[str, Any], expected: Any) -> None:
    assert coerce(value, schema) == expected


@pytest.mark.parametrize(
    ("value", "schema"),
    [
        pytest.param("abc", {"type": "integer"}, id="int"),
        pytest.param("1.5", {"type": "integer"}, id="fraction"),
        pytest.param("nan", {"type": "number"}, id="nan"),
        pytest.param("maybe", {"type": "boolean"}, id="bool"),
        pytest.param(True, {"type": "integer"}, id="bool-is-not-int"),
        pytest.param("2024-13-01", {"type": "string", "format": "date"}, id="bad-date"),
        pytest.param("yesterday", {"type": "string", "format": "date-time"}, id="bad-dt"),
    ],
)
def test_coerce_rejects(value: Any, schema: dict[str, Any]) -> None:
    with pytest.raises(CoercionError, match="expected"):
        coerce(value, schema)


# --- incremental ----------------------------------------------------------------------


def test_second_run_reads_only_rows_at_or_after_the_bookmark(run_tap: Any, write_file: Any) -> None:
    path = write_file("customers.csv", CUSTOMERS_CSV)
    config = {
        "streams": [
            {
                "name": "customers",
                "path": str(path),
                "schema": CUSTOMER_SCHEMA,
                "replication_key": "updated_at",
            }
        ]
    }
    first = run_tap(TapFiles, config)
    assert [r["id"] for r in first.records("customers")] == [1, 2, 3, 4]
    bookmark = first.state["bookmarks"]["customers"]
    assert bookmark["replication_key_value"] == "2024-01-04T09:00:00Z"
    assert "progress_markers" not in bookmark

    with path.open("a", encoding="utf-8") as handle:
        handle.write("5,Eve,no,1,2024-01-05T09:00:00Z\n")
        handle.write("6,Old,no,1,2023-12-31T09:00:00Z\n")  # older than the bookmark
        handle.write("7,Bad,no,oops,2023-12-30T09:00:00Z\n")  # bad rows always come
    second = run_tap(TapFiles, config, state=first.state)

    # The bookmark is inclusive (Singer convention): the boundary row comes again.
    assert [r["id"] for r in second.good("customers")] == [4, 5]
    assert [r["id"] for r in second.bad("customers")] == [3, 7]
    assert second.state["bookmarks"]["customers"]["replication_key_value"] == (
        "2024-01-05T09:00:00Z"
    )


# --- standalone CLI -------------------------------------------------------------------


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    code = "from connectors.files import TapFiles; TapFiles.cli()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        timeout=120,
    )


def test_cli_about_discover_and_sync(tmp_path: Path) -> None:
    about = json.loads(_cli("--about", "--format", "json").stdout)
    assert about["name"] == "tap-crmhub-files"
    assert "streams" in about["settings"]["properties"]

    (tmp_path / "people.csv").write_text("id,name\n1,Ann\n", encoding="utf-8")
    config = tmp_path / "config.json"
    # A relative path resolves against the working directory.
    config.write_text(json.dumps({"streams": [{"name": "people", "path": "people.csv"}]}))

    catalog = json.loads(_cli("--discover", "--config", str(config), cwd=tmp_path).stdout)
    assert [s["tap_stream_id"] for s in catalog["streams"]] == ["people"]

    output = _cli("--config", str(config), cwd=tmp_path).stdout
    messages = [json.loads(line) for line in output.splitlines()]
    types = [m["type"] for m in messages]
    assert "RECORD" in types
    assert types[-1] == "STATE"
    assert next(m for m in messages if m["type"] == "RECORD")["record"] == {
        "id": "1",
        "name": "Ann",
    }


def test_an_empty_file_says_so(run_tap: Any, write_file: Any, caplog: Any) -> None:
    path = write_file("people.csv", "")
    run = run_tap(TapFiles, {"streams": [{"name": "people", "path": str(path)}]})
    assert run.good("people") == [] and run.bad("people") == []
    assert any("people.csv: file is empty" in r.getMessage() for r in caplog.records)
