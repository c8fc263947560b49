"""The server while comparisons hold every worker: the page, its files and /api/options answer at once;
a comparison past the queue's bound gets 503 with Retry-After at once; a comparison whose client left
before its turn is never run. A real uvicorn in this process, with each comparison held at a gate."""

import os
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.web.serving import connect, read_response, request_bytes, running, wait_until  # noqa: E402

TINY = b'{"model": "llama3.1-8b", "chips": ["h100-sxm"], "tokens": 1e12, "n_chips": 64}'
CHEAP = [("GET", "/"), ("HEAD", "/"), ("GET", "/api/options"), ("GET", "/static/app.js")]


class Gate:
    """Stands in for run_compare: counts the comparisons started and holds each until opened."""

    def __init__(self, real):
        self.real, self.open, self.lock, self.started = real, threading.Event(), threading.Lock(), 0

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.started += 1
        assert self.open.wait(30), "the gate was never opened"
        return self.real(*args, **kwargs)


@pytest.fixture
def gated(monkeypatch):
    import accelplan.report.views as views
    from accelplan.web.app import create_app

    gate = Gate(views.run_compare)
    monkeypatch.setattr(views, "run_compare", gate)  # the comparison imports it from here when it runs
    app = create_app(in_processes=False)  # in threads of this process, where the gate is
    with running(app) as addr:
        try:
            yield app, addr, gate
        finally:
            gate.open.set()


def compare(addr):
    s = connect(addr, timeout_s=30)
    s.sendall(request_bytes("POST", "/api/compare", TINY))
    return s


def fill(app, addr, gate, n):
    from accelplan.web.app import CONCURRENT_COMPARISONS

    held = [compare(addr) for _ in range(n)]
    queue = app.state.queue
    wait_until(lambda: queue.running + queue.waiting == n, 10)
    wait_until(lambda: gate.started == min(n, CONCURRENT_COMPARISONS), 10)
    return held


def timed(addr, method, path, body=b""):
    s = connect(addr)
    t0 = time.monotonic()
    s.sendall(request_bytes(method, path, body))
    status, headers, data = read_response(s, head_only=method == "HEAD")
    took = time.monotonic() - t0
    s.close()
    return status, headers, took


def test_the_page_answers_at_once_while_60_comparisons_are_asked_for(gated):
    from accelplan.web.app import CONCURRENT_COMPARISONS, WAITING_COMPARISONS

    app, addr, gate = gated
    bound = CONCURRENT_COMPARISONS + WAITING_COMPARISONS
    asked = [compare(addr) for _ in range(60)]  # issue 13: 60 queued comparisons held GET / for 32 s
    wait_until(lambda: app.state.queue.running + app.state.queue.waiting == bound, 10)
    for method, path in CHEAP:
        status, _, took = timed(addr, method, path)
        assert status == 200 and took < 1.0, (method, path, status, took)
    gate.open.set()
    statuses = [read_response(s)[0] for s in asked]
    assert statuses.count(200) == bound and statuses.count(503) == 60 - bound


def test_a_comparison_past_the_bound_gets_503_and_retry_after_at_once(gated):
    from accelplan.web.app import CONCURRENT_COMPARISONS, WAITING_COMPARISONS

    app, addr, gate = gated
    held = fill(app, addr, gate, CONCURRENT_COMPARISONS + WAITING_COMPARISONS)
    status, headers, took = timed(addr, "POST", "/api/compare", TINY)
    assert status == 503 and took < 1.0
    assert int(headers["retry-after"]) >= 1
    gate.open.set()
    assert [read_response(s)[0] for s in held] == [200] * len(held)
    assert timed(addr, "POST", "/api/compare", TINY)[0] == 200  # room again once they are done


def test_a_comparison_whose_client_left_before_its_turn_is_never_run(gated):
    from accelplan.web.app import CONCURRENT_COMPARISONS

    app, addr, gate = gated
    kept = fill(app, addr, gate, CONCURRENT_COMPARISONS)
    leavers = [compare(addr) for _ in range(6)]
    wait_until(lambda: app.state.queue.waiting == 6, 10)
    for s in leavers:
        s.close()
    wait_until(lambda: app.state.queue.waiting == 0, 5)  # their places free before any work ends
    gate.open.set()
    assert [read_response(s)[0] for s in kept] == [200] * len(kept)
    status, _, took = timed(addr, "POST", "/api/compare", TINY)
    assert status == 200
    assert gate.started == CONCURRENT_COMPARISONS + 1  # the kept ones and the last: none of the six


@pytest.fixture
def served_in_processes():
    from accelplan.web.app import create_app

    app = create_app()
    with running(app) as addr:
        yield app, addr


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_comparison_whose_client_leaves_while_it_runs_is_stopped(served_in_processes):
    # issue 13: work for clients that had left kept running, and a cheap comparison then waited 35 s
    app, addr = served_in_processes
    children = app.state.queue.processes
    leavers = [connect(addr) for _ in range(2)]
    for s in leavers:
        s.sendall(request_bytes("POST", "/api/compare", b"{}"))  # the default: a 505B MoE on 8 chips, seconds
    wait_until(lambda: len(children.busy_pids) == 2, 30)
    pids = children.busy_pids
    time.sleep(2.5)  # past the children's start (about a second): the comparisons run, for seconds more
    for s in leavers:
        s.close()
    wait_until(lambda: not any(alive(pid) for pid in pids), 5)
    wait_until(lambda: app.state.queue.running == 0, 5)
    status, _, _ = timed(addr, "POST", "/api/compare", TINY)
    assert status == 200
