"""Context parallelism in its forms (ring, all-gather, Ulysses, hybrid) and causal load balancing: each has its own
traffic, overlap and memory, and the search chooses among the ones the training stack implements."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelplan.api import estimate, make_workload, search_plans
from accelplan.catalog.schema import Plan
from accelplan.perf.assumptions import DEFAULT
from accelplan.perf.plans import CP_ALGO_CODE, PlanArrays, ulysses_degree
from accelplan.perf.step import evaluate


@pytest.fixture(scope="module")
def long_job(catalog):
    """Llama 3.1 8B at 128K on one H100 node: CP 8 over NVLink, as torchtitan's CP runs."""
    w = make_workload("llama3.1-8b", tokens=1e11, seq_len=131072, global_batch=8, catalog=catalog)
    chip = catalog.chip("h100-sxm")
    return w, catalog.default_system(chip), chip


def _run(job, catalog, algo, stack="megatron-lm", cp=8, assumptions=DEFAULT, tp=1):
    w, s, c = job
    plan = Plan(tp=tp, cp=cp, dp=8 // (cp * tp) or 1, micro_batch=1, recompute="full", zero=1, cp_algo=algo,
                sequence_parallel=tp > 1)
    return evaluate(w, s, c, PlanArrays.from_plans([plan]), assumptions, stack=catalog.stack(stack))


def test_all_gather_hides_its_traffic_only_behind_the_local_chunk(long_job, catalog):
    ring = _run(long_job, catalog, "ring", assumptions=DEFAULT.model_copy(update={"cp_overlap": 1.0}))
    gather = _run(long_job, catalog, "all_gather", assumptions=DEFAULT.model_copy(update={"cp_overlap": 1.0}))
    # the same bytes cross either way; the ring hides them behind 7/8 of the attention, the all-gather behind 1/8
    assert gather.time["cp_comm"][0] >= ring.time["cp_comm"][0]
    assert gather.step_time_s[0] >= ring.step_time_s[0]


def test_all_gather_holds_every_ranks_keys_and_values(long_job, catalog):
    ring = _run(long_job, catalog, "ring")
    gather = _run(long_job, catalog, "all_gather")
    w = long_job[0]
    m = w.model
    # gathered K and V of all 8 chunks, and their gradients: 2 x 8 chunks; the ring double-buffers 4 chunks
    chunk = 131072 / 8 * m.n_kv_heads * m.d_head * 2 * 2  # tokens x kv heads x head dim x (K, V) x bf16
    assert gather.memory_bytes[0] - ring.memory_bytes[0] == pytest.approx((2 * 8 - 4) * chunk, rel=1e-6)


def test_an_unbalanced_stack_pays_the_last_ranks_attention(long_job, catalog):
    balanced = _run(long_job, catalog, "ring")
    unbalanced = _run(long_job, catalog, "ring", assumptions=DEFAULT.model_copy(update={"cp_load_balanced": False}))
    # rank i of 8 attends i + 1/2 chunks: the last does 7.5 / 4 = 15/8 of the mean per layer (the step counts the
    # logits as a share of a layer, a share that shrinks as the layer grows, so a little less over the step)
    ratio = unbalanced.time["compute_attention"][0] / balanced.time["compute_attention"][0]
    assert 1.8 < ratio <= 15 / 8 + 1e-9


def test_ulysses_moves_heads_so_its_traffic_grows_with_them_not_with_cp(long_job, catalog):
    w, s, c = long_job
    cost = {}
    for cp in (2, 4, 8):
        r = _run(long_job, catalog, "ulysses", cp=cp)
        cost[cp] = r.time["cp_comm"][0] / r.micro_batches[0]
    # per rank: (cp - 1) / cp of its q, k, v, o, whose size falls as 1 / cp; no more than the 2-rank figure
    assert cost[8] <= cost[2]
    ring = _run(long_job, catalog, "ring", cp=8)
    # GQA (8 K/V heads of 32) makes the ring's K, V exchange smaller than Ulysses's q, k, v, o
    assert ring.time["cp_comm"][0] <= _run(long_job, catalog, "ulysses", cp=8).time["cp_comm"][0]


def test_hybrid_splits_heads_below_cp_and_leaves_a_ring():
    cp = np.array([2, 4, 8, 16, 16])
    heads = np.array([32, 32, 32, 32, 12])
    hybrid = np.full(5, 4)  # CP_ALGO_CODE["hybrid"]
    assert list(ulysses_degree(hybrid, cp, heads)) == [1, 2, 4, 8, 4]
    assert list(ulysses_degree(np.full(5, 3), cp, heads)) == [2, 4, 8, 16, 16]  # Ulysses: all of cp


def test_estimate_names_the_stacks_default_algorithm(catalog):
    w = make_workload("llama3.1-8b", tokens=1e11, seq_len=65536, global_batch=8, catalog=catalog)
    plan = Plan(tp=1, cp=2, dp=4, micro_batch=1, recompute="full", zero=3)
    assert estimate(w, "h100-sxm", plan, framework="torchtitan").plan.cp_algo == "all_gather"
    assert estimate(w, "h100-sxm", plan, framework="megatron-lm").plan.cp_algo == "ring"
    assert estimate(w, "h100-sxm", plan.model_copy(update={"cp_algo": "ulysses"})).plan.cp_algo == "ulysses"


def test_search_keeps_the_fastest_algorithm_for_each_shape(catalog):
    """The search times one algorithm per (tp, cp, micro-batch), the cheapest per layer; timing the best plan in
    every algorithm the stack implements finds none faster."""
    from accelplan.errors import PlanError

    w = make_workload("llama3.1-70b", tokens=1e11, seq_len=131072, global_batch=16, catalog=catalog)
    chip = catalog.chip("h100-sxm")
    res = search_plans(w, chip, 64)
    assert res.best is not None
    best_plan, best_tps = res.arrays.plans.plan(res.best), float(res.arrays.tokens_per_s[res.best])
    assert best_plan.cp > 1 and best_plan.cp_algo is not None
    stack = catalog.default_stack(chip)
    rates = {}
    for algo in stack.context_parallel.algorithms:
        try:
            rates[algo] = estimate(w, chip, best_plan.model_copy(update={"cp_algo": algo})).tokens_per_s
        except PlanError:  # Ulysses where the heads do not divide
            continue
    assert len(rates) >= 2
    assert best_tps == pytest.approx(max(rates.values()), rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(sorted(CP_ALGO_CODE.values())), st.sampled_from([1, 2, 3, 4, 6, 8, 16, 64]),
                               st.sampled_from([1, 2, 3, 4, 6, 8, 12, 32, 40, 64, 96, 128]),
                               st.sampled_from([1, 2, 4, 8, 16])), min_size=1, max_size=30))
def test_ulysses_degree_is_the_largest_power_of_two_the_heads_allow_below_cp(rows):
    # the definition, one plan at a time: Ulysses takes all cp ranks; a hybrid the largest power of two u >= 2 with
    # u < cp that divides the heads per TP rank (1 if none); ring and all-gather none
    def reference(algo: int, cp: int, heads: int, tp: int) -> float:
        if algo == CP_ALGO_CODE["ulysses"]:
            return float(cp)
        if algo != CP_ALGO_CODE["hybrid"]:
            return 1.0
        best, u = 1, 2
        while u < cp:
            if heads % tp == 0 and (heads // tp) % u == 0:
                best = u
            u *= 2
        return float(best)

    algo, cp, heads, tp = (np.array(x) for x in zip(*rows, strict=True))
    got = ulysses_degree(algo, cp.astype(float), heads / tp)
    assert got.tolist() == [reference(*r) for r in rows]
