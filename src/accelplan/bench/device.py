"""Find the PyTorch device, its name, its catalog chip, its last-level cache, and how to time work on it.

Every function that touches torch imports it inside, so the CLI starts without it.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelplan.errors import AccelplanError

KINDS: tuple[str, ...] = ("cuda", "npu", "xpu", "mps", "cpu")
MIB = 2**20

# Device name (as torch reports it) -> catalog chip id. First match wins, so the more specific rule
# comes first (GH200/GB200 contain "H200"/"B200"; "H100 PCIe" before "H100").
# Names: torch.cuda.get_device_name ("NVIDIA H200", "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-40GB",
# "AMD Instinct MI300X" under ROCm), torch.npu.get_device_name ("Ascend910B3", "Ascend910_9392" for 910C).
CHIP_RULES: tuple[tuple[str, str | None], ...] = (
    (r"\bGH200\b", None),  # Grace Hopper: no catalog entry (its GPU differs from H100/H200 SXM in memory)
    (r"\bGB200\b", "gb200"),
    (r"\bGB300\b", "gb300"),
    (r"\bH200\b", "h200-sxm"),
    (r"\bH100\b.*\bPCIe\b", "h100-pcie-80gb"),
    (r"\bH100\b", "h100-sxm"),
    (r"\bH800\b", "h800-sxm"),
    (r"\bH20\b", "h20"),
    (r"\bB200\b", "b200-hgx"),
    (r"\bB300\b", "b300-hgx"),
    (r"\bA100\b.*40\s*GB", "a100-sxm-40gb"),
    (r"\bA100\b", "a100-sxm-80gb"),
    (r"\bA800\b", "a800-sxm4-80gb"),
    (r"\bV100\b", "v100-sxm2-32gb"),
    (r"\bMI355X\b", "mi355x"),
    (r"\bMI350X\b", "mi350x"),
    (r"\bMI325X\b", "mi325x"),
    (r"\bMI300X\b", "mi300x"),
    (r"\bMI250X?\b", "mi250x"),
    (r"^Ascend910B1\b", "ascend-910b1"),
    (r"^Ascend910B2", "ascend-910b2"),
    (r"^Ascend910B3\b", "ascend-910b3"),
    (r"^Ascend910B4", "ascend-910b4"),
    (r"^Ascend910B", "ascend-910b"),
    (r"^Ascend910_93", "ascend-910c"),  # Atlas A3 (910C) reports as Ascend910_93xx
    (r"^Ascend910(A|ProA|ProB|PremiumA)?$", "ascend-910"),
)

# When the last-level cache cannot be read: large enough for the known accelerators (MI300X Infinity
# Cache 256 MB, CDNA3 white paper; Ascend 910B L2 192 MB), so rotation still defeats it.
FALLBACK_LLC_BYTES = 256 * MIB
ROCM_LLC_FLOOR_BYTES = 256 * MIB  # ROCm reports only L2 (4 MB on MI300X), not the Infinity Cache behind it


def chip_for_name(name: str) -> tuple[str | None, str]:
    """(catalog chip id or None, the rule that decided) for a device name."""
    for pattern, chip in CHIP_RULES:
        if re.search(pattern, name, flags=re.IGNORECASE):
            return chip, f"device name '{name}' matches /{pattern}/"
    return None, f"device name '{name}' matches no catalog chip"


@dataclass
class Device:
    kind: str
    index: int
    name: str
    chip: str | None
    chip_match: str
    llc_bytes: int
    llc_source: str
    versions: dict[str, str] = field(default_factory=dict)
    available_bytes: int | None = None  # free device memory (host memory for cpu/mps), None if unknown
    torch_device: Any = None

    def synchronize(self) -> None:
        if self.kind == "cpu":
            return
        import torch

        getattr(torch, self.kind).synchronize()

    def timer(self) -> Timer:
        return Timer(self)


class Timer:
    """Elapsed device time of the work queued between start() and stop(): device events on cuda, npu and
    xpu; synchronize + wall clock on mps and cpu (cpu work is synchronous)."""

    def __init__(self, device: Device):
        import torch

        self.device = device
        mod = getattr(torch, device.kind, None)
        self._events = device.kind in ("cuda", "npu", "xpu") and hasattr(mod, "Event")
        if self._events:
            self._start = mod.Event(enable_timing=True)  # type: ignore[union-attr]
            self._end = mod.Event(enable_timing=True)  # type: ignore[union-attr]

    def start(self) -> None:
        if self._events:
            self._start.record()
        else:
            self.device.synchronize()
            self._t0 = time.perf_counter()

    def stop(self) -> float:
        if self._events:
            self._end.record()
            self._end.synchronize()
            return self._start.elapsed_time(self._end) / 1e3  # ms -> s
        self.device.synchronize()
        return time.perf_counter() - self._t0


def import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise AccelplanError("accelplan bench needs PyTorch: pip install 'accelplan[bench]' "
                             "(or a torch build for your accelerator)") from None
    return torch


def _present(torch: Any, kind: str) -> tuple[bool, str]:
    """Is `kind` usable here, and if not, why."""
    if kind == "cpu":
        return True, ""
    if kind == "cuda":
        return torch.cuda.is_available(), f"torch {torch.__version__} sees no CUDA/ROCm device"
    if kind == "npu":
        try:
            import torch_npu  # noqa: F401  (registers torch.npu)
        except ImportError:
            return False, "torch_npu is not installed (Ascend needs torch_npu and CANN)"
        return torch.npu.is_available(), "torch_npu sees no Ascend device"
    if kind == "xpu":
        ok = hasattr(torch, "xpu") and torch.xpu.is_available()
        return ok, f"torch {torch.__version__} sees no Intel XPU"
    if kind == "mps":
        return torch.backends.mps.is_available(), "MPS is not available (needs Apple silicon and macOS 12.3+)"
    return False, ""


def resolve(requested: str | None = None, chip: str | None = None) -> Device:
    """The device to bench: `requested` (one of KINDS) or the first present of cuda, npu, xpu, mps, cpu."""
    if requested is not None and requested not in KINDS:
        raise AccelplanError(f"--device '{requested}' is not one of: {', '.join(KINDS)}")
    torch = import_torch()
    if requested is None:
        kind = next(k for k in KINDS if _present(torch, k)[0])
    else:
        ok, why = _present(torch, requested)
        if not ok:
            have = [k for k in KINDS if _present(torch, k)[0]]
            raise AccelplanError(f"--device {requested}: not present ({why}); present here: {', '.join(have)}")
        kind = requested
    local = int(os.environ.get("LOCAL_RANK", "0"))
    index = local if kind in ("cuda", "npu", "xpu") else 0
    if kind in ("cuda", "npu", "xpu"):
        mod = getattr(torch, kind)
        index = index % max(mod.device_count(), 1)
        mod.set_device(index)
    name = _name(torch, kind, index)
    chip_id: str | None
    if chip is not None:
        from accelplan.catalog.loader import load_catalog

        chip_id, match = load_catalog().chip(chip).id, f"--chip {chip}"
    else:
        chip_id, match = chip_for_name(name)
    llc, llc_source = _llc_bytes(torch, kind, index)
    return Device(kind=kind, index=index, name=name, chip=chip_id, chip_match=match, llc_bytes=llc,
                  llc_source=llc_source, versions=_versions(torch, kind, index),
                  available_bytes=_available_bytes(torch, kind, index),
                  torch_device=torch.device(kind, index) if kind in ("cuda", "npu", "xpu") else torch.device(kind))


def _name(torch: Any, kind: str, index: int) -> str:
    if kind in ("cuda", "npu", "xpu"):
        return str(getattr(torch, kind).get_device_name(index))
    if kind == "mps":
        return _run(["sysctl", "-n", "machdep.cpu.brand_string"]) or "Apple silicon (MPS)"
    return _cpu_name()


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def _run(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else ""


def _cpu_llc_bytes() -> int | None:
    """Largest cache level of cpu0 from sysfs (Linux), per instance."""
    root = Path("/sys/devices/system/cpu/cpu0/cache")
    best: tuple[int, int] | None = None
    for d in root.glob("index*"):
        try:
            level = int((d / "level").read_text())
            size = (d / "size").read_text().strip()
        except (OSError, ValueError):
            continue
        m = re.fullmatch(r"(\d+)([KMG]?)", size)
        if not m:
            continue
        nbytes = int(m.group(1)) * {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]
        if best is None or (level, nbytes) > best:
            best = (level, nbytes)
    return None if best is None else best[1]


def _llc_bytes(torch: Any, kind: str, index: int) -> tuple[int, str]:
    if kind == "cuda":
        l2 = int(getattr(torch.cuda.get_device_properties(index), "L2_cache_size", 0) or 0)
        if getattr(torch.version, "hip", None):
            return max(l2, ROCM_LLC_FLOOR_BYTES), "ROCm: max(reported L2, 256 MiB Infinity Cache)"
        if l2:
            return l2, "torch.cuda.get_device_properties().L2_cache_size"
    if kind == "cpu":
        llc = _cpu_llc_bytes()
        if llc:
            return llc, "/sys/devices/system/cpu/cpu0/cache (largest level)"
    return FALLBACK_LLC_BYTES, "not reported; assumed 256 MiB"


def _available_bytes(torch: Any, kind: str, index: int) -> int | None:
    try:
        if kind == "cuda":
            return int(torch.cuda.mem_get_info(index)[0])
        if kind == "npu":
            return int(torch.npu.mem_get_info(index)[0])
        if kind == "xpu" and hasattr(torch.xpu, "mem_get_info"):
            return int(torch.xpu.mem_get_info(index)[0])
    except Exception:  # noqa: BLE001  (a driver that cannot say; fall back to no budget check)
        return None
    if kind in ("cpu", "mps"):
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def _versions(torch: Any, kind: str, index: int) -> dict[str, str]:
    v: dict[str, str] = {"torch": torch.__version__, "python": platform.python_version(), "os": platform.platform()}
    if kind == "cuda":
        if getattr(torch.version, "hip", None):
            v["hip"] = str(torch.version.hip)
        else:
            v["cuda"] = str(torch.version.cuda)
            driver = _run(["nvidia-smi", f"--id={index}", "--query-gpu=driver_version", "--format=csv,noheader"])
            if driver:
                v["driver"] = driver
        if torch.backends.cudnn.is_available():
            v["cudnn"] = str(torch.backends.cudnn.version())
        try:
            nccl = torch.cuda.nccl.version()
            v["nccl"] = ".".join(str(x) for x in nccl) if isinstance(nccl, tuple) else str(nccl)
        except Exception:  # noqa: BLE001  (torch built without NCCL)
            pass
    elif kind == "npu":
        import torch_npu

        v["torch_npu"] = str(getattr(torch_npu, "__version__", "unknown"))
        cann = getattr(getattr(torch_npu, "version", None), "cann", None)
        if cann:
            v["cann"] = str(cann)
    elif kind == "xpu":
        props = torch.xpu.get_device_properties(index)
        v["xpu_driver"] = str(getattr(props, "driver_version", "unknown"))
    elif kind == "cpu":
        v["threads"] = str(torch.get_num_threads())
        v["mkldnn"] = str(torch.backends.mkldnn.is_available())
    return v
