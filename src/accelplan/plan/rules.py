"""The rules a parallel plan must satisfy, once, vectorized: the search keeps only plans that pass them, and
`estimate` refuses a given plan with the message of the first rule it breaks. So the two agree by construction
(a property test checks it).

Each rule is a boolean mask over a batch of plans (True = broken) and a message naming the field, the value and
what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from accelplan.catalog.schema import CP_ALGORITHMS, System, Workload
from accelplan.catalog.stack import Stack
from accelplan.perf.plans import CP_ALGO_CODE, PlanArrays, cp_algorithms, ulysses_degree

MAX_TP = 64  # beyond any scale-up domain's useful tensor-parallel degree


@dataclass(frozen=True)
class Rule:
    name: str
    broken: np.ndarray  # bool per plan
    message: Callable[[int], str]  # the refusal for plan i


def _divisors(n: int, limit: int | None = None) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0 and (limit is None or d <= limit)]


def rules(workload: Workload, system: System, p: PlanArrays, stack: Stack | None = None) -> list[Rule]:
    """Every plan rule over the batch P, in the order a refusal reports them. With `stack`, a plan's context-parallel
    algorithm must be one the stack implements (its default where the plan names none)."""
    m = workload.model
    heads, kv, layers = m.heads, m.n_kv_heads, m.layers
    experts = m.moe.experts if m.moe else 1
    domain = max(system.domain_chips, 1)
    gbs, seq = workload.global_batch, workload.seq_len
    tp, pp, dp, cp, ep, vpp, mb = p.tp, p.pp, p.dp, p.cp, p.ep, p.vpp, p.mb
    dp_safe = np.maximum(dp, 1)
    local = gbs // dp_safe
    micro = local // np.maximum(mb, 1)
    stage_layers = -(-layers // np.maximum(pp, 1))
    chunk = stage_layers // np.maximum(vpp, 1)
    power_of_two = (cp & (cp - 1)) == 0
    tp_limit = min(MAX_TP, domain)
    out = [
        Rule("tp_heads", heads % tp != 0, lambda i: (
            f"tp={tp[i]} does not divide the {heads} attention heads of {m.id} (allowed tp: "
            f"{_divisors(heads, tp_limit)})")),
        Rule("tp_kv", (kv % tp != 0) & (tp % kv != 0), lambda i: (
            f"tp={tp[i]} neither divides nor is a multiple of the {kv} KV heads of {m.id}")),
        Rule("tp_domain", tp > tp_limit, lambda i: (
            f"tp={tp[i]} exceeds the {domain}-chip scale-up domain of system '{system.id}' (tensor parallelism stays "
            f"inside it; allowed tp <= {tp_limit})")),
        Rule("pp_layers", pp > layers, lambda i: f"pp={pp[i]} exceeds the {layers} layers of {m.id} (allowed pp: "
                                                 f"1..{layers})"),
        Rule("cp_chunks", (cp > 1) & (~power_of_two | (seq % (2 * np.maximum(cp, 1)) != 0)), lambda i: (
            f"cp={cp[i]}: context parallelism splits the sequence into 2 x cp load-balanced chunks, so cp is a power "
            f"of two with {seq} divisible by 2 x cp (allowed cp: "
            f"{[c for c in (1, 2, 4, 8, 16, 32, 64) if c == 1 or seq % (2 * c) == 0]})")),
        Rule("dp_batch", (dp < 1) | (gbs % dp_safe != 0), lambda i: (
            f"global_batch={gbs} is not a multiple of dp={dp[i]} (dp = chips / (tp x pp x cp))")),
        Rule("micro_batch", (local % np.maximum(mb, 1) != 0) | (local < mb), lambda i: (
            f"global_batch={gbs} is not a multiple of dp x micro_batch = {dp[i] * mb[i]}")),
        Rule("experts", experts % ep != 0, lambda i: f"ep={ep[i]} does not divide the {experts} experts of {m.id}"),
        Rule("ep_fold", (dp * cp * tp) % ep != 0, lambda i: (
            f"ep={ep[i]} must divide dp x cp x tp = {dp[i] * cp[i] * tp[i]} (experts fold inside them)")),
        Rule("vpp", (vpp > 1) & ((pp == 1) | (stage_layers % np.maximum(vpp, 1) != 0) | (micro < pp)), lambda i: (
            f"vpp={vpp[i]} needs pp > 1, layers per stage ({stage_layers[i]}) divisible by vpp and at least pp "
            f"({pp[i]}) micro-batches per step (there are {micro[i]})")),
        Rule("recompute_layers", p.rlayers > chunk, lambda i: (
            f"recompute_layers={p.rlayers[i]} exceeds the {chunk[i]} layers of a virtual pipeline stage (allowed: "
            f"1..{chunk[i]})")),
    ]
    cp_rules = context_parallel_rules(workload, p, stack)
    at = next(i for i, r in enumerate(out) if r.name == "cp_chunks") + 1
    return out[:at] + cp_rules + out[at:]


def context_parallel_rules(workload: Workload, p: PlanArrays, stack: Stack | None = None) -> list[Rule]:
    """The rules of a plan's context-parallel algorithm: one the stack implements (any without a stack), Ulysses
    over heads that divide, a hybrid with heads to split and a ring left over."""
    m = workload.model
    heads = m.heads
    tp, cp = p.tp, p.cp
    algo = cp_algorithms(p, stack) if stack is not None else np.where(p.cpa == 0, CP_ALGO_CODE["ring"], p.cpa)
    offered = stack.context_parallel.algorithms if stack is not None else list(CP_ALGORITHMS)
    heads_per_rank = heads / np.maximum(tp, 1)
    uly = ulysses_degree(algo, cp, heads_per_rank)
    multi = cp > 1

    def name(i: int) -> str:
        return CP_ALGORITHMS[int(algo[i]) - 1]

    return [
        Rule("cp_algo_stack", multi & ~np.isin(algo, [CP_ALGO_CODE[n] for n in offered]), lambda i: (
            f"cp_algo={name(i)}: the training stack{'' if stack is None else ' ' + stack.id} implements context "
            f"parallelism as {', '.join(offered)} (allowed cp_algo: {', '.join(offered)})")),
        Rule("cp_ulysses_heads", multi & (algo == CP_ALGO_CODE["ulysses"]) & (np.mod(heads_per_rank, cp) != 0),
             lambda i: (f"cp={cp[i]} with cp_algo=ulysses splits the {heads} heads over tp x cp = {tp[i] * cp[i]} "
                        f"ranks, which does not divide them (allowed cp: "
                        f"{[c for c in (2, 4, 8, 16, 32, 64) if heads % (tp[i] * c) == 0]}; or cp_algo ring)")),
        Rule("cp_hybrid_split", multi & (algo == CP_ALGO_CODE["hybrid"]) & (uly < 2), lambda i: (
            f"cp={cp[i]} with cp_algo=hybrid needs cp >= 4 and an even number of heads per tensor-parallel rank "
            f"({heads} / tp {tp[i]} = {heads_per_rank[i]:g}) to split over heads and sequence both")),
    ]


def cp_algorithm_allowed(workload: Workload, p: PlanArrays, stack: Stack) -> np.ndarray:
    """True where the plan's context-parallel algorithm is one the stack implements and the heads allow."""
    ok = np.ones(len(p), dtype=bool)
    for r in context_parallel_rules(workload, p, stack):
        ok &= ~r.broken
    return ok


def valid(workload: Workload, system: System, p: PlanArrays, stack: Stack | None = None) -> np.ndarray:
    """True for the plans that break no rule."""
    ok = np.ones(len(p), dtype=bool)
    for r in rules(workload, system, p, stack):
        ok &= ~r.broken
    return ok


def first_violation(workload: Workload, system: System, p: PlanArrays, i: int = 0,
                    stack: Stack | None = None) -> str | None:
    """The message of the first rule plan I breaks, or None."""
    for r in rules(workload, system, p, stack):
        if r.broken[i]:
            return r.message(i)
    return None
