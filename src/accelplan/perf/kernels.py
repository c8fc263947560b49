"""What a chip sustains by kernel class: GEMMs by shape, fused attention forward and backward, memory traffic.

- GEMM: the chip's best-shape rate (MAMF, from its catalog entry or a calibration profile) at the workload's
  precision, scaled by wave quantization and the inner-dimension overhead of the GEMM's own shape:
      rate(M, N, K) = peak x MAMF x sustained x waves(M, N) x k(K) / (waves x k at MAMF's best shape)
      waves(M, N) = tiles / (ceil(tiles / compute units) x compute units), tiles = ceil(M/Tm) ceil(N/Tn)
      k(K) = K / (K + K0)
  (NVIDIA "Matrix Multiplication Background User's Guide", tile and wave quantization). On a chip with a systolic
  matrix unit of side D (TPU MXU), N and K are padded to multiples of D: x pad(N) pad(K), pad(x) = x / (ceil(x/D) D)
  (jax-ml/scaling-book, "How to Think About TPUs": 128x128 MXUs, 256x256 on v6e; smaller axes are padded). A GEMM
  also never runs faster than its operands can be read and written (roofline).
- Attention: the chip's measured fused-attention forward and backward rates (causal, head dim 128, long
  sequences) for the stack's kernel class, scaled for head dim and sequence length; a chip with no measurement
  gets its MAMF times the median ratio of the chips that have one. Every attention matmul has the head dim as its
  inner or output dimension, so on a systolic matrix unit it runs at pad(head dim).
- Everything runs at `gemm_sustained_fraction` of its isolated rate inside a training step.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from accelplan.catalog.schema import Chip, ModelSpec
from accelplan.catalog.stack import Stack
from accelplan.errors import PlanError
from accelplan.perf.assumptions import Assumptions
from accelplan.perf.calibration import Calibration

Array = np.ndarray
MAMF_BEST_SHAPE = 8192  # M = N = K of a large square GEMM: the shapes MAMF sweeps find the best rate at


@dataclass(frozen=True)
class Rates:
    """What the chip sustains inside a training step: peaks times the efficiencies of the chip or its calibration."""

    # compute rates are floats, or arrays over plans when `scaled` sweeps a fitted fraction
    matmul_flops_per_s: float | Array  # GEMMs at the workload's precision, at the best shape
    bf16_flops_per_s: float | Array  # GEMMs in bf16 (logits under fp8 training), at the best shape
    mfu_peak_flops_per_s: float
    hbm_bytes_per_s: float
    attention_fwd_flops_per_s: float | Array  # causal, head dim 128, long sequences
    attention_bwd_flops_per_s: float | Array
    gemm_bytes: float  # bytes per GEMM input element at the workload's precision
    compute_units: int | None
    basis: str
    attention_basis: str
    # a calibration profile's measured GEMM rates by shape volume, (log(m n k), FLOP/s) at the workload's precision
    # and in bf16: where present they set the shape factor instead of the wave model (the bench measures the class)
    gemm_curve: tuple[Array, Array] | None = None
    gemm_curve_bf16: tuple[Array, Array] | None = None
    matrix_unit_dim: int | None = None  # side of a systolic matrix unit: N and K pad to multiples of it

    @classmethod
    def of(cls, chip: Chip, precision: str, a: Assumptions, calibration: Calibration | None = None,
           attention_kernel: str = "vendor") -> Rates:
        eff = chip.efficiency
        mm, mem, basis = (eff.matmul, eff.memory, eff.basis) if eff else (0.8, 0.85, "default")
        mm8 = (eff.matmul_fp8 if eff and eff.matmul_fp8 else mm)
        if calibration is not None:
            mm, mm8, mem, basis = calibration.efficiencies(chip, mm, mm8, mem)
        gap = modelling_gap(chip, precision)
        if gap or chip.hbm_bytes_per_s is None:
            raise PlanError(gap or f"chip '{chip.id}' has no HBM bandwidth in the catalog")
        bf16 = chip.peak_flops_per_s("bf16") or chip.peak_flops_per_s("fp16")
        if bf16 is None:  # fp8 training on a chip that publishes only fp8 (and lower) peaks
            bf16 = (chip.peak_flops_per_s("fp8") or 0.0) / a.bf16_peak_from_fp8_ratio
            basis += (f"; bf16 peak unknown: attention and logits at the fp8 peak / {a.bf16_peak_from_fp8_ratio:g} "
                      "(assumption bf16_peak_from_fp8_ratio)")
        sustained = a.gemm_sustained_fraction
        if precision == "fp8":
            p8 = chip.peak_flops_per_s("fp8")
            if p8 is None or "fp8" in chip.unsupported:
                raise PlanError(f"precision 'fp8' is not supported by chip '{chip.id}' (allowed: bf16, fp16)")
            mat, gemm_bytes = p8 * mm8, a.fp8_bytes_per_element
        else:
            mat, gemm_bytes = bf16 * mm, a.activation_bytes_per_element
        fwd, bwd, abasis = _attention_efficiency(chip, mm, a, attention_kernel)
        if calibration is not None:  # a calibration profile's attention replaces the catalog's, pass by pass
            f_cal, b_cal = calibration.attention_efficiencies(chip)
            if f_cal is not None:
                b_cal = b_cal if b_cal is not None else f_cal * bwd / fwd
                fwd, bwd, abasis = f_cal, b_cal, calibration.attention_basis
        curve16 = _profile_curve(calibration, "bf16")
        curve = _profile_curve(calibration, "fp8") if precision == "fp8" else curve16
        return cls(gemm_curve=curve, gemm_curve_bf16=curve16,
                   matmul_flops_per_s=mat * sustained, bf16_flops_per_s=bf16 * mm * sustained,
                   mfu_peak_flops_per_s=(chip.peak_flops_per_s(precision) or bf16),
                   hbm_bytes_per_s=chip.hbm_bytes_per_s * mem,
                   attention_fwd_flops_per_s=bf16 * fwd * sustained, attention_bwd_flops_per_s=bf16 * bwd * sustained,
                   gemm_bytes=gemm_bytes, compute_units=eff.compute_units if eff else None, basis=basis,
                   attention_basis=abasis, matrix_unit_dim=eff.matrix_unit_dim if eff else None)

    def scaled(self, factor: Array) -> Rates:
        """These rates with the compute rates (GEMM and attention) multiplied by `factor`, an array over the plans
        being evaluated: validation evaluates one plan at every value of a fitted fraction in one call."""
        return dataclasses.replace(self, matmul_flops_per_s=self.matmul_flops_per_s * factor,
                                   bf16_flops_per_s=self.bf16_flops_per_s * factor,
                                   attention_fwd_flops_per_s=self.attention_fwd_flops_per_s * factor,
                                   attention_bwd_flops_per_s=self.attention_bwd_flops_per_s * factor)

    def shape_factor(self, m: Array, n: Array, k: Array, a: Assumptions, low: bool = True) -> Array:
        """GEMM rate at shape (m, n, k) over the rate at MAMF's best shape: wave quantization and inner-dim overhead,
        or the calibration profile's measured curve."""
        curve = self.gemm_curve if low else self.gemm_curve_bf16
        if curve is not None:
            xs, ys = curve
            return np.interp(np.log(np.maximum(m * n * k, 1.0)), xs, ys) / ys.max()
        kfac = k / (k + a.gemm_k_overhead)
        best_k = MAMF_BEST_SHAPE / (MAMF_BEST_SHAPE + a.gemm_k_overhead)
        if self.matrix_unit_dim:
            kfac = kfac * matrix_unit_fill(n, self.matrix_unit_dim) * matrix_unit_fill(k, self.matrix_unit_dim)
        if not self.compute_units:
            return kfac / best_k
        cu = float(self.compute_units)
        tiles = np.ceil(m / a.gemm_tile_rows) * np.ceil(n / a.gemm_tile_cols)
        waves = tiles / (np.ceil(tiles / cu) * cu)
        best_tiles = math.ceil(MAMF_BEST_SHAPE / a.gemm_tile_rows) * math.ceil(MAMF_BEST_SHAPE / a.gemm_tile_cols)
        best_waves = best_tiles / (math.ceil(best_tiles / cu) * cu)
        return waves * kfac / (best_waves * best_k)

    def attention_rates(self, head_dim: float, seq_len: float, a: Assumptions) -> tuple[float | Array, float | Array]:
        """Forward and backward flash-attention FLOP/s at this head dim and (causal) key length."""
        if self.matrix_unit_dim:  # the padding of a systolic array, not a GPU kernel's measured head-dim-64 loss
            d = float(matrix_unit_fill(head_dim, self.matrix_unit_dim))
        else:
            d = a.attention_head_dim_64_factor if head_dim <= 64 else 1.0
        long = 8192.0
        s = (seq_len / (seq_len + a.attention_seq_half_tokens)) / (long / (long + a.attention_seq_half_tokens))
        f = d * min(s, 1.0)
        return self.attention_fwd_flops_per_s * f, self.attention_bwd_flops_per_s * f


def matrix_unit_fill(x: Array | float, dim: int) -> Array:
    """Fraction of a systolic matrix unit of side `dim` that an operand dimension `x` fills once padded."""
    x = np.maximum(np.asarray(x, dtype=float), 1.0)
    return x / (np.ceil(x / dim) * dim)


def _profile_curve(calibration: Calibration | None, dtype: str) -> tuple[Array, Array] | None:
    """A profile's verified GEMM rates of one dtype by log(m n k) (equal volumes averaged), or None: at least two
    distinct shapes are needed for a curve."""
    points = [p for p in (calibration.gemm if calibration is not None else []) if p.dtype == dtype and p.verified]
    by_volume: dict[float, list[float]] = {}
    for p in points:
        by_volume.setdefault(math.log(p.m * p.n * p.k), []).append(p.flops_per_s)
    if len(by_volume) < 2:
        return None
    xs = np.array(sorted(by_volume))
    return xs, np.array([sum(by_volume[x]) / len(by_volume[x]) for x in xs])


def _attention_efficiency(chip: Chip, mm: float, a: Assumptions, kernel: str) -> tuple[float, float, str]:
    """Forward and backward attention efficiency (fraction of the bf16 peak) for the stack's kernel class."""
    eff = chip.efficiency
    if eff is not None and kernel == "flash2" and eff.attention_flash2_fwd and eff.attention_flash2_bwd:
        return eff.attention_flash2_fwd, eff.attention_flash2_bwd, eff.attention_basis
    if eff is not None and eff.attention_fwd and eff.attention_bwd:
        return eff.attention_fwd, eff.attention_bwd, eff.attention_basis
    return (mm * a.attention_fwd_to_gemm, mm * a.attention_bwd_to_gemm,
            "default: no attention measurement for this chip; its MAMF x the median ratio of the measured chips")


def head_dims(model: ModelSpec) -> tuple[int, int]:
    """The (q/k, v) head dimensions attention runs at: MLA's no-rope plus rope part and its value width."""
    att = model.attention
    if model.is_mla and att is not None:
        return (int(att.qk_nope_head_dim or 0) + int(att.qk_rope_head_dim or 0), int(att.v_head_dim or model.d_head))
    return model.d_head, model.d_head


def stack_on(stack: Stack, chip: Chip, model: ModelSpec) -> tuple[Stack, str]:
    """The stack as it runs `model` on `chip`: its fused attention, unless the release's kernel does not train the
    model's head dimensions on the chip's architecture (`kernels.fused_attention_max_head_dim`), where attention
    falls back to the unfused path; and a note saying so (empty when nothing changes)."""
    limits = stack.kernels.fused_attention_max_head_dim
    if not limits or stack.kernels.attention == "unfused":
        return stack, ""
    qk, v = head_dims(model)
    arch = chip.architecture or ""
    for family, (max_qk, max_v) in limits.items():
        if arch.startswith(family) and (qk > max_qk or v > max_v):
            note = (f"attention unfused: {stack.id}{' ' + stack.version if stack.version else ''}'s fused attention "
                    f"trains head dims up to {max_qk}/{max_v} on {family}, {model.id} has {qk}/{v}")
            return stack.model_copy(update={"kernels": stack.kernels.model_copy(update={"attention": "unfused"})}), note
    return stack, ""


def modelling_gap(chip: Chip, precision: str) -> str | None:
    """Why CHIP cannot be modelled at PRECISION (an unknown figure the step model needs), or None when it can."""
    missing = [what for what, v in (("memory capacity", chip.hbm_gb), ("HBM bandwidth", chip.hbm_tb_s)) if v is None]
    peaks = {k: v for k, v in chip.peak_tflops.model_dump().items() if v}
    if precision == "fp8":
        if "fp8" not in peaks or "fp8" in chip.unsupported:
            missing.append("fp8 peak")
    elif not (peaks.get("bf16") or peaks.get("fp16")):
        missing.append(f"{precision} peak")
    if not missing:
        return None
    have = ", ".join(f"{k} {v:,.0f} TFLOPS" for k, v in peaks.items()) or "none"
    hint = " (try --precision fp8)" if "fp8" in peaks and precision != "fp8" else ""
    status = "" if chip.status == "shipping" else f" ({chip.status})"
    return (f"chip '{chip.id}'{status} cannot be modelled at {precision}: {', '.join(missing)} unknown in the catalog; "
            f"published peaks: {have}{hint}")
