"""`crmhub check` on an external tap (hub.sync.check): the config is judged by the tap's own
settings schema from `--about` before anything connects, naming the setting and never its
value; keys the tap does not declare are named (singer-sdk taps ignore them silently)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.sync.check import check_connector
from hub.sync.discovery import config_problems
from tests.hub.sync.test_discovery import make_tap, project

SETTINGS = {
    "type": "object",
    "properties": {
        "host": {"type": "string"},
        "port": {"type": "integer"},
        "password": {"type": "string", "secret": True},
        "dsn": {"type": "string"},
        "mode": {"type": "string", "enum": ["full", "incremental"]},
    },
    "required": ["host", "port"],
}
ABOUT = {"name": "tap-fake", "capabilities": ["catalog", "discover"], "settings": SETTINGS}

CASES: list[tuple[str, dict[str, Any], list[str], list[str]]] = [
    ("valid", {"host": "db", "port": 5432}, [], []),
    ("a required setting missing", {"host": "db"}, ["missing required setting(s): port"], []),
    ("both missing", {}, ["missing required setting(s): host, port"], []),
    ("a wrong type", {"host": "db", "port": "5432"}, ["port must be integer"], []),
    (
        "a value outside the enum",
        {"host": "db", "port": 1, "mode": "fast"},
        ["mode must be one of ['full', 'incremental']"],
        [],
    ),
    ("a misspelt optional setting", {"host": "db", "port": 1, "mdoe": "full"}, [], ["mdoe"]),
]


@pytest.mark.parametrize(
    ("case", "settings", "problems", "undeclared"), CASES, ids=[c[0] for c in CASES]
)
def test_config_problems(
    case: str, settings: dict[str, Any], problems: list[str], undeclared: list[str]
) -> None:
    assert config_problems(ABOUT, settings) == (problems, undeclared)


def test_a_tap_without_a_settings_schema_is_not_judged() -> None:
    assert config_problems({}, {"anything": 1}) == ([], [])
    assert config_problems({"settings": {"type": "object"}}, {"x": 1}) == ([], [])


def test_a_wrong_secret_is_named_but_never_shown() -> None:
    problems, _ = config_problems(ABOUT, {"host": "db", "port": 1, "password": 12345678})
    assert problems == ["password must be string"]
    assert "12345678" not in problems[0]


def about(folder: Path, settings: dict[str, Any]) -> None:
    (folder / "caps.json").write_text(json.dumps({**ABOUT, "settings": settings}))


def test_check_refuses_a_config_the_tap_would_refuse_before_discovering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tap(tmp_path, None)
    about(
        tmp_path,
        {**SETTINGS, "properties": {**SETTINGS["properties"], "password": {"type": "integer"}}},
    )
    monkeypatch.setenv("TAP_FAKE_PASSWORD", "pw-Secret")  # Meltano's name for the setting
    cfg = project(tmp_path, config="host: db.internal, colour: red")
    result = check_connector(cfg, cfg.connectors[0])
    assert not result.ok
    assert result.detail.startswith(
        "config: missing required setting(s): port; not settings of this tap: colour "
        "(it has: dsn, host, mode, password, port) — by the tap's own settings"
    )
    assert "pw-Secret" not in result.detail
    flags = [
        json.loads(line)["flags"] for line in (tmp_path / "calls.jsonl").read_text().splitlines()
    ]
    assert ["--discover"] not in flags  # refused before connecting


def test_check_names_undeclared_keys_of_a_valid_config(tmp_path: Path) -> None:
    make_tap(tmp_path, None)
    about(tmp_path, {**SETTINGS, "required": ["host"]})
    cfg = project(tmp_path, config="host: db.internal, colour: red")
    result = check_connector(cfg, cfg.connectors[0])
    assert result.ok, result.detail
    assert result.detail == (
        "2 stream(s), 2 selected: people, things — the tap declares no setting colour: ignored"
    )
