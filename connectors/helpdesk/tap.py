"""TapHelpdesk: django-helpdesk's tickets, follow-ups and the customers who submitted them."""

from __future__ import annotations

from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from connectors.helpdesk.api import load_settings
from connectors.helpdesk.streams import ContactsStream, FollowupsStream, TicketSpool, TicketsStream

__all__ = ["TapHelpdesk"]


class TapHelpdesk(Tap):
    """django-helpdesk's REST API: `tickets`, `followups` and `contacts` (by submitter e-mail).

    Every run reads everything (the API has no modified-since filter); nothing is
    requested before the sync starts, so a down helpdesk fails the sync, not construction.
    """

    name = "tap-crmhub-helpdesk"
    package_name = "crm-hub"
    config_jsonschema = th.PropertiesList(
        th.Property(
            "base_url",
            th.StringType,
            required=True,
            description="The helpdesk site root, e.g. https://support.example.com.",
        ),
        th.Property(
            "api_path",
            th.StringType,
            default="/helpdesk/api/",
            description="Path of django-helpdesk's API under base_url.",
        ),
        th.Property("username", th.StringType, description="A staff user (Basic auth)."),
        th.Property("password", th.StringType, secret=True, description="Its password."),
        th.Property(
            "token",
            th.StringType,
            secret=True,
            description="A DRF token of a staff user, instead of username and password.",
        ),
        th.Property("page_size", th.IntegerType(minimum=1, maximum=1000), default=100),
        th.Property("timeout", th.NumberType, default=30, description="Seconds per request."),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """The three streams, sharing one read of the ticket pages per sync."""
        settings = load_settings(self.name, self.config)
        spool = TicketSpool()
        return [
            TicketsStream(self, settings, spool),
            FollowupsStream(self, spool),
            ContactsStream(self, spool),
        ]
