"""A real uvicorn server for the tests, in this process (so a test can hold the comparison work back and
look at the queue), with `accelplan serve`'s settings; and raw sockets to talk to it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from tests.web.browser import free_port


@contextlib.contextmanager
def running(app: Any, protocol: Any = None) -> Iterator[tuple[str, int]]:
    """uvicorn serving `app` on a free loopback port, in a thread; yields (host, port)."""
    import uvicorn

    from accelplan.web.server import GuardedH11Protocol, server_config

    port = free_port()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, protocol or GuardedH11Protocol))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 30.0)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(15)


def wait_until(cond: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout_s} s")
        time.sleep(0.01)


def connect(addr: tuple[str, int], timeout_s: float = 5.0) -> socket.socket:
    s = socket.create_connection(addr, timeout=timeout_s)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request_bytes(method: str, path: str, body: bytes = b"", close: bool = False) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


def read_response(s: socket.socket, head_only: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length (all this app sends) from a socket; `head_only` for the
    answer to HEAD, whose Content-Length is that of the GET body it leaves out."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    size = 0 if head_only else int(headers.get("content-length", "0"))
    while len(rest) < size:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the body")
        rest += chunk
    return int(lines[0].split()[1]), headers, rest[:size]


def closed_by_server(s: socket.socket, within_s: float) -> bool:
    """Whether the server closes `s` within `within_s` (reading only; nothing is sent)."""
    s.settimeout(within_s)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams, for the load test: a few hundred microseconds
    of client CPU per request (httpx takes several milliseconds), so the numbers are the server's."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(request_bytes(method, path, body))
            head = await self.reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)}
            size = 0 if method == "HEAD" else int(headers.get("content-length", "0"))
            data = await self.reader.readexactly(size)
            if headers.get("connection", "").lower() == "close":
                self.close()
            return int(lines[0].split()[1]), data
        except BaseException:  # cancelled, or the server closed it: this connection is done
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None
