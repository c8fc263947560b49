"""The calibration profile: what `accelplan bench` measured, as a YAML file the model accepts.

Figures are stored in the units people read (TFLOP/s, GB/s with GB = 1e9 bytes), with the unit in
each field name; the accessors return SI (FLOP/s, bytes/s), like the catalog's.

The model asks a profile for its efficiencies (`Rates.of` in perf/kernels.py):
    matmul     = best verified bf16 GEMM rate over shapes with every dimension >= 4096 / catalog dense bf16 peak
    matmul_fp8 = the same rule for fp8 / catalog dense fp8 peak
    memory     = best verified copy bandwidth (read + write bytes) / catalog HBM bandwidth
Whatever was not measured keeps the default passed in. Attention (`attention_efficiencies`) is its own kernel
class: the best verified causal 16-bit SDPA forward and backward rates at head dim >= 128 and >= 4096 tokens
(else the largest verified causal point) / catalog dense bf16 peak; None where not measured.
"""

from __future__ import annotations

import bisect
import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accelplan import yamlio
from accelplan.errors import AccelplanError

TERA = 1e12
GIGA = 1e9
SCHEMA_VERSION: Literal[1] = 1
# "large GEMM" for the matmul efficiency: every dimension at least this, the regime of LLM training
# GEMMs (hidden >= 4096, tokens per micro-batch >= 4096); smaller ones are launch- or tile-bound.
LARGE_GEMM_MIN_DIM = 4096
# "long attention" for the attention efficiencies: the regime the step model's rates describe (causal, head dim
# 128, 8k-16k tokens); shorter sequences run below the kernel's rate (per-tile overheads, fewer tiles).
LONG_ATTENTION_MIN_SEQ = 4096
LONG_ATTENTION_MIN_HEAD_DIM = 128
ATTENTION_DTYPES = ("bf16", "fp16")  # what a training step runs attention in; an fp32 SDPA does not calibrate it
# A measured rate may sit a little above the catalog peak through timer noise; more than this means
# the device was mapped to the wrong chip or the catalog figure is wrong, and the profile is refused.
EFFICIENCY_CEILING = 1.02

DeviceKind = Literal["cuda", "npu", "xpu", "mps", "cpu"]
GemmDtype = Literal["bf16", "fp16", "fp8", "fp32"]
CollectiveOp = Literal["all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv"]


LARGE_COLLECTIVE_BYTES = 64 * 2**20  # all-reduces this large run at bus bandwidth, not latency

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GemmPoint(_Model):
    """C = A @ B with A (m x k), B (k x n): 2 m n k FLOP per call."""

    m: int = Field(gt=0)
    n: int = Field(gt=0)
    k: int = Field(gt=0)
    dtype: GemmDtype
    tflops: float = Field(gt=0)  # 2 m n k / median seconds per call, TFLOP/s
    seconds: float = Field(gt=0)  # median over repeats of the time per call
    catalog_peak_tflops: float | None = None  # dense peak of the catalog chip at this dtype; None: no catalog chip
    rotation_sets: int = Field(ge=1)  # (A, B, C) sets cycled through so caches do not hold the inputs
    rotation_bytes: int = Field(ge=0)
    max_rel_error: float  # max |C - C_ref| / rms(C_ref) over the checked slice, against a float64 reference
    verified: bool

    @property
    def flops_per_s(self) -> float:
        return self.tflops * TERA

    @property
    def efficiency(self) -> float | None:
        return None if not self.catalog_peak_tflops else self.tflops / self.catalog_peak_tflops


class BandwidthPoint(_Model):
    """copy: b = a (2 x buffer bytes moved); triad: a = b + s c (3 x buffer bytes), STREAM's counting."""

    kernel: Literal["copy", "triad"]
    buffer_bytes: int = Field(gt=0)
    gb_s: float = Field(gt=0)  # bytes moved / median seconds per call, GB/s (1e9)
    seconds: float = Field(gt=0)
    catalog_peak_gb_s: float | None = None  # catalog HBM bandwidth; None: no catalog chip
    rotation_buffers: int = Field(ge=1)
    rotation_bytes: int = Field(ge=0)  # all buffers cycled through; above the last-level cache when exceeds_llc
    exceeds_llc: bool
    verified: bool

    @property
    def bytes_per_s(self) -> float:
        return self.gb_s * GIGA


class AttentionPoint(_Model):
    """Fused attention (torch scaled_dot_product_attention): forward FLOP = 4 b h s^2 d, halved when causal;
    backward FLOP = 2.5 x forward (FlashAttention's benchmark convention; FlashAttention-2, arXiv 2307.08691).
    The backward fields are None in profiles written before the backward was measured, and where it was not."""

    batch: int = Field(gt=0)
    heads: int = Field(gt=0)
    seq_len: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    causal: bool
    dtype: GemmDtype
    tflops: float = Field(gt=0)
    seconds: float = Field(gt=0)
    catalog_peak_tflops: float | None = None  # dense peak at this dtype
    rotation_sets: int = Field(ge=1)
    max_abs_error: float  # against a float64 reference on sampled query rows of the first (batch, head)
    verified: bool
    bwd_tflops: float | None = Field(default=None, gt=0)  # 2.5 x forward FLOP / bwd_seconds
    bwd_seconds: float | None = Field(default=None, gt=0)  # median(forward + backward) - median(forward)
    bwd_max_abs_error: float | None = None  # max |dQ - dQ_ref| / max |dQ_ref| on the checked rows (float64 reference)
    bwd_verified: bool | None = None  # dQ within tolerance and dQ, dK, dV finite; None: backward not run

    @property
    def flops_per_s(self) -> float:
        return self.tflops * TERA

    @property
    def bwd_flops_per_s(self) -> float | None:
        return None if self.bwd_tflops is None else self.bwd_tflops * TERA

    @property
    def bwd_measured(self) -> bool:
        """A backward rate the model may use: timed, and its gradient check passed."""
        return bool(self.bwd_verified) and self.bwd_tflops is not None


class CollectivePoint(_Model):
    """nccl-tests conventions: algbw = size / time; busbw = algbw x bus_factor (n ranks):
    all_reduce 2(n-1)/n, all_gather, reduce_scatter and all_to_all (n-1)/n, send_recv 1."""

    op: CollectiveOp
    backend: str
    world_size: int = Field(gt=0)
    nodes: int = Field(gt=0)
    dtype: str
    size_bytes: int = Field(gt=0)  # all_gather: output bytes; reduce_scatter: input bytes; others: buffer per rank
    seconds: float = Field(gt=0)  # slowest rank's median time per call
    algbw_gb_s: float = Field(ge=0)
    busbw_gb_s: float = Field(ge=0)
    bus_factor: float = Field(ge=0)
    verified: bool

    @property
    def busbw_bytes_per_s(self) -> float:
        return self.busbw_gb_s * GIGA


class MatmulReference(_Model):
    """Best plain `torch.matmul` rate (no rotation, wall clock, best of several trials) beside the bench figure."""

    m: int
    n: int
    k: int
    dtype: GemmDtype
    best_tflops: float
    bench_tflops: float


class CopyReference(_Model):
    """Best plain `dst.copy_(src)` rate on one buffer pair beside the bench's rotated copy figure."""

    buffer_bytes: int
    best_gb_s: float
    bench_gb_s: float


class References(_Model):
    """Plain, unrotated figures from the same run, to show the rotated bench figures are not low."""

    plain_matmul: MatmulReference | None = None
    plain_copy: CopyReference | None = None


class Unsupported(_Model):
    what: str  # e.g. "gemm fp8", "reduce_scatter"
    reason: str


class CalibrationProfile(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    device: DeviceKind
    device_name: str
    chip: str | None  # catalog chip id; None when the device matches no catalog chip (a CPU, an unknown GPU)
    chip_match: str  # how the chip was found (the name rule, or --chip)
    host: str
    date: str  # YYYY-MM-DD (UTC) the bench ran
    timestamp_utc: str
    versions: dict[str, str] = Field(default_factory=dict)  # torch, CUDA/CANN/driver, NCCL/HCCL ...
    llc_bytes: int | None = None  # last-level cache assumed for input rotation
    quick: bool = False
    settings: dict[str, float] = Field(default_factory=dict)  # warm-up calls, repeats, minimum time per repeat
    gemm: list[GemmPoint] = Field(default_factory=list)
    bandwidth: list[BandwidthPoint] = Field(default_factory=list)
    attention: list[AttentionPoint] = Field(default_factory=list)
    collectives: list[CollectivePoint] = Field(default_factory=list)
    references: References = Field(default_factory=References)
    unsupported: list[Unsupported] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    # ------------------------------------------------------------------ measured figures (SI)
    def large_gemm_flops_per_s(self, dtype: str) -> float | None:
        """Best verified rate over GEMMs with every dimension >= LARGE_GEMM_MIN_DIM; None if none was measured."""
        rates = [p.flops_per_s for p in self.gemm
                 if p.dtype == dtype and p.verified and min(p.m, p.n, p.k) >= LARGE_GEMM_MIN_DIM]
        return max(rates) if rates else None

    def copy_bytes_per_s(self) -> float | None:
        """Best verified copy bandwidth over buffer sizes (each rotated through more than the last-level cache)."""
        rates = [p.bytes_per_s for p in self.bandwidth if p.kernel == "copy" and p.verified and p.exceeds_llc]
        return max(rates) if rates else None

    def gemm_flops_per_s(self, m: int, n: int, k: int, dtype: str) -> float:
        """Measured GEMM rate for an (m, n, k) GEMM: piecewise linear in log(m n k) between the verified shapes of
        that dtype (shapes of equal volume averaged), held at the nearest measured shape beyond the ends."""
        points = [p for p in self.gemm if p.dtype == dtype and p.verified]
        if not points:
            have = sorted({p.dtype for p in self.gemm if p.verified})
            raise AccelplanError(f"dtype '{dtype}': this profile has no verified GEMM measurements for it "
                                 f"(measured: {', '.join(have) or 'none'})")
        if min(m, n, k) <= 0:
            raise AccelplanError(f"GEMM shape m={m}, n={n}, k={k}: every dimension must be positive")
        by_volume: dict[float, list[float]] = {}
        for p in points:
            by_volume.setdefault(math.log(p.m * p.n * p.k), []).append(p.flops_per_s)
        xs = sorted(by_volume)
        ys = [sum(by_volume[x]) / len(by_volume[x]) for x in xs]
        return _interp(math.log(m * n * k), xs, ys)

    def gemm_efficiency(self, m: int, n: int, k: int, dtype: str) -> float:
        """`gemm_flops_per_s` as a fraction of the catalog chip's dense peak at that dtype."""
        rate = self.gemm_flops_per_s(m, n, k, dtype)
        peaks = {p.catalog_peak_tflops for p in self.gemm if p.dtype == dtype and p.catalog_peak_tflops}
        if not peaks:
            raise AccelplanError(f"no catalog peak for dtype '{dtype}' on {self.device_name} "
                                 f"(chip: {self.chip or 'none in the catalog'}), so no efficiency; "
                                 "use gemm_flops_per_s for the absolute rate")
        return rate / (max(peaks) * TERA)

    def collective_busbw_bytes_per_s(self, op: str, size_bytes: float) -> float:
        """Measured bus bandwidth of a collective, piecewise linear in log(size) between measured sizes."""
        points = sorted((p.size_bytes, p.busbw_bytes_per_s) for p in self.collectives if p.op == op and p.verified)
        if not points:
            have = sorted({p.op for p in self.collectives if p.verified})
            raise AccelplanError(f"collective '{op}': not in this profile (measured: {', '.join(have) or 'none'})")
        return _interp(math.log(max(size_bytes, 1.0)), [math.log(s) for s, _ in points], [b for _, b in points])

    # ------------------------------------------------------------------ what the model asks
    def link_bandwidths(self) -> tuple[float | None, float | None]:
        """(scale-up, scale-out) bytes/s per chip and direction for the fabric model, or None where not measured.

        The largest all-reduces (>= LARGE_COLLECTIVE_BYTES, where latency no longer matters) give them: nccl-tests
        bus bandwidth is comparable to the per-direction link rate, so it replaces rate x link efficiency. Ranks on
        one node measure the scale-up fabric; ranks on several nodes the scale-out network."""
        def best(multi_node: bool) -> float | None:
            rates = [p.busbw_bytes_per_s for p in self.collectives
                     if p.op == "all_reduce" and p.verified and p.world_size > 1 and p.size_bytes >= LARGE_COLLECTIVE_BYTES
                     and (p.nodes > 1) == multi_node]
            return max(rates) if rates else None

        return best(False), best(True)

    @property
    def basis(self) -> str:
        return f"measured on {self.device_name} ({self.date})"

    def _check_chip(self, chip: Any) -> None:
        """Refuse to calibrate a chip other than the one measured: efficiencies do not transfer between chips."""
        if self.chip is None:
            raise AccelplanError(f"calibration profile measured on {self.device_name} ({self.device}) matches no catalog "
                                 f"chip, so it cannot calibrate chip '{chip.id}'")
        if self.chip != chip.id:
            raise AccelplanError(f"calibration profile is for chip '{self.chip}' (measured on {self.device_name}), "
                                 f"but the model is for chip '{chip.id}'; bench a '{chip.id}' or model '{self.chip}'")

    def _fraction(self, name: str, rate: float, peak: float, chip: Any) -> float:
        """rate / peak, capped at 1; refused when the rate is well above the catalog peak (not that chip)."""
        eff = rate / peak
        if eff > EFFICIENCY_CEILING:
            raise AccelplanError(f"calibration profile: measured {name} rate {rate:.4g}/s is {eff:.0%} of chip "
                                 f"'{chip.id}' catalog peak {peak:.4g}/s; the device ({self.device_name}) is not "
                                 "that chip or the catalog figure is wrong")
        return min(eff, 1.0)

    def efficiencies(self, chip: Any, mm: float, mm8: float, mem: float) -> tuple[float, float, float, str]:
        """(matmul, matmul_fp8, memory, basis) for `chip`, from the measured curves; defaults where not measured.

        Refuses a profile measured on another chip: efficiencies do not transfer between chips."""
        self._check_chip(chip)
        out = {"matmul": mm, "matmul_fp8": mm8, "memory": mem}
        measured = {"matmul": (self.large_gemm_flops_per_s("bf16"), chip.peak_flops_per_s("bf16")),
                    "matmul_fp8": (self.large_gemm_flops_per_s("fp8"), chip.peak_flops_per_s("fp8")),
                    "memory": (self.copy_bytes_per_s(), chip.hbm_bytes_per_s)}
        for name, (rate, peak) in measured.items():
            if rate is None or not peak:
                continue
            out[name] = self._fraction(name, rate, peak, chip)
        return out["matmul"], out["matmul_fp8"], out["memory"], self.basis

    def attention_points(self) -> tuple[AttentionPoint | None, AttentionPoint | None]:
        """(forward, backward): the verified causal bf16/fp16 points with the best forward and the best verified
        backward rate among those with head dim >= 128 and seq_len >= 4096; if none is that big, the largest
        verified causal point (longest sequence, then widest head, then most batch x heads) for both. None where
        not measured."""
        ok = [p for p in self.attention if p.verified and p.causal and p.dtype in ATTENTION_DTYPES]
        pool = [p for p in ok if p.head_dim >= LONG_ATTENTION_MIN_HEAD_DIM and p.seq_len >= LONG_ATTENTION_MIN_SEQ]
        if not pool and ok:
            pool = [max(ok, key=lambda p: (p.seq_len, p.head_dim, p.batch * p.heads))]
        fwd = max(pool, key=lambda p: p.tflops) if pool else None
        bwd_pool = [p for p in pool if p.bwd_measured]
        bwd = max(bwd_pool, key=lambda p: p.bwd_tflops or 0.0) if bwd_pool else None
        return fwd, bwd

    def attention_efficiencies(self, chip: Any) -> tuple[float | None, float | None]:
        """(forward, backward) fused-attention rate of `attention_points` / the chip's catalog dense bf16 (else fp16)
        peak: the step model's attention efficiencies (`Rates.of`). None where not measured (or no 16-bit peak).

        Refuses a profile measured on another chip, as `efficiencies` does."""
        self._check_chip(chip)
        peak = chip.peak_flops_per_s("bf16") or chip.peak_flops_per_s("fp16")
        if not peak:
            return None, None
        fwd, bwd = self.attention_points()
        f_rate = None if fwd is None else fwd.flops_per_s
        b_rate = None if bwd is None else bwd.bwd_flops_per_s
        return (None if f_rate is None else self._fraction("attention forward", f_rate, peak, chip),
                None if b_rate is None else self._fraction("attention backward", b_rate, peak, chip))

    @property
    def attention_basis(self) -> str:
        """One line for estimates: where the attention efficiencies come from."""
        fwd, bwd = self.attention_points()
        head = f"attention measured on {self.device_name} ({self.date})"
        if fwd is None:
            return f"{head}: no verified causal bf16/fp16 SDPA point"

        def shape(p: AttentionPoint) -> str:
            return f"d={p.head_dim} s={p.seq_len}"

        text = f"{head}: SDPA causal {fwd.dtype} {shape(fwd)}"
        if bwd is None:
            return text + " (backward not measured)"
        return text if bwd is fwd else f"{text}, backward {shape(bwd)}"


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, x)
    t = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
    return ys[i - 1] + t * (ys[i] - ys[i - 1])


def load_profile(path: str | Path) -> CalibrationProfile:
    """Read and validate a calibration profile; a bad file raises AccelplanError naming the file and the field."""
    p = Path(path)
    try:
        data = yamlio.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AccelplanError(f"calibration profile '{p}' does not exist (write one with `accelplan bench --out {p}`)") from None
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise AccelplanError(f"calibration profile '{p}': not readable YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise AccelplanError(f"calibration profile '{p}': expected a mapping, got {type(data).__name__}")
    try:
        return CalibrationProfile.model_validate(data)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(x) for x in e["loc"])
        msg = "unknown field" if e["type"] == "extra_forbidden" else e["msg"]
        raise AccelplanError(f"calibration profile '{p}', field '{loc}': {msg}") from None


def save_profile(profile: CalibrationProfile, path: str | Path) -> Path:
    from accelplan.paths import output_file

    p = output_file(path, "--out")  # the one policy: the folder must exist, nothing is created
    text = yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False, width=120)
    p.write_text("# accelplan calibration profile (accelplan bench); see docs/bench.md\n" + text, encoding="utf-8")
    return p
