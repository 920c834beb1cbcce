"""The analyse stage: customer intelligence from the interactions (`analytics/`).

Today it holds the batch contract (`hub.analyse.batch`): interactions from JSON Lines in,
`customers.csv` and `segments.csv` out, no hub.yaml and no store.
"""

from __future__ import annotations

from hub.analyse.batch import read_customers, read_interactions, write_results

__all__ = ["read_customers", "read_interactions", "write_results"]
