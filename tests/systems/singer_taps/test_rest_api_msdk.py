"""`tap-rest-api-msdk` 1.4.2 (singer-sdk's generic REST tap) from PyPI against a real local
HTTP server of a paged JSON API, configured only in hub.yaml: every page read, a second
read changes nothing, a changed row updates one record and a row gone from the API is
flagged deleted (a full read: the tap names no replication key). Issue 13: "any Singer tap
a Meltano user already runs works here unchanged"."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from hub.core.retry import RetryPolicy
from hub.store.database import Store
from hub.store.tables import customer_records
from hub.sync.run import sync
from hub.sync.runners import install_plugin
from schemas.config import ConnectorConfig, load_config
from tests.systems.servers import REPO

REST_API = "tap-rest-api-msdk==1.4.2"
NO_RETRY = RetryPolicy(attempts=1)
PAGE = 100


class CustomersApi(BaseHTTPRequestHandler):
    """GET /api/customers?page=N: {"data": [...], "hasMore": bool}, 100 a page."""

    rows: list[dict[str, Any]] = []
    pages: list[int] = []

    def do_GET(self) -> None:
        query = parse_qs(urlparse(self.path).query)
        page = int(query.get("page", ["1"])[0])
        self.pages.append(page)
        chunk = self.rows[(page - 1) * PAGE : page * PAGE]
        body = json.dumps({"data": chunk, "hasMore": page * PAGE < len(self.rows)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def api() -> Iterator[tuple[str, type[CustomersApi]]]:
    handler = type("Api", (CustomersApi,), {"rows": [], "pages": []})
    handler.rows = [
        {"id": n, "name": f"Éva Kiss{n}", "email": f"eva{n}@example.hu"} for n in range(1, 251)
    ]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def rest_tap() -> Path:
    plugins = Path(os.environ.get("CRMHUB_PLUGIN_DIR") or REPO / ".venv" / "plugins")
    conn = ConnectorConfig(name="tap-rest-api-msdk", pip_url=REST_API)
    return install_plugin(conn, plugins)


def test_a_paged_rest_api_syncs_updates_and_deletes(
    tmp_path: Path,
    api: tuple[str, type[CustomersApi]],
    rest_tap: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, handler = api
    monkeypatch.setenv("CRMHUB_PLUGIN_DIR", str(rest_tap.parents[2]))
    (tmp_path / "hub.yaml").write_text(
        f"""
store: {{url: "sqlite:///{tmp_path / "hub.db"}"}}
connectors:
  - name: tap-rest-api-msdk
    pip_url: {REST_API}
    config:
      api_url: {url}
      pagination_request_style: page_number_paginator
      pagination_initial_offset: 1
      streams:
        - {{name: customers, path: /api/customers, primary_keys: [id], records_path: "$.data[*]"}}
    streams:
      customers:
        entity: customer
        mapping: {{full_name: name, email: email}}
""",
        encoding="utf-8",
    )
    cfg = load_config(tmp_path / "hub.yaml")
    store = Store.from_config(cfg)
    store.migrate()
    try:
        [first] = sync(cfg, store, retry=NO_RETRY)
        assert first.ok, first.error
        assert (first.counts.inserted, first.counts.quarantined) == (250, 0)
        assert {1, 2, 3} <= set(handler.pages)

        [again] = sync(cfg, store, retry=NO_RETRY)
        assert again.ok, again.error
        assert (again.counts.unchanged, again.counts.updated, again.counts.deleted) == (250, 0, 0)

        handler.rows[9]["email"] = "eva.new@example.hu"
        del handler.rows[-1]  # gone from the API
        [third] = sync(cfg, store, retry=NO_RETRY)
        assert third.ok, third.error
        assert (third.counts.updated, third.counts.deleted, third.counts.inserted) == (1, 1, 0)
        with store.engine.connect() as conn:
            rows = dict(
                conn.execute(
                    sa.select(customer_records.c.source_id, customer_records.c.email).where(
                        customer_records.c.deleted.is_(False)
                    )
                ).all()
            )
        assert len(rows) == 249 and rows["10"] == "eva.new@example.hu" and "250" not in rows
    finally:
        store.dispose()
