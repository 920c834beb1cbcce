"""`crmhub serve`, `crmhub user …` and `crmhub review …`: stewardship from the terminal.

The CLI works on the store directly (it runs where hub.yaml and its secrets are), so it acts
as a named hub user: `--as NAME` must be an existing user with the needed role, and every
change is audited under that name, exactly as through the web.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import ConfigOpt, console, err, open_hub
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
        raise typer.Exit(2)
    user = User(row.id, row.username, row.role)
    if not has_role(user, role):
        err.print(f"[red]error:[/] {name} is {user.role}; this needs the {role} role")
        raise typer.Exit(2)
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
        raise typer.Exit(2) from error
    console.print(f"user {username} added as {role}")


@user_app.command("list")
def user_list(config: ConfigOpt = Path("hub.yaml")) -> None:
    """List users and their roles."""
    from rich.table import Table

    from hub.steward import list_users

    _, store = open_hub(config)
    with store.engine.connect() as conn:
        rows = list_users(conn)
    table = Table("user", "role", "active", "created")
    for row in rows:
        table.add_row(*(str(row[k]) for k in ("username", "role", "active", "created_at")))
    console.print(table)


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
        raise typer.Exit(2) from error
    print(token)


@user_app.command("tokens")
def user_tokens(username: str, config: ConfigOpt = Path("hub.yaml")) -> None:
    """A user's API tokens: id, name, created, last used, expiry, revoked."""
    from rich.table import Table

    from hub.steward import StewardError, list_tokens

    _, store = open_hub(config)
    try:
        with store.engine.connect() as conn:
            rows = list_tokens(conn, username)
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from error
    table = Table("id", "name", "created", "last used", "expires", "revoked", title=username)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            *(
                f"{row[k]:%Y-%m-%d %H:%M}" if row[k] else "—"
                for k in ("created_at", "last_used_at", "expires_at", "revoked_at")
            ),
        )
    console.print(table)
    console.print(f"{sum(r['revoked_at'] is None for r in rows)} of {len(rows)} token(s) usable")


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
        raise typer.Exit(2) from error
    console.print(f"token {token_id} ({revoked['name']}) of {revoked['username']} revoked")


@review_app.command("list")
def review_list(
    source: Annotated[str | None, typer.Option(help="Only pairs touching this source.")] = None,
    min_score: Annotated[float | None, typer.Option(help="Lowest match probability.")] = None,
    max_score: Annotated[float | None, typer.Option(help="Highest match probability.")] = None,
    kind: Annotated[str | None, typer.Option(help="person or organization.")] = None,
    limit: int = 50,
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Open review items, most consequential first."""
    from rich.table import Table

    from hub.steward import QueueFilter, list_queue

    _, store = open_hub(config)
    flt = QueueFilter(source=source, min_score=min_score, max_score=max_score, kind=kind)
    with store.engine.connect() as conn:
        items, total = list_queue(conn, flt, limit=limit)
    table = Table("id", "left", "right", "kind", "score", "affected", title=f"{total} open")
    for i in items:
        table.add_row(
            str(i["id"]),
            f"{i['left']['source']}/{i['left']['source_id']}",
            f"{i['right']['source']}/{i['right']['source_id']}",
            i["kind"] or "",
            f"{i['score']:.2f}",
            str(i["records_affected"]),
        )
    console.print(table)


@review_app.command("show")
def review_show(item: int, config: ConfigOpt = Path("hub.yaml")) -> None:
    """Both records of a review item side by side, with the match weights."""
    from rich.table import Table

    from hub.steward import StewardError, SurvivorshipSettings, review_pair

    cfg, store = open_hub(config)
    try:
        with store.engine.connect() as conn:
            pair = review_pair(conn, SurvivorshipSettings.from_config(cfg), item)
    except StewardError as error:
        err.print(f"[red]error:[/] {error}")
        raise typer.Exit(2) from error
    left, right = pair["left"]["record"], pair["right"]["record"]
    table = Table(
        "field",
        f"{left['source']}/{left['source_id']}",
        f"{right['source']}/{right['source_id']}",
        title=f"item {item}: probability {pair['score']:.2f}",
    )
    for f in pair["fields"]:
        if f["left"] is not None or f["right"] is not None:
            table.add_row(f["field"], str(f["left"] or ""), str(f["right"] or ""))
    console.print(table)
    for name, w in pair["weights"].items():
        weight = w["weight"] if isinstance(w, dict) else w
        level = w.get("level", "") if isinstance(w, dict) else ""
        console.print(f"  {name:<14} {level:<32} {weight:+.1f} bits")


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
        raise typer.Exit(1 if error.status == 409 else 2) from error
    console.print(f"{result.summary} (action {result.action_id})")


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Mark session cookies Secure (behind HTTPS).")
    ] = False,
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
    app = create_app(cfg, store, secure_cookies=secure_cookies)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add the stewardship commands to the `crmhub` app."""
    app.command()(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(review_app, name="review")
