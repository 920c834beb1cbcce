"""`crmhub worklist`: the items due, per owner, from the terminal (read-only): call-backs
and the items of hub.yaml's worklist rules (birthday, service, churn_rise, welcome).

Days are in the hub's time zone, UTC. Changing an item (assign, snooze, done) is done on the
worklist page or through the API, where it is authenticated and audited per user.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import ConfigOpt, ExitCode, console, err, open_hub
from hub.cli.output import DAY, JsonOpt, WideOpt, add_columns, new_table, print_json, say

__all__ = ["register"]


def worklist(
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this user's items (default: everyone's).")
    ] = None,
    due: Annotated[
        str,
        typer.Option(help="all, overdue, today, tomorrow, week, or a day YYYY-MM-DD (UTC)."),
    ] = "all",
    done: Annotated[bool, typer.Option("--done", help="Done items instead of open ones.")] = False,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", help="Only one kind: call_back, birthday, service, churn_rise, welcome."
        ),
    ] = None,
    page: Annotated[int, typer.Option(min=1, help="Page number.")] = 1,
    size: Annotated[int, typer.Option(min=1, max=500, help="Items per page.")] = 50,
    config: ConfigOpt = Path("hub.yaml"),
    json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """List worklist items, soonest due first (overdue ones marked).

    --json keys: items (id, kind, rule, golden_id, customer, topic, reason, channel, owner,
    due_on, overdue, no_longer_applies, status, outcome, …), total, page, pages, size,
    today, timezone, owner, due, status.
    """
    from hub.steward import StewardError
    from hub.steward.worklist import HUB_TIMEZONE, list_worklist

    _, store = open_hub(config)
    try:
        with store.engine.connect() as conn:
            found = list_worklist(
                conn,
                owner=owner,
                due=due,
                status="done" if done else "open",
                page=page,
                size=size,
                kind=kind,
            )
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(ExitCode.USAGE) from error
    finally:
        store.dispose()
    if json:
        print_json(found.as_json())
        return
    whose = f"{owner}'s" if owner else "everyone's"
    if not found.items:
        say(f"no {found.status} items of {whose} worklist (due: {due}; today is {found.today} "
            f"{HUB_TIMEZONE})")  # fmt: skip
        return
    table = new_table(
        caption=f"page {found.page} of {found.pages}, {found.total} {found.status} item(s) "
        f"of {whose} worklist; today is {found.today} {HUB_TIMEZONE}"
    )
    add_columns(table, "#id", "=due", "=kind", "customer", "why", "=owner")
    if wide:
        add_columns(table, "=golden id", "=channel")
    if done:
        add_columns(table, "outcome")
    for item in found.items:
        due_text = format(item.due_on, DAY) + (" overdue" if item.overdue else "")
        why = ("(no longer applies) " if item.no_longer_applies else "") + item.reason
        kind_text = item.kind.replace("_", " ")
        cells = [str(item.id), due_text, kind_text, item.customer, why, item.owner]
        if wide:
            cells += [item.golden_id, item.channel or ""]
        if done:
            cells.append(f"{item.outcome} ({item.done_by})")
        table.add_row(*cells, style="red" if item.overdue else None)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("worklist")(worklist)
