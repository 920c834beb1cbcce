"""Building the search index at start without making the server deaf to SIGTERM meanwhile.

The app's lifespan builds the customer search index before the first request (about 25 s
a worker at 1M golden records). uvicorn only acts on a stop signal once start-up is over,
so a `crmhub serve` told to stop during the build (Ctrl-C, `kill`, a supervisor's
restart) kept building first. `warm_until_stopped` does not start the build when the
server was told to stop while the app was being imported, builds in a daemon thread, and
stops waiting for it when SIGTERM or SIGINT arrives: the server's own handler still runs (so
uvicorn shuts down at once), start-up finishes without the index, and the half-built
index dies with the process. Nothing is written by the build, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["STOP_SIGNALS", "stop_requested", "warm_until_stopped"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_requested() -> bool:
    """Whether the server was told to stop before start-up got here.

    uvicorn installs its handlers before it imports the app, so a signal during the import
    (2 to 3 s) is only noted by the server (`Server.handle_exit` sets `should_exit`, acted on
    once start-up is over). The handler in place is that bound method; its server says.
    """
    for signum in STOP_SIGNALS:
        server = getattr(signal.getsignal(signum), "__self__", None)
        if getattr(server, "should_exit", None) is True:
            return True
    return False


async def warm_until_stopped(build: Callable[[], Any]) -> bool:
    """Run `build` in a daemon thread; True once it finished, False if a stop signal came
    first (off the main thread, where signals cannot be caught, it just waits)."""
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[bool] = loop.create_future()

    def settle(value: bool | BaseException) -> None:
        if finished.done():
            return
        if isinstance(value, BaseException):
            finished.set_exception(value)
        else:
            finished.set_result(value)

    def target() -> None:
        outcome: bool | BaseException = True
        try:
            build()
        except BaseException as exc:  # handed to the awaiting lifespan, which raises it
            outcome = exc
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    if threading.current_thread() is not threading.main_thread():
        threading.Thread(target=target, name="crmhub search index", daemon=True).start()
        return await finished
    if stop_requested():  # a signal came while the app was still being imported
        return False
    threading.Thread(target=target, name="crmhub search index", daemon=True).start()
    previous: dict[int, Any] = {int(signum): signal.getsignal(signum) for signum in STOP_SIGNALS}

    def stop(signum: int, frame: FrameType | None) -> None:
        handler = previous[signum]
        if handler == signal.SIG_IGN:
            return
        loop.call_soon_threadsafe(settle, False)
        if callable(handler):
            handler(signum, frame)
        else:  # SIG_DFL or unknown: do what the signal does by default
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    try:
        return await finished
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
