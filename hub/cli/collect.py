"""`crmhub collect`: serve the web event collector for a `type: segment` connector."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.cli.common import ConfigOpt, console

__all__ = ["collect", "register"]


def collect(
    connector: Annotated[
        str, typer.Option(help="The `type: segment` connector whose write keys apply.")
    ] = "web",
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8088,
    config: ConfigOpt = Path("hub.yaml"),
) -> None:
    """Collect web events (Segment/RudderStack HTTP API) into the connector's event store."""
    import uvicorn

    from connectors.segment_store import events_engine
    from connectors.sql import safe_url
    from hub.collector.app import create_collector_app
    from hub.collector.settings import CollectorSettings
    from hub.collector.storage import EventWriter
    from schemas.config import load_config

    settings = CollectorSettings.from_hub(load_config(config), connector)
    url = settings.events_url.get_secret_value()
    engine = events_engine(url, create=True)
    app = create_collector_app(settings, EventWriter(engine))
    console.print(
        f"crm-hub collector for {connector!r} on http://{host}:{port}/v1/ (events: {safe_url(url)})"
    )
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    """Add `crmhub collect` to the `crmhub` app."""
    app.command()(collect)
