"""The CLI starts light: `crmhub --help` loads no engine, store, web app or connector.

Timing lives in `benchmarks/cli_start.py`; this guards the cause (what gets imported), which
does not depend on the machine's speed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# pydantic is not listed: typer itself loads it to parse sub-command options.
HEAVY = (
    "alembic",
    "connectors",
    "fastapi",
    "identity",
    "numpy",
    "pandas",
    "singer_sdk",
    "sqlalchemy",
    "uvicorn",
)


def loaded_after(code: str) -> set[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return {name.split(".")[0] for name in json.loads(out.stdout.splitlines()[-1])}


def test_importing_the_cli_loads_nothing_heavy() -> None:
    assert loaded_after("import hub.cli").isdisjoint(HEAVY)


def test_help_loads_nothing_heavy() -> None:
    code = "from hub.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
    assert loaded_after(code).isdisjoint(HEAVY)


@pytest.mark.parametrize("group", ["user", "review"])
def test_sub_command_help_loads_nothing_heavy(group: str) -> None:
    code = (
        "from hub.cli import app\n"
        f"try:\n    app(['{group}', '--help'])\nexcept SystemExit:\n    pass\n"
    )
    assert loaded_after(code).isdisjoint(HEAVY)


def test_status_loads_no_engine_and_no_web_app() -> None:
    code = "import hub.cli.status, hub.store.status, hub.cli.push, hub.cli.common"
    assert loaded_after(code).isdisjoint({"identity", "pandas", "fastapi", "singer_sdk"})
