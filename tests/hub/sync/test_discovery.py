"""Discovery of an external tap (hub.sync.discovery): `--catalog` or `--properties` by
capability, the cache keyed by the non-secret config, `crmhub discover`, and a sync that
hands the tap its catalog.

The tap is a small Python script written by the test (a real subprocess, as the hub runs
any tap); it logs each call to `calls.jsonl` beside itself and, like
pipelinewise-tap-postgres, ignores property selection, sending every column.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core.errors import SyncError
from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import raw_records
from hub.sync.discovery import catalog_path, prepare_catalog, tap_error_line
from hub.sync.run import sync
from schemas.config import HubConfig, load_config, resolve_connector_config

TAP = """\
#!{python}
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
config = json.load(open(args[args.index("--config") + 1]))
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    flags = [a for a in args if a.startswith("--") and a != "--config"]
    log.write(json.dumps({{"flags": flags, "keys": sorted(config)}}) + "\\n")
if config.get("fail") and "--discover" in args:
    print("Traceback (most recent call last):", file=sys.stderr)
    print("psycopg2.OperationalError: FATAL:  password authentication failed", file=sys.stderr)
    print("", file=sys.stderr)
    print("(Background on this error at: https://sqlalche.me/e/20/e3q8)", file=sys.stderr)
    sys.exit(1)
if "--about" in args:
    caps = os.path.join(here, "caps.json")
    if not os.path.exists(caps):
        print("unrecognized arguments: --about", file=sys.stderr)
        sys.exit(2)
    print(open(caps).read())
    sys.exit(0)
PROPS = ["id", "name", "email", "secret_note"]
# a tap whose discovery selects every stream by default (as file taps' do)
DEFAULTS = {{"selected-by-default": True}} if config.get("defaults") else {{}}
def entry(sid):
    return {{
        "tap_stream_id": sid, "stream": sid,
        "schema": {{"type": "object", "properties": {{
            p: {{"type": "integer" if p == "id" else ["string", "null"]}} for p in PROPS}}}},
        "metadata": [{{"breadcrumb": [], "metadata": {{"table-key-properties": ["id"],
                                                    **DEFAULTS}}}}]
        + [{{"breadcrumb": ["properties", p],
             "metadata": {{"inclusion": "automatic" if p == "id" else "available"}}}}
           for p in PROPS],
    }}
if "--discover" in args:
    print(json.dumps({{"streams": [entry("people"), entry("things")]}}))
    sys.exit(0)
given = [a for a in ("--catalog", "--properties") if a in args]
streams = ["people", "things"]
if given and config.get("defaults") == "crash":  # tap-csv-folder 0.0.1a1 on any catalog
    print("AttributeError: property 'primary_keys' has no setter", file=sys.stderr)
    sys.exit(1)
if given:
    catalog = json.load(open(args[args.index(given[0]) + 1]))
    streams = [s["tap_stream_id"] for s in catalog["streams"]
               if any(not m["breadcrumb"] and m["metadata"].get("selected")
                      for m in s["metadata"])]
for sid in streams:  # every column, whatever the catalog says (as some taps do)
    print(json.dumps({{"type": "SCHEMA", "stream": sid, "key_properties": ["id"],
                      "schema": entry(sid)["schema"]}}))
    for n in (1, 2):
        print(json.dumps({{"type": "RECORD", "stream": sid, "record": {{
            "id": n, "name": f"N{{n}}", "email": f"n{{n}}@x.org", "secret_note": "private"}}}}))
"""

NO_RETRY = RetryPolicy(attempts=1)


def make_tap(folder: Path, capabilities: list[str] | None) -> Path:
    script = folder / "tap-fake"
    script.write_text(TAP.format(python=sys.executable), encoding="utf-8")
    script.chmod(0o755)
    if capabilities is not None:
        (folder / "caps.json").write_text(json.dumps({"capabilities": capabilities}))
    return script


def calls(folder: Path) -> list[dict[str, Any]]:
    log = folder / "calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def project(folder: Path, extra: str = "", config: str = "host: db.internal") -> HubConfig:
    (folder / "hub.yaml").write_text(
        f"""
store: {{url: "sqlite:///{folder / "hub.db"}"}}
connectors:
  - name: tap-fake
    namespace: tap_fake
    executable: ./tap-fake
    settings:
      - name: password
        kind: password
      - name: dsn
        sensitive: true
    config: {{{config}}}
{extra}
    streams:
      people:
        entity: customer
        mapping: {{full_name: name, email: email}}
""",
        encoding="utf-8",
    )
    return load_config(folder / "hub.yaml")


def prepare(cfg: HubConfig, refresh: bool = False) -> Any:
    conn = cfg.connectors[0]
    exe = str(cfg.base_dir / "tap-fake")
    return prepare_catalog(cfg, conn, resolve_connector_config(conn), exe, refresh=refresh)


FLAG_CASES: list[tuple[str, list[str] | None, str, str | None]] = [
    ("--about says catalog", ["catalog", "discover", "state"], "", "--catalog"),
    ("--about says properties", ["properties", "discover"], "", "--properties"),
    ("both: --catalog, the newer", ["properties", "catalog"], "", "--catalog"),
    ("neither: no catalog at all", ["discover", "state"], "", None),
    ("no --about (a singer-python tap)", None, "", None),
    (
        "hub.yaml's capabilities win over --about",
        ["catalog"],
        "    capabilities: [properties, discover, state]",
        "--properties",
    ),
    ("hub.yaml declares none", ["catalog"], "    capabilities: [state]", None),
]


@pytest.mark.parametrize(
    ("case", "about", "extra", "flag"), FLAG_CASES, ids=[c[0] for c in FLAG_CASES]
)
def test_catalog_or_properties_by_capability(
    tmp_path: Path, case: str, about: list[str] | None, extra: str, flag: str | None
) -> None:
    make_tap(tmp_path, about)
    prepared = prepare(project(tmp_path, extra))
    assert (prepared.flag if prepared else None) == flag
    asked = [c["flags"] for c in calls(tmp_path)]
    if "capabilities:" in extra:
        assert ["--about", "--format"] not in asked  # declared: the tap is not asked
    if flag is None:
        assert ["--discover"] not in asked  # a tap without a catalog is not discovered
    else:
        assert prepared.streams == ["people", "things"]


def test_the_cache_is_keyed_by_the_non_secret_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tap(tmp_path, ["catalog", "discover"])
    monkeypatch.setenv("TAP_FAKE_PASSWORD", "first-Secret-1")
    monkeypatch.setenv("TAP_FAKE_DSN", "dsn-Secret-1")
    cfg = project(tmp_path)
    prepare(cfg)
    cache = catalog_path(cfg, cfg.connectors[0])
    assert cache == tmp_path / ".crmhub" / "catalogs" / "tap-fake.json"
    first_key = json.loads(cache.read_text())["key"]
    discovered = [c for c in calls(tmp_path) if c["flags"] == ["--discover"]]
    assert discovered == [{"flags": ["--discover"], "keys": ["dsn", "host", "password"]}]

    # a changed secret: no rediscovery, the same key, and neither secret in the file
    monkeypatch.setenv("TAP_FAKE_PASSWORD", "second-Secret-2")
    monkeypatch.setenv("TAP_FAKE_DSN", "dsn-Secret-2")
    prepare(cfg)
    assert sum(c["flags"] == ["--discover"] for c in calls(tmp_path)) == 1
    text = cache.read_text()
    assert json.loads(text)["key"] == first_key
    assert "Secret" not in text

    # a changed non-secret setting: discovered again
    prepare(project(tmp_path, config="host: db2.internal"))
    assert sum(c["flags"] == ["--discover"] for c in calls(tmp_path)) == 2
    # refresh (what `crmhub check` and `crmhub discover` do): discovered again
    prepare(project(tmp_path, config="host: db2.internal"), refresh=True)
    assert sum(c["flags"] == ["--discover"] for c in calls(tmp_path)) == 3
    # an unreadable cache is not an error: discovered again
    cache.write_text("{not json")
    prepare(project(tmp_path, config="host: db2.internal"))
    assert sum(c["flags"] == ["--discover"] for c in calls(tmp_path)) == 4


def test_nested_secrets_stay_out_of_the_cache_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tap(tmp_path, ["catalog", "discover"])
    nested = "host: db.internal, ftp: {host: files.internal, password: '${FTP_PASSWORD}'}"
    monkeypatch.setenv("FTP_PASSWORD", "ftp-Secret-1")
    prepare(project(tmp_path, config=nested))
    monkeypatch.setenv("FTP_PASSWORD", "ftp-Secret-2")
    prepare(project(tmp_path, config=nested))
    assert sum(c["flags"] == ["--discover"] for c in calls(tmp_path)) == 1
    prepare(project(tmp_path, config=nested.replace("files.internal", "files2.internal")))
    assert sum(c["flags"] == ["--discover"] for c in calls(tmp_path)) == 2


def test_editing_select_needs_no_rediscovery(tmp_path: Path) -> None:
    make_tap(tmp_path, ["catalog", "discover"])
    assert prepare(project(tmp_path)).selected == ["people", "things"]
    again = prepare(project(tmp_path, "    select: [people.*]"))
    assert again.selected == ["people"]
    assert sum(c["flags"] == ["--discover"] for c in calls(tmp_path)) == 1


def test_crmhub_discover_refreshes_and_lists_the_selection(tmp_path: Path) -> None:
    make_tap(tmp_path, ["catalog", "discover"])
    prepare(project(tmp_path, "    select: [people.*, '!people.secret_note']"))  # cached
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "TAP_FAKE_PASSWORD": "pw-Secret"}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "discover"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sum(c["flags"] == ["--discover"] for c in calls(tmp_path)) == 2  # not the cache
    assert "tap-fake: 2 stream(s), 1 selected (passed as --catalog" in done.stdout
    assert "selected   people (3 properties)" in done.stdout
    assert "unselected things" in done.stdout
    assert "pw-Secret" not in (tmp_path / ".crmhub" / "catalogs" / "tap-fake.json").read_text()


def test_a_failing_discovery_reports_the_exception_line(tmp_path: Path) -> None:
    make_tap(tmp_path, ["catalog", "discover"])
    with pytest.raises(SyncError) as info:
        prepare(project(tmp_path, config="fail: true"))
    assert str(info.value) == (
        "tap-fake: --discover failed (exit 1): psycopg2.OperationalError: FATAL:  "
        "password authentication failed"
    )


UNDEF = 'UndefinedTable: relation "orders" does not exist'
ERROR_LINES = [
    ("the last exception", ["Traceback", "  File x", "ValueError: bad", "(Background on x)"]),
    (
        "a chained one, by its dotted name",
        ["KeyError: 'a'", "The above exception was the direct cause", f"psycopg2.errors.{UNDEF}"],
    ),
    ("an ERROR log line", ["INFO ok", "time=1 level=CRITICAL message=no access", "bye"]),
    (
        "an ERROR log line with the reasons logged just before it (singer-sdk)",
        [
            "2026-12-06 02:40:40,315 | INFO     | tap-jsonl | tap-jsonl v0.3.1",
            "2026-12-06 02:40:40,316 | ERROR    | tap-jsonl | 'path' is a required property",
            "2026-12-06 02:40:40,316 | ERROR    | tap-jsonl | Config validation failed",
        ],
    ),
    ("otherwise the last meaningful line", ["starting", "cannot open file", ""]),
    ("nothing at all", []),
]
EXPECTED = {
    "the last exception": "ValueError: bad",
    "a chained one, by its dotted name": f"psycopg2.errors.{UNDEF}",
    "an ERROR log line": "time=1 level=CRITICAL message=no access",
    "an ERROR log line with the reasons logged just before it (singer-sdk)": (
        "2026-12-06 02:40:40,316 | ERROR    | tap-jsonl | Config validation failed "
        "('path' is a required property)"
    ),
    "otherwise the last meaningful line": "cannot open file",
    "nothing at all": "no error output",
}


@pytest.mark.parametrize(("case", "lines"), ERROR_LINES, ids=[c[0] for c in ERROR_LINES])
def test_tap_error_line(case: str, lines: list[str]) -> None:
    assert tap_error_line(lines) == EXPECTED[case]


def test_sync_hands_the_catalog_and_drops_deselected_properties(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMHUB_PLUGIN_DIR", str(tmp_path / "plugins"))
    make_tap(tmp_path, ["properties", "discover"])
    cfg = project(tmp_path, "    select: [people.*, '!people.secret_note']")
    store = Store.from_config(cfg)
    store.migrate()
    try:
        [result] = sync(cfg, store, retry=NO_RETRY)
        assert result.ok, result.error
        assert (result.counts.read, result.counts.inserted) == (2, 2)
        with store.engine.connect() as conn:
            payloads = conn.execute(sa.select(raw_records.c.stream, raw_records.c.payload)).all()
    finally:
        store.dispose()
    assert {stream for stream, _ in payloads} == {"people"}  # `things` not selected
    for _, payload in payloads:
        record = json.loads(payload) if isinstance(payload, str) else payload
        assert set(record) == {"id", "name", "email"}  # the tap sent secret_note; dropped
    assert calls(tmp_path)[-1]["flags"] == ["--properties"]


def test_a_sync_selecting_nothing_fails_naming_the_patterns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMHUB_PLUGIN_DIR", str(tmp_path / "plugins"))
    make_tap(tmp_path, ["catalog", "discover"])
    cfg = project(tmp_path, "    select: [persons.*, '!things']")
    store = Store.from_config(cfg)
    store.migrate()
    try:
        [result] = sync(cfg, store, retry=NO_RETRY)
    finally:
        store.dispose()
    assert not result.ok
    assert result.error == (
        "the catalog selects no stream: select: persons.*, !things matches none of the "
        "tap's 2 stream(s) (people, things) — fix `select:` in hub.yaml; `crmhub discover` "
        "lists every stream and what is selected"
    )
    assert [c["flags"] for c in calls(tmp_path)].count(["--catalog"]) == 0  # never run


def test_many_streams_are_named_one_per_schema(tmp_path: Path) -> None:
    from hub.sync.discovery import TapCatalog, no_stream_selected

    streams = [f"information_schema-t{n:02}" for n in range(40)] + [
        "public-customers",
        "public-orders",
    ]
    cfg = project(tmp_path, "    select: ['crm-*.*']")
    message = no_stream_selected(cfg.connectors[0], TapCatalog({}, "--catalog", streams))
    assert "select: crm-*.* matches none of the tap's 42 stream(s)" in message
    assert (
        "(information_schema-t00 (+39 more like it), public-customers (+1 more like it))" in message
    )


def test_an_unset_select_is_named_as_the_default(tmp_path: Path) -> None:
    from hub.sync.discovery import TapCatalog, no_stream_selected

    cfg = project(tmp_path)
    message = no_stream_selected(cfg.connectors[0], TapCatalog({}, "--catalog", []))
    assert message.startswith("the catalog selects no stream: select: *.* (the default)")
    assert "0 stream(s) (none)" in message


WARNING_CASES: list[tuple[str, dict[str, int], dict[str, object], list[str]]] = [
    (
        "records under the tap_stream_id",
        {"erp-public-customers": 3, "erp-public-orders": 1},
        {},
        [],
    ),
    ("records under the stream name (singer-io taps)", {"customers": 3, "orders": 1}, {}, []),
    (
        "a selected stream that sent nothing on a first sync",
        {"customers": 3},
        {},
        ["selected stream(s) erp-public-orders sent no records"],
    ),
    (
        "nothing new on an incremental run is normal",
        {"customers": 3},
        {"bookmarks": {"erp-public-orders": {"replication_key_value": "2026-01-01"}}},
        [],
    ),
]


@pytest.mark.parametrize(
    ("case", "records", "state", "expected"), WARNING_CASES, ids=[c[0] for c in WARNING_CASES]
)
def test_empty_stream_warnings_know_both_names_of_a_stream(
    case: str, records: dict[str, int], state: dict[str, object], expected: list[str]
) -> None:
    from collections import Counter

    from hub.sync.discovery import TapCatalog
    from hub.sync.run import tap_warnings
    from hub.sync.runners import TapReport

    streams = ["erp-public-customers", "erp-public-orders"]
    aliases = {"erp-public-customers": "customers", "erp-public-orders": "orders"}
    catalog = TapCatalog({}, "--catalog", streams, streams, aliases)
    warnings = tap_warnings(TapReport(records=Counter(records)), catalog, state)
    assert [w.partition(" — ")[0] for w in warnings] == expected


PASS_CASES: list[tuple[str, str, bool, list[str]]] = [
    ("no rules: the tap's defaults are the selection", "", False, ["people", "things"]),
    (
        "select: the same streams",
        "    select: ['*.*', '!*.secret_note']",
        False,
        ["people", "things"],
    ),
    ("select: fewer streams", "    select: [people.*]", True, ["people"]),
    (
        "metadata: rules",
        "    metadata: {people: {replication-method: FULL_TABLE}}",
        True,
        ["people", "things"],
    ),
    ("schema: rules", "    schema: {people: {name: {type: string}}}", True, ["people", "things"]),
]


@pytest.mark.parametrize(
    ("case", "extra", "passed", "selected"), PASS_CASES, ids=[c[0] for c in PASS_CASES]
)
def test_a_catalog_that_changes_nothing_is_not_handed_over(
    tmp_path: Path, case: str, extra: str, passed: bool, selected: list[str]
) -> None:
    make_tap(tmp_path, ["catalog", "discover"])
    prepared = prepare(project(tmp_path, extra, config="defaults: true"))
    assert (prepared.passed, prepared.selected) == (passed, selected)


def test_a_tap_that_breaks_on_catalogs_runs_on_its_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRMHUB_PLUGIN_DIR", str(tmp_path / "plugins"))
    make_tap(tmp_path, ["catalog", "discover"])
    cfg = project(tmp_path, "    select: ['*.*', '!people.secret_note']", config="defaults: crash")
    store = Store.from_config(cfg)
    store.migrate()
    try:
        [result] = sync(cfg, store, retry=NO_RETRY)
        with store.engine.connect() as conn:
            payloads = (
                conn.execute(
                    sa.select(raw_records.c.payload).where(raw_records.c.stream == "people")
                )
                .scalars()
                .all()
            )
    finally:
        store.dispose()
    assert result.ok, result.error
    assert (result.counts.read, result.counts.inserted) == (4, 4)
    assert calls(tmp_path)[-1]["flags"] == []  # run as it runs by itself
    for payload in payloads:  # and still without the deselected property
        record = json.loads(payload) if isinstance(payload, str) else payload
        assert "secret_note" not in record
