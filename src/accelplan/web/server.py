"""How `accelplan serve` runs uvicorn: connections that send nothing, or send slowly, are closed, so
idle sockets cannot crowd out the clients that do send requests.

uvicorn closes a keep-alive connection that stays quiet after a response (`timeout_keep_alive`) but
has no limit on how long a request may take to arrive: a socket that connects and sends nothing, or
sends a header byte at a time, is held forever. The protocol below adds that limit. uvicorn's own
`limit_concurrency` is not used: it counts open connections, so 64 idle sockets made it answer 503 to
every client.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

KEEP_ALIVE_S = 5  # a quiet keep-alive connection is closed after this (uvicorn's default)
REQUEST_ARRIVAL_S = 10.0  # a whole request (head and body) must arrive within this of connecting or of the last answer
MAX_HEADER_BYTES = 16 * 1024  # an unfinished request head h11 buffers (its default); more gets a 400
MAX_CONNECTIONS = 512  # open sockets; a newcomer over this is closed, the others keep working (well under 1024 fds)
SHUTDOWN_S = 5  # on Ctrl-C, requests still open after this are cancelled


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request to arrive and a cap on open connections."""

    request_arrival_s: float = REQUEST_ARRIVAL_S
    max_connections: int = MAX_CONNECTIONS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrival_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        crowded = len(self.connections) >= self.max_connections
        super().connection_made(transport)
        if crowded:
            transport.close()
            return
        self._await_request()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._waiting_for_request():
            self._stop_waiting()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._waiting_for_request():
            self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _waiting_for_request(self) -> bool:
        # IDLE: no request line yet, or between requests; SEND_BODY: the head came, the body is still arriving
        return self.conn.their_state in (h11.IDLE, h11.SEND_BODY)

    def _await_request(self) -> None:
        self._stop_waiting()
        self.arrival_deadline = self.loop.call_later(self.request_arrival_s, self._request_late)

    def _stop_waiting(self) -> None:
        if self.arrival_deadline is not None:
            self.arrival_deadline.cancel()
            self.arrival_deadline = None

    def _request_late(self) -> None:
        self.arrival_deadline = None
        if self._waiting_for_request() and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(request_arrival_s: float = REQUEST_ARRIVAL_S,
                     max_connections: int = MAX_CONNECTIONS) -> type[GuardedH11Protocol]:
    """The protocol with other limits (tests use short ones)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,),
                {"request_arrival_s": request_arrival_s, "max_connections": max_connections})


def server_config(app: Any, host: str, port: int, protocol: type[GuardedH11Protocol] = GuardedH11Protocol,
                  log_level: str = "warning") -> uvicorn.Config:
    """uvicorn's settings for `accelplan serve`."""
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, http=protocol,
                          timeout_keep_alive=KEEP_ALIVE_S, h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                          timeout_graceful_shutdown=SHUTDOWN_S)
