"""The layout shows the architecture: data flows one way, and the import rules keep it so."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"schemas", "connectors", "identity", "hub", "dags"}
ALLOWED = {
    "schemas": set(),
    "connectors": {"schemas"},
    "identity": {"schemas"},
    "hub": {"schemas", "connectors", "identity"},
}


def imported_packages(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return (found & OURS) - {package}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package: str) -> None:
    assert imported_packages(package) <= ALLOWED[package]


def test_dags_import_only_the_hub() -> None:
    assert imported_packages("dags") <= {"hub"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_public_api_is_exactly_all(package: str) -> None:
    module = importlib.import_module(package)
    public = {name for name in vars(module) if not name.startswith("_")}
    submodules = {p.stem for p in (ROOT / package).glob("*.py")} | {
        p.name for p in (ROOT / package).iterdir() if p.is_dir()
    }
    assert set(module.__all__) <= public
    assert public - set(module.__all__) - submodules - {"annotations"} == set()
