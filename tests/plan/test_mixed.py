"""Mixed clusters (accelplan.plan.mixed): the plan space, its agreement with the homogeneous step model, the verdict
and the faces."""

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from accelplan.api import make_workload, resolve_stack
from accelplan.catalog.schema import Plan
from accelplan.cli import app
from accelplan.errors import PlanError
from accelplan.perf.plans import PlanArrays
from accelplan.perf.step import evaluate
from accelplan.plan.mixed import Part, parse_mix, plan_mixed, search_mixed

runner = CliRunner()


def _part(catalog, chip: str, n: int) -> Part:
    c = catalog.chip(chip)
    st, note = resolve_stack(c, catalog=catalog)
    return Part(c, catalog.default_system(c), n, st, note)


@pytest.fixture(scope="module")
def dense(catalog):
    return make_workload("llama3.1-70b", tokens=1e12, seq_len=8192, global_batch=512, catalog=catalog)


def test_every_plan_found_fits_and_uses_no_more_chips_than_there_are(catalog, dense):
    parts = [_part(catalog, "ascend-910b", 256), _part(catalog, "h100-sxm", 128)]
    best, n = search_mixed(dense, parts, top=10)
    assert n > 0 and best
    for e in best:
        assert e.fits
        assert sum(b.layers for b in e.blocks) == dense.model.layers
        for b, p in zip(sorted(e.blocks, key=lambda x: x.chip), sorted(parts, key=lambda x: x.chip.id), strict=True):
            assert b.chips + b.idle_chips == p.count and b.chips == e.dp * b.stages * b.tp
            assert b.memory_gb <= b.capacity_gb
            assert 0 < b.busy_share <= 1
        assert e.tokens_per_s == pytest.approx(dense.global_batch * dense.seq_len / e.step_time_s)
    assert [e.tokens_per_s for e in best] == sorted((e.tokens_per_s for e in best), reverse=True)


def test_a_mix_of_one_chip_type_matches_the_homogeneous_step_model(catalog, dense):
    """Two blocks of the same chip are one homogeneous pipeline: the mixed composition (sum of stage times + (micro
    - 1) x the slowest, then the data-parallel tail) lands within 5% of `evaluate` on the same plan."""
    h100 = _part(catalog, "h100-sxm", 64)
    best, _ = search_mixed(dense, [h100, h100], top=1)
    e = best[0]
    a, b = e.blocks
    assert a.tp == b.tp and a.layers / a.stages == pytest.approx(b.layers / b.stages, abs=1)
    plan = Plan(tp=a.tp, pp=a.stages + b.stages, dp=e.dp, micro_batch=e.micro_batch, recompute=e.recompute, zero=1,
                sequence_parallel=a.tp > 1)
    homo = evaluate(dense, h100.system, h100.chip, PlanArrays.from_plans([plan]), stack=h100.stack)
    assert e.step_time_s == pytest.approx(float(homo.step_time_s[0]), rel=0.05)


def test_the_verdict_compares_with_the_fastest_part_alone(catalog, dense):
    res = plan_mixed(dense, [_part(catalog, "ascend-910b", 256), _part(catalog, "h100-sxm", 128)])
    assert res.best is not None and res.sum_of_parts_tokens_per_s and res.data_split is not None
    # the mix is the faster of the two ways to mix
    assert res.mixed_tokens_per_s == max(res.best.tokens_per_s, res.data_split.tokens_per_s)
    assert res.mode == ("data" if res.data_split.tokens_per_s > res.best.tokens_per_s else "pipeline")
    fastest = max(v for v in res.alone_tokens_per_s.values() if v)
    assert res.gain_over_best_part == pytest.approx(res.mixed_tokens_per_s / fastest - 1)
    assert res.efficiency == pytest.approx(res.mixed_tokens_per_s / res.sum_of_parts_tokens_per_s)
    assert ("mixing adds" in res.verdict) == (res.gain_over_best_part > 0.02)
    assert any("slower side's scale-out" in x for x in res.assumptions)
    assert any("do not interoperate" in x for x in res.caveats)  # cann + cuda


def test_a_slower_cross_type_link_never_speeds_the_mix_up(catalog, dense):
    parts = [_part(catalog, "ascend-910b", 256), _part(catalog, "h100-sxm", 128)]
    fast = search_mixed(dense, parts, top=1)[0][0]
    slow_sys = parts[1].system.model_copy(update={"levels": [parts[1].system.levels[0], parts[1].system.levels[1]
                                                              .model_copy(update={"gb_s_unidir": 0.05})]})
    slow = search_mixed(dense, [parts[0], Part(parts[1].chip, slow_sys, 128, parts[1].stack)], top=1)[0][0]
    assert slow.tokens_per_s <= fast.tokens_per_s * (1 + 1e-9)
    assert slow.boundary_s > fast.boundary_s


@pytest.mark.parametrize(("items", "needle"), [
    (["ascend-910b=2048"], "2 to 4 chip types"),
    (["ascend-910b"], "CHIP=COUNT"),
    (["ascend-910b=0", "h100-sxm=8"], "CHIP=COUNT"),
    (["h100-sxm=8", "h100-sxm=16"], "twice"),
])
def test_bad_mix_names_the_flag(items, needle):
    with pytest.raises(PlanError, match=needle):
        parse_mix(items)


def test_plan_and_compare_take_mix_and_say_so_in_one_line():
    r = runner.invoke(app, ["plan", "--mix", "ascend-910b=64", "--mix", "h100-sxm=32", "-m", "llama3.1-8b",
                            "--seq-len", "4096", "--global-batch", "64", "--top", "2"])
    assert r.exit_code == 0, r.output
    assert "each part alone" in r.output and "sum of the parts" in r.output
    bad = subprocess.run([sys.executable, "-m", "accelplan", "plan", "--mix", "ascend-910b=64", "-m", "llama3.1-8b"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "--mix needs 2 to 4 chip types" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr
    r = runner.invoke(app, ["compare", "--mix", "ascend-910b=64", "--mix", "h100-sxm=32", "-m", "llama3.1-8b",
                            "--seq-len", "4096", "--global-batch", "64", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert 0 < data["efficiency"] < 2
    assert any("DLSlime" in x for x in data["assumptions"])
    clusters = [row["cluster"] for row in data["rows"]]
    assert clusters[:2] == ["64 x ascend-910b", "32 x h100-sxm"] and clusters[2].startswith("mixed")


def test_the_search_is_vectorized_over_splits(catalog, dense):
    """More than one layer split per shape is evaluated (the window around the balanced split)."""
    parts = [_part(catalog, "ascend-910b", 256), _part(catalog, "h100-sxm", 128)]
    best, n = search_mixed(dense, parts, top=50)
    shapes = {(e.dp, e.micro_batch, e.recompute, tuple((b.chip, b.tp, b.stages) for b in e.blocks)) for e in best}
    assert n > len(shapes) and len({tuple(b.layers for b in e.blocks) for e in best}) > 1
    assert np.isfinite([e.step_time_s for e in best]).all()


def test_estimate_of_the_searched_plan_gives_the_same_answer(catalog, dense):
    from accelplan.plan.mixed import BlockSpec, estimate_mixed, parse_block

    parts = [_part(catalog, "ascend-910b", 256), _part(catalog, "h100-sxm", 128)]
    best = search_mixed(dense, parts, top=1)[0][0]
    blocks = [BlockSpec(chip=b.chip, tp=b.tp, stages=b.stages, layers=b.layers, ep=b.ep) for b in best.blocks]
    e = estimate_mixed(dense, parts, blocks, best.dp, best.micro_batch, best.recompute)
    assert e.step_time_s == pytest.approx(best.step_time_s, rel=1e-9)
    assert parse_block("h100-sxm:tp8:s2:l40:ep4") == BlockSpec(chip="h100-sxm", tp=8, stages=2, layers=40, ep=4)
    with pytest.raises(PlanError, match="layers"):
        estimate_mixed(dense, parts, [blocks[0].model_copy(update={"layers": blocks[0].layers + 1}), blocks[1]],
                       best.dp, best.micro_batch)
    more = [b.model_copy(update={"stages": b.stages * 2}) for b in blocks]  # twice the chips each type has
    with pytest.raises(PlanError, match="exceeds its"):
        estimate_mixed(dense, parts, more, best.dp, best.micro_batch)


def test_a_data_split_shares_the_batch_and_pays_the_cross_type_all_reduce(catalog, dense):
    from accelplan.plan.mixed import split_data

    parts = [_part(catalog, "ascend-910b", 256), _part(catalog, "h100-sxm", 128)]
    res = plan_mixed(dense, parts)
    d = split_data(dense, parts, res.alone_tokens_per_s)
    assert d is not None
    assert sum(x.sequences for x in d.shares) == dense.global_batch and all(x.sequences > 0 for x in d.shares)
    assert d.step_time_s == pytest.approx(max(x.step_time_s for x in d.shares) + d.exchange_s)
    assert d.tokens_per_s == pytest.approx(dense.global_batch * dense.seq_len / d.step_time_s)
    assert d.exchange_s > 0
    # neither part alone on its share is slower than the step: the split is balanced to within one 1/64 share
    assert d.tokens_per_s <= res.sum_of_parts_tokens_per_s * (1 + 1e-9)


def test_a_data_split_balances_three_types(catalog, dense):
    # three types: shares cover the batch, the step is the slowest share's plus the exchange, and moving 1/64 of the
    # batch from the slowest type to the fastest does not shorten the step (the polish's stopping rule, checked
    # here with fresh searches)
    from accelplan.plan.mixed import split_data
    from accelplan.plan.search import search

    parts = [_part(catalog, "ascend-910b", 256), _part(catalog, "h100-sxm", 128), _part(catalog, "mi300x", 64)]
    alone = {}
    for p in parts:
        r = search(dense, p.system, p.chip, p.count, stack=p.stack)
        assert r.best is not None and r.arrays is not None
        alone[p.chip.id] = float(r.arrays.tokens_per_s[r.best])
    d = split_data(dense, parts, alone)
    assert d is not None and len(d.shares) == 3
    assert sum(x.sequences for x in d.shares) == dense.global_batch and all(x.sequences > 0 for x in d.shares)
    assert d.step_time_s == pytest.approx(max(x.step_time_s for x in d.shares) + d.exchange_s)
    assert d.tokens_per_s <= sum(alone.values()) * (1 + 1e-9)
    q = dense.global_batch // 64
    t = [x.step_time_s for x in d.shares]
    slow, fast = t.index(max(t)), t.index(min(t))
    moved = [x.sequences for x in d.shares]
    moved[slow] -= q
    moved[fast] += q

    def step(i: int, seqs: int) -> float:
        r = search(dense.model_copy(update={"global_batch": seqs}), parts[i].system, parts[i].chip, parts[i].count,
                   stack=parts[i].stack)
        return float(r.arrays.step_time_s[r.best]) if r.best is not None and r.arrays is not None else float("inf")

    assert max(step(i, k) for i, k in enumerate(moved)) >= max(t) * (1 - 1e-9)


def test_four_types_rank_rows_at_their_balanced_split_and_find_what_the_whole_window_finds(catalog, monkeypatch):
    # four types: only the fastest grid rows at their balanced layer split get the whole split window; on a mix small
    # enough to search exhaustively (every row, every split) the beam finds the same best plan with fewer evaluations
    import accelplan.plan.mixed as mixed

    w = make_workload("llama3.1-8b", seq_len=4096, global_batch=16, catalog=catalog)
    parts = [_part(catalog, c, 8) for c in ("h100-sxm", "ascend-910b", "mi300x", "gaudi3")]
    monkeypatch.setattr(mixed, "SPLIT_WINDOW", 1)  # 27 splits a row rather than 343 keeps the exhaustive run short
    beam, n_beam = search_mixed(w, parts, top=1)
    monkeypatch.setattr(mixed, "BEAM_ROWS", 10**9)
    full, n_full = search_mixed(w, parts, top=1)
    assert beam and full and n_beam < n_full
    assert beam[0].tokens_per_s == pytest.approx(full[0].tokens_per_s, rel=1e-9)


def test_a_data_split_never_gives_a_type_an_empty_share(catalog, monkeypatch):
    # a type far faster than the others: the proportional start rounds the small ones up to one 1/64 each and must take
    # the overshoot from the big one, never leave a type with no sequences (a batch of 0 is no workload: no search
    # may be asked for one)
    import accelplan.plan.search as search_module
    from accelplan.plan.mixed import parts_of, split_data

    real = search_module.search

    def checked(w, *args, **kwargs):
        assert w.global_batch >= 1, "a data split searched an empty share"
        return real(w, *args, **kwargs)

    monkeypatch.setattr(search_module, "search", checked)
    w = make_workload("llama3.1-8b", seq_len=4096, global_batch=64, catalog=catalog)
    parts = parts_of(parse_mix(["h100-sxm=64", "ascend-910b=8", "mi300x=8", "gaudi3=8"]), catalog)
    d = split_data(w, parts, {"h100-sxm": 1e7, "ascend-910b": 1e4, "mi300x": 1e4, "gaudi3": 1e4})
    assert d is not None and sum(x.sequences for x in d.shares) == 64 and min(x.sequences for x in d.shares) >= 1


def test_compare_mix_on_a_programme_runs_each_phase_and_totals_them(catalog):
    """A programme of two phases: each phase is planned on its own (mixed and alone), the totals are all tokens over
    the phases' seconds, and every row's days hold the phase change."""
    from accelplan.economics import assess
    from accelplan.perf.costs import model_costs
    from accelplan.plan.mixed import compare_mixed

    ws = [make_workload("llama3.1-8b", 2e11, 4096, 64, "bf16", catalog),
          make_workload("llama3.1-8b", 1e10, 16384, 16, "bf16", catalog)]
    parts = [_part(catalog, "ascend-910b", 64), _part(catalog, "h100-sxm", 32)]
    res = compare_mixed(ws, parts, names=["short", "long"])
    assert [p.name for p in res.phases] == ["short", "long"] and res.tokens == pytest.approx(2.1e11)
    one = [plan_mixed(w, parts) for w in ws]  # each phase on its own
    for ph, r in zip(res.phases, one, strict=True):
        assert ph.mixed_tokens_per_s == pytest.approx(r.mixed_tokens_per_s)
        assert ph.alone_tokens_per_s == pytest.approx(r.alone_tokens_per_s)
    seconds = 2e11 / one[0].mixed_tokens_per_s + 1e10 / one[1].mixed_tokens_per_s
    assert res.result.mixed_tokens_per_s == pytest.approx(2.1e11 / seconds)
    h100 = 2.1e11 / (2e11 / one[0].alone_tokens_per_s["h100-sxm"] + 1e10 / one[1].alone_tokens_per_s["h100-sxm"])
    assert res.result.alone_tokens_per_s["h100-sxm"] == pytest.approx(h100)
    assert res.result.efficiency == pytest.approx(res.result.mixed_tokens_per_s
                                                  / sum(res.result.alone_tokens_per_s.values()))
    # the H100 row: its compute days plus one phase change (write, restart, read back at the write rate)
    row = next(r for r in res.rows if r.cluster == "32 x h100-sxm")
    state = model_costs(ws[0].model, 4096).params_total * 14.0  # checkpoint bytes per parameter (Assumptions)
    ec = assess(parts[1].chip, parts[1].system, 32, 2.1e11 / h100 / 86400, state_bytes=state)
    change_days = (2 * ec.checkpoint_write_s + 60 * ec.restart_min) / 86400
    assert row.compute_days == pytest.approx(2.1e11 / h100 / 86400 + change_days, rel=1e-6)
    assert "long" not in res.rows[-1].plan and "(short)" in res.rows[-1].plan  # the phase with the most tokens
    assert compare_mixed(ws[0], parts).phases == []  # one phase: no programme


def test_compare_mix_takes_phases_and_refuses_a_deadline():
    r = runner.invoke(app, ["compare", "--mix", "ascend-910b=64", "--mix", "h100-sxm=32", "--phase", "1e11@4096",
                            "--phase", "5e9@16384", "-m", "llama3.1-8b", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [p["seq_len"] for p in data["phases"]] == [4096, 16384] and data["tokens"] == pytest.approx(1.05e11)
    r = runner.invoke(app, ["compare", "--mix", "ascend-910b=64", "--mix", "h100-sxm=32", "--days", "30"])
    assert isinstance(r.exception, PlanError) and "leave out --days" in str(r.exception)


def test_a_tied_embedding_pays_its_gradient_all_reduce_across_the_types(catalog):
    """GPT-3 175B's word embedding is tied to its output layer: the first block (910B) and the last (H100) each hold
    a copy and all-reduce its gradient after the backward, a two-rank exchange over the slower of the two scale-out
    networks (by hand: the vocab-parallel shard in the first stack's gradient bytes, both latencies the larger one's)."""
    from accelplan.perf.assumptions import DEFAULT
    from accelplan.plan.mixed import BlockSpec, estimate_mixed

    tied = make_workload("gpt3-175b", tokens=1e11, seq_len=2048, global_batch=256, catalog=catalog)
    assert tied.model.tied_embeddings
    untied = tied.model_copy(update={"model": tied.model.model_copy(update={"tied_embeddings": False})})
    parts = [_part(catalog, "ascend-910b", 256), _part(catalog, "h100-sxm", 128)]
    blocks = [BlockSpec(chip="ascend-910b", tp=8, stages=4, layers=48), BlockSpec(chip="h100-sxm", tp=8, stages=4,
                                                                                  layers=48)]
    t_tied, t_untied = (estimate_mixed(w, parts, blocks, 4, 1, "full").step_time_s for w in (tied, untied))
    outs = [p.system.levels[1] for p in parts]
    bw = min(o.bytes_per_s for o in outs) * DEFAULT.link_efficiency
    alpha = max(o.latency_us if o.latency_us is not None else DEFAULT.alpha_scaleout_us for o in outs) * 1e-6
    shard = tied.model.vocab * tied.model.hidden / 8 * parts[0].stack.memory.grad_bytes
    assert t_tied - t_untied == pytest.approx(shard / bw + 2.0 * alpha, rel=1e-6)
