"""CUDA lock-in audit: find CUDA-specific code in a PyTorch tree and say what porting it to Ascend
(torch_npu), ROCm or TPU (torch_xla) takes. `audit(path)` returns data; `accelplan port-audit` prints it.

Names load on first use, so that `accelplan --help` (which imports port.cli) stays free of pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from accelplan.port.report import Audit, audit, to_dict, to_html

__all__ = ["Audit", "audit", "to_dict", "to_html"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from accelplan.port import report

        return getattr(report, name)
    raise AttributeError(f"module 'accelplan.port' has no attribute '{name}'")
