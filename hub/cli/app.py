"""The `crmhub` Typer app: every command group registered in one place, and the entry point."""

from __future__ import annotations

import logging
import os
import signal
import sys
from types import FrameType

import typer

from hub.cli import analyse, collect, push, quarantine, resolve, setup, status, steward, sync
from hub.cli import audiences as audiences_cli  # `crmhub audiences list|show|sync`
from hub.cli import discover as discover_cli  # external taps' catalogs (`crmhub discover`)
from hub.cli import worklist as worklist_cli  # call-backs due (`crmhub worklist`)
from hub.cli.common import EXIT_CODES_HELP, err, exit_code_for

__all__ = ["app", "main"]

app = typer.Typer(
    name="crmhub",
    help="crm-hub: pull customer data from every system, resolve it into golden records.",
    no_args_is_help=True,
    add_completion=False,
    epilog=EXIT_CODES_HELP,
)

for _group in (setup, sync, status, quarantine, resolve, analyse, push, steward, collect):
    _group.register(app)
discover_cli.register(app)
worklist_cli.register(app)
audiences_cli.register(app)


def _flowing(typer_app: typer.Typer) -> None:
    """Help paragraphs reflow to the terminal: a docstring's line breaks inside a paragraph
    (kept there for the source's line length) would otherwise break `--help` mid-sentence."""
    import inspect
    import re

    for info in typer_app.registered_commands:
        doc = info.help or inspect.getdoc(info.callback)
        if doc:
            info.help = re.sub(r"(?<!\n)\n(?!\n)", " ", inspect.cleandoc(doc))
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _flowing(group.typer_instance)


_flowing(app)


def _quiet_plugins(record: logging.LogRecord) -> bool:
    """Taps' metrics and progress chatter stays out of the CLI; their warnings do not, but
    warnings the command's summary line repeats are printed once, there."""
    if getattr(record, "in_summary", False):
        return False
    noisy = record.name.startswith(("singer_sdk", "tap-", "alembic"))
    return record.levelno >= logging.WARNING or not noisy


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (a scheduler stopping the run) ends the run as Ctrl-C does: cleanly, exit 130."""
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point: user mistakes become one clear line and exit code 2, a run
    locked by another 3; SIGTERM is handled as Ctrl-C (see `ExitCode`)."""
    logging.basicConfig(level=os.environ.get("CRMHUB_LOG_LEVEL", "WARNING"))
    for handler in logging.getLogger().handlers:  # singer-sdk sets its own loggers to INFO
        handler.addFilter(_quiet_plugins)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except Exception as exc:
        from rich.markup import escape

        from hub.core.errors import HubError  # imported late: `--help` never needs them
        from schemas.config import ConfigError

        if not isinstance(exc, ConfigError | HubError | FileExistsError):
            raise
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(exit_code_for(exc))
