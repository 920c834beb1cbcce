"""The web event collector: a Segment/RudderStack-compatible HTTP tracking API.

`crmhub collect` serves it; events land in the event store of :mod:`connectors.segment_store`,
which the `segment` connector (:class:`connectors.segment.TapSegment`) brings into the hub.
"""

from __future__ import annotations

from hub.collector.app import SINGLE_ENDPOINTS, create_collector_app
from hub.collector.messages import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    Accepted,
    Message,
    Rejected,
    accept,
)
from hub.collector.settings import CollectorSettings
from hub.collector.storage import EventWriter, WriteResult

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_MESSAGE_BYTES",
    "SINGLE_ENDPOINTS",
    "Accepted",
    "CollectorSettings",
    "EventWriter",
    "Message",
    "Rejected",
    "WriteResult",
    "accept",
    "create_collector_app",
]
