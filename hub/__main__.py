"""`python -m hub` is `crmhub`."""

from __future__ import annotations

from hub.cli import main

main()
