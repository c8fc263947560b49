"""Collective bandwidth through torch.distributed, launched by torchrun on one or several nodes:

    torchrun --nproc-per-node 8 -m accelplan.bench.collectives [--quick] [--json] [--out profile.yaml]
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 -m accelplan.bench.collectives

Backend: nccl on cuda, hccl on npu (torch_npu), xccl on xpu, gloo on cpu (or --backend).

Figures follow nccl-tests (NVIDIA/nccl-tests, doc/PERFORMANCE.md), for n ranks:
    size     all_reduce, all_to_all, send_recv: the buffer per rank; all_gather: the gathered output;
             reduce_scatter: the input that is scattered
    algbw    = size / time, time = the slowest rank's median time per call
    busbw    = algbw x factor: all_reduce 2(n-1)/n; all_gather, reduce_scatter, all_to_all (n-1)/n; send_recv 1
Each rank's data is a random block (seeded by rank) tiled over the buffer, so every rank can rebuild
every other rank's data and check the result after the timed calls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accelplan.errors import AccelplanError

OPS: tuple[str, ...] = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv")
BACKENDS = {"cuda": "nccl", "npu": "hccl", "xpu": "xccl", "cpu": "gloo"}
KIB, MIB, GIB = 2**10, 2**20, 2**30
PERIOD = 1024  # elements in each rank's random block
SEED = 7919
# In-place all-reduce multiplies the data by n per call: a buffer gets at most this much growth between
# refills (far inside fp32/bf16 range; fp16 gets its own bound below).
GROWTH_LIMIT = {"fp32": 1e30, "bf16": 1e30, "fp16": 1e3}
UNIT_ROUNDOFF = {"fp32": 2.0**-24, "bf16": 2.0**-8, "fp16": 2.0**-11}
MAX_BUFFERS = 64


def bus_factor(op: str, n: int) -> float:
    if op == "all_reduce":
        return 2.0 * (n - 1) / n
    if op in ("all_gather", "reduce_scatter", "all_to_all"):
        return (n - 1) / n
    return 1.0


def default_sizes(kind: str, quick: bool) -> list[int]:
    if quick:
        return [4 * KIB, 64 * KIB, MIB] if kind == "cpu" else [MIB, 16 * MIB, 256 * MIB]
    top = 64 * MIB if kind == "cpu" else GIB
    return [s for s in (4**i * KIB for i in range(16)) if s <= top]


@dataclass(frozen=True)
class Config:
    warmup_calls: int
    repeats: int
    min_repeat_s: float


QUICK = Config(warmup_calls=2, repeats=5, min_repeat_s=0.002)
FULL = Config(warmup_calls=5, repeats=20, min_repeat_s=0.02)


class Comm:
    """The process group plus what every op needs: the device, the dtype, this rank's data."""

    def __init__(self, torch: Any, dist: Any, device: Any, kind: str, dtype: str):
        self.torch, self.dist, self.device, self.kind, self.dtype = torch, dist, device, kind, dtype
        self.rank, self.n = dist.get_rank(), dist.get_world_size()
        self.tdtype = getattr(torch, {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}[dtype])
        self.el = torch.empty((), dtype=self.tdtype).element_size()

    def block(self, rank: int) -> Any:
        """Rank `rank`'s random block, values in +-[0.5, 1.5) (never zero), in float64 on the CPU."""
        g = self.torch.Generator().manual_seed(SEED * 1009 + rank)
        u = self.torch.rand(PERIOD, generator=g, dtype=self.torch.float64)
        sign = self.torch.where(self.torch.rand(PERIOD, generator=g) < 0.5, -1.0, 1.0).double()
        return ((0.5 + u) * sign).to(self.tdtype).double()  # the values as the dtype holds them

    def data(self, count: int, rank: int | None = None) -> Any:
        b = self.block(self.rank if rank is None else rank)
        return b.repeat(math.ceil(count / PERIOD))[:count].to(self.tdtype).to(self.device)

    def sync(self) -> None:
        if self.kind in ("cuda", "npu", "xpu"):
            getattr(self.torch, self.kind).synchronize()

    def agree_max(self, value: float) -> float:
        t = self.torch.tensor([value], dtype=self.torch.float64 if self.kind == "cpu" else self.torch.float32,
                              device=self.device)
        self.dist.all_reduce(t, op=self.dist.ReduceOp.MAX)
        return float(t.item())


@dataclass
class OpSetup:
    call: Callable[[int], object]  # run call i (on buffer set i mod sets)
    sets: int
    refill: Callable[[], None]  # restore the inputs between repeats (in-place ops only)
    max_calls_between_refills: int | None
    check: Callable[[], bool]  # after a refill: run once and compare with the reference
    size_bytes: int


def setup(c: Comm, op: str, size_bytes: int, sets: int) -> OpSetup:
    torch, dist, n, r = c.torch, c.dist, c.n, c.rank
    divisor = n if op in ("all_gather", "reduce_scatter", "all_to_all") else 1
    count = max(size_bytes // (c.el * divisor), 1)  # per-rank elements (per chunk for the chunked ops)
    size = count * divisor * c.el
    tol = 4.0 * n * UNIT_ROUNDOFF[c.dtype]
    blocks = [c.block(q) for q in range(n)]
    idx = torch.arange(min(count, 2 * PERIOD))

    def expect(q: int, offset: int) -> Any:
        return blocks[q][(offset + idx) % PERIOD]

    def close(got: Any, want: Any, scale: Any) -> bool:
        return bool(((got.double().cpu() - want).abs() <= tol * scale).all())

    if op == "all_reduce":
        bufs = [c.data(count) for _ in range(sets)]
        pristine = c.data(count)
        total_abs = sum(b.abs() for b in blocks)[idx % PERIOD]

        def refill() -> None:
            for b in bufs:
                b.copy_(pristine)

        def check() -> bool:
            refill()
            dist.all_reduce(bufs[0])
            c.sync()
            return close(bufs[0][: len(idx)], sum(expect(q, 0) for q in range(n)), total_abs)

        growth = max(1, int(math.log(GROWTH_LIMIT[c.dtype]) / math.log(max(n, 2))))
        return OpSetup(lambda i: dist.all_reduce(bufs[i % sets]), sets, refill, growth * sets, check, size)

    if op == "all_gather":
        gather = getattr(dist, "all_gather_single", None) or dist.all_gather_into_tensor  # renamed in torch 2.13
        ins = [c.data(count) for _ in range(sets)]
        outs = [torch.empty(count * n, dtype=c.tdtype, device=c.device) for _ in range(sets)]

        def check() -> bool:
            return all(bool((outs[0][q * count:q * count + len(idx)].double().cpu() == expect(q, 0)).all()) for q in range(n))

        return OpSetup(lambda i: gather(outs[i % sets], ins[i % sets]), sets, lambda: None, None,
                       check, size)

    if op == "reduce_scatter":
        scatter = getattr(dist, "reduce_scatter_single", None) or dist.reduce_scatter_tensor  # renamed in torch 2.13
        ins = [c.data(count * n) for _ in range(sets)]
        outs = [torch.empty(count, dtype=c.tdtype, device=c.device) for _ in range(sets)]
        total_abs = sum(b.abs() for b in blocks)[(r * count + idx) % PERIOD]

        def check() -> bool:
            return close(outs[0][: len(idx)], sum(expect(q, r * count) for q in range(n)), total_abs)

        return OpSetup(lambda i: scatter(outs[i % sets], ins[i % sets]), sets, lambda: None, None,
                       check, size)

    if op == "all_to_all":
        ins = [c.data(count * n) for _ in range(sets)]
        outs = [torch.empty(count * n, dtype=c.tdtype, device=c.device) for _ in range(sets)]

        def check() -> bool:
            return all(bool((outs[0][q * count:q * count + len(idx)].double().cpu() == expect(q, r * count)).all())
                       for q in range(n))

        return OpSetup(lambda i: dist.all_to_all_single(outs[i % sets], ins[i % sets]), sets, lambda: None, None,
                       check, size)

    # send_recv: every rank sends to the next and receives from the previous, at once (nccl-tests sendrecv)
    ins = [c.data(count) for _ in range(sets)]
    outs = [torch.empty(count, dtype=c.tdtype, device=c.device) for _ in range(sets)]
    nxt, prv = (r + 1) % n, (r - 1) % n

    def send_recv(i: int) -> None:
        ops = [dist.P2POp(dist.isend, ins[i % sets], nxt), dist.P2POp(dist.irecv, outs[i % sets], prv)]
        for w in dist.batch_isend_irecv(ops):
            w.wait()

    def check_recv() -> bool:
        return bool((outs[0][: len(idx)].double().cpu() == expect(prv, 0)).all())

    return OpSetup(send_recv, sets, lambda: None, None, check_recv, size)


def probe(c: Comm, op: str) -> str | None:
    """None if `op` runs on this backend, else why not; every rank reaches the same answer."""
    if op == "send_recv" and c.n < 2:
        return "needs at least 2 ranks"
    reason = None
    try:
        s = setup(c, op, PERIOD * c.el * c.n, 1)
        s.call(0)
        c.sync()
    except (RuntimeError, NotImplementedError, ValueError, AttributeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    failed = c.agree_max(1.0 if reason else 0.0)
    if failed and not reason:
        reason = "failed on another rank"
    if reason:
        return f"unsupported on {c.dist.get_backend()}: {reason}"
    return None


def time_op(c: Comm, s: OpSetup, cfg: Config) -> float:
    """Slowest rank's median time per call. Ranks start each repeat together (barrier) and agree on calls."""
    s.refill()
    for i in range(max(cfg.warmup_calls, s.sets)):
        if s.max_calls_between_refills and i % s.max_calls_between_refills == 0:
            s.refill()
        s.call(i)
    c.sync()
    s.refill()
    c.sync()
    c.dist.barrier()
    warm = max(1, cfg.warmup_calls)
    t0 = time.perf_counter()
    for i in range(warm):
        s.call(i)
    c.sync()
    per_call = c.agree_max((time.perf_counter() - t0) / warm)
    calls = max(1, math.ceil(cfg.min_repeat_s / max(per_call, 1e-9)))
    if s.max_calls_between_refills:
        calls = min(calls, s.max_calls_between_refills)
    times = []
    for _ in range(cfg.repeats):
        s.refill()
        c.sync()
        c.dist.barrier()
        c.sync()
        t0 = time.perf_counter()
        for i in range(calls):
            s.call(i)
        c.sync()
        times.append((time.perf_counter() - t0) / calls)
    return c.agree_max(statistics.median(times))


def rotation_sets(size_bytes: int, llc_bytes: int, budget: float) -> int:
    """Buffer sets so the inputs of consecutive calls exceed twice the cache; small sizes get many (cheap)."""
    want = math.ceil(2.0 * llc_bytes / max(size_bytes, 1))
    fit = MAX_BUFFERS if math.isinf(budget) else int(budget // max(3 * size_bytes, 1))
    return max(1, min(MAX_BUFFERS, want, fit))


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    """Run every op over every size; rank 0 gets the results as a dict, other ranks None."""
    from accelplan.bench.buffers import budget_bytes
    from accelplan.bench.device import resolve
    from accelplan.bench.profile import CollectivePoint, Unsupported

    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise AccelplanError("launch with torchrun, e.g. `torchrun --nproc-per-node 2 -m accelplan.bench.collectives`")
    dev = resolve(args.device)
    if dev.kind == "mps":  # no collective backend takes MPS tensors: gloo on the host
        dev = resolve("cpu")
    import inspect

    import torch
    import torch.distributed as dist

    backend = args.backend or BACKENDS[dev.kind]
    bind = backend == "nccl" and "device_id" in inspect.signature(dist.init_process_group).parameters
    dist.init_process_group(backend=backend, timeout=dt.timedelta(seconds=args.timeout_s),
                            **({"device_id": dev.torch_device} if bind else {}))
    try:
        c = Comm(torch, dist, dev.torch_device, dev.kind, args.dtype)
        n = c.n
        local = int(os.environ.get("LOCAL_WORLD_SIZE", n))
        nodes = max(1, n // max(local, 1))
        cfg = QUICK if args.quick else FULL
        sizes = _sizes(args, dev.kind)
        ops = args.ops.split(",") if args.ops else list(OPS)
        bad = [o for o in ops if o not in OPS]
        if bad:
            raise AccelplanError(f"--ops: '{bad[0]}' is not one of: {', '.join(OPS)}")
        points, unsupported = [], []
        for op in ops:
            why = probe(c, op)
            if why:
                unsupported.append(Unsupported(what=op, reason=why))
                continue
            for size in sizes:
                sets = rotation_sets(size, dev.llc_bytes, budget_bytes(dev.available_bytes))
                s = setup(c, op, size, sets)
                seconds = time_op(c, s, cfg)
                ok = c.agree_max(0.0 if s.check() else 1.0) == 0.0
                algbw = s.size_bytes / seconds / 1e9
                f = bus_factor(op, n)
                points.append(CollectivePoint(op=op, backend=backend, world_size=n, nodes=nodes, dtype=args.dtype,  # type: ignore[arg-type]
                                              size_bytes=s.size_bytes, seconds=seconds, algbw_gb_s=algbw,
                                              busbw_gb_s=algbw * f, bus_factor=f, verified=ok))
                if c.rank == 0 and not args.json and sys.stderr.isatty():
                    print(f"{op:>14} {s.size_bytes:>12,d} B  {seconds * 1e6:>10.1f} us  algbw {algbw:8.3f} GB/s  "
                          f"busbw {algbw * f:8.3f} GB/s  {'ok' if ok else 'CHECK FAILED'}", file=sys.stderr, flush=True)
                del s
    finally:
        dist.destroy_process_group()
    if c.rank != 0:
        return None
    return {"device": dev, "quick": args.quick, "backend": backend, "world_size": n, "nodes": nodes, "points": points,
            "unsupported": unsupported}


def _sizes(args: argparse.Namespace, kind: str) -> list[int]:
    if args.min_bytes is None and args.max_bytes is None:
        return default_sizes(kind, args.quick)
    lo, hi = args.min_bytes or KIB, args.max_bytes or args.min_bytes or KIB
    if lo <= 0 or hi < lo or args.factor < 2:
        raise AccelplanError(f"--min-bytes {lo} / --max-bytes {hi} / --factor {args.factor}: need 0 < min <= max, factor >= 2")
    out, s = [], lo
    while s <= hi:
        out.append(s)
        s *= args.factor
    return out


def to_profile(res: dict[str, Any], out: str | None) -> Any:
    """The results as a CalibrationProfile: merged into `out` when it exists (same device), else a new one."""
    from accelplan.bench.profile import CalibrationProfile, load_profile

    dev = res["device"]
    collective_ops = set(OPS)
    if out and os.path.exists(out):
        old = load_profile(out)
        if old.device_name != dev.name:
            raise AccelplanError(f"--out {out}: that profile was measured on {old.device_name}, these collectives ran on "
                                 f"{dev.name}; write to another file")
        kept = [u for u in old.unsupported if u.what not in collective_ops]
        return old.model_copy(update={"collectives": res["points"], "unsupported": kept + res["unsupported"]})
    now = dt.datetime.now(dt.UTC)
    return CalibrationProfile(device=dev.kind, device_name=dev.name, chip=dev.chip, chip_match=dev.chip_match,
                              host=socket.gethostname(), date=now.date().isoformat(),
                              timestamp_utc=now.isoformat(timespec="seconds"), versions=dev.versions,
                              llc_bytes=dev.llc_bytes, quick=res["quick"], collectives=res["points"],
                              unsupported=res["unsupported"])


def _print_table(res: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    dev = res["device"]
    con = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
    con.print(f"[bold]collectives[/bold]: {res['backend']}, {res['world_size']} ranks on {res['nodes']} node(s), {dev.name}")
    con.print("[dim]algbw = size / time (slowest rank, median); busbw = algbw x 2(n-1)/n for all_reduce, (n-1)/n for "
              "all_gather, reduce_scatter and all_to_all, 1 for send_recv (nccl-tests)[/dim]")
    t = Table()
    for col in ("op", "size", "time", "algbw GB/s", "busbw GB/s", "check"):
        t.add_column(col, justify="left" if col == "op" else "right")
    for p in res["points"]:
        t.add_row(p.op, _bytes(p.size_bytes), f"{p.seconds * 1e6:,.1f} us", f"{p.algbw_gb_s:,.3f}", f"{p.busbw_gb_s:,.3f}",
                  "ok" if p.verified else "FAILED")
    con.print(t)
    for u in res["unsupported"]:
        con.print(f"[yellow]{u.what}[/yellow]: {u.reason}")


def _bytes(n: int) -> str:
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size:
            return f"{n / size:,.4g} {unit}"
    return f"{n} B"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m accelplan.bench.collectives",
                                description="Collective bus bandwidth (nccl-tests conventions); launch with torchrun.")
    p.add_argument("--device", choices=["cpu", "cuda", "npu", "xpu", "mps"], default=None)
    p.add_argument("--backend", default=None, help="nccl | hccl | xccl | gloo (default: from the device)")
    p.add_argument("--dtype", choices=["fp32", "bf16", "fp16"], default="fp32")
    p.add_argument("--ops", default=None, help=f"comma-separated subset of {','.join(OPS)}")
    p.add_argument("--quick", action="store_true", help="three sizes, few repeats")
    p.add_argument("--min-bytes", type=int, default=None)
    p.add_argument("--max-bytes", type=int, default=None)
    p.add_argument("--factor", type=int, default=4, help="size step (default 4)")
    p.add_argument("--timeout-s", type=int, default=600, help="process-group timeout")
    p.add_argument("--json", action="store_true", help="print JSON (rank 0) instead of a table")
    p.add_argument("--out", default=None, help="write (or merge into) this calibration profile (YAML)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.out:  # refused before the collectives run, not after
            from accelplan.paths import output_file

            output_file(args.out, "--out")
        res = run(args)
        if res is None:
            return 0
        profile = to_profile(res, args.out)
        if args.out:
            from accelplan.bench.profile import save_profile

            save_profile(profile, args.out)
        if args.json:
            data = profile.model_dump(mode="json")
            sys.stdout.write(json.dumps({k: data[k] for k in ("device", "device_name", "chip", "host", "date", "versions",
                                                               "collectives", "unsupported")}, indent=2) + "\n")
        else:
            _print_table(res)
            if args.out:
                print(f"wrote {args.out}")
    except AccelplanError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
