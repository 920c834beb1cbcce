"""The analytics API's members export: JSON and CSV, formula-looking text neutralised."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hub.core.files import neutralise
from hub.steward import create_token
from hub.store.tables import customer_profiles, golden_records
from hub.web.app import create_app
from tests.hub.conftest import ResolvedHub


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Anna Kovács", "Anna Kovács"),
        (-12.5, -12.5),  # numbers are data, not formulas
        (None, None),
    ],
)
def test_neutralise(cell: object, shown: object) -> None:
    assert neutralise(cell) == shown


def test_members_as_json_and_csv(sqlite_hub: ResolvedHub) -> None:
    anna = sqlite_hub.crosswalk()[("erp", "1001")]
    g = golden_records.c
    with sqlite_hub.store.transaction() as conn:
        record = conn.execute(sa.select(g.record).where(g.golden_id == anna)).scalar_one()
        record = {**record, "given_name": "=cmd|' /C calc'!A0", "family_name": None}
        conn.execute(golden_records.update().where(g.golden_id == anna).values(record=record))
        stage = conn.execute(
            sa.select(customer_profiles.c.stage).where(customer_profiles.c.golden_id == anna)
        ).scalar_one()
        token = create_token(conn, "vera", "test", actor="test")
    client = TestClient(create_app(sqlite_hub.config, sqlite_hub.store))
    client.headers["Authorization"] = f"Bearer {token}"
    url = f"/api/analytics/segments/stage/{stage}/members"

    as_json = client.get(url).json()
    assert as_json["segmentation"] == "stage" and as_json["segment"] == stage
    assert any(m["golden_id"] == anna for m in as_json["members"])

    as_csv = client.get(url, params={"format": "csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == len(as_json["members"])
    [mine] = [r for r in rows if r["golden_id"] == anna]
    assert mine["name"] == "'=cmd|' /C calc'!A0"
    assert client.get("/api/analytics/segments/nope").status_code == 404
    assert client.get("/api/analytics/customers/G-none").status_code == 404
    assert client.get(url, params={"format": "xml"}).status_code == 422
    spec = client.get("/openapi.json").json()["paths"]
    assert {"/api/analytics/runs/last", "/api/analytics/lorenz"} <= set(spec)
