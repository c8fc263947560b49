"""`accelplan serve` as a user starts it, under the load of issue 13 (section 6): 64 idle connections do
not keep the page from answering, and with 32 clients for 20 s, a quarter of them asking for comparisons
over and over, every cheap request answers within 1 s and no answer is a 5xx.

ACCELPLAN_LOAD_S sets the load's duration (default 20 s, as the issue asks).
"""

import asyncio
import json
import os
import socket
import statistics
import time
import urllib.request
from collections import Counter
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.web.browser import served  # noqa: E402
from tests.web.serving import Connection  # noqa: E402

LOAD_S = float(os.environ.get("ACCELPLAN_LOAD_S", "20"))
CLIENTS = 32
# Fewer than the queue's bound (2 running + 16 waiting), so none of them needs to be refused: any 5xx is a fault.
HEAVY_CLIENTS = 8
CHEAP_LIMIT_S = 1.0
CHEAP = [("GET", "/"), ("HEAD", "/"), ("GET", "/api/options"), ("GET", "/static/app.js"), ("GET", "/static/style.css")]
# A client reads what it got before it asks again.
PAUSE_S = 0.1
# One heavy client asks for the default comparison (the CLI's openPangu 505B MoE on its 8 chips: several
# seconds of plan search), the others for Llama 3.1 70B on three of them (about half a second on an idle
# core), so both workers stay busy and answers keep coming back.
DEFAULT = b"{}"
LIGHTER = json.dumps({"model": "llama3.1-70b", "chips": ["h100-sxm", "mi300x", "ascend-910b"]}).encode()
IDLE_CONNECTIONS = 64


@pytest.fixture(scope="module")
def base_url():
    with served() as url:
        yield url


def get(url: str) -> tuple[int, float]:
    t0 = time.monotonic()
    with urllib.request.urlopen(url, timeout=10) as r:
        r.read()
        return r.status, time.monotonic() - t0


def test_the_page_answers_within_a_second_with_64_idle_connections_open(base_url):
    parts = urlsplit(base_url)
    idle = [socket.create_connection((parts.hostname, parts.port), timeout=10) for _ in range(IDLE_CONNECTIONS)]
    try:
        time.sleep(0.5)  # the server has accepted them all
        for path in ("/", "/api/options"):
            status, took = get(base_url + path)
            assert status == 200 and took < CHEAP_LIMIT_S, (path, status, took)
    finally:
        for s in idle:
            s.close()


async def load(base_url: str, duration_s: float) -> dict:
    """CLIENTS clients for `duration_s`, each on its own connection: HEAVY_CLIENTS post comparisons one after
    another, the others fetch the page, its files and the options. A comparison still unanswered at the end
    is abandoned: the client leaves, as a closed browser tab does."""
    parts = urlsplit(base_url)
    deadline = time.monotonic() + duration_s
    cheap_s: list[float] = []
    statuses: Counter = Counter()
    heavy_done: list[float] = []

    async def cheap(i: int) -> None:
        conn = Connection(parts.hostname, parts.port)
        while time.monotonic() < deadline:
            method, path = CHEAP[i % len(CHEAP)]
            i += 1
            t0 = time.monotonic()
            status, _ = await conn.request(method, path)
            cheap_s.append(time.monotonic() - t0)
            statuses[status] += 1
            await asyncio.sleep(PAUSE_S)
        conn.close()

    async def heavy(i: int) -> None:
        conn = Connection(parts.hostname, parts.port)
        while (left := deadline - time.monotonic()) > 0:
            t0 = time.monotonic()
            try:
                status, _ = await asyncio.wait_for(conn.request("POST", "/api/compare", DEFAULT if i == 0 else LIGHTER),
                                                   left)
            except TimeoutError:
                return
            statuses[status] += 1
            if status == 200:
                heavy_done.append(time.monotonic() - t0)
        conn.close()

    await asyncio.gather(*[heavy(i) for i in range(HEAVY_CLIENTS)], *[cheap(i) for i in range(CLIENTS - HEAVY_CLIENTS)])
    return {"cheap_s": cheap_s, "statuses": statuses, "heavy_done_s": heavy_done}


def test_under_32_clients_cheap_requests_answer_within_a_second_and_nothing_is_a_5xx(base_url):
    got = asyncio.run(load(base_url, LOAD_S))
    cheap_s, statuses, heavy_s = got["cheap_s"], got["statuses"], got["heavy_done_s"]
    line = (f"{LOAD_S:g} s, {CLIENTS} clients: {len(cheap_s)} cheap requests, p50 "
            f"{statistics.median(cheap_s) * 1000:.0f} ms, max {max(cheap_s) * 1000:.0f} ms; "
            f"{len(heavy_s)} comparisons answered (median {statistics.median(heavy_s or [0]):.1f} s); "
            f"statuses {dict(statuses)}")
    print(line)
    assert not [s for s in statuses if s >= 500], line
    assert heavy_s, f"no comparison finished, so none ran beside the cheap requests: {line}"
    assert max(cheap_s) < CHEAP_LIMIT_S, line
