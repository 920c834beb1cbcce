"""The executor seam: the local backend satisfies `Backend`, and the model imports none."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from identity.backends import Backend
from identity.backends.local import LocalBackend
from identity.model import ModelSpec, Settings
from identity.resolve import History, resolve, run
from tests.imports import absolute_imports

IDENTITY = Path(__file__).resolve().parents[2] / "identity"
STAGES = ("standardise", "block", "compare", "estimate", "score", "cluster")


def people() -> list[dict[str, Any]]:
    given = ("Anna", "Béla", "Csilla", "Dávid", "Emese", "Ferenc")
    family = ("Kovács", "Szabó", "Tóth", "Varga", "Kiss")
    out: list[dict[str, Any]] = []
    for i in range(60):
        person: dict[str, Any] = {
            "given_name": given[i % 6],
            "family_name": family[i // 6 % 5],
            "email": f"p{i}@mail.hu",
            "phone": f"+3630{1000000 + i}",
            "country": "HU",
        }
        out.append({"source": "erp", "source_id": str(i), **person})
        if i % 2:
            out.append({"source": "web", "source_id": f"w{i}", **person, "phone": None})
    return out


def test_the_local_backend_satisfies_the_protocol() -> None:
    backend: Backend = LocalBackend()  # checked statically by mypy as well
    assert isinstance(backend, Backend)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_the_protocols_signature(stage: str) -> None:
    declared = inspect.signature(getattr(Backend, stage))
    implemented = inspect.signature(getattr(LocalBackend, stage))
    assert list(implemented.parameters) == list(declared.parameters)
    assert implemented.return_annotation == declared.return_annotation


class Recording:
    """A backend that runs the local one and records which stages ran, in order."""

    def __init__(self) -> None:
        self.local = LocalBackend()
        self.calls: list[str] = []

    def __getattr__(self, stage: str) -> Callable[..., Any]:
        self.calls.append(stage)
        method: Callable[..., Any] = getattr(self.local, stage)
        return method


def test_a_run_goes_through_the_backends_stages_and_resolve_is_that_run() -> None:
    records = people()
    backend = Recording()
    ran = run(records, ModelSpec(), history=History(), backend=backend)  # type: ignore[arg-type]
    assert backend.calls == list(STAGES)
    resolved = resolve(records, Settings())
    assert ran.crosswalk == resolved.crosswalk
    assert (ran.scored.probability == resolved.scored.probability).all()
    assert ran.stats == resolved.stats


def test_settings_become_the_model_spec() -> None:
    spec = ModelSpec.from_settings(Settings(upper=0.9, max_block=50, source_priority=("erp",)))
    assert spec.thresholds.upper == 0.9
    assert spec.blocking.max_block == 50
    assert spec.survivorship.source_priority == ("erp",)
    assert ModelSpec.from_settings(Settings()) == ModelSpec()


def _identity_imports(module: str) -> set[str]:
    path = IDENTITY / (module.removeprefix("identity.").replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    names = absolute_imports(path.parent)[str(path)]
    return {name for name in names if name.startswith("identity")}


def test_the_model_never_imports_an_executor() -> None:
    seen, todo = set(), ["identity.model"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_identity_imports(module))
    assert not {m for m in seen if m.startswith(("identity.backends", "identity.resolve"))}
