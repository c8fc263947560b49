"""Alpha-beta cost of collectives on a system's network levels, vectorized over groups.

A group is `size` ranks whose neighbours are `stride` ranks apart in the global rank order (Megatron's
order: tp innermost, then cp, then dp/ep, pp outermost). The first `k` members share one scale-up
domain; the group then runs hierarchically: the scale-up part on the fast fabric, the rest over each
member's own scale-out NIC with 1/k of the data (NCCL/HCCL hierarchical rings; Narayanan et al. 2021,
arXiv 2104.04473, sec. 3.2; "How to Scale Your Model", ch. 3, for the torus case).

Ring costs for a buffer of B bytes over g ranks at bandwidth W and hop latency a:
  reduce-scatter = all-gather = (g-1)/g * B / W + (g-1) a,   all-reduce = 2 x that,
  all-to-all (B sent per rank) = (g-1)/g * B / W + (g-1) a,  send/recv = B / W + a.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelplan.catalog.schema import System
from accelplan.perf.assumptions import Assumptions

Array = np.ndarray


@dataclass(frozen=True)
class Fabric:
    """Per-chip, one-direction effective bandwidths and hop latencies of a system's two levels."""

    domain: int
    up_bytes_per_s: float
    out_bytes_per_s: float
    up_alpha_s: float
    out_alpha_s: float
    torus_axes: int  # 0 for switched fabrics
    torus_axis_len: float

    @classmethod
    def of(cls, system: System, a: Assumptions, calibration: object | None = None) -> Fabric:
        up = system.levels[0]
        out = system.levels[1] if len(system.levels) > 1 else None
        up_bw = (up.bytes_per_s or a.unknown_scaleup_gb_s * 1e9) * a.link_efficiency
        # a system with no scale-out level at all cannot span domains; one whose rate is unknown gets the assumption
        out_bw = (0.0 if out is None else (out.bytes_per_s or a.unknown_scaleout_gb_s * 1e9)) * a.link_efficiency
        measured_up, measured_out = _measured_links(calibration)
        up_bw = measured_up or up_bw  # a measured bus bandwidth already includes the link efficiency
        out_bw = (measured_out or out_bw) if out is not None else 0.0
        axes = len(up.torus_dims) if up.torus_dims else (3 if up.topology == "torus3d" else 2 if up.topology == "torus2d" else 0)
        domain = up.size or 1
        axis_len = float(domain) ** (1.0 / axes) if axes else 0.0
        return cls(
            domain=domain,
            up_bytes_per_s=up_bw,
            out_bytes_per_s=out_bw,
            up_alpha_s=(up.latency_us if up.latency_us is not None else a.alpha_scaleup_us) * 1e-6,
            out_alpha_s=((out.latency_us if out is not None and out.latency_us is not None else a.alpha_scaleout_us)
                         * 1e-6),
            torus_axes=axes,
            torus_axis_len=axis_len,
        )

    @staticmethod
    def assumptions(system: System, a: Assumptions, calibration: object | None = None) -> list[str]:
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
        """Scale-up bandwidth a group of k members can use: on a torus, the share of links on the axes it spans."""
        if not self.torus_axes:
            return np.full_like(np.asarray(k, dtype=float), self.up_bytes_per_s)
        span = np.maximum(np.asarray(k, dtype=float) * np.maximum(stride, 1.0), 2.0)
        axes_used = np.clip(np.ceil(np.log(span) / np.log(max(self.torus_axis_len, 2.0)) - 1e-9), 1, self.torus_axes)
        return self.up_bytes_per_s * axes_used / self.torus_axes


def _measured_links(calibration: object | None) -> tuple[float | None, float | None]:
    if calibration is None or not hasattr(calibration, "link_bandwidths"):
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
    up_bw = fab.up_bandwidth(k, stride)
    t_up = _safe_div((k - 1) / k * nbytes, up_bw) + (k - 1) * fab.up_alpha_s
    t_out = _safe_div((nodes - 1) / nodes * nbytes / k, fab.out_bytes_per_s) + (nodes - 1) * fab.out_alpha_s
    return np.where(size > 1, t_up + t_out, 0.0)


def all_reduce_s(fab: Fabric, nbytes: Array, size: Array, stride: Array) -> Array:
    return 2.0 * reduce_scatter_s(fab, nbytes, size, stride)


def all_to_all_s(fab: Fabric, nbytes: Array, size: Array, stride: Array) -> Array:
    """Each rank sends `nbytes` spread evenly over the group: the slower of the in-domain and out-of-domain parts."""
    size = np.asarray(size, dtype=float)
    k, nodes = fab.split(size, stride)
    up_bw = fab.up_bandwidth(k, stride)
    t_up = _safe_div(nbytes * (k - 1) / size, up_bw) + (k - 1) * fab.up_alpha_s
    t_out = _safe_div(nbytes * (size - k) / size, fab.out_bytes_per_s) + (nodes - 1) * fab.out_alpha_s
    return np.where(size > 1, np.maximum(t_up, t_out), 0.0)


def send_recv_s(fab: Fabric, nbytes: Array, stride: Array) -> Array:
    """Point-to-point between neighbours `stride` ranks apart (pipeline stages)."""
    stride = np.asarray(stride, dtype=float)
    inside = stride < fab.domain
    bw = np.where(inside, fab.up_bandwidth(np.full_like(stride, 2.0), stride), fab.out_bytes_per_s)
    alpha = np.where(inside, fab.up_alpha_s, fab.out_alpha_s)
    return _safe_div(np.asarray(nbytes, dtype=float), bw) + alpha
