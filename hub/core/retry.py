"""Retrying what may succeed a moment later: timeouts, rate limits, a server's 5xx.

`RetryPolicy` is the configuration (how many attempts, how the delay grows); tenacity
runs the loop. Sync re-runs a connector from its last checkpoint, push re-sends one record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

__all__ = ["RetryPolicy"]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Retriable failures are tried again with exponential backoff.

    `attempts` counts the first try; the n-th retry waits `initial_delay * factor**(n-1)`
    seconds. `sleep` does the waiting (tests pass `delays.append` to record the delays).
    """

    attempts: int = 3
    initial_delay: float = 2.0
    factor: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def delays(self) -> list[float]:
        """The waits between the attempts, without any longer wait a failure asks for."""
        return [self.initial_delay * self.factor**i for i in range(self.attempts - 1)]

    def call(
        self,
        fn: Callable[[], T],
        *,
        retriable: Callable[[BaseException], bool],
        at_least: Callable[[BaseException], float | None] | None = None,
        on_retry: Callable[[BaseException, float], None] | None = None,
    ) -> T:
        """`fn()`, tried again after each failure `retriable` accepts until the attempts
        are used up; the last failure is raised as it is.

        `at_least(error)` may ask for a longer wait (a Retry-After header); `on_retry(error,
        delay)` is told before each wait.
        """
        backoff = tenacity.wait_exponential(multiplier=self.initial_delay, exp_base=self.factor)

        def wait(state: tenacity.RetryCallState) -> float:
            delay = backoff(state)
            error = _error(state)
            asked = at_least(error) if at_least is not None else None
            return max(delay, asked or 0.0)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if on_retry is not None:
                on_retry(_error(state), state.upcoming_sleep)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=wait,
            retry=tenacity.retry_if_exception(retriable),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)


def _error(state: tenacity.RetryCallState) -> BaseException:
    assert state.outcome is not None
    error = state.outcome.exception()
    assert error is not None  # only failures are retried
    return error
