"""The layout shows the architecture: data flows one way, and the import rules keep it so."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.imports import absolute_imports

ROOT = Path(__file__).resolve().parents[1]
OURS = {"schemas", "connectors", "identity", "analytics", "hub", "dags"}
ALLOWED = {
    "schemas": set(),
    "connectors": {"schemas"},
    "identity": {"schemas"},
    "analytics": {"schemas"},
    "hub": {"schemas", "connectors", "identity", "analytics"},
}


def imported_packages(package: str) -> set[str]:
    found = {
        name.split(".")[0] for names in absolute_imports(ROOT / package).values() for name in names
    }
    return (found & OURS) - {package}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package: str) -> None:
    assert imported_packages(package) <= ALLOWED[package]


def test_dags_import_only_the_hub() -> None:
    assert imported_packages("dags") <= {"hub"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_public_api_is_exactly_all(package: str) -> None:
    module = importlib.import_module(package)
    public = {name for name in dir(module) if not name.startswith("_")}  # lazy names too
    submodules = {p.stem for p in (ROOT / package).glob("*.py")} | {
        p.name for p in (ROOT / package).iterdir() if p.is_dir()
    }
    assert set(module.__all__) <= public
    assert all(getattr(module, name) is not None for name in module.__all__)
    assert public - set(module.__all__) - submodules - {"annotations"} == set()


# Inside hub/: one folder per stage, and the same one-way rule between them. A stage may
# import the stages before it (and itself), never one after it.
HUB_STAGES = (
    "core",
    "store",
    "collector",
    "sync",
    "resolve",
    "analyse",
    "steward",
    "push",
    "web",
    "cli",
)


def hub_imports(stage: str) -> set[str]:
    return {
        name.split(".")[1]
        for names in absolute_imports(ROOT / "hub" / stage).values()
        for name in names
        if name.startswith("hub.") and "." in name
    }


def test_hub_has_one_folder_per_stage() -> None:
    folders = {p.name for p in (ROOT / "hub").iterdir() if p.is_dir() and p.name != "__pycache__"}
    modules = {p.stem for p in (ROOT / "hub").glob("*.py")}
    assert folders == set(HUB_STAGES)
    assert modules == {"__init__", "__main__"}  # no loose modules beside the stages


@pytest.mark.parametrize("stage", HUB_STAGES)
def test_hub_stages_import_only_earlier_stages(stage: str) -> None:
    earlier = set(HUB_STAGES[: HUB_STAGES.index(stage) + 1])
    assert hub_imports(stage) <= earlier, f"hub/{stage} reaches forward"


@pytest.mark.parametrize("package", ["hub", *(f"hub.{s}" for s in HUB_STAGES)])
def test_every_hub_package_states_its_api(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__doc__ and module.__all__
    assert all(hasattr(module, name) for name in module.__all__)
