"""`crmhub serve`, `crmhub user …` and `crmhub review …`: stewardship from the terminal.

The CLI works on the store directly (it runs where hub.yaml and its secrets are), so it acts
as a named hub user: `--as NAME` must be an existing user with the needed role, and every
change is audited under that name, exactly as through the web.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.common import ConfigOpt, ExitCode, console, err, open_hub
from hub.cli.output import (
    DAY,
    JsonOpt,
    WideOpt,
    add_columns,
    moment,
    new_table,
    print_json,
    say,
)
from hub.core.states import Role

if TYPE_CHECKING:
    from hub.steward import User
    from hub.store.database import Store

__all__ = ["register"]

user_app = typer.Typer(help="Hub users: add them, list them, give and revoke API tokens.")
review_app = typer.Typer(help="The review queue from the terminal: list, show, decide.")


def _acting(store: Store, name: str, role: str) -> User:
    import sqlalchemy as sa

    from hub.steward import User, has_role
    from hub.store.tables import users

    with store.engine.connect() as conn:
        row = conn.execute(
            sa.select(users.c.id, users.c.username, users.c.role).where(
                users.c.username == name, users.c.active.is_(True)
            )
        ).first()
    if row is None:
        err.print(f"[red]error:[/] no active user {name!r}; create one with `crmhub user add`")
        raise typer.Exit(ExitCode.USAGE)
    user = User(row.id, row.username, row.role)
    if not has_role(user, role):
        err.print(f"[red]error:[/] {name} is {user.role}; this needs the {role} role")
        raise typer.Exit(ExitCode.USAGE)
    return user


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("CRMHUB_NEW_PASSWORD")
    if env:
        return env
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help=f"One of {', '.join(Role)}.")] = "steward",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Create a user (the first admin: `crmhub user add alice --role admin`).

    The password is prompted for, or read from stdin (--password-stdin) or the environment
    variable CRMHUB_NEW_PASSWORD; it is never taken from the command line.
    """
    from hub.steward import StewardError, add_user

    _, store = open_hub(config)
    try:
        with store.transaction() as conn:
            add_user(conn, username, _password(password_stdin), role, actor="cli")
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(ExitCode.USAGE) from error
    console.print(f"user {username} added as {role}")


@user_app.command("list")
def user_list(
    config: ConfigOpt = Path("hub.yaml"), json: JsonOpt = False, wide: WideOpt = False
) -> None:
    """List users and their roles.

    --json keys: users (username, role, active, created_at).
    """
    from rich.text import Text

    from hub.steward import list_users

    _, store = open_hub(config)
    with store.engine.connect() as conn:
        rows = list_users(conn)
    store.dispose()
    if json:
        keys = ("username", "role", "active", "created_at")
        print_json({"users": [{k: row[k] for k in keys} for row in rows]})
        return
    if not rows:
        say("no users yet: create the first admin with `crmhub user add NAME --role admin`")
        return
    table = new_table()
    add_columns(table, "user", "=role", "=active", "=created")
    for row in rows:
        created: Any = row["created_at"]
        active = "yes" if row["active"] else "no"
        when = moment(created, wide, short=DAY)
        table.add_row(Text(str(row["username"])), str(row["role"]), active, when)
    console.print(table)
    say(f"{len(rows)} user(s), {sum(bool(r['active']) for r in rows)} active")


@user_app.command("token")
def user_token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    expires_days: Annotated[
        int | None,
        typer.Option("--expires-days", help="Valid for this many days (default: until revoked)."),
    ] = None,
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Create an API token for a user; it is printed once (send it as a Bearer token)."""
    from hub.steward import StewardError, create_token

    _, store = open_hub(config)
    try:
        with store.transaction() as conn:
            token = create_token(conn, username, name, actor="cli", expires_days=expires_days)
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(ExitCode.USAGE) from error
    print(token)


@user_app.command("tokens")
def user_tokens(
    username: str,
    config: ConfigOpt = Path("hub.yaml"),
    json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """A user's API tokens: id, name, created, last used, expiry, revoked.

    --json keys: user, usable (count), tokens (id, name, created_at, last_used_at,
    expires_at, revoked_at, usable).
    """
    from rich.text import Text

    from hub.core.clock import as_utc, now
    from hub.steward import StewardError, list_tokens

    _, store = open_hub(config)
    try:
        with store.engine.connect() as conn:
            rows = list_tokens(conn, username)
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(ExitCode.USAGE) from error
    finally:
        store.dispose()
    at = now()
    for row in rows:
        expired = row["expires_at"] is not None and as_utc(row["expires_at"]) <= at
        row["state"] = "revoked" if row["revoked_at"] else "expired" if expired else "usable"
    usable = sum(row["state"] == "usable" for row in rows)
    if json:
        keys = ("id", "name", "created_at", "last_used_at", "expires_at", "revoked_at")
        tokens = [{**{k: row[k] for k in keys}, "usable": row["state"] == "usable"} for row in rows]
        print_json({"user": username, "usable": usable, "tokens": tokens})
        return
    table = new_table(title=f"API tokens of {username}")
    add_columns(table, "#id", "name", "=created", "=last used", "=expires", "=state")
    if wide:
        add_columns(table, "=revoked")
    for row in rows:
        cells = [str(row["id"]), row["name"], moment(row["created_at"], wide, short=DAY)]
        cells += [moment(row["last_used_at"], wide, missing="never", short=DAY)]
        cells += [moment(row["expires_at"], wide, missing="never", short=DAY)]
        cells += [row["state"]] + ([moment(row["revoked_at"], wide)] if wide else [])
        table.add_row(*(Text(c) for c in cells))
    console.print(table)
    say(f"{usable} of {len(rows)} token(s) usable")


@user_app.command("revoke")
def user_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `crmhub user tokens`).")],
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Revoke one API token for good (audited); the user's other tokens keep working."""
    from hub.steward import StewardError, revoke_token

    _, store = open_hub(config)
    try:
        with store.transaction() as conn:
            revoked = revoke_token(conn, token_id, actor="cli")
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(ExitCode.USAGE) from error
    console.print(f"token {token_id} ({revoked['name']}) of {revoked['username']} revoked")


@review_app.command("list")
def review_list(
    source: Annotated[str | None, typer.Option(help="Only pairs touching this source.")] = None,
    min_score: Annotated[float | None, typer.Option(help="Lowest match probability.")] = None,
    max_score: Annotated[float | None, typer.Option(help="Highest match probability.")] = None,
    kind: Annotated[str | None, typer.Option(help="person or organization.")] = None,
    order: Annotated[
        str,
        typer.Option(
            help="impact: uncertainty x records affected; informative: the answers that "
            "teach the model most first."
        ),
    ] = "impact",
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
    config: ConfigOpt = Path("hub.yaml"),
    json: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """Open review items, most consequential first (or --order informative).

    --json keys: total (open items matching), shown, items (id, left and right {source,
    source_id, golden_id}, kind, score, records_affected, priority).
    """
    from rich.text import Text

    from hub.steward import QueueFilter, list_queue
    from hub.steward.review import QUEUE_ORDERS
    from hub.web.formatting import percent  # one probability scale, as on the pages

    if order not in QUEUE_ORDERS:
        err.print(
            f"[red]error:[/] --order {order!r} is unknown: use one of {', '.join(QUEUE_ORDERS)}"
        )
        raise typer.Exit(ExitCode.USAGE)
    _, store = open_hub(config)
    flt = QueueFilter(
        source=source, min_score=min_score, max_score=max_score, kind=kind, order=order
    )
    with store.engine.connect() as conn:
        items, total = list_queue(conn, flt, limit=limit)
    store.dispose()
    if json:
        side = ("source", "source_id", "golden_id")  # stable keys, whatever the queue adds
        keys = ("id", "kind", "score", "records_affected", "priority")
        shown = [
            {
                **{k: i[k] for k in keys},
                "left": {k: i["left"].get(k) for k in side},
                "right": {k: i["right"].get(k) for k in side},
            }
            for i in items
        ]
        print_json({"total": total, "shown": len(shown), "items": shown})
        return
    table = new_table()
    add_columns(table, "#id", "left", "right", "=kind", "#probability", "#affected")
    if wide:
        add_columns(table, "left golden", "right golden", "#priority")
    for i in items:
        left, right = i["left"], i["right"]
        cells = [str(i["id"]), f"{left['source']}/{left['source_id']}"]
        cells += [f"{right['source']}/{right['source_id']}", i["kind"] or "—"]
        cells += [percent(i["score"]), str(i["records_affected"])]
        if wide:
            cells += [left["golden_id"], right["golden_id"], f"{i['priority']:.3f}"]
        table.add_row(*(Text(c) for c in cells))
    if items:
        console.print(table)
    more = " — use --limit or --json" if len(items) < total else ""
    say(f"showing {len(items):,} of {total:,} open review item(s){more}")


@review_app.command("show")
def review_show(
    item: int, config: ConfigOpt = Path("hub.yaml"), json: JsonOpt = False, wide: WideOpt = False
) -> None:
    """Both records of a review item side by side, with the match weights.

    --json keys: id, score, status, left and right {source, source_id, golden_id},
    fields (field, left, right, merged), weights (name, level, weight in bits).
    """
    from rich.text import Text

    from hub.steward import StewardError, SurvivorshipSettings, review_pair
    from hub.web.formatting import percent

    cfg, store = open_hub(config)
    try:
        with store.engine.connect() as conn:
            pair = review_pair(conn, SurvivorshipSettings.from_config(cfg), item)
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(ExitCode.USAGE) from error
    finally:
        store.dispose()
    weights = []
    for name, w in pair["weights"].items():
        weight = w["weight"] if isinstance(w, dict) else w
        level = w.get("level", "") if isinstance(w, dict) else ""
        weights.append({"name": name, "level": level or None, "weight": weight})
    sides = {}
    for side in ("left", "right"):
        record = pair[side]["record"]
        sides[side] = {
            "source": record["source"],
            "source_id": record["source_id"],
            "golden_id": pair[side]["golden_id"],
        }
    if json:
        print_json(
            {
                "id": pair["id"],
                "score": pair["score"],
                "status": pair["status"],
                **sides,
                "fields": [
                    {k: f.get(k) for k in ("field", "left", "right", "merged")}
                    for f in pair["fields"]
                ],
                "weights": weights,
            }
        )
        return
    left, right = sides["left"], sides["right"]
    table = new_table(title=f"item {item}: probability {percent(pair['score'])}")
    add_columns(table, "=field", f"{left['source']}/{left['source_id']}")
    add_columns(table, f"{right['source']}/{right['source_id']}", *(("merged",) if wide else ()))
    for f in pair["fields"]:
        if f["left"] is not None or f["right"] is not None:
            cells = [f["field"], str(f["left"] or ""), str(f["right"] or "")]
            cells += [str(f["merged"] or "")] if wide else []
            table.add_row(*(Text(c) for c in cells))
    console.print(table)
    evidence = new_table(title="match weights")
    add_columns(evidence, "=comparison", "level", "#bits")
    for w in weights:
        evidence.add_row(Text(w["name"]), Text(w["level"] or ""), f"{w['weight']:+.1f}")
    console.print(evidence)


@review_app.command("decide")
def review_decide(
    item: int,
    decision: Annotated[str, typer.Argument(help="match, no_match, unsure or skip.")],
    acting_as: Annotated[str, typer.Option("--as", help="The steward deciding.")],
    note: str | None = None,
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Record a decision on one review item (applied at once, audited under --as)."""
    from hub.steward import StewardError, SurvivorshipSettings, decide

    cfg, store = open_hub(config)
    user = _acting(store, acting_as, "steward")
    try:
        with store.write_transaction() as conn:
            result = decide(
                conn, SurvivorshipSettings.from_config(cfg), user.actor, item, decision, note=note
            )
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(ExitCode.FAILED if error.status == 409 else ExitCode.USAGE) from error
    console.print(f"{result.summary} (action {result.action_id})")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark session cookies Secure (behind HTTPS).")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes; each holds its own customer search index (memory x N).",
        ),
    ] = 1,
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Serve the steward web UI and REST API (docs at /docs, schema at /openapi.json)."""
    import sqlalchemy as sa
    import uvicorn

    from hub.store.tables import users
    from hub.web import create_app

    cfg, store = open_hub(config)
    with store.engine.connect() as conn:
        has_users = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar()
    if not has_users:
        err.print(
            "[yellow]no users yet:[/] create the first admin with "
            "`crmhub user add NAME --role admin`"
        )
    console.print(f"crm-hub steward UI on http://{host}:{port}/ (store {store.display_url})")
    if workers > 1:  # uvicorn starts the workers and imports the app in each by name
        os.environ[_SERVE_CONFIG] = str(config.resolve())
        os.environ[_SERVE_SECURE] = "1" if secure_cookies else ""
        store.dispose()
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )
        return
    app = create_app(cfg, store, secure_cookies=secure_cookies)
    uvicorn.run(app, host=host, port=port, log_level="warning")


_SERVE_CONFIG, _SERVE_SECURE = "CRMHUB_SERVE_CONFIG", "CRMHUB_SERVE_SECURE"


def worker_app() -> Any:
    """The app of one `crmhub serve --workers N` process (uvicorn calls this factory)."""
    from hub.web import create_app

    cfg, store = open_hub(Path(os.environ[_SERVE_CONFIG]))
    return create_app(cfg, store, secure_cookies=bool(os.environ.get(_SERVE_SECURE)))


def register(app: typer.Typer) -> None:
    """Add the stewardship commands to the `crmhub` app."""
    app.command()(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(review_app, name="review")
