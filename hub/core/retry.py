"""Retrying what may succeed a moment later: timeouts, rate limits, a server's 5xx."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Retriable failures are re-run from the last checkpoint with exponential backoff."""

    attempts: int = 3
    initial_delay: float = 2.0
    factor: float = 2.0

    def delays(self) -> list[float]:
        return [self.initial_delay * self.factor**i for i in range(self.attempts - 1)]
