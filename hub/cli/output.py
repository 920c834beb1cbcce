"""How `crmhub` prints tables and JSON: readable at 80 columns, machine-readable on request.

Every command that prints a table takes `--json` and `--wide`:

* `--json` prints **one JSON document** on stdout — always an object with snake_case keys,
  timestamps as ISO 8601 strings, missing values as `null` — and nothing else on stdout (no
  colours, no progress); errors still go to stderr with the usual exit codes.
* without `--wide`, tables keep the columns a person needs, fold long cells instead of cutting
  them, and use short dates, so they fit an 80-column terminal; `--wide` adds the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.common import console

if TYPE_CHECKING:
    from rich.table import Table

__all__ = [
    "DAY",
    "JsonOpt",
    "WideOpt",
    "add_columns",
    "jsonable",
    "moment",
    "new_table",
    "print_json",
    "say",
    "summary_line",
]

JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json", help="Print one JSON document (an object) instead of tables; nothing else."
    ),
]
WideOpt = Annotated[
    bool, typer.Option("--wide", help="All columns and full timestamps (for wide terminals).")
]


def jsonable(value: Any) -> Any:
    """`json.dumps`' fallback: datetimes and dates as ISO 8601, decimals as numbers."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def print_json(document: Mapping[str, Any]) -> None:
    """Write `document` as indented JSON on stdout, bypassing rich (no markup, no wrapping)."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False, default=jsonable) + "\n")
    sys.stdout.flush()


DAY = "%Y-%m-%d"
"""`moment(..., short=DAY)`: for what is counted in days (accounts, tokens, expiry)."""


def moment(
    value: dt.datetime | None,
    wide: bool = False,
    *,
    missing: str = "—",
    short: str = "%m-%d %H:%M",
) -> str:
    """A timestamp for a table, UTC: `short` (recent runs: `MM-DD HH:MM`), or
    `YYYY-MM-DD HH:MM:SS` with --wide."""
    if value is None:
        return missing
    return f"{value:%Y-%m-%d %H:%M:%S}" if wide else format(value, short)


def new_table(*, title: str | None = None, caption: str | None = None) -> Table:
    """An empty table in the CLI's style: a rule under the header, no vertical borders (each
    border costs three columns an 80-column terminal cannot spare)."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        title_justify="left",
        caption_justify="left",
    )


def add_columns(table: Table, *specs: str) -> None:
    """Columns from short specs: `name` (text that may fold), `#name` (a number: right-aligned,
    never wrapped), `=name` (a short label: never wrapped)."""
    for spec in specs:
        if spec.startswith("#"):
            table.add_column(spec[1:], justify="right", no_wrap=True)
        elif spec.startswith("="):
            table.add_column(spec[1:], no_wrap=True)
        else:
            table.add_column(spec, overflow="fold")


def say(text: str, *, indent: int = 0) -> None:
    """A paragraph wrapped at the terminal's width (continuation lines indented two more)."""
    import textwrap

    width = max(console.width, 40)
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + 2),
        break_on_hyphens=False,
    )
    for line in lines or [""]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def summary_line(text: str) -> None:
    """A run's one-line summary: one line when stdout is a file or a pipe (grep-able, and the
    same line a scheduler's log shows), wrapped at word boundaries on a terminal."""
    if console.is_terminal:
        say(text)
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True)
