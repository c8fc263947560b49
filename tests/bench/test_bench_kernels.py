"""The measurements time real work and their result checks catch wrong results."""

import time

import pytest

torch = pytest.importorskip("torch")

from accelplan.bench import attention, gemm, memory  # noqa: E402
from accelplan.bench.buffers import fill_nonzero, rotation_sets  # noqa: E402
from accelplan.bench.device import resolve  # noqa: E402
from accelplan.bench.timing import Settings, time_calls  # noqa: E402

FAST = Settings(warmup_calls=1, repeats=3, min_repeat_s=0.005)


@pytest.fixture(scope="module")
def cpu():
    return resolve("cpu")


def test_timer_measures_the_work_it_wraps(cpu):
    t = time_calls(lambda i: time.sleep(0.003), cpu, rotation=2, s=FAST)
    assert 0.003 <= t.median_s < 0.03
    assert len(t.per_call_s) == FAST.repeats


def test_rotation_cycles_through_every_set(cpu):
    seen = []
    time_calls(lambda i: seen.append(i % 3), cpu, rotation=3, s=FAST)
    assert set(seen) == {0, 1, 2}
    assert seen[:6] == [0, 1, 2, 0, 1, 2]  # consecutive calls take different inputs


def test_rotation_exceeds_twice_the_cache_within_bounds():
    assert rotation_sets(set_bytes=10, llc_bytes=100, lo=2, hi=64) == 20
    assert rotation_sets(set_bytes=1000, llc_bytes=100) == 2
    assert rotation_sets(set_bytes=1, llc_bytes=100, hi=8) == 8


def test_fill_is_random_and_never_zero():
    t = fill_nonzero(torch, torch.empty(3 * 2**20 + 5))
    assert bool((t.abs() >= 0.5).all()) and bool((t.abs() < 1.5).all())
    assert (t > 0).float().mean().item() == pytest.approx(0.5, abs=0.01)
    assert t[:1000].unique().numel() > 990


@pytest.mark.parametrize("dtype", ["bf16", "fp16", "fp32"])
def test_gemm_check_accepts_a_correct_product_and_catches_a_wrong_one(dtype):
    from accelplan.bench.buffers import randn

    a, b = randn(torch, (128, 256), dtype, "cpu"), randn(torch, (256, 96), dtype, "cpu")
    c = torch.matmul(a, b)
    assert gemm.max_rel_error(torch, a, b, c) <= gemm.tolerance(dtype, 256)
    wrong = c.clone()
    wrong[5, 7] += 0.5 * c.float().pow(2).mean().sqrt().to(c.dtype)
    assert gemm.max_rel_error(torch, a, b, wrong) > gemm.tolerance(dtype, 256)
    assert gemm.max_rel_error(torch, a, b, torch.zeros_like(c)) > gemm.tolerance(dtype, 256)


def test_fp32_check_rejects_tf32_like_precision():
    from accelplan.bench.buffers import randn

    a, b = randn(torch, (64, 4096), "fp32", "cpu"), randn(torch, (4096, 64), "fp32", "cpu")
    # inputs rounded to 10 mantissa bits, as TF32 tensor cores do
    tf32 = (a.view(torch.int32) & ~0x1FFF).view(torch.float32) @ (b.view(torch.int32) & ~0x1FFF).view(torch.float32)
    assert gemm.max_rel_error(torch, a, b, tf32) > gemm.tolerance("fp32", 4096)


def test_gemm_point_is_consistent_and_verified(cpu):
    p = gemm.bench(torch, cpu, (128, 128, 128), "fp32", None, FAST)
    assert p.verified and p.rotation_sets >= 2
    assert p.tflops == pytest.approx(2 * 128**3 / p.seconds / 1e12)


def test_copy_and_triad_checks_catch_corruption(cpu):
    pool = memory.Pool(buffers=[fill_nonzero(torch, torch.empty(2**16)) for _ in range(6)], buffer_bytes=2**18)
    p = memory.bench_copy(torch, cpu, pool, 2**16, None, FAST)
    assert p.verified and p.buffer_bytes == 2**16 and p.rotation_buffers == 6 * 4
    a, b, c = pool.buffers[:3]
    torch.add(b, c, alpha=memory.TRIAD_SCALAR, out=a)
    assert memory._triad_ok(torch, a, b, c)
    a[0] += 1e-3
    assert not memory._triad_ok(torch, a, b, c)


def test_attention_check_catches_a_wrong_output():
    q, k, v = (torch.randn(1, 2, 64, 16, dtype=torch.float32) for _ in range(3))
    o = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert attention.max_abs_error(torch, q, k, v, o) <= attention.TOLERANCE["fp32"]
    # the same attention without the causal mask is a different result
    full = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=False)
    assert attention.max_abs_error(torch, q, k, v, full) > attention.TOLERANCE["bf16"]


def test_causal_attention_flops_are_half_of_full():
    assert attention.flops((2, 4, 128, 64), causal=False) == 4 * 2 * 4 * 128 * 128 * 64
    assert attention.flops((2, 4, 128, 64)) == 2 * 2 * 4 * 128 * 128 * 64


def test_backward_flops_are_two_and_a_half_forward():
    # FlashAttention's benchmark convention (benchmarks/benchmark_flash_attention.py: mode "bwd" = 2.5 x "fwd")
    assert attention.bwd_flops((1, 32, 8192, 128)) == 2.5 * 2 * 1 * 32 * 8192 * 8192 * 128
    assert attention.bwd_flops((2, 4, 128, 64), causal=False) == 2.5 * 4 * 2 * 4 * 128 * 128 * 64


def _dq(q, k, v, do, causal=True):
    q, k, v = (x.clone().requires_grad_() for x in (q, k, v))
    o = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return torch.autograd.grad(o, q, do)[0]


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_attention_backward_check_accepts_dq_and_catches_a_wrong_one(dtype):
    from accelplan.bench.buffers import randn

    q, k, v, do = (randn(torch, (1, 2, 256, 32), dtype, "cpu") for _ in range(4))
    tol = attention.BWD_TOLERANCE[dtype]
    assert attention.dq_error(torch, q, k, v, do, _dq(q, k, v, do)) <= tol
    # the gradient without the causal mask, of another output gradient, or zero, is wrong
    assert attention.dq_error(torch, q, k, v, do, _dq(q, k, v, do, causal=False)) > attention.BWD_TOLERANCE["bf16"]
    assert attention.dq_error(torch, q, k, v, do, _dq(q, k, v, -do)) > attention.BWD_TOLERANCE["bf16"]
    assert attention.dq_error(torch, q, k, v, do, torch.zeros_like(q)) > attention.BWD_TOLERANCE["bf16"]


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_attention_point_times_and_verifies_forward_and_backward(cpu, dtype):
    shape = (1, 4, 512, 64)  # big enough that backward time stands clear of timer noise on a loaded machine
    p = attention.bench(torch, cpu, shape, dtype, None, FAST)
    assert p.verified and p.bwd_verified
    assert p.seconds > 0 and p.bwd_seconds is not None and p.bwd_seconds > 0
    assert p.tflops == pytest.approx(attention.flops(shape) / p.seconds / 1e12)
    assert p.bwd_tflops == pytest.approx(2.5 * attention.flops(shape) / p.bwd_seconds / 1e12)
    assert p.bwd_max_abs_error is not None and p.bwd_max_abs_error <= attention.BWD_TOLERANCE[dtype]


def test_attention_forward_only_leaves_the_backward_empty(cpu):
    p = attention.bench(torch, cpu, (1, 2, 64, 16), "fp32", None, FAST, backward=False)
    assert p.verified and p.tflops > 0
    assert (p.bwd_tflops, p.bwd_seconds, p.bwd_max_abs_error, p.bwd_verified) == (None, None, None, None)


def test_cpu_times_the_backward_only_on_small_shapes():
    assert attention.measures_backward("cpu", attention.CPU_QUICK[0])
    assert not attention.measures_backward("cpu", (1, 16, 2048, 128))
    assert any(attention.measures_backward("cpu", s) for s in attention.shapes("cpu", quick=False))
    assert all(attention.measures_backward("cuda", s) for s in attention.shapes("cuda", quick=False))


def test_attention_backward_respects_the_memory_budget(cpu):
    import dataclasses

    from accelplan.errors import AccelplanError

    tensor = 1 * 2 * 128 * 32 * 4  # one fp32 (batch, heads, seq, d) tensor
    # q, k, v, output: 4 tensors fit in half of this; the backward's dq, dk, dv and output on top do not
    small = dataclasses.replace(cpu, available_bytes=2 * 5 * tensor)
    with pytest.raises(AccelplanError, match=r"attention \(1, 2, 128, 32\) fp32: needs"):
        attention.bench(torch, small, (1, 2, 128, 32), "fp32", None, FAST)
    p = attention.bench(torch, small, (1, 2, 128, 32), "fp32", None, FAST, backward=False)
    assert p.rotation_sets == 1  # no room for a second set
