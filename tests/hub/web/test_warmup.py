"""The search index built at start never makes the server deaf to a stop signal.

Real signals sent to this process; the slow index build is stood in for by a function
that waits on an event (a real 1M-record build takes ~25 s).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

import pytest

from hub.web.warmup import STOP_SIGNALS, warm_until_stopped


@pytest.fixture
def recorded() -> Iterator[list[int]]:
    """A handler per stop signal that records what reached it (as uvicorn's would)."""
    seen: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}

    def record(signum: int, _frame: FrameType | None) -> None:
        seen.append(signum)

    for signum in STOP_SIGNALS:
        signal.signal(signum, record)
    yield seen
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _send_later(signum: int, delay: float = 0.2) -> threading.Timer:
    timer = threading.Timer(delay, os.kill, (os.getpid(), signum))
    timer.start()
    return timer


@pytest.mark.parametrize("signum", STOP_SIGNALS)
def test_a_stop_signal_ends_the_wait_and_still_reaches_the_servers_handler(
    recorded: list[int], signum: int
) -> None:
    release = threading.Event()
    handler = signal.getsignal(signum)
    _send_later(signum)
    start = time.monotonic()
    built = asyncio.run(warm_until_stopped(lambda: release.wait(30)))
    waited = time.monotonic() - start
    release.set()
    assert built is False
    assert waited < 10  # the build would have taken 30 s
    assert recorded == [signum]
    assert signal.getsignal(signum) is handler  # the server's handler is back


def test_a_finished_build_says_so_and_restores_the_handlers(recorded: list[int]) -> None:
    handlers = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    ran: list[bool] = []
    assert asyncio.run(warm_until_stopped(lambda: ran.append(True))) is True
    assert ran == [True]
    assert recorded == []
    assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == handlers


def test_a_failed_build_raises_its_error(recorded: list[int]) -> None:
    def broken() -> None:
        raise RuntimeError("store unreachable")

    with pytest.raises(RuntimeError, match="store unreachable"):
        asyncio.run(warm_until_stopped(broken))


def test_an_ignored_signal_does_not_stop_the_build() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        release = threading.Event()
        _send_later(signal.SIGTERM, 0.1)
        threading.Timer(0.6, release.set).start()
        assert asyncio.run(warm_until_stopped(lambda: release.wait(30))) is True
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_off_the_main_thread_it_waits_for_the_build() -> None:
    results: list[bool] = []
    worker = threading.Thread(
        target=lambda: results.append(asyncio.run(warm_until_stopped(lambda: time.sleep(0.1))))
    )
    worker.start()
    worker.join(10)
    assert results == [True]


def test_a_signal_the_server_noted_during_the_import_skips_the_build() -> None:
    """uvicorn's own Server: it catches the signal before the app exists, then starts it."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app=lambda *_: None))
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, server.handle_exit)
    try:
        assert asyncio.run(warm_until_stopped(lambda: None)) is True
        os.kill(os.getpid(), signal.SIGTERM)  # noted: should_exit, as during the import
        time.sleep(0.05)
        assert server.should_exit is True
        ran: list[bool] = []
        assert asyncio.run(warm_until_stopped(lambda: ran.append(True))) is False
        assert ran == []
    finally:
        signal.signal(signal.SIGTERM, previous)
