"""Invariants of the step model (hypothesis) and worked examples."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelplan.api import make_workload
from accelplan.catalog.loader import load_catalog
from accelplan.catalog.schema import Plan
from accelplan.perf.assumptions import DEFAULT
from accelplan.perf.step import TIME_TERMS, PlanArrays, evaluate

STACKS = load_catalog()

PLANS = st.builds(
    Plan,
    tp=st.sampled_from([1, 2, 4, 8]), pp=st.sampled_from([1, 2, 4, 8]), dp=st.sampled_from([1, 2, 4, 8, 16]),
    cp=st.sampled_from([1, 2, 4]), cp_algo=st.sampled_from([None, "ring", "all_gather", "ulysses", "hybrid"]),
    vpp=st.just(1), micro_batch=st.sampled_from([1, 2]),
    recompute=st.sampled_from(["none", "selective", "full"]), zero=st.sampled_from([0, 1, 2, 3]),
    sequence_parallel=st.booleans(),
)


@pytest.fixture(scope="module")
def setup(catalog):
    w = make_workload("llama3.1-70b", tokens=1e12, seq_len=4096, global_batch=256, catalog=catalog)
    chip = catalog.chip("h100-sxm")
    return w, catalog.default_system(chip), chip


def _eval(setup, plans):
    w, s, c = setup
    return evaluate(w, s, c, PlanArrays.from_plans(plans), stack=STACKS.default_stack(c))


@settings(max_examples=60, deadline=None)
@given(plan=PLANS)
def test_breakdown_sums_to_step_time_and_mfu_at_most_one(setup, plan):
    r = _eval(setup, [plan])
    total = sum(r.time[k][0] for k in TIME_TERMS)
    assert total == pytest.approx(r.step_time_s[0], rel=1e-9)
    assert 0 <= r.mfu[0] <= 1 and r.mfu[0] <= r.hfu[0] + 1e-12
    assert all(r.time[k][0] >= 0 for k in TIME_TERMS)


@settings(max_examples=60, deadline=None)
@given(plan=PLANS, which=st.sampled_from(["tp", "pp"]))
def test_memory_never_grows_when_tp_or_pp_doubles(setup, plan, which):
    doubled = plan.model_copy(update={which: getattr(plan, which) * 2})
    r = _eval(setup, [plan, doubled])
    if plan.zero < 3:
        assert r.memory_bytes[1] <= r.memory_bytes[0] * (1 + 1e-9)
    else:  # ZeRO-3 may spend memory that a split frees on keeping its gathered weights, but never more than it has
        assert r.fits[1] or not r.fits[0]
        assert r.memory_bytes[1] - r.memory["weights"][1] <= (r.memory_bytes[0] - r.memory["weights"][0]) * (1 + 1e-9)


@settings(max_examples=40, deadline=None)
@given(plan=PLANS, factor=st.sampled_from([1.25, 2.0, 4.0]))
def test_a_faster_chip_never_gives_a_slower_step(setup, plan, factor):
    w, s, c = setup
    faster = c.model_copy(update={"peak_tflops": c.peak_tflops.model_copy(
        update={"bf16": c.peak_tflops.bf16 * factor, "fp16": c.peak_tflops.fp16 * factor}),
        "hbm_tb_s": c.hbm_tb_s * factor})
    arr = PlanArrays.from_plans([plan])
    slow = evaluate(w, s, c, arr, stack=STACKS.default_stack(c)).step_time_s[0]
    fast = evaluate(w, s, faster, arr, stack=STACKS.default_stack(c)).step_time_s[0]
    assert fast <= slow * (1 + 1e-9)


def test_single_device_dense_step_is_bounded_by_its_roofline(catalog):
    """Worked example: 8B on one H100, no parallelism. The step can never beat 6N+attention at MAMF rate."""
    w = make_workload("llama3.1-8b", tokens=1e12, seq_len=4096, global_batch=4, catalog=catalog)
    c = catalog.chip("h100-sxm")
    r = evaluate(w, catalog.default_system(c), c,
                 PlanArrays.from_plans([Plan(micro_batch=1, recompute="none", zero=0, sequence_parallel=False)]),
                 stack=catalog.default_stack(c))
    from accelplan.perf.costs import model_costs

    flops = model_costs(w.model, 4096).model_flops_per_token() * 4 * 4096
    floor = flops / (989.4e12 * 0.803)
    assert r.step_time_s[0] > floor
    assert r.step_time_s[0] < 3 * floor  # and it is not absurdly slow


def test_full_recompute_costs_time_and_saves_memory(setup):
    base = Plan(tp=8, pp=4, dp=1, micro_batch=1, recompute="none", zero=1)
    r = _eval(setup, [base, base.model_copy(update={"recompute": "full"})])
    assert r.step_time_s[1] > r.step_time_s[0]
    assert r.memory["activations"][1] < r.memory["activations"][0]


def test_plan_arrays_round_trip():
    p = Plan(tp=2, pp=4, dp=8, ep=1, cp=2, vpp=2, micro_batch=2, recompute="full", zero=3, sequence_parallel=True)
    arr = PlanArrays.from_plans([p])
    assert arr.plan(0) == p
    assert isinstance(arr.tp, np.ndarray)


@settings(max_examples=30, deadline=None)
@given(pp=st.sampled_from([1, 2, 4]), zero=st.sampled_from([1, 3]))
def test_recomputing_more_layers_trades_memory_for_time(setup, pp, zero):
    """Megatron's block method: recompute N layers of each stage; N = all layers is plain full recompute."""
    layers = -(-80 // pp)
    base = Plan(tp=8, pp=pp, dp=32 // pp, micro_batch=1, recompute="full", zero=zero)
    plans = [base.model_copy(update={"recompute_layers": n}) for n in (1, layers // 2, layers)] + [base]
    r = _eval(setup, plans)
    act = r.memory["activations"]
    rec = r.time["recompute"]
    assert act[0] > act[1] > act[2] and rec[0] < rec[1] < rec[2]
    assert act[2] == pytest.approx(act[3]) and r.step_time_s[2] == pytest.approx(r.step_time_s[3])


def test_the_search_offers_partial_recompute_unless_recompute_is_pinned(catalog):
    from accelplan.plan.search import search

    w = make_workload("llama3.1-70b", tokens=1e12, seq_len=8192, global_batch=512, catalog=catalog)
    c = catalog.chip("h100-sxm")
    s = catalog.default_system(c)
    res = search(w, s, c, 64, stack=catalog.default_stack(c))
    assert (res.arrays.plans.rlayers > 0).any()
    # a pinned recompute means every layer
    whole = search(w, s, c, 64, fixed={"recompute": "full"}, stack=catalog.default_stack(c))
    assert not (whole.arrays.plans.rlayers > 0).any()


def test_an_interleaved_schedule_hides_the_gradient_reduce_behind_more_backward(catalog):
    # Megatron-Core reduces each virtual chunk's gradients once its last backward is done, while the stage runs the
    # remaining chunks' backwards: pp micro-batches' worth instead of one (Megatron-Bridge docs, Communication Overlap;
    # Narayanan et al. 2021, sec. 2.2). On a slow network the reduce of a 1-stage-in-4 share of a 7B model does not hide
    # behind one micro-batch's backward, and interleaving hides more of it.
    w = make_workload("llama2-7b", seq_len=4096, global_batch=64, catalog=catalog)
    chip, system = catalog.chip("v100-sxm2-32gb"), catalog.system("aws-p3-8xlarge")
    stack = catalog.stack("megatron-lm")

    def dp_s(vpp: int) -> float:
        plans = PlanArrays.from_plans([Plan(tp=1, pp=4, dp=8, vpp=vpp, micro_batch=1, recompute="full", zero=1)])
        return float(evaluate(w, system, chip, plans, stack=stack).time["dp_comm"][0])

    plain, interleaved = dp_s(1), dp_s(2)
    assert plain > 0.0
    assert 0.0 <= interleaved < plain / 2


@settings(max_examples=50, deadline=None)
@given(n=st.sampled_from([300, 1000, 5000]), radices=st.lists(st.sampled_from([2, 3, 5, 64, 1000]), min_size=1,
                                                                    max_size=4), seed=st.integers(0, 10_000))
def test_distinct_maps_every_row_to_one_row_with_the_same_values(n, radices, seed):
    # dense keys take the bitmap path, sparse ones np.unique: either way every row maps to a representative with its
    # values, representatives are pairwise different, and they come in key order (as np.unique returns them)
    from accelplan.perf.plans import distinct_rows

    rng = np.random.default_rng(seed)
    cols = [rng.integers(1, r + 1, n) for r in radices]
    first, back = distinct_rows(*cols)
    rep = first[back]
    assert all((c[rep] == c).all() for c in cols)
    combos = [tuple(int(c[i]) for c in cols) for i in first]
    assert len(set(combos)) == len(combos) and combos == sorted(combos)


@pytest.mark.parametrize(("model", "ratio"), [
    # Mixtral: every layer MoE. Where the MoE MLP hides like the rest, the stack hides (tp - 1) / tp of the TP traffic
    # and leaves 1/4 at tp 4; hiding only the attention half (3/8) leaves 5/8: 2.5 times as much exposed (the layer's
    # GEMMs are long enough to hide either)
    ("mixtral-8x22b", 2.5),
    ("llama2-7b", 1.0),  # dense: nothing changes
])
def test_a_stack_overlap_that_skips_the_moe_mlp_exposes_its_half_of_the_tp_traffic(catalog, model, ratio):
    w = make_workload(model, seq_len=4096, global_batch=64, catalog=catalog)
    chip = catalog.chip("ascend-910b")
    system = catalog.default_system(chip)
    base = catalog.stack("mindspeed-llm")  # MC2 fuses the dense matmuls with their collectives, not the MoE MLP's
    assert base.overlap.tp == 1.0 and base.overlap.tp_moe_mlp == 0.0
    same = base.model_copy(update={"overlap": base.overlap.model_copy(update={"tp_moe_mlp": None})})
    plans = PlanArrays.from_plans([Plan(tp=4, pp=1, dp=1, micro_batch=1, recompute="none", zero=1,
                                        sequence_parallel=True)])

    def tp_per_layer(stack) -> float:
        # per layer: the step's terms are per-layer times the critical stage's layers, which count the head as a
        # share of a layer (and so move a little with the layer time); attention per layer is the same on both
        t = evaluate(w, system, chip, plans, stack=stack).time
        return float(t["tp_comm"][0] / t["compute_attention"][0])

    assert tp_per_layer(same) > 0.0
    assert tp_per_layer(base) == pytest.approx(ratio * tp_per_layer(same), rel=1e-9)


def test_an_even_layer_split_puts_the_head_on_the_last_stage(catalog):
    # Megatron's default: the transformer layers split evenly over the stages and the output layer + loss on the
    # last one, so the critical stage holds L/pp layers plus the head (h layer-equivalents), not (L + h)/pp. The
    # per-layer terms scale with the critical stage's layers, so at a fixed micro-batch count the ratio of a term
    # under the two splits is R(pp) = (L/pp + h) / ((L + h)/pp) = (L + pp h) / (L + h): h read off pp = 2 must
    # predict pp = 4.
    w = make_workload("llama2-7b", seq_len=4096, global_batch=64, catalog=catalog)  # 32 layers
    chip = catalog.chip("h100-sxm")
    # a published run takes the stack's default split; a request is planned balanced (below: the same stack as a
    # request gives the balanced times)
    base = catalog.stack("megatron-lm").model_copy(update={"as_published": True})
    assert base.plan_defaults.pipeline_split == "even_layers"
    balanced = base.model_copy(update={"as_published": False})

    def ratio(pp: int) -> float:
        system = catalog.default_system(chip)
        plans = PlanArrays.from_plans([Plan(tp=1, pp=pp, dp=4, micro_batch=1, recompute="none", zero=1)])
        even_t = evaluate(w, system, chip, plans, stack=base).time["compute_attention"][0]
        bal_t = evaluate(w, system, chip, plans, stack=balanced).time["compute_attention"][0]
        return float(even_t / bal_t)

    L = 32.0
    assert ratio(1) == pytest.approx(1.0, rel=1e-12)
    r2 = ratio(2)
    h = L * (r2 - 1.0) / (2.0 - r2)
    assert h > 0.0
    assert ratio(4) == pytest.approx((L + 4.0 * h) / (L + h), rel=1e-9)


def test_mindformers_hides_the_gradient_reduction_on_its_communication_stream(catalog):
    # MindSpore's O0/O1 runtime puts communication operators on streams of their own (docs: Multi-stream
    # Concurrency), so the data-parallel gradient reduction runs under the backward compute beside it; TP traffic,
    # on the layer's own data path, stays exposed. What is hidden still slows that compute by `overlap_slowdown`.
    stack = catalog.stack("mindformers")
    assert stack.overlap.dp == 1.0 and stack.overlap.tp == 0.0
    exposed = stack.model_copy(update={"overlap": stack.overlap.model_copy(update={"dp": 0.0})})
    w = make_workload("llama2-7b", seq_len=4096, global_batch=8, catalog=catalog)
    chip = catalog.chip("ascend-910b")
    system = catalog.default_system(chip)
    plans = PlanArrays.from_plans([Plan(tp=1, pp=1, dp=8, micro_batch=1, recompute="none", zero=1)])
    hid, exp = (evaluate(w, system, chip, plans, stack=s) for s in (stack, exposed))
    hidden = float(exp.time["dp_comm"][0] - hid.time["dp_comm"][0])
    assert float(exp.time["dp_comm"][0]) > 0.0 and hidden > 0.0
    slowdown = DEFAULT.overlap_slowdown
    assert float(hid.time["overlap_contention"][0] - exp.time["overlap_contention"][0]) == pytest.approx(
        slowdown * hidden, rel=1e-9)
    assert float(exp.step_time_s[0] - hid.step_time_s[0]) == pytest.approx((1.0 - slowdown) * hidden, rel=1e-9)


def test_an_unfused_loss_moves_its_fp32_logits_kernel_by_kernel(catalog):
    # MindSpeed-LLM's scripts leave the cross-entropy unfused (eager PyTorch: cast to fp32, log-softmax, gradient,
    # cast back), so its loss runs at the eager element-wise factor; a fused cross-entropy (or a compiler) moves the
    # fp32 logits once: written, softmax read and written, gradient written = 3 x vocab x 4 bytes per token.
    from accelplan.perf.step import stage_rates

    unfused = catalog.stack("mindspeed-llm")
    assert not unfused.kernels.fused_cross_entropy and unfused.execution.mode == "eager"
    fused = unfused.model_copy(update={"kernels": unfused.kernels.model_copy(update={"fused_cross_entropy": True})})
    w = make_workload("llama3.1-8b", seq_len=4096, global_batch=64, catalog=catalog)
    chip = catalog.chip("ascend-910b")
    system = catalog.default_system(chip)
    tp, mb = 2, 2
    plans = PlanArrays.from_plans([Plan(tp=tp, pp=1, dp=1, micro_batch=mb, recompute="none", zero=1)])
    slow, fast = (stage_rates(w, system, chip, plans, s) for s in (unfused, fused))
    vocab, tokens = 128256, mb * 4096
    minimal_s = tokens * 3 * vocab * 4 / tp / fast.hbm_bytes_per_s
    extra = DEFAULT.elementwise_traffic_factor - DEFAULT.compiled_elementwise_traffic_factor
    assert float(slow.head_s[0] - fast.head_s[0]) == pytest.approx(extra * minimal_s, rel=1e-9)


def test_an_unfused_adam_step_moves_its_state_kernel_by_kernel(catalog):
    # MindFormers' AdamW is composed of Mul/Pow/Sqrt/Addcmul ops (no FusedAdamW in its recipes) and runs at O0 without
    # graph-kernel fusion, so the optimizer step moves its state at the eager element-wise factor; fused: once.
    mf = catalog.stack("mindformers")
    assert not mf.kernels.fused_adam and not mf.execution.compiler_fusion and mf.execution.mode != "compiled"
    fused = mf.model_copy(update={"kernels": mf.kernels.model_copy(update={"fused_adam": True})})
    w = make_workload("llama2-7b", seq_len=4096, global_batch=8, catalog=catalog)
    chip = catalog.chip("ascend-910b")
    system = catalog.default_system(chip)
    plans = PlanArrays.from_plans([Plan(tp=1, pp=1, dp=8, micro_batch=1, recompute="none", zero=1)])
    slow, fast = (float(evaluate(w, system, chip, plans, stack=s).time["optimizer"][0]) for s in (mf, fused))
    assert fast > 0.0
    assert slow == pytest.approx(DEFAULT.elementwise_traffic_factor * fast, rel=1e-9)


def test_per_op_checkpointing_reruns_a_share_of_the_gemms_not_the_attention(catalog):
    # torchtitan's selective ("op") recompute re-runs the element-wise work and every second mm of a block and keeps
    # the attention output; Megatron's core-attention recompute re-runs the attention core and the element-wise work.
    # In bf16 the forward GEMM time is compute_gemm / (1 + gemm_backward_factor).
    from accelplan.perf.costs import model_costs, op_sac_layer

    titan = catalog.stack("torchtitan")
    assert titan.memory.selective_recompute == "every_other_mm"
    core = titan.model_copy(update={"memory": titan.memory.model_copy(update={"selective_recompute": "core_attention"})})
    w = make_workload("llama3.1-8b", seq_len=8192, global_batch=64, catalog=catalog)
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    plans = PlanArrays.from_plans([Plan(tp=1, pp=1, dp=8, micro_batch=1, recompute="selective", zero=3)])
    t_sac, t_core = (evaluate(w, system, chip, plans, stack=s).time for s in (titan, core))
    gemm_fwd = float(t_sac["compute_gemm"][0]) / (1.0 + DEFAULT.gemm_backward_factor)
    ew_fwd = float(t_sac["compute_elementwise"][0]) / (1.0 + DEFAULT.elementwise_backward_factor)
    share = op_sac_layer(model_costs(w.model).dense_layer_gemms, w.model).recompute_share
    assert float(t_sac["recompute"][0]) == pytest.approx(ew_fwd + share * gemm_fwd, rel=1e-9)
    # the core-attention form re-runs the attention forward instead of those GEMMs
    assert float(t_core["recompute"][0]) > ew_fwd
    # (the GEMM term moves only by the head's share of a layer, which the longer or shorter layer changes)
    assert float(t_core["compute_gemm"][0]) == pytest.approx(float(t_sac["compute_gemm"][0]), rel=1e-3)


def test_a_tied_embeddings_gradient_is_all_reduced_between_the_first_and_the_last_stage(catalog, monkeypatch):
    # GPT-3 175B ties its word embedding to the output layer; with 8 pipeline stages the two copies sit 7 stages
    # apart, on different nodes, and Megatron all-reduces their (fp32 main) gradient over the scale-out network after
    # the backward: a two-rank ring all-reduce = the vocab-parallel shard once each way plus two hops' latency.
    import accelplan.perf.step as step

    w = make_workload("gpt3-175b", seq_len=2048, global_batch=256, catalog=catalog)
    assert w.model.tied_embeddings
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    stack = catalog.stack("megatron-lm")
    plans = PlanArrays.from_plans([Plan(tp=8, pp=8, dp=2, micro_batch=1, recompute="selective", zero=1),
                                   Plan(tp=8, pp=1, dp=16, micro_batch=1, recompute="full", zero=1)])
    tied = evaluate(w, system, chip, plans, stack=stack).time["dp_comm"]
    monkeypatch.setattr(step, "_tied_embedding_s", lambda st, gb: np.zeros_like(st.pp))
    untimed = evaluate(w, system, chip, plans, stack=stack).time["dp_comm"]
    out = system.levels[1]
    bw = out.bytes_per_s * DEFAULT.link_efficiency
    alpha = (out.latency_us if out.latency_us is not None else DEFAULT.alpha_scaleout_us) * 1e-6
    shard = w.model.vocab * w.model.hidden / 8 * stack.memory.grad_bytes
    assert float(tied[0] - untimed[0]) == pytest.approx(shard / bw + 2.0 * alpha, rel=1e-6)
    assert float(tied[1]) == float(untimed[1])  # one stage holds both copies: nothing to exchange


def _recompute_modes(catalog):
    """MaxText's stack as shipped (JAX remat: re-run what the backward pass reads) and the same stack re-running whole
    layers, with no tensor-parallel overlap so every collective shows in tp_comm."""
    mt = catalog.stack("maxtext")
    assert mt.memory.full_recompute == "backward_needs"
    needs = mt.model_copy(update={"overlap": mt.overlap.model_copy(update={"tp": 0.0})})
    whole = needs.model_copy(update={"memory": needs.memory.model_copy(update={"full_recompute": "whole_layer"})})
    return needs, whole


def test_remat_that_reruns_what_the_backward_reads_skips_the_mlp_down_projection(catalog):
    # Llama 3.1 8B, per token and layer, forward GEMM weights (k x n): qkv 4096 x 6144, out 4096 x 4096, gate+up
    # 4096 x 28672, down 14336 x 4096. The down projection's output only feeds the layer output, so JAX's remat does
    # not recompute it: 14336 / (6144 + 4096 + 28672 + 14336) = 26.9% of the layers' forward GEMM FLOPs (the shapes
    # are all large, so the times split close to the FLOPs).
    needs, whole = _recompute_modes(catalog)
    w = make_workload("llama3.1-8b", seq_len=8192, global_batch=64, catalog=catalog)
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    plans = PlanArrays.from_plans([Plan(tp=1, pp=1, dp=8, micro_batch=1, recompute="full", zero=3),
                                   Plan(tp=1, pp=1, dp=8, micro_batch=1, recompute="none", zero=3)])
    t_needs, t_whole = (evaluate(w, system, chip, plans, stack=s).time for s in (needs, whole))
    saved = float(t_whole["recompute"][0] - t_needs["recompute"][0])
    layers_gemm_fwd = float(t_whole["compute_gemm"][1]) / (1.0 + DEFAULT.gemm_backward_factor)  # with the head
    head = 4096 * 128256 / (32 * (4096 * 6144 + 4096 * 4096 + 4096 * 28672 + 14336 * 4096) + 4096 * 128256)
    assert saved / (layers_gemm_fwd * (1.0 - head)) == pytest.approx(14336 / 53248, rel=0.05)
    # the rest of the recompute (attention, element-wise, the other GEMMs) is unchanged
    assert float(t_needs["recompute"][0]) > 0.5 * float(t_whole["recompute"][0])


@pytest.mark.parametrize(("sp", "rerun"), [(False, 0.5), (True, 0.75)])
def test_remat_reruns_the_collectives_before_the_layers_last_gemm(catalog, sp, rerun):
    # a sequential block's forward has 2 tensor-parallel reductions (an all-reduce each, or with sequence parallelism
    # an all-gather + reduce-scatter each); the one after the down projection only feeds the layer output, so a remat
    # that re-runs what the backward reads repeats 1 of 2 (3 of 4 with SP) of what a whole-layer recompute repeats.
    # (The head's collectives are never recomputed; the ratio of the increments leaves them out up to the head's share
    # of a layer, which moves with the layer's time: 0.3%.)
    needs, whole = _recompute_modes(catalog)
    memory = {"activations_follow_sharding": sp}  # GSPMD shards MaxText's activations like SP; off to test without
    needs, whole = (s.model_copy(update={"memory": s.memory.model_copy(update=memory)}) for s in (needs, whole))
    w = make_workload("llama3.1-70b", seq_len=4096, global_batch=64, catalog=catalog)
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    plans = PlanArrays.from_plans([Plan(tp=8, pp=1, dp=1, micro_batch=1, recompute=rc, zero=1, sequence_parallel=sp)
                                   for rc in ("full", "none")])
    added = [float(t[0] - t[1]) for t in (evaluate(w, system, chip, plans, stack=s).time["tp_comm"]
                                          for s in (needs, whole))]
    assert added[1] > 0.0
    assert added[0] / added[1] == pytest.approx(rerun, rel=5e-3)


def test_palm_540b_under_jax_full_remat_reports_the_papers_hfu_over_mfu(catalog):
    # PaLM (Chowdhery et al. 2022, sec. 4.1 and Table 3): 46.2% MFU and 57.8% HFU "with rematerialization" on 6,144
    # TPU v4 (12-way model parallel, 512-way data parallel), a ratio of 1.25. PaLM's block is parallel, so JAX's remat
    # re-runs the layer without its output projection and MLP down projection: about 2/3 of the forward, not all
    # of it (a whole-layer recompute would give 4/3 = 1.33).
    w = make_workload("palm-540b", seq_len=2048, global_batch=1024, catalog=catalog)
    assert w.model.parallel_block
    chip = catalog.chip("tpu-v4")
    plans = PlanArrays.from_plans([Plan(tp=12, pp=1, dp=512, micro_batch=2, recompute="full", zero=3,
                                        sequence_parallel=True)])
    r = evaluate(w, catalog.default_system(chip), chip, plans, stack=catalog.stack("pax"))
    assert float(r.hfu[0] / r.mfu[0]) == pytest.approx(57.8 / 46.2, rel=0.05)
    assert float(r.hfu[0] / r.mfu[0]) < 4.0 / 3.0 - 0.05


def test_hfu_counts_what_each_selective_policy_recomputes(catalog):
    # torchtitan's per-op checkpointing re-runs the even mm's of a Llama block in call order q, k, v, o, w1, w3, w2:
    # k (4096 x 1024), o (4096 x 4096) and w3 (4096 x 14336), 2 x 4096 x 19456 FLOPs per token and layer, and keeps
    # the attention output; Megatron's core-attention recompute re-runs the attention core instead.
    from accelplan.perf.costs import model_costs

    w = make_workload("llama3.1-8b", seq_len=8192, global_batch=64, catalog=catalog)
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    plans = PlanArrays.from_plans([Plan(tp=1, pp=1, dp=8, micro_batch=1, recompute="selective", zero=3)])
    c = model_costs(w.model, w.seq_len)
    titan = catalog.stack("torchtitan")
    core = titan.model_copy(update={"memory": titan.memory.model_copy(update={"selective_recompute": "core_attention"})})
    for stack, per_token in ((titan, 32 * 2 * 4096 * 19456), (core, 32 * c.attn_core_flops_per_token)):
        r = evaluate(w, system, chip, plans, stack=stack)
        extra = float(r.hfu[0] / r.mfu[0]) - 1.0
        assert extra == pytest.approx(per_token / c.model_flops_per_token(), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(plan=PLANS)
def test_remat_never_recomputes_more_than_the_whole_layer(catalog, setup, plan):
    # whatever the plan, re-running only what the backward pass reads costs no more recompute time, tensor-parallel
    # or expert traffic than re-running the whole layer, and the terms still sum to the step
    needs, whole = _recompute_modes(catalog)
    w, s, c = setup
    r_needs, r_whole = (evaluate(w, s, c, PlanArrays.from_plans([plan]), stack=st) for st in (needs, whole))
    for term in ("recompute", "tp_comm", "ep_comm"):
        assert 0.0 <= float(r_needs.time[term][0]) <= float(r_whole.time[term][0]) * (1 + 1e-9) + 1e-12
    assert sum(float(r_needs.time[k][0]) for k in TIME_TERMS) == pytest.approx(float(r_needs.step_time_s[0]), rel=1e-9)
