"""One set of plan rules (accelplan.plan.rules): `estimate` refuses exactly the plans the search excludes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelplan.api import check_plan
from accelplan.catalog.schema import Plan
from accelplan.errors import PlanError
from accelplan.plan.search import build_candidates

MODELS = ("llama3.1-8b", "mixtral-8x7b", "deepseek-v3", "nemotron4-340b")


def _in_search(workload, system, plan: Plan, stack) -> bool:  # noqa: ANN001
    """Whether the search on STACK, with every dimension pinned to PLAN's, keeps it as a candidate."""
    fixed = {"tp": plan.tp, "pp": plan.pp, "cp": plan.cp, "ep": plan.ep, "vpp": plan.vpp, "dp": plan.dp,
             "micro_batch": plan.micro_batch, "recompute": plan.recompute, "zero": plan.zero,
             "sequence_parallel": plan.sequence_parallel, "recompute_layers": plan.recompute_layers,
             "cp_algo": plan.cp_algo}
    cand = build_candidates(workload, system, plan.chips, fixed, stack)
    want = plan.model_copy(update={"cp_algo": None}) if plan.cp == 1 else plan
    return any(cand.plan(i).model_copy(update={"zero": plan.zero}) == want for i in range(len(cand)))


@settings(max_examples=300, deadline=None)
@given(model=st.sampled_from(MODELS), chip=st.sampled_from(["h100-sxm", "ascend-910b", "tpu-v5p"]),
       tp=st.sampled_from([1, 2, 3, 4, 8, 16, 32]), pp=st.sampled_from([1, 2, 3, 4, 8, 200]),
       cp=st.sampled_from([1, 2, 3, 4, 32]), dp=st.sampled_from([1, 2, 3, 4, 8]),
       ep=st.sampled_from([1, 2, 3, 8]), vpp=st.sampled_from([1, 2, 3, 4]), mb=st.sampled_from([1, 2, 3, 8]),
       gbs=st.sampled_from([8, 12, 64, 256]), seq=st.sampled_from([2048, 4096, 6144]),
       recompute_layers=st.sampled_from([None, 1, 2, 50]),
       cp_algo=st.sampled_from([None, "ring", "all_gather", "ulysses", "hybrid"]),
       stack=st.sampled_from(["megatron-lm", "torchtitan", "mindspeed-llm", "deepspeed", "maxtext"]))
def test_estimate_refuses_exactly_what_search_excludes(catalog, model, chip, tp, pp, cp, dp, ep, vpp, mb, gbs, seq,
                                                       recompute_layers, cp_algo, stack):
    from accelplan.api import make_workload

    w = make_workload(model, 1e12, seq, gbs, "bf16", catalog)
    c = catalog.chip(chip)
    s = catalog.default_system(c)
    stk = catalog.stack(stack)
    # a plan that names no algorithm runs the stack's default, as estimate states it
    algo = cp_algo or stk.context_parallel.algorithms[0]
    plan = Plan(tp=tp, pp=pp, cp=cp, dp=dp, ep=ep, vpp=vpp, micro_batch=mb, zero=1, sequence_parallel=tp > 1,
                recompute="full" if recompute_layers else "selective", recompute_layers=recompute_layers,
                cp_algo=algo)
    try:
        check_plan(w, s, plan, stack=stk)
        refused = False
    except PlanError:
        refused = True
    assert refused == (not _in_search(w, s, plan, stk)), plan


@pytest.mark.parametrize(("update", "needle"), [
    ({"cp": 3}, "cp=3"),
    ({"tp": 32, "dp": 1}, "scale-up domain"),
    ({"vpp": 2, "pp": 2, "dp": 8}, "micro-batches"),  # 64 sequences / (8 x 8) = 1 micro-batch < pp
    ({"cp": 2, "dp": 4, "cp_algo": "ulysses", "tp": 1}, None),  # 32 heads over 2 ranks: allowed
    ({"cp": 2, "dp": 1, "cp_algo": "hybrid", "tp": 4}, "hybrid needs cp >= 4"),
    ({"cp": 8, "dp": 1, "cp_algo": "ulysses", "tp": 8}, "does not divide them"),  # 32 heads over 64 ranks
])
def test_the_cases_estimate_used_to_accept(catalog, update, needle):
    from accelplan.api import make_workload

    w = make_workload("llama3.1-8b", 1e12, 4096, 64, "bf16", catalog)
    c = catalog.chip("h100-sxm")
    plan = Plan(tp=1, pp=1, dp=8, micro_batch=8, zero=1).model_copy(update=update)
    if needle is None:
        check_plan(w, catalog.default_system(c), plan)
        return
    with pytest.raises(PlanError, match=needle):
        check_plan(w, catalog.default_system(c), plan)


def test_a_stack_refuses_the_algorithms_it_does_not_implement(catalog):
    from accelplan.api import make_workload

    w = make_workload("llama3.1-8b", 1e12, 8192, 64, "bf16", catalog)
    s = catalog.default_system(catalog.chip("h100-sxm"))
    plan = Plan(tp=1, pp=1, dp=4, cp=2, micro_batch=1, zero=1, cp_algo="ulysses")
    check_plan(w, s, plan, stack=catalog.stack("megatron-lm"))  # a2a in Megatron
    with pytest.raises(PlanError, match="torchtitan implements context parallelism as all_gather, ring"):
        check_plan(w, s, plan, stack=catalog.stack("torchtitan"))
