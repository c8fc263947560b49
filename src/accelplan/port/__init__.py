"""CUDA lock-in audit: find CUDA-specific code in a PyTorch tree and say what porting it to Ascend
(torch_npu), ROCm or TPU (torch_xla) takes. `audit(path)` returns data; `accelplan port-audit` prints it."""

from accelplan.port.report import Audit, audit, to_dict, to_html

__all__ = ["Audit", "audit", "to_dict", "to_html"]
