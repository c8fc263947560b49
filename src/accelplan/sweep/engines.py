"""Where scenarios run: in this process, on a local process pool, or as Ray tasks.

Every engine takes the same evaluate function and scenarios and yields lists of finished rows as
they complete, in whatever order; the store sorts them. Scenarios travel in small batches: a batch
of dense-model scenarios takes ~0.1-0.3 s, far above the dispatch cost of a task (about a
millisecond on Ray), while a kill loses at most the batches in flight (two per worker).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from accelplan.errors import AccelplanError
from accelplan.sweep.grid import Scenario

Evaluate = Callable[[Scenario], dict[str, Any]]
Rows = list[dict[str, Any]]
ENGINES = ("local", "ray")
MAX_BATCH = 8  # scenarios per task: bounds the work a kill can lose
BATCHES_PER_WORKER = 32  # enough batches that the last ones do not leave workers idle
IN_FLIGHT_PER_WORKER = 2  # one running, one queued, so a worker never waits for the driver
# A CPU-bound sweep gains nothing past one process per CPU; four per CPU leaves room for a shared or test
# machine while bounding what a typo starts (each worker holds the catalog and the model, ~50 MiB resident).
MAX_WORKERS_PER_CPU = 4
ORPHAN_POLL_S = 0.5  # how often a pool worker checks that the sweep that started it is still alive


def run_batch(evaluate: Evaluate, batch: list[Scenario]) -> Rows:
    return [evaluate(s) for s in batch]


def make_batches(scenarios: list[Scenario], workers: int) -> list[list[Scenario]]:
    size = max(1, min(MAX_BATCH, math.ceil(len(scenarios) / (workers * BATCHES_PER_WORKER))))
    return [scenarios[i:i + size] for i in range(0, len(scenarios), size)]


def default_workers() -> int:
    return os.cpu_count() or 1


class InlineEngine:
    """In this process, one scenario at a time: for one worker, debugging and tests."""

    name = "inline"
    workers = 1

    def run(self, evaluate: Evaluate, scenarios: list[Scenario]) -> Iterator[Rows]:
        for s in scenarios:
            yield [evaluate(s)]


def exit_with_parent(parent_pid: int) -> None:
    """Pool initializer: a daemon thread ends this worker once `parent_pid` is no longer its parent.

    A sweep killed with SIGKILL runs no clean-up, and its workers would wait forever on the task queue:
    each holds both ends of the queue's pipe, so no end-of-file ever reaches them. They are re-parented
    (to init or a subreaper) when the parent dies, which `os.getppid()` shows. Polling, not Linux's
    PR_SET_PDEATHSIG: that signal follows the *thread* that spawned the worker, and the pool spawns
    workers from whichever thread submits work, so it could kill live workers of a running sweep.
    """
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(ORPHAN_POLL_S)
        os._exit(1)  # no clean-up to run: the results go to the parent, which is gone

    threading.Thread(target=watch, name="accelplan-orphan-watch", daemon=True).start()


class LocalEngine:
    """A pool of `workers` processes on this machine (spawned, so no state is inherited from the parent)."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()

    def run(self, evaluate: Evaluate, scenarios: list[Scenario]) -> Iterator[Rows]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

        todo = iter(make_batches(scenarios, self.workers))
        pending: set[Future] = set()
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=exit_with_parent, initargs=(os.getpid(),))
        try:
            while True:
                while len(pending) < self.workers * IN_FLIGHT_PER_WORKER and (batch := next(todo, None)) is not None:
                    pending.add(pool.submit(run_batch, evaluate, batch))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        finally:
            # on an error or an interrupt, drop what has not started; what runs now is lost, as documented
            pool.shutdown(wait=not pending, cancel_futures=True)


class RayEngine:
    """Ray tasks on a local Ray runtime started here (`workers` CPUs), or on the cluster at `address`.

    A runtime already started in this process (`ray.init` by the caller) is used as it is. The nodes of
    a cluster must have the same accelplan installed: each row records the version that computed it.
    """

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None):
        self.workers = workers or default_workers()
        self.address = address

    def run(self, evaluate: Evaluate, scenarios: list[Scenario]) -> Iterator[Rows]:
        try:
            import ray
        except ImportError:
            raise AccelplanError("--engine ray needs Ray: pip install 'accelplan[ray]'") from None
        started = not ray.is_initialized()
        if started:
            opts: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
            if self.address:
                _check_reachable(self.address)
                try:
                    ray.init(address=self.address, **opts)
                except (ConnectionError, ValueError, RuntimeError) as exc:
                    raise AccelplanError(f"--address {self.address}: cannot join a Ray cluster there ({exc})") from None
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, **opts)
        pending: list[Any] = []
        try:
            workers = max(1, int(ray.cluster_resources().get("CPU", self.workers)))
            task = ray.remote(run_batch)
            todo = iter(make_batches(scenarios, workers))
            while True:
                while len(pending) < workers * IN_FLIGHT_PER_WORKER and (batch := next(todo, None)) is not None:
                    pending.append(task.remote(evaluate, batch))
                if not pending:
                    break
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            for ref in pending:
                ray.cancel(ref)
            if started:
                ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail at once on a HOST:PORT where nothing listens: Ray itself retries its head for minutes."""
    import socket

    host, sep, port = address.rpartition(":")
    if "://" in address or not sep or not port.isdigit():
        return  # "auto", or a ray:// client address: Ray reports those itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise AccelplanError(f"--address {address}: no Ray head answers there ({exc.strerror or exc}); "
                             "start one with `ray start --head` or give its address") from None


def make_engine(name: str, workers: int | None = None, address: str | None = None) -> InlineEngine | LocalEngine | RayEngine:
    if name not in ENGINES:
        raise AccelplanError(f"--engine: unknown engine '{name}'; allowed: {', '.join(ENGINES)}")
    if address and name != "ray":
        raise AccelplanError("--address names a Ray cluster: use it with --engine ray")
    most = MAX_WORKERS_PER_CPU * default_workers()
    if workers is not None and not 1 <= workers <= most and not address:
        raise AccelplanError(f"--workers {workers}: give 1 to {most} ({MAX_WORKERS_PER_CPU} per CPU of this machine; "
                             "the default, one per CPU, is the fastest)")
    if name == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:  # said before the grid is read, not when the sweep starts
            raise AccelplanError("--engine ray needs Ray: pip install 'accelplan[ray]'")
        return RayEngine(workers, address)
    return InlineEngine() if workers == 1 else LocalEngine(workers)
