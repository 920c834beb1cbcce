"""The `crmhub` command line: one module per command group, all registered in `hub.cli.app`.

| module | commands |
|---|---|
| `setup` | `init`, `check`, `demo` |
| `sync` | `sync` |
| `status` | `status`, `unlock` |
| `quarantine` | `quarantine` (and the one line per connector a sync prints) |
| `resolve` | `resolve` |
| `steward` | `serve`, `user …`, `review …` |
| `push` | `push` |
| `collect` | `collect` |
| `worklist` | `worklist` |
| `audiences` | `audiences list`, `audiences show`, `audiences sync` |

`common` holds the consoles, `--config` and the exit codes (`ExitCode`); `output` the table
style and `--json`/`--wide`, so every table command prints the same way.

Command modules import the engines, the store and the web app inside the command that uses
them, so starting the CLI costs only typer and rich.
"""

from __future__ import annotations

from hub.cli.app import app, main

__all__ = ["app", "main"]
