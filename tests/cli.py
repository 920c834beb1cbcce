"""Running `crmhub` as its users do: a fresh process, with only the variables they export."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["crmhub"]


def crmhub(
    *args: str,
    cwd: Path,
    columns: int | None = 200,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    keep: Sequence[str] = (),
    inherit: bool = False,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """`python -m hub ARGS` in `cwd`. The environment is PATH alone (or this process's own
    with `inherit`), the named `keep` variables of this process, `env`, and COLUMNS (the
    terminal width Rich lays tables out for; None leaves it unset)."""
    base = dict(os.environ) if inherit else {"PATH": "/usr/bin:/bin"}
    base |= {k: os.environ[k] for k in keep if k in os.environ}
    if columns is not None:
        base["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=base | dict(env or {}),
    )
