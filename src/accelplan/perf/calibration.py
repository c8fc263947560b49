"""What the step model reads of a calibration profile: exactly these members, nothing found by name at run time.

`accelplan.bench.profile.CalibrationProfile` (what `accelplan bench` writes) is the implementation; perf imports
only this protocol, so the model does not depend on the bench.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from accelplan.catalog.schema import Chip


class GemmMeasurement(Protocol):
    """One measured GEMM: C (m x n) = A (m x k) @ B (k x n) in `dtype`, at `flops_per_s`, its result checked."""

    @property
    def m(self) -> int: ...

    @property
    def n(self) -> int: ...

    @property
    def k(self) -> int: ...

    @property
    def dtype(self) -> str: ...

    @property
    def verified(self) -> bool: ...

    @property
    def flops_per_s(self) -> float: ...


@runtime_checkable
class Calibration(Protocol):
    """Measured efficiencies of one chip that replace the catalog's (perf/kernels.py, perf/collectives.py)."""

    @property
    def gemm(self) -> Sequence[GemmMeasurement]:
        """GEMM rates by shape: with two or more verified shapes of a dtype they set the GEMM shape factor."""
        ...

    def efficiencies(self, chip: Chip, mm: float, mm8: float, mem: float) -> tuple[float, float, float, str]:
        """(matmul, matmul_fp8, memory, basis) for `chip`: measured where measured, else the defaults passed in."""
        ...

    def attention_efficiencies(self, chip: Chip) -> tuple[float | None, float | None]:
        """(forward, backward) fused-attention rates over the bf16 peak; None where not measured."""
        ...

    @property
    def attention_basis(self) -> str:
        """Where the attention efficiencies come from, in one line."""
        ...

    def link_bandwidths(self) -> tuple[float | None, float | None]:
        """(scale-up, scale-out) bytes/s per chip and direction; None where not measured."""
        ...
