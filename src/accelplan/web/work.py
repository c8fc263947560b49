"""Heavy requests (a comparison is a plan search per chip) run a few at a time behind a bounded queue of
their own, in child processes, so the page, its files and /api/options answer at once while they run.

- Child processes, not threads: a comparison for a client that left can be stopped (its process is
  killed; a thread cannot be), and the event loop does not wait for the GIL held by comparisons (the
  "convoy effect", bpo-7946). Under tests/web/test_web_load.py's 32 clients on two busy cores, the cheap
  requests took p50 21 ms, p99 196 ms with comparisons in threads; 15 ms and 83 ms in processes.
- When the queue is full a request is refused at once (`Busy`, which the app answers with 503 and
  `Retry-After`), rather than waiting without bound.
- A request whose client disconnects while it waits is dropped before its work starts (`ClientGone`);
  work already running for it is stopped by killing its process (a fresh one takes its place). In
  thread mode (tests that stand in for the work) running work cannot be stopped and finishes unread.
"""

from __future__ import annotations

import collections
import math
import os
import pickle
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import IO, Any, TypeVar, cast

import anyio
import anyio.to_thread

T = TypeVar("T")
FIRST_GUESS_S = 1.0  # duration of one piece of work before any has finished (a comparison takes 0.1 s to a few s)
SMOOTHING = 0.2  # weight of the latest duration in the running mean behind Retry-After
# POSIX niceness of the child processes (0 normal, 19 lowest): on a busy machine the server's own process,
# which answers the page and the cheap requests, gets the CPU first.
CHILD_NICENESS = 5


class Busy(Exception):
    """The queue is full; try again after `retry_after_s`."""

    def __init__(self, retry_after_s: int, running: int, waiting: int):
        super().__init__(f"the server is busy: {running} comparisons running and {waiting} waiting; "
                         f"try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ClientGone(Exception):
    """The client disconnected before its work started, or (in a child process) before it ended."""


class WorkerFailed(Exception):
    """The work raised in its child process (the child's traceback, as text) or the child died."""


# The child is a fresh interpreter that imports only this module, not the parent's __main__ (as
# multiprocessing's spawn does, which would run a script without a __main__ guard again in every child).
CHILD_CODE = "from accelplan.web.work import child_main; child_main()"


def _send(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    head = stream.read(8)
    size = int.from_bytes(head, "big") if len(head) == 8 else -1
    data = stream.read(size) if size >= 0 else b""
    if size < 0 or len(data) < size:
        raise EOFError("the other end closed the pipe")
    return pickle.loads(data)


def child_main() -> None:
    """A worker process: runs each callable that arrives on stdin, answers (True, result) or (False,
    traceback text) on stdout. The first messages are the parent's sys.path and the `warm` callable."""
    inbox, outbox = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what the work prints goes to stderr, not into the answers
    if hasattr(os, "nice"):
        os.nice(CHILD_NICENESS)
    sys.path[:] = _receive(inbox)
    warm = _receive(inbox)
    if warm is not None:
        warm()
    _send(outbox, (True, None))  # ready
    while True:
        try:
            work = _receive(inbox)
        except EOFError:  # the server closed its end
            return
        try:
            out: tuple[bool, Any] = (True, work())
        except Exception as exc:  # an exception may not unpickle in the parent: its text does
            out = (False, "".join(traceback.format_exception(exc)))
        _send(outbox, out)


class _Child:
    def __init__(self, warm: Callable[[], None] | None):
        self.process = subprocess.Popen([sys.executable, "-c", CHILD_CODE], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)
        self.inbox, self.outbox = cast(IO[bytes], self.process.stdin), cast(IO[bytes], self.process.stdout)
        _send(self.inbox, sys.path)
        _send(self.inbox, warm)
        self.ready = False

    def send(self, work: Callable[[], Any]) -> None:
        _send(self.inbox, work)

    def receive(self) -> Any:
        return _receive(self.outbox)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(5)
        self.inbox.close()
        self.outbox.close()


class ChildProcesses:
    """`size` child processes, each running one picklable callable at a time; the one whose caller stops
    waiting is killed and replaced."""

    def __init__(self, size: int, warm: Callable[[], None] | None = None):
        self.size, self.warm = size, warm
        self._idle: list[_Child] = []
        self._busy: set[_Child] = set()
        self._stops = 0  # times stop() ran: a call that began before the last one replaces no child
        self._threads = anyio.CapacityLimiter(size)  # one waiting for each child's answer

    @property
    def pids(self) -> list[int]:
        """Process ids of the children, idle or working."""
        return [child.process.pid for child in [*self._idle, *self._busy]]

    @property
    def busy_pids(self) -> list[int]:
        """Process ids of the children running work now."""
        return [child.process.pid for child in self._busy]

    def start(self) -> None:
        """Start the children now (they load what `warm` loads), not at the first call."""
        while len(self._idle) + len(self._busy) < self.size:
            self._idle.append(_Child(self.warm))

    def stop(self) -> None:
        """Kill the children; a later call starts new ones."""
        self._stops += 1
        for child in [*self._idle, *self._busy]:
            child.stop()
        self._idle.clear()
        self._busy.clear()

    async def call(self, work: Callable[[], T]) -> T:
        stops = self._stops
        child = self._idle.pop() if self._idle else _Child(self.warm)
        self._busy.add(child)
        try:
            if not child.ready:
                await self._answer(child)
                child.ready = True
            child.send(work)
            ok, value = await self._answer(child)
        except BaseException:  # cancelled (the client left) or the child died: it is not reused
            self._busy.discard(child)
            child.stop()
            if stops == self._stops:
                self._idle.append(_Child(self.warm))  # warms up while nobody waits for it
            raise
        self._busy.discard(child)
        if stops == self._stops:
            self._idle.append(child)
        else:  # stop() ran while it worked
            child.stop()
        if not ok:
            raise WorkerFailed(value)
        return value

    async def _answer(self, child: _Child) -> Any:
        # abandoned on cancel: the caller then kills the child, which ends the blocked read
        try:
            return await anyio.to_thread.run_sync(child.receive, abandon_on_cancel=True, limiter=self._threads)
        except (EOFError, OSError, ValueError) as exc:  # ValueError: read from a pipe closed under it
            raise WorkerFailed(f"the worker process ended (exit code {child.process.poll()})") from exc


class WorkQueue:
    """At most `workers` pieces of work at once, at most `max_waiting` more waiting (first come, first served)."""

    def __init__(self, workers: int, max_waiting: int, processes: ChildProcesses | None = None):
        """`processes`: run the work there (it must pickle); None runs it in threads."""
        self.workers, self.max_waiting, self.processes = workers, max_waiting, processes
        self.admitted = 0  # running or waiting
        self.running = 0
        self.mean_s = FIRST_GUESS_S
        self._waiters: collections.deque[anyio.Event] = collections.deque()
        # thread mode: a thread per worker, apart from the default pool that serves files
        self._threads = anyio.CapacityLimiter(workers)

    @property
    def waiting(self) -> int:
        return self.admitted - self.running

    def retry_after_s(self) -> int:
        """Seconds until a place is likely free: the queue ahead drained at `workers` at a time."""
        return max(1, math.ceil(self.mean_s * (self.waiting + 1) / self.workers))

    async def run(self, work: Callable[[], T], client_gone: Callable[[], Awaitable[None]]) -> T:
        """`work()` in a child process (or a thread), in turn. `client_gone()` returns when the client disconnects.

        Raises Busy when the queue is full, ClientGone when the client left before the work started (or, in a
        child process, before it ended: the process is killed).
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
                if self.processes is not None:
                    done.append(await self.processes.call(work))
                else:
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
