"""Keep-alive connections end after KEEPALIVE_REQUESTS requests, so the workers of
`crmhub serve --workers N` share the clients.

uvicorn's workers accept from one listening socket, and the first one awake takes every
connection pending: 20 API clients starting together on 2 workers held [1, 19] connections,
and keep-alive kept them there — one worker (one GIL) served almost every request while the
other idled. Asking a client to reconnect after a number of requests (Apache's
MaxKeepAliveRequests, nginx's keepalive_requests) lets its next connection go to whichever
worker accepts first, which is the one not busy. A reconnect costs the server well under a
millisecond; clients reconnect on their own (`Connection: close` is plain HTTP/1.1).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["KEEPALIVE_REQUESTS", "RecycleConnections"]

KEEPALIVE_REQUESTS = 20
_TRACKED = 10_000  # connections counted at most (past that the counts start again)


class RecycleConnections:
    """Answers the `requests`-th request of each client connection with `Connection: close`."""

    def __init__(self, app: ASGIApp, requests: int = KEEPALIVE_REQUESTS) -> None:
        self.app = app
        self.requests = requests
        # per client address (host, port): one live TCP connection to this server. A port
        # reused by a later connection only closes that one a little early.
        self._served: dict[tuple[str, int], int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or not client:
            await self.app(scope, receive, send)
            return
        key = (str(client[0]), int(client[1]))
        served = self._served.pop(key, 0) + 1
        if served < self.requests:
            if len(self._served) >= _TRACKED:
                self._served.clear()
            self._served[key] = served
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)
