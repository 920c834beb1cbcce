"""The `sql` tap's direct RECORD path gives exactly singer-sdk's own messages, and steps
aside whenever a catalog deselects a property or a stream map is configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from singer_sdk.singerlib import RecordMessage

from connectors import TapSQL
from connectors.sql import SQLStream
from tests.connectors.test_sql_tap import create_erp_db, erp_config


class Capture:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any], int | None]] = []

    def write_message(self, message: Any) -> None:
        if isinstance(message, RecordMessage):
            self.records.append((message.stream, dict(message.record), message.version))


def records(config: dict[str, Any], *, direct: bool, catalog: Any = None) -> list[Any]:
    capture = Capture()
    tap = TapSQL(config=config, catalog=catalog, message_writer=capture)
    for stream in tap.streams.values():
        assert isinstance(stream, SQLStream)
        if not direct:  # force singer-sdk's general path for the reference
            stream._plain_messages = False
    tap.sync_all()
    return capture.records


def test_direct_path_equals_singer_sdk_path(tmp_path: Path) -> None:
    config = erp_config(create_erp_db(tmp_path / "erp.db"))
    direct = records(config, direct=True)
    assert len(direct) > 10
    assert direct == records(config, direct=False)


def test_a_deselected_property_is_still_dropped(tmp_path: Path) -> None:
    config = erp_config(create_erp_db(tmp_path / "erp.db"))
    catalog = TapSQL(config=config).catalog_dict
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if entry["tap_stream_id"] == "customers" and item["breadcrumb"] == [
                "properties",
                "email",
            ]:
                item["metadata"]["selected"] = False
    found = records(config, direct=True, catalog=catalog)
    customers = [r for stream, r, _ in found if stream == "customers"]
    assert customers and all("email" not in r for r in customers)
    assert all("name" in r for r in customers)


def test_a_stream_map_is_still_applied(tmp_path: Path) -> None:
    config = erp_config(create_erp_db(tmp_path / "erp.db"))
    config["stream_maps"] = {"customers": {"email": None, "shout": "name.upper()"}}
    found = records(config, direct=True)
    customers = [r for stream, r, _ in found if stream == "customers"]
    assert customers and all("email" not in r for r in customers)
    assert customers[0]["shout"] == customers[0]["name"].upper()
