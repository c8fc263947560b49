"""Heavy requests (a comparison is a plan search per chip) run on a few worker threads behind a bounded
queue of their own, so the page, its files and /api/options answer at once while they run.

- When the queue is full a request is refused at once (`Busy`, which the app answers with 503 and
  `Retry-After`), rather than waiting without bound.
- A request whose client disconnects while it waits is dropped before its work starts (`ClientGone`).
  Work already running in a thread cannot be stopped; it finishes and its answer is thrown away.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")
FIRST_GUESS_S = 1.0  # duration of one piece of work before any has finished (a comparison takes 0.1 s to a few s)
SMOOTHING = 0.2  # weight of the latest duration in the running mean behind Retry-After


class Busy(Exception):
    """The queue is full; try again after `retry_after_s`."""

    def __init__(self, retry_after_s: int, running: int, waiting: int):
        super().__init__(f"the server is busy: {running} comparisons running and {waiting} waiting; "
                         f"try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ClientGone(Exception):
    """The client disconnected before its work started."""


class WorkQueue:
    """At most `workers` pieces of work at once, at most `max_waiting` more waiting (first come, first served)."""

    def __init__(self, workers: int, max_waiting: int):
        self.workers, self.max_waiting = workers, max_waiting
        self.admitted = 0  # running or waiting
        self.running = 0
        self.mean_s = FIRST_GUESS_S
        self._waiters: collections.deque[anyio.Event] = collections.deque()
        # a thread per worker, apart from the default pool that serves files
        self._threads = anyio.CapacityLimiter(workers)

    @property
    def waiting(self) -> int:
        return self.admitted - self.running

    def retry_after_s(self) -> int:
        """Seconds until a place is likely free: the queue ahead drained at `workers` at a time."""
        return max(1, math.ceil(self.mean_s * (self.waiting + 1) / self.workers))

    async def run(self, work: Callable[[], T], client_gone: Callable[[], Awaitable[None]]) -> T:
        """`work()` in a worker thread, in turn. `client_gone()` returns when the client disconnects.

        Raises Busy when the queue is full, ClientGone when the client left before the work started.
        """
        # admitted here, before the first await: requests arriving in one tick cannot all pass the check
        if self.admitted >= self.workers + self.max_waiting:
            raise Busy(self.retry_after_s(), self.running, self.waiting)
        self.admitted += 1
        try:
            return await self._run(work, client_gone)
        finally:
            self.admitted -= 1

    async def _run(self, work: Callable[[], T], client_gone: Callable[[], Awaitable[None]]) -> T:
        done: list[T] = []
        failed: list[Exception] = []

        async def in_turn() -> None:
            await self._take_slot()
            try:
                t0 = time.monotonic()
                done.append(await anyio.to_thread.run_sync(work, limiter=self._threads))
                self.mean_s += SMOOTHING * (time.monotonic() - t0 - self.mean_s)
            except Exception as exc:  # raised below, outside the task group (which would wrap it in a group)
                failed.append(exc)
            finally:
                self._give_slot()
            group.cancel_scope.cancel()

        async def watch() -> None:
            await client_gone()
            group.cancel_scope.cancel()

        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            group.start_soon(in_turn)
        if failed:
            raise failed[0]
        if not done:
            raise ClientGone
        return done[0]

    async def _take_slot(self) -> None:
        if self.running < self.workers and not self._waiters:
            self.running += 1
            return
        turn = anyio.Event()
        self._waiters.append(turn)
        try:
            await turn.wait()  # _give_slot hands its slot straight to us
        except BaseException:
            if turn.is_set():  # given a slot as we were cancelled: pass it on
                self._give_slot()
            else:
                self._waiters.remove(turn)
            raise

    def _give_slot(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()
        else:
            self.running -= 1
