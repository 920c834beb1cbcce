"""`crmhub audiences list|show NAME|sync [--dry-run]`: hub.yaml's audiences, their members
and changes, and sending those changes to the destinations (webhook, files).

Membership is recomputed by every `crmhub analyse`; `sync` sends only what changed since
each destination's last delivery (and recomputes first an audience whose rule was edited).
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.common import ConfigOpt, ExitCode, console, err, exit_code_for, fail, open_hub
from hub.cli.output import JsonOpt, WideOpt, add_columns, new_table, print_json, say, summary_line

__all__ = ["register"]

app = typer.Typer(
    name="audiences",
    help="Audiences: named rules over the customer profiles, synced to destinations.",
    no_args_is_help=True,
)


def _statuses(config: Path, name: str | None = None, recent: int = 0) -> list[Any]:
    from hub.analyse.audiences import check_audiences
    from hub.push.audience_status import audience_status

    cfg, store = open_hub(config)
    try:
        check_audiences(cfg)
        chosen = [a for a in cfg.audiences if name is None or a.name == name]
        if name is not None and not chosen:
            known = ", ".join(a.name for a in cfg.audiences) or "none"
            raise fail(f"no audience named {name!r} in hub.yaml (configured: {known})")
        with store.engine.connect() as conn:
            return audience_status(conn, chosen, recent=recent)
    finally:
        store.dispose()


@app.command("list")
def list_command(config: ConfigOpt = Path("hub.yaml"), json: JsonOpt = False) -> None:
    """Every audience of hub.yaml: members now and the changes due per destination.

    --json keys: audiences [{name, description, rule, fields, members, computed_at, stale,
    destinations [{name, kind, target, cursor, entered, exited, refused, delivered_at}]}].
    """
    statuses = _statuses(config)
    if json:
        print_json({"audiences": [s.as_json() for s in statuses]})
        return
    if not statuses:
        say("no audiences in hub.yaml — add an `audiences:` list (see the README, Audiences)")
        return
    table = new_table(caption="due: changes not yet sent (entered/exited); refused: kept, retried")
    add_columns(table, "=audience", "#members", "=destination", "#due", "#refused")
    for s in statuses:
        members = "never computed" if s.members is None else f"{s.members:,}"
        if s.stale:
            members += "*"
        dests = s.destinations or [None]
        for n, d in enumerate(dests):
            cells = [s.name if n == 0 else "", members if n == 0 else ""]
            if d is None:
                cells += ["(none)", "", ""]
            else:
                cells += [f"{d.name} ({d.kind})", f"+{d.entered:,} -{d.exited:,}", f"{d.refused:,}"]
            table.add_row(*cells)
    if any(s.stale for s in statuses):
        table.caption = f"{table.caption}; * rule changed or never computed: sync recomputes it"
    console.print(table)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The audience's name in hub.yaml.")],
    config: ConfigOpt = Path("hub.yaml"),
    json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """One audience: its rule, carried fields, members, destinations and latest changes.

    --json keys: as one item of `list --json`, plus recent [{event_id, golden_id, event, at}].
    """
    [s] = _statuses(config, name, recent=20 if wide else 10)
    if json:
        print_json(s.as_json())
        return
    members = "never computed" if s.members is None else f"{s.members:,} members"
    say(f"{s.name}: {members}" + (f" (computed {s.computed_at})" if s.computed_at else ""))
    if s.description:
        say(s.description, indent=2)
    say(f"rule: {jsonlib.dumps(s.rule, ensure_ascii=False)}", indent=2)
    if s.stale and s.members is not None:
        say("the rule changed since it was computed: the next sync recomputes it", indent=2)
    say(f"fields: {', '.join(s.fields) or '(golden id only)'}", indent=2)
    table = new_table(title="Destinations")
    add_columns(table, "=destination", "target", "#entered due", "#exited due", "#refused")
    for d in s.destinations:
        table.add_row(f"{d.name} ({d.kind})", d.target, f"{d.entered:,}", f"{d.exited:,}",
                      f"{d.refused:,}")  # fmt: skip
    console.print(table)
    if s.recent:
        recent = new_table(title="Latest changes")
        add_columns(recent, "#event", "=change", "=golden id", "=at")
        for r in s.recent:
            recent.add_row(str(r["event_id"]), r["event"], r["golden_id"], r["at"][:19])
        console.print(recent)


@app.command("sync")
def sync_command(
    name: Annotated[
        str | None, typer.Argument(help="Only this audience (default: every audience).")
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show entered/exited due per destination; send nothing."),
    ] = False,
    config: ConfigOpt = Path("hub.yaml"),
    json: JsonOpt = False,
) -> None:
    """Send each audience's changes (entered, exited) to its destinations.

    Only changes are sent; a change a destination refuses is kept with its message and sent
    again next time; a destination that cannot be reached stops with exit 1 and keeps every
    change due for the next sync.

    --json keys: destinations [{audience, destination, kind, dry_run, entered, exited,
    retried, failed, superseded, run_id, error, refusals [{event_id, error}]}], sent, failed.
    """
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hub.core.errors import HubError
    from hub.push.audiences import sync_audiences
    from hub.push.destinations import DestinationDown

    cfg, store = open_hub(config)
    columns: list[Any] = [
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    try:
        with Progress(*columns, console=err, transient=True, disable=json) as progress:
            tasks: dict[str, Any] = {}

            def update(where: str, done: int, total: int) -> None:
                if where not in tasks:
                    tasks[where] = progress.add_task(f"sync {where}", total=total)
                progress.update(tasks[where], completed=done)

            results = sync_audiences(cfg, store, audience=name, dry_run=dry_run, progress=update)
    except DestinationDown as down:
        raise fail(down, ExitCode.FAILED) from down
    except HubError as error:
        raise fail(error, exit_code_for(error)) from error
    finally:
        store.dispose()
    sent = sum(r.sent + r.retried for r in results)
    failed = sum(r.failed for r in results)
    if json:
        print_json(
            {
                "destinations": [
                    {
                        "audience": r.audience,
                        "destination": r.destination,
                        "kind": r.kind,
                        "dry_run": r.dry_run,
                        "entered": r.entered,
                        "exited": r.exited,
                        "retried": r.retried,
                        "failed": r.failed,
                        "superseded": r.superseded,
                        "run_id": r.run_id,
                        "error": r.error,
                        "refusals": [{"event_id": i, "error": m} for i, m in r.refusals],
                    }
                    for r in results
                ],
                "sent": 0 if dry_run else sent,
                "failed": failed,
            }
        )
        return
    for r in results:
        colour = "yellow" if r.failed else "green"
        console.print(f"[{colour}]{escape(r.summary())}[/]")
        for event_id, message in r.refusals[:20]:
            say(f"refused event {event_id}: {message}", indent=2)
    audiences = len({r.audience for r in results})
    if dry_run:
        due = sum(r.sent + r.retried for r in results)
        summary_line(f"dry run: {due:,} change(s) due to {len(results)} destination(s) of "
                     f"{audiences} audience(s); nothing sent")  # fmt: skip
    else:
        summary_line(f"audiences synced: {sent:,} change(s) sent to {len(results)} "
                     f"destination(s) of {audiences} audience(s), {failed:,} refused")  # fmt: skip


def register(root: typer.Typer) -> None:
    """Add `crmhub audiences …` to the app."""
    root.add_typer(app, name="audiences")
