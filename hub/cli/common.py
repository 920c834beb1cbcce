"""What every `crmhub` command shares: the consoles, the `--config` option, opening the hub.

Kept light on purpose: a command module imports only typer, rich's console and this module at
the top; the store, the engines and the web app are imported inside the command that needs them,
so `crmhub --help` does not pay for them.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress

    from hub.store.database import Store
    from schemas.config import HubConfig

__all__ = [
    "EXIT_CODES_HELP",
    "ConfigOpt",
    "ExitCode",
    "console",
    "err",
    "exit_code_for",
    "fail",
    "open_hub",
    "spinner",
]


class ExitCode(IntEnum):
    """What a `crmhub` exit status means; scripts and schedulers may rely on these."""

    OK = 0
    FAILED = 1  # the command ran and a run failed: a connector, a push, a conflicting decision
    USAGE = 2  # a usage or configuration error: fix the command line or hub.yaml and re-run
    LOCKED = 3  # the same work is already running (another sync, resolve or push): retry later
    INTERRUPTED = 130  # Ctrl-C or SIGTERM: committed work is kept, the next run resumes


EXIT_CODES_HELP = (
    "Exit codes: 0 ok · 1 a run failed · 2 usage or configuration error · "
    "3 locked by another run · 130 interrupted (Ctrl-C, SIGTERM)."
)

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


def fail(message: object, code: int = ExitCode.USAGE) -> typer.Exit:
    """Print `error: message` on stderr and return the Exit to raise (`raise fail(...)`)."""
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit status for a user-facing error: 3 when the work is locked by another run."""
    from hub.store.locks import LockError  # imported late: only an error pays for it

    return ExitCode.LOCKED if isinstance(error, LockError) else ExitCode.USAGE


def spinner(*, disable: bool = False) -> Progress:
    """A transient progress line on stderr: spinner, the current step, the time taken."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=disable,
    )
