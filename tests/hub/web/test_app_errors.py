"""A request body that a validator refuses is a 422 naming the field, never a 500, whatever
exception the validator raises (a plain ValueError carries itself in the error's ctx)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator

from hub.web import create_app
from tests.hub.conftest import ResolvedHub


class Visit(BaseModel):
    topic: str

    @field_validator("topic")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("topic must not be blank")
        return value


def test_a_plain_value_error_in_a_body_validator_is_a_422(sqlite_hub: ResolvedHub) -> None:
    app = create_app(sqlite_hub.config, sqlite_hub.store)

    @app.post("/api/_probe")  # added for the test: the app has no route with such a validator
    def probe(visit: Visit) -> dict[str, str]:
        return {"topic": visit.topic}

    with TestClient(app) as client:
        response = client.post("/api/_probe", json={"topic": "  "})
        ok = client.post("/api/_probe", json={"topic": "boiler"})
    assert response.status_code == 422, response.text
    body = response.json()
    assert "topic: Value error, topic must not be blank" in body["detail"]
    assert body["errors"][0]["ctx"] == {"error": "topic must not be blank"}
    assert ok.status_code == 200
