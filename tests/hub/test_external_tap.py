"""Any Singer tap works as a source: the real `tap-jsonl` from PyPI, run as a subprocess."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.core.errors import SyncError
from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records, quarantine, raw_records
from hub.sync.run import sync
from hub.sync.runners import install_error, install_plugin
from schemas.config import ConnectorConfig, load_config

NO_RETRY = RetryPolicy(attempts=1)
SCHEMA = {
    "type": "SCHEMA",
    "stream": "s",
    "key_properties": ["id"],
    "schema": {"properties": {"id": {"type": "integer"}}},
}
SCHEMA_LINE = f"echo '{json.dumps(SCHEMA)}'"


@pytest.fixture(scope="session")
def tap_jsonl(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tap-jsonl installed from PyPI into its own virtualenv, as the hub does for pip_url."""
    plugins = Path(os.environ.get("CRMHUB_PLUGIN_DIR") or tmp_path_factory.mktemp("plugins"))
    conn = ConnectorConfig(
        name="tap-jsonl", type="singer", pip_url="tap-jsonl", executable="tap-jsonl"
    )
    return str(install_plugin(conn, plugins))


def project(tmp_path: Path, executable: str, store_url: str) -> Path:
    (tmp_path / "people.jsonl").write_text(
        json.dumps({"id": 1, "name": "Anna Kovács", "email": "anna@example.hu"})
        + "\n"
        + json.dumps({"id": 2, "name": "Bill Smith", "email": "bill@example.com"})
        + "\n"
        + json.dumps({"id": None, "name": "Nobody", "email": "no@id"})
        + "\n",
        encoding="utf-8",
    )
    (tmp_path / "hub.yaml").write_text(
        f"""
store: {{url: "{store_url}"}}
connectors:
  - name: legacy
    type: singer
    executable: {executable}
    config: {{path: people.jsonl, stream_name: people, primary_keys: [id]}}
    streams:
      people:
        entity: customer
        mapping:
          given_name: {{split: name, part: first}}
          family_name: {{split: name, part: rest}}
          full_name: name
"""
    )
    return tmp_path / "hub.yaml"


def test_tap_jsonl_subprocess_end_to_end(tmp_path: Path, tap_jsonl: str, store_url: str) -> None:
    cfg = load_config(project(tmp_path, tap_jsonl, store_url))
    store = Store.from_config(cfg)
    store.migrate()
    [first] = sync(cfg, store, retry=NO_RETRY)
    assert first.ok, first.error
    assert (first.counts.read, first.counts.inserted, first.counts.quarantined) == (3, 2, 1)
    with store.engine.connect() as conn:
        names = conn.execute(
            sa.select(customer_records.c.given_name, customer_records.c.family_name).order_by(
                customer_records.c.source_id
            )
        ).all()
        reason = conn.execute(sa.select(quarantine.c.reason)).scalar_one()
    assert [tuple(n) for n in names] == [("Anna", "Kovács"), ("Bill", "Smith")]
    assert "missing id" in reason
    bookmark = store.load_state("legacy")["bookmarks"]["people"]  # the tap's, kept as it was:
    assert str(tmp_path / "people.jsonl") in json.dumps(bookmark)  # it names the file it read

    [again] = sync(cfg, store, full_refresh=True, retry=NO_RETRY)
    assert again.ok and again.counts.inserted == again.counts.updated == 0
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar_one() == 2


def fake_tap(tmp_path: Path, body: str) -> str:
    script = tmp_path / "tap-fake"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_lines_that_are_not_singer_messages_are_quarantined(tmp_path: Path) -> None:
    exe = fake_tap(
        tmp_path,
        SCHEMA_LINE
        + """
echo 'this is not json'
echo '{"type":"RECORD","stream":"s","record":{"id":1}}'
echo '{"type":"STATE","value":{"bookmarks":{"s":{"x":1}}}}'
""",
    )
    cfg = load_config(project(tmp_path, exe, f"sqlite:///{tmp_path / 'hub.db'}"))
    store = Store.from_config(cfg)
    store.migrate()
    [result] = sync(cfg, store, retry=NO_RETRY)
    assert result.ok and result.counts.inserted == 1 and result.counts.quarantined == 1
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(quarantine.c.stage, quarantine.c.raw)).one()
    assert tuple(row) == ("protocol", "this is not json\n")


def test_a_failing_tap_is_one_clear_line_and_keeps_committed_data(tmp_path: Path) -> None:
    exe = fake_tap(
        tmp_path,
        SCHEMA_LINE
        + """
echo '{"type":"RECORD","stream":"s","record":{"id":1}}'
echo '{"type":"STATE","value":{"bookmarks":{"s":{"x":1}}}}'
echo 'Traceback (most recent call last):' >&2
echo 'PermissionError: 401 Unauthorized — bad credentials' >&2
exit 1
""",
    )
    cfg = load_config(project(tmp_path, exe, f"sqlite:///{tmp_path / 'hub.db'}"))
    store = Store.from_config(cfg)
    store.migrate()
    [result] = sync(cfg, store, retry=NO_RETRY)
    assert not result.ok
    log = tmp_path / ".crmhub" / "logs" / f"run-{result.run_id}-legacy.log"
    assert result.error == (
        "tap exited with code 1: PermissionError: 401 Unauthorized — bad credentials"
        f" (tap log: {log})"
    )
    assert "Traceback (most recent call last):" in log.read_text(encoding="utf-8")
    assert store.load_state("legacy") == {"bookmarks": {"s": {"x": 1}}}
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(raw_records)).scalar_one() == 1


INSTALL_OUTPUTS = [
    (
        "uv, a package the registry does not have",
        "error: No solution found when resolving dependencies\n"
        "  cause: Because there is no version of tap-x==99.0 and you require tap-x==99.0, "
        "we can conclude that your requirements are unsatisfiable.\n",
        "No solution found when resolving dependencies: Because there is no version of "
        "tap-x==99.0 and you require tap-x==99.0, we can conclude that your requirements "
        "are unsatisfiable.",
    ),
    (
        "uv, a dependency that does not build on this Python",
        "error: Failed to build `psycopg2==2.7.4`\n  cause: The build backend returned an "
        "error\n   gcc -c psycopg/psycopgmodule.c\n   psycopg/psycopgmodule.c:685:18: error: "
        "invalid use\nhint: Build failures usually indicate a problem with the package\n",
        "Failed to build `psycopg2==2.7.4`: The build backend returned an error",
    ),
    (
        "uv's tree form",
        "  \u00d7 No solution found when resolving dependencies:\n"
        "  \u2570\u2500\u25b6 Because tap-y was not found in the package registry\n",
        "No solution found when resolving dependencies: Because tap-y was not found in the "
        "package registry",
    ),
    (
        "pip",
        "ERROR: Could not find a version that satisfies the requirement tap-z==9\n"
        "ERROR: No matching distribution found for tap-z==9\n",
        "Could not find a version that satisfies the requirement tap-z==9",
    ),
    ("no error line: the last one that is not a hint", "warming up\nboom\nhint: x\n", "boom"),
    ("nothing", "", "no output"),
]


@pytest.mark.parametrize(
    ("case", "output", "said"), INSTALL_OUTPUTS, ids=[c[0] for c in INSTALL_OUTPUTS]
)
def test_install_error_names_the_failure_not_the_hint(case: str, output: str, said: str) -> None:
    assert install_error(output) == said


def test_a_failed_install_says_why_and_keeps_the_output(tmp_path: Path) -> None:
    conn = ConnectorConfig(
        name="tap-missing", type="singer", pip_url="tap-jsonl==99.0.0", executable="tap-jsonl"
    )
    with pytest.raises(SyncError) as info:
        install_plugin(conn, tmp_path)
    said = str(info.value)
    assert said.startswith("tap-missing: could not install 'tap-jsonl==99.0.0': ")
    assert "tap-jsonl==99.0.0" in said.split(": ", 2)[2]  # the cause, not a hint
    assert f"(installer output: {tmp_path / 'tap-missing.install.log'})" in said
    assert "tap-jsonl" in (tmp_path / "tap-missing.install.log").read_text()


def test_a_stream_without_a_key_is_warned_about(tmp_path: Path) -> None:
    keyless = {**SCHEMA, "key_properties": []}
    exe = fake_tap(
        tmp_path,
        f"echo '{json.dumps(keyless)}'\n"
        """echo '{"type":"RECORD","stream":"s","record":{"id":1}}'\n""",
    )
    cfg = load_config(project(tmp_path, exe, f"sqlite:///{tmp_path / 'hub.db'}"))
    store = Store.from_config(cfg)
    store.migrate()
    [result] = sync(cfg, store, retry=NO_RETRY)
    assert result.ok and result.counts.inserted == 1
    assert result.warnings == [
        "stream(s) s declare no key, so each distinct record is its own id and a changed row "
        "is stored as a new record — set `key_properties` under the stream in hub.yaml"
    ]


def test_a_python_that_is_not_installed_is_named(tmp_path: Path) -> None:
    conn = ConnectorConfig(
        name="tap-old", type="singer", pip_url="tap-jsonl", python="python2.6-nowhere"
    )
    with pytest.raises(SyncError) as info:
        install_plugin(conn, tmp_path)
    assert str(info.value) == (
        "tap-old: python: 'python2.6-nowhere' is not installed here — install it or drop "
        "`python:` to use the hub's own"
    )


def test_an_install_waits_for_the_one_under_way_and_uses_its_result(tmp_path: Path) -> None:
    """Two syncs (or test workers) asking for one plugin at once: the second waits on the
    plugin's lock and finds the first one's install, instead of installing over it."""
    conn = ConnectorConfig(
        name="tap-shared", type="singer", pip_url="tap-jsonl==0.1.0", executable="tap-jsonl"
    )
    found: list[Path] = []
    with (tmp_path / ".tap-shared.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # an install under way
        waiting = threading.Thread(target=lambda: found.append(install_plugin(conn, tmp_path)))
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and not found  # it waits for the lock
        exe = tmp_path / "tap-shared" / "bin" / "tap-jsonl"  # what that install leaves
        exe.parent.mkdir(parents=True)
        exe.write_text("#!/bin/sh\n")
        (tmp_path / "tap-shared" / ".crmhub-pip-url").write_text("tap-jsonl==0.1.0")
    waiting.join(timeout=30)
    assert found == [exe]
    assert not (tmp_path / "tap-shared" / "bin" / "python").exists()  # nothing installed again
