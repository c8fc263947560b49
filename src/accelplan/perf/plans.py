"""A batch of plans as arrays (struct of arrays): what the vectorized model evaluates at once."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from accelplan.catalog.schema import CP_ALGORITHMS, Plan
from accelplan.catalog.stack import Stack

Array = np.ndarray
RECOMPUTE_CODE = {"none": 0, "selective": 1, "full": 2}
# context-parallel algorithm per plan: 0 = the stack's default, then the algorithms in CP_ALGORITHMS order
CP_ALGO_CODE = {name: i + 1 for i, name in enumerate(CP_ALGORITHMS)}


@dataclass
class PlanArrays:
    tp: Array
    pp: Array
    dp: Array
    ep: Array
    cp: Array
    vpp: Array
    mb: Array
    recompute: Array  # 0 none, 1 selective, 2 full
    zero: Array
    sp: Array  # bool
    # optional at construction (None = all zeros / False, filled in by __post_init__), always arrays after it
    rlayers: Array = None  # type: ignore[assignment]  # full recompute: layers per virtual stage; 0 = all
    opt_bf16: Array = None  # type: ignore[assignment]  # bool: bf16 Adam moments
    off_act: Array = None  # type: ignore[assignment]  # bool: activations offloaded to host
    off_opt: Array = None  # type: ignore[assignment]  # bool: optimizer state offloaded to host
    cpa: Array = None  # type: ignore[assignment]  # context-parallel algorithm (CP_ALGO_CODE; 0 = the stack's)

    def __post_init__(self) -> None:
        n = len(self.tp)
        if self.rlayers is None:
            self.rlayers = np.zeros(n, dtype=int)
        if self.cpa is None:
            self.cpa = np.zeros(n, dtype=int)
        for name in ("opt_bf16", "off_act", "off_opt"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(n, dtype=bool))

    @classmethod
    def from_plans(cls, plans: list[Plan]) -> PlanArrays:
        def col(f):  # noqa: ANN001, ANN202
            return np.array([f(p) for p in plans])

        return cls(tp=col(lambda p: p.tp), pp=col(lambda p: p.pp), dp=col(lambda p: p.dp), ep=col(lambda p: p.ep),
                   cp=col(lambda p: p.cp), vpp=col(lambda p: p.vpp), mb=col(lambda p: p.micro_batch),
                   recompute=col(lambda p: RECOMPUTE_CODE[p.recompute]), zero=col(lambda p: p.zero),
                   sp=col(lambda p: p.sequence_parallel), rlayers=col(lambda p: p.recompute_layers or 0),
                   opt_bf16=col(lambda p: p.optimizer_dtype == "bf16"), off_act=col(lambda p: p.offload_activations),
                   off_opt=col(lambda p: p.offload_optimizer),
                   cpa=col(lambda p: CP_ALGO_CODE[p.cp_algo] if p.cp_algo else 0))

    def __len__(self) -> int:
        return len(self.tp)

    def take(self, idx: Array) -> PlanArrays:
        return PlanArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def concat(self, other: PlanArrays) -> PlanArrays:
        return PlanArrays(**{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                             for f in fields(self)})

    def plan(self, i: int) -> Plan:
        rc = {v: k for k, v in RECOMPUTE_CODE.items()}
        algo = int(self.cpa[i])  # type: ignore[index]
        return Plan(tp=int(self.tp[i]), pp=int(self.pp[i]), dp=int(self.dp[i]), ep=int(self.ep[i]), cp=int(self.cp[i]),
                    cp_algo=CP_ALGORITHMS[algo - 1] if algo and self.cp[i] > 1 else None,
                    vpp=int(self.vpp[i]), micro_batch=int(self.mb[i]), recompute=rc[int(self.recompute[i])],  # type: ignore[arg-type]
                    zero=int(self.zero[i]), sequence_parallel=bool(self.sp[i]),
                    recompute_layers=int(self.rlayers[i]) or None,  # type: ignore[index]
                    optimizer_dtype="bf16" if self.opt_bf16[i] else None,  # type: ignore[index]
                    offload_activations=bool(self.off_act[i]), offload_optimizer=bool(self.off_opt[i]))  # type: ignore[index]


def cp_algorithms(plans: PlanArrays, stack: Stack) -> Array:
    """Each plan's context-parallel algorithm code, the stack's default where the plan names none."""
    return np.where(plans.cpa == 0, CP_ALGO_CODE[stack.context_parallel.algorithms[0]], plans.cpa)


def ulysses_degree(algo: Array, cp: Array, heads_per_rank: Array) -> Array:
    """Ranks of each context-parallel group that split the attention heads by all-to-all (the rest pass or gather K
    and V along the sequence): all cp of them for Ulysses; for a hybrid, the most the heads per tensor-parallel rank
    allow below cp (a power of two, so at least a 2-rank ring remains), as USP places Ulysses innermost (Fang & Zhao
    2024, arXiv 2405.07719, sec. 4); 1 for ring and all-gather. A hybrid whose heads allow no split gets 1 (the
    plan rules refuse it)."""
    cp = np.asarray(cp, dtype=float)
    algo = np.asarray(algo)
    out = np.where(algo == CP_ALGO_CODE["ulysses"], cp, 1.0)
    hyb = np.flatnonzero(algo == CP_ALGO_CODE["hybrid"])
    if hyb.size:  # few rows are hybrid: the bit arithmetic runs on them only
        c = cp[hyb]
        h = np.broadcast_to(np.asarray(heads_per_rank, dtype=float), cp.shape)[hyb]
        # the largest power of two dividing the heads per rank (0 where they are not whole) and the largest power
        # of two below cp: u divides the heads and u < cp, at least 2
        hi = np.where((h >= 1.0) & (np.floor(h) == h), h, 0.0).astype(np.int64)
        u = np.minimum((hi & -hi).astype(float), np.exp2(np.ceil(np.log2(np.maximum(c, 1.0))) - 1.0))
        out[hyb] = np.where(u >= 2.0, u, 1.0)
    return out


def distinct_rows(*cols: Array) -> tuple[Array, Array]:
    """One row of each distinct combination of these positive whole-number columns, in the combinations' order, and
    for every row the index of its combination among them: one mixed-radix key per row, far cheaper than comparing
    rows (under 256 rows every row stands for itself)."""
    n = len(cols[0])
    if n < 256:
        return np.arange(n), np.arange(n)
    key = np.zeros(n, dtype=np.int64)
    for col in cols:
        ci = np.rint(np.asarray(col, dtype=float)).astype(np.int64)
        key = key * (int(ci.max()) + 1) + ci
    top = int(key.max()) + 1
    if top > 8 * n:  # a sparse key: sort it
        _, first, back = np.unique(key, return_index=True, return_inverse=True)
        return first, back
    # a dense key: mark the keys present, rank them in key order (as np.unique does) and keep one row of each (rows
    # with one key hold the same values in these columns, so any of them will do)
    present = np.zeros(top, dtype=bool)
    present[key] = True
    rank = np.cumsum(present) - 1
    row = np.empty(top, dtype=np.int64)
    row[key] = np.arange(n)
    return row[present], rank[key]
