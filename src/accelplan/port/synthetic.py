"""A generated PyTorch training tree of a chosen size, for the audit's benchmark and performance test.

Each module is ordinary training code (a model, a loop, data handling, docstrings and comments that
mention CUDA) with a known set of CUDA idioms, so a run can be checked for both speed and result.
"""

from __future__ import annotations

import re
from pathlib import Path

# One module; {i} makes names unique. The lines marked "CUDA" are the findings a module holds.
_MODULE = '''"""Module {i} of a generated trainer. It uses cuda, nccl and torch.cuda.amp (prose, not findings)."""
import math
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

# torch.cuda.synchronize() in a comment is not a finding


@dataclass
class Config{i}:
    vocab: int = 32000
    dim: int = 512
    heads: int = 8
    layers: int = 4
    dropout: float = 0.0
    name: str = "model-{i}"


class Block{i}(nn.Module):
    """A pre-norm transformer block; on GPUs it runs under cuda autocast."""

    def __init__(self, cfg: Config{i}):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.dim)
        self.norm2 = nn.LayerNorm(cfg.dim)
        self.qkv = nn.Linear(cfg.dim, 3 * cfg.dim, bias=False)
        self.proj = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.up = nn.Linear(cfg.dim, 4 * cfg.dim, bias=False)
        self.down = nn.Linear(4 * cfg.dim, cfg.dim, bias=False)
        self.heads = cfg.heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, s, 3, self.heads, d // self.heads).unbind(2)
        y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, s, d))
        return x + self.down(F.gelu(self.up(self.norm2(x))))


class Model{i}(nn.Module):
    def __init__(self, cfg: Config{i}):
        super().__init__()
        self.emb = nn.Embedding(cfg.vocab, cfg.dim)
        self.blocks = nn.ModuleList([Block{i}(cfg) for _ in range(cfg.layers)])
        self.head = nn.Linear(cfg.dim, cfg.vocab, bias=False)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.emb(idx)
        for blk in self.blocks:
            x = blk(x)
        return self.head(x)


def device_{i}() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")  # CUDA: 2 findings


def batches_{i}(n: int, seq: int, vocab: int = 32000):
    for step in range(n):
        g = torch.Generator().manual_seed(step)
        yield torch.randint(0, vocab, (8, seq), generator=g)


def lr_{i}(step: int, warmup: int = 100, total: int = 1000, peak: float = 3e-4) -> float:
    if step < warmup:
        return peak * step / warmup
    return 0.5 * peak * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train_{i}(steps: int = 10) -> float:
    """Train for a few steps on 'cuda' if present."""
    cfg = Config{i}()
    model = Model{i}(cfg).cuda()  # CUDA: 1 finding
    opt = torch.optim.AdamW(model.parameters(), lr=lr_{i}(0))
    if dist.is_available() and dist.is_initialized() and dist.get_backend() == "nccl":  # CUDA: 1 finding
        world = dist.get_world_size()
    else:
        world = int(os.environ.get("WORLD_SIZE", "1"))
    loss = torch.zeros(())
    for step, idx in enumerate(batches_{i}(steps, 128, cfg.vocab)):
        for group in opt.param_groups:
            group["lr"] = lr_{i}(step)
        with torch.autocast("cuda", dtype=torch.bfloat16):  # CUDA: 1 finding
            logits = model(idx.to("cuda", non_blocking=True))  # CUDA: 1 finding
            loss = F.cross_entropy(logits.flatten(0, 1).float(), idx.flatten().cuda())  # CUDA: 1 finding
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if step % 10 == 0:
            torch.cuda.synchronize()  # CUDA: 1 finding
            used = torch.cuda.max_memory_allocated() / 2**30  # CUDA: 1 finding
            print(f"step {{step}} loss {{loss.item():.3f}} mem {{used:.2f}} GiB world {{world}}")
    return float(loss) / max(1, world)


def summary_{i}(values: list[float]) -> dict[str, float]:
    if not values:
        return {{"mean": 0.0, "max": 0.0}}
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return {{"mean": mean, "max": max(values), "std": var ** 0.5, "n": float(len(values))}}
'''
FINDINGS_PER_MODULE = sum(int(n) for n in re.findall(r"# CUDA: (\d+) finding", _MODULE))
LINES_PER_MODULE = _MODULE.count("\n")


def make_tree(root: str | Path, lines: int = 100_000, modules_per_package: int = 50) -> tuple[int, int]:
    """Write modules under root/pkg_NN/ until at least `lines` lines exist; return (modules, lines)."""
    root = Path(root)
    n = -(-lines // LINES_PER_MODULE)
    for i in range(n):
        pkg = root / f"pkg_{i // modules_per_package:02d}"
        if i % modules_per_package == 0:
            pkg.mkdir(parents=True, exist_ok=True)
            (pkg / "__init__.py").write_text('"""Generated package."""\n')
        (pkg / f"mod_{i:04d}.py").write_text(_MODULE.format(i=i))
    return n, n * LINES_PER_MODULE + -(-n // modules_per_package)
