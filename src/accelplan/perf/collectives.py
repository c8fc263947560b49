"""Alpha-beta cost of collectives on a system's network levels, vectorized over groups.

A group is `size` ranks whose neighbours are `stride` ranks apart in the global rank order (Megatron's
order: tp innermost, then cp, then dp/ep, pp outermost). The first `k` members share one scale-up
domain; the group then runs hierarchically: the scale-up part on the fast fabric, the rest over each
member's own scale-out NIC with 1/k of the data (NCCL/HCCL hierarchical rings; Narayanan et al. 2021,
arXiv 2104.04473, sec. 3.2; "How to Scale Your Model", ch. 3, for the torus case). The two phases run
pipelined over chunks of the buffer, so the slower one sets the time (NCCL's tree/ring-of-rings and HCCL's
hierarchical algorithms stream chunks through both levels); every hop's latency is paid once.

Ring costs for a buffer of B bytes over g ranks at bandwidth W and hop latency a:
  reduce-scatter = all-gather = (g-1)/g * B / W + (g-1) a,   all-reduce = 2 x that,
  all-to-all (B sent per rank) = (g-1)/g * B / W + (g-1) a,  send/recv = B / W + a.

What W is depends on the scale-up topology:
- switched (NVLink switch, NVL72, CloudMatrix 384's UB switches): every pair gets the chip's full bandwidth;
- full mesh (MI300X xGMI, Atlas 800T A2 HCCS, Gaudi's in-node RoCE): each chip has one link (or bundle) to each
  of the D-1 others, so a group of k uses k-1 of them, (k-1)/(D-1) of the chip's bandwidth, and a point-to-point
  transfer uses one, 1/(D-1) (measured on Atlas 800T A2: all-gather bus bandwidth 38 / 64 / 149 GB/s on 2 / 4 / 8
  cards; shared/research/hardware_notes.md, Ascend point 8);
- torus (TPU ICI): a group uses the links of the axes it spans, in the job's own slice (the slice shape follows
  from the job's chip count, not the pod's size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelplan.catalog.schema import System
from accelplan.perf.assumptions import Assumptions
from accelplan.perf.calibration import Calibration

Array = np.ndarray


@dataclass(frozen=True)
class Fabric:
    """Per-chip, one-direction effective bandwidths and hop latencies of a system's two levels."""

    domain: int
    up_bytes_per_s: float
    out_bytes_per_s: float
    up_alpha_s: float
    out_alpha_s: float
    full_mesh: bool = False
    torus_dims: tuple[int, ...] = ()  # the job's slice; empty for switched fabrics and meshes

    @classmethod
    def of(cls, system: System, a: Assumptions, calibration: Calibration | None = None, chips: int | None = None) -> Fabric:
        """The fabric a job of `chips` chips sees (its torus slice); None = the whole scale-up domain."""
        up = system.levels[0]
        out = system.levels[1] if len(system.levels) > 1 else None
        up_bw = (up.busbw_gb_s * 1e9 if up.busbw_gb_s else
                 (up.bytes_per_s or a.unknown_scaleup_gb_s * 1e9) * a.link_efficiency)
        # a system with no scale-out level at all cannot span domains; one whose rate is unknown gets the assumption
        out_bw = (0.0 if out is None else (out.bytes_per_s or a.unknown_scaleout_gb_s * 1e9)) * a.link_efficiency
        measured_up, measured_out = _measured_links(calibration)
        up_bw = measured_up or up_bw  # a measured bus bandwidth already includes the link efficiency
        out_bw = (measured_out or out_bw) if out is not None else 0.0
        domain = up.size or 1
        dims: tuple[int, ...] = ()
        if up.topology in ("torus2d", "torus3d"):
            pod = tuple(up.torus_dims) if up.torus_dims else _even_dims(domain, 3 if up.topology == "torus3d" else 2)
            dims = slice_dims(pod, min(chips or domain, domain))
        return cls(
            domain=domain,
            up_bytes_per_s=up_bw,
            out_bytes_per_s=out_bw,
            up_alpha_s=(up.latency_us if up.latency_us is not None else a.alpha_scaleup_us) * 1e-6,
            out_alpha_s=((out.latency_us if out is not None and out.latency_us is not None else a.alpha_scaleout_us)
                         * 1e-6),
            full_mesh=up.topology == "full_mesh" and domain > 2,
            torus_dims=dims,
        )

    @staticmethod
    def assumptions(system: System, a: Assumptions, calibration: Calibration | None = None) -> list[str]:
        """What `of` had to assume for this system, or took from a calibration profile, in words for the output."""
        out = []
        measured = _measured_links(calibration)
        for lvl, default, m in zip(system.levels[:2], (a.unknown_scaleup_gb_s, a.unknown_scaleout_gb_s), measured,
                                   strict=False):
            if m:
                out.append(f"{system.id}: {lvl.kind} bandwidth per chip and direction measured: {m / 1e9:.1f} GB/s "
                           "(largest all-reduce bus bandwidth in the calibration profile)")
            elif lvl.bytes_per_s is None:
                out.append(f"{system.id}: {lvl.kind} bandwidth per chip is unknown ({lvl.name}); assumed {default:g} GB/s "
                           "per direction")
        return out

    def split(self, size: Array, stride: Array) -> tuple[Array, Array]:
        """Members per scale-up domain (k) and number of domains the group spans (g / k)."""
        size = np.asarray(size, dtype=float)
        stride = np.asarray(stride, dtype=float)
        k = np.clip(np.floor(self.domain / np.maximum(stride, 1.0)), 1.0, None)
        k = np.minimum(k, size)
        return k, np.ceil(size / k)

    def up_bandwidth(self, k: Array, stride: Array) -> Array:
        """Scale-up bandwidth a group of k members can use: all of it on a switch, k-1 links of a full mesh, the
        links of the spanned axes of a torus."""
        k = np.asarray(k, dtype=float)
        if self.full_mesh:
            return self.up_bytes_per_s * np.clip(k - 1.0, 1.0, None) / (self.domain - 1.0)
        if not self.torus_dims:
            return np.full_like(k, self.up_bytes_per_s)
        span = k * np.maximum(np.asarray(stride, dtype=float), 1.0)
        # axes a group spans, filling the slice's axes in order (the leading axis first)
        reach = np.cumprod(np.asarray(self.torus_dims, dtype=float))
        axes_used = np.clip(np.searchsorted(reach, span - 1e-9) + 1, 1, len(self.torus_dims))
        return self.up_bytes_per_s * axes_used / len(self.torus_dims)

    def link_bandwidth(self) -> float:
        """One point-to-point path inside the domain: one link of a full mesh, the full rate on a switch, the two
        links of one axis (one each way) of a torus."""
        if self.full_mesh:
            return self.up_bytes_per_s / (self.domain - 1.0)
        if self.torus_dims:
            return self.up_bytes_per_s / len(self.torus_dims)
        return self.up_bytes_per_s


def _even_dims(n: int, axes: int) -> tuple[int, ...]:
    side = max(1, round(n ** (1.0 / axes)))
    return (side,) * axes


def slice_dims(pod: tuple[int, ...], chips: int) -> tuple[int, ...]:
    """The most even factorization of `chips` into len(pod) axes, each no longer than the pod's (a TPU slice such as
    v5p-1024 = 8 x 8 x 16 chips, or v6e-32 = 4 x 8); the pod itself where `chips` does not factor into it."""
    best: tuple[int, ...] | None = None

    def rec(left: int, i: int, acc: tuple[int, ...]) -> None:
        nonlocal best
        if i == len(pod) - 1:
            if left <= pod[i]:
                cand = tuple(sorted((*acc, left)))
                if best is None or (max(cand), -min(cand)) < (max(best), -min(best)):
                    best = cand
            return
        for d in range(1, min(pod[i], left) + 1):
            if left % d == 0:
                rec(left // d, i + 1, (*acc, d))

    rec(max(chips, 1), 0, ())
    return best if best is not None else tuple(sorted(pod))


def _measured_links(calibration: Calibration | None) -> tuple[float | None, float | None]:
    if calibration is None:
        return None, None
    return calibration.link_bandwidths()


def _safe_div(num: Array, den: float | Array) -> Array:
    den_arr = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den_arr > 0, num / np.where(den_arr > 0, den_arr, 1.0), np.where(num > 0, np.inf, 0.0))
    return out


def reduce_scatter_s(fab: Fabric, nbytes: Array, size: Array, stride: Array) -> Array:
    """Hierarchical reduce-scatter (= all-gather) time of a `nbytes` buffer; zero for a group of one."""
    size = np.asarray(size, dtype=float)
    k, nodes = fab.split(size, stride)
    t_up = _safe_div((k - 1) / k * nbytes, fab.up_bandwidth(k, stride))
    t_out = _safe_div((nodes - 1) / nodes * nbytes / k, fab.out_bytes_per_s)
    alpha = (k - 1) * fab.up_alpha_s + (nodes - 1) * fab.out_alpha_s
    return np.where((size > 1) & (np.asarray(nbytes) > 0), np.maximum(t_up, t_out) + alpha, 0.0)


def all_reduce_s(fab: Fabric, nbytes: Array, size: Array, stride: Array) -> Array:
    return 2.0 * reduce_scatter_s(fab, nbytes, size, stride)


def all_to_all_s(fab: Fabric, nbytes: Array, size: Array, stride: Array) -> Array:
    """Each rank sends `nbytes` spread evenly over the group: the slower of the in-domain and out-of-domain parts."""
    size = np.asarray(size, dtype=float)
    k, nodes = fab.split(size, stride)
    t_up = _safe_div(nbytes * (k - 1) / size, fab.up_bandwidth(k, stride)) + (k - 1) * fab.up_alpha_s
    t_out = _safe_div(nbytes * (size - k) / size, fab.out_bytes_per_s) + (nodes - 1) * fab.out_alpha_s
    return np.where((size > 1) & (np.asarray(nbytes) > 0), np.maximum(t_up, t_out), 0.0)


def send_recv_s(fab: Fabric, nbytes: Array, stride: Array) -> Array:
    """Point-to-point between neighbours `stride` ranks apart (pipeline stages, context-parallel ring steps)."""
    stride = np.asarray(stride, dtype=float)
    inside = stride < fab.domain
    bw = np.where(inside, fab.link_bandwidth(), fab.out_bytes_per_s)
    alpha = np.where(inside, fab.up_alpha_s, fab.out_alpha_s)
    return _safe_div(np.asarray(nbytes, dtype=float), bw) + alpha
