"""What every `crmhub` command shares: the consoles, the `--config` option, opening the hub.

Kept light on purpose: a command module imports only typer, rich's console and this module at
the top; the store, the engines and the web app are imported inside the command that needs them,
so `crmhub --help` does not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from hub.store.database import Store
    from schemas.config import HubConfig

__all__ = ["ConfigOpt", "console", "err", "fail", "open_hub", "spinner"]

console = Console(soft_wrap=True)  # one-line summaries stay one line (grep-able)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[
    Path,
    typer.Option(
        "--config", "-c", envvar="CRMHUB_CONFIG", help="Path to hub.yaml.", show_default=True
    ),
]


def open_hub(path: Path) -> tuple[HubConfig, Store]:
    """hub.yaml loaded and validated, and its store opened and migrated."""
    from hub.store.database import Store
    from schemas.config import load_config

    config = load_config(path)
    return config, Store.open(config)


def fail(message: object, code: int = 2) -> typer.Exit:
    """Print `error: message` on stderr and return the Exit to raise (`raise fail(...)`)."""
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def spinner() -> Progress:
    """A transient progress line on stderr: spinner, the current step, the time taken."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
