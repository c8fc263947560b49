"""The queue in front of the comparisons: a bounded number run, a bounded number wait in order, the rest
are refused at once; work whose client left before its turn never starts, and work running in a child
process for a client that left is killed."""

import functools
import operator
import os
import threading
import time

import pytest

anyio = pytest.importorskip("anyio")

from accelplan.web.work import Busy, ChildProcesses, ClientGone, WorkerFailed, WorkQueue  # noqa: E402


class Held:
    """Work that records when it starts and waits until released (all at once, or one by name)."""

    def __init__(self):
        self.release = threading.Event()
        self.one: dict[str, threading.Event] = {}
        self.started: list[str] = []
        self.lock = threading.Lock()

    def work(self, name: str):
        self.one[name] = threading.Event()

        def run() -> str:
            with self.lock:
                self.started.append(name)
            deadline = time.monotonic() + 10
            while not (self.release.is_set() or self.one[name].is_set()):
                assert time.monotonic() < deadline, "never released"
                time.sleep(0.002)
            return name
        return run


async def stays() -> None:
    await anyio.sleep_forever()


async def until(cond, timeout_s: float = 5.0) -> None:
    with anyio.fail_after(timeout_s):
        while not cond():
            await anyio.sleep(0.005)


def test_two_run_at_once_the_rest_wait_in_order_and_the_queue_is_refused_past_its_bound():
    q, held = WorkQueue(workers=2, max_waiting=3), Held()
    answers: list[str] = []

    async def main():
        async def client(name):
            answers.append(await q.run(held.work(name), stays))

        async with anyio.create_task_group() as tg:
            for name in "abcde":
                tg.start_soon(client, name)
                await until(lambda n=name: q.running + q.waiting == "abcde".index(n) + 1)
            await until(lambda: len(held.started) == 2)
            assert held.started == ["a", "b"] and (q.running, q.waiting) == (2, 3)
            t0 = time.monotonic()
            with pytest.raises(Busy) as busy:
                await q.run(held.work("f"), stays)
            assert time.monotonic() - t0 < 0.5 and busy.value.retry_after_s >= 1
            for done, starts in [("b", "c"), ("a", "d"), ("c", "e")]:  # a freed slot goes to the longest waiting
                held.one[done].set()
                await until(lambda n=starts: n in held.started)
                assert held.started[-1] == starts and q.running == 2
            held.release.set()
        assert sorted(answers) == list("abcde")
        assert (q.running, q.waiting) == (0, 0)

    anyio.run(main)


def test_requests_arriving_together_are_admitted_up_to_the_bound_and_no_further():
    q, held = WorkQueue(workers=2, max_waiting=3), Held()
    refused: list[int] = []

    async def main():
        async def client(name):
            try:
                await q.run(held.work(name), stays)
            except Busy as exc:
                refused.append(exc.retry_after_s)

        async with anyio.create_task_group() as tg:
            for i in range(20):  # all started before any of them runs
                tg.start_soon(client, str(i))
            await until(lambda: len(refused) == 15)
            assert (q.running, q.waiting) == (2, 3)
            held.release.set()
        assert len(held.started) == 5

    anyio.run(main)


def test_work_whose_client_left_while_waiting_never_starts_and_frees_its_place():
    q, held = WorkQueue(workers=1, max_waiting=2), Held()

    async def main():
        gone = anyio.Event()
        outcome: dict[str, object] = {}

        async def client(name, client_gone):
            try:
                outcome[name] = await q.run(held.work(name), client_gone)
            except ClientGone:
                outcome[name] = "gone"

        async with anyio.create_task_group() as tg:
            tg.start_soon(client, "running", stays)
            await until(lambda: held.started == ["running"])
            tg.start_soon(client, "leaver", gone.wait)
            await until(lambda: q.waiting == 1)
            gone.set()
            await until(lambda: q.waiting == 0)  # dropped at once, while the first still runs
            tg.start_soon(client, "next", stays)
            await until(lambda: q.waiting == 1)
            held.release.set()
        assert outcome == {"running": "running", "leaver": "gone", "next": "next"}
        assert held.started == ["running", "next"]

    anyio.run(main)


def test_work_that_started_finishes_when_its_client_leaves_and_frees_its_slot():
    q, held = WorkQueue(workers=1, max_waiting=0), Held()

    async def main():
        gone = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(q.run, held.work("a"), gone.wait)
            await until(lambda: held.started == ["a"])
            gone.set()
            await anyio.sleep(0.05)
            assert q.running == 1  # a thread cannot be stopped: its slot stays taken until it ends
            held.release.set()
        assert q.running == 0
        assert await q.run(lambda: "b", stays) == "b"

    anyio.run(main)


def test_an_error_in_the_work_reaches_the_caller_as_itself():
    q = WorkQueue(workers=1, max_waiting=0)

    def fails():
        raise ValueError("no plan")

    async def main():
        with pytest.raises(ValueError, match="no plan"):
            await q.run(fails, stays)
        assert q.running == 0

    anyio.run(main)


def test_retry_after_is_the_queue_ahead_drained_at_the_mean_duration():
    q, held = WorkQueue(workers=2, max_waiting=4), Held()
    q.mean_s = 3.0

    async def main():
        async with anyio.create_task_group() as tg:
            seen = []
            for name in "abcde":
                tg.start_soon(q.run, held.work(name), stays)
                await until(lambda n=name: q.running + q.waiting == "abcde".index(n) + 1)
                seen.append(q.retry_after_s())
            held.release.set()
        # two running at 3 s each: with w waiting, the next place frees after 3 s x (w + 1) / 2, rounded up
        assert seen == [2, 2, 3, 5, 6]

    anyio.run(main)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_work_in_a_child_process_answers_and_its_errors_come_back_as_text():
    q = WorkQueue(workers=1, max_waiting=0, processes=ChildProcesses(1))

    async def main():
        assert await q.run(functools.partial(pow, 2, 10), stays) == 1024
        with pytest.raises(WorkerFailed, match="ZeroDivisionError"):
            await q.run(functools.partial(operator.truediv, 1, 0), stays)
        assert await q.run(functools.partial(pow, 3, 3), stays) == 27  # the same child, still there

    try:
        anyio.run(main)
    finally:
        q.processes.stop()


def test_work_in_a_child_process_whose_client_leaves_is_killed_and_the_child_replaced():
    children = ChildProcesses(1)
    q = WorkQueue(workers=1, max_waiting=0, processes=children)

    async def main():
        gone = anyio.Event()
        outcome = []

        async def client():
            try:
                await q.run(functools.partial(time.sleep, 60), gone.wait)
            except ClientGone:
                outcome.append("gone")

        async with anyio.create_task_group() as tg:
            tg.start_soon(client)
            await until(lambda: children.busy_pids, 30)
            pid = children.busy_pids[0]
            await anyio.sleep(0.5)
            t0 = time.monotonic()
            gone.set()
        assert outcome == ["gone"] and time.monotonic() - t0 < 5  # not the 60 s the work would take
        await until(lambda: not alive(pid), 5)
        assert q.running == 0
        assert await q.run(functools.partial(pow, 2, 5), stays) == 32  # a fresh child took its place

    try:
        anyio.run(main)
    finally:
        children.stop()


def test_children_stopped_by_the_server_start_again_on_the_next_call():
    children = ChildProcesses(1)
    q = WorkQueue(workers=1, max_waiting=0, processes=children)

    async def main():
        assert await q.run(functools.partial(pow, 2, 2), stays) == 4
        children.stop()
        assert await q.run(functools.partial(pow, 2, 3), stays) == 8
        first = children.pids
        assert await q.run(functools.partial(pow, 2, 4), stays) == 16
        assert children.pids == first and len(first) == 1  # kept, not started again for every call

    try:
        anyio.run(main)
    finally:
        children.stop()
