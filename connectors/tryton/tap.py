"""TapTryton: parties, sales and invoices of a Tryton ERP over XML-RPC."""

from __future__ import annotations

from functools import cached_property

from pydantic import ValidationError
from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from connectors.tryton.client import TrytonClient, TrytonSettings, tryton_errors
from connectors.tryton.streams import InvoicesStream, PartiesStream, SalesStream, TrytonStream

__all__ = ["TapTryton"]

STREAM_CLASSES: tuple[type[TrytonStream], ...] = (PartiesStream, SalesStream, InvoicesStream)


class TapTryton(Tap):
    """Tryton ERP: parties as customers; sales and invoices (where installed) as interactions."""

    name = "tap-crmhub-tryton"
    package_name = "crm-hub"
    config_jsonschema = th.PropertiesList(
        th.Property(
            "url", th.StringType, required=True, description="e.g. http://erp:8000, no login"
        ),
        th.Property("database", th.StringType, required=True),
        th.Property("user", th.StringType, required=True),
        th.Property("password", th.StringType, required=True, secret=True),
        th.Property("page_size", th.IntegerType(minimum=1, maximum=10_000), default=500),
        th.Property("timeout", th.NumberType, default=30.0, description="Seconds per request."),
        th.Property("golden_id_type", th.StringType, description="Identifier type (default none)."),
        th.Property("golden_id_prefix", th.StringType, default="crmhub:"),
        th.Property("person_categories", th.ArrayType(th.StringType)),
        th.Property("organization_categories", th.ArrayType(th.StringType)),
    ).to_dict()

    @cached_property
    def settings(self) -> TrytonSettings:
        """The validated configuration."""
        try:
            config = {key: value for key, value in self.config.items() if value is not None}
            return TrytonSettings.model_validate(config)
        except ValidationError as exc:
            errors = [
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors()
            ]
            raise ConfigValidationError(
                f"{self.name}: {'; '.join(errors)}", errors=errors
            ) from None

    @cached_property
    def client(self) -> TrytonClient:
        """One XML-RPC client shared by the streams."""
        return TrytonClient(self.settings)

    def discover_streams(self) -> list[Stream]:
        """Parties, plus sales and invoices when their Tryton modules are activated."""
        wanted = [stream.model for stream in STREAM_CLASSES]
        with tryton_errors(self.settings, "discovery"):
            installed = self.client.installed(wanted)
        streams: list[Stream] = []
        for stream_class in STREAM_CLASSES:
            if stream_class.model in installed:
                streams.append(stream_class(self, self.client))
            else:
                self.logger.info(
                    "%s: Tryton model %s is not installed; its stream is left out",
                    self.name,
                    stream_class.model,
                )
        return streams
