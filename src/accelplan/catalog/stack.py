"""The training stack (framework) as data: what it overlaps, fuses and compiles, sourced like a chip.

The same plan runs at different speeds on different stacks. A `Stack` records, for one framework, the properties
the step model reads, each with a source in the stack's own code or documentation
(`catalog/data/stacks/*.yaml`, from shared/research/training_stacks.md). The properties describe the stack's
published performance configuration (its recipes: what its published throughput ran with); where the library
default differs, the YAML's notes say so.

Releases differ. `releases` lists, oldest first, what each release changed; a run or request names a release in
`framework_version` and gets the base properties with every change up to that release applied. With no version,
the latest release is assumed and the output says so.
"""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from accelplan.catalog.refusal import explain
from accelplan.catalog.schema import CpAlgorithm, Runtime, Sourced, Strict


class Execution(Strict):
    # eager: the framework dispatches kernel by kernel from Python (PyTorch, torch_npu); graph: a compiled graph that
    # a runtime still launches kernel by kernel (MindSpore O0/O1, Gaudi lazy mode); compiled: one compiled program runs
    # the whole step (XLA, MindSpore O2 sink), with no per-kernel host work
    mode: Literal["eager", "graph", "compiled"]
    # kernel-graph capture in an eager stack (CUDA graphs, HPU graphs): none, parts of each layer, or the whole
    # forward+backward
    graphs: Literal["none", "per_layer", "full_iteration"] = "none"
    # a compiler fuses element-wise ops (norms, activations, casts, residuals) into their neighbours (XLA,
    # torch.compile, MindSpore graph-kernel fusion)
    compiler_fusion: bool = False
    # the MoE token dispatcher blocks the host on the device in every MoE layer (token counts copied to the host to
    # size the all-to-all), so the host cannot run ahead there
    moe_dispatch_sync: bool = False

    @property
    def fuses_elementwise(self) -> bool:
        """A compiler folds element-wise work (norms, activations, casts, the loss) into its neighbours: a whole-step
        compiled program, or an eager/graph stack with compiler fusion."""
        return self.mode == "compiled" or self.compiler_fusion


class Overlap(Strict):
    """Share (0..1) of each kind of collective that the stack's schedule can hide behind independent compute. The
    model still hides no more than the compute beside it, and hidden traffic still slows that compute."""

    tp: float = Field(ge=0, le=1)  # tensor-parallel all-gather / reduce-scatter (userbuffers, async TP, MC2)
    # the same for the expert MLP of a MoE layer where it differs from `tp` (MindSpeed's MC2 fuses the dense
    # layers' matmuls with their collectives, not the MoE MLP's); null: as `tp`
    tp_moe_mlp: float | None = Field(default=None, ge=0, le=1)
    dp: float = Field(ge=0, le=1)  # gradient reduce-scatter and parameter all-gather (bucketed DP / FSDP prefetch)
    pp: float = Field(ge=0, le=1)  # pipeline send/recv in the steady 1F1B phase
    pp_needs_interleaving: bool = False  # pipeline sends overlap only with the interleaved (virtual-stage) schedule
    ep: float = Field(ge=0, le=1)  # MoE all-to-all (A2A overlap, DualPipe, fb-overlap)
    cp: float = Field(ge=0, le=1)  # context-parallel KV exchange with the attention compute


class ContextParallel(Strict):
    """How the stack splits a sequence over context-parallel ranks."""

    # the algorithms it implements, its default first (the search tries each; a plan names one or gets the first)
    algorithms: list[CpAlgorithm] = Field(default_factory=lambda: list[CpAlgorithm](["ring"]), min_length=1)
    # causal masking gives the last chunk of a sequence the most work: a balancing stack gives each rank a head and a
    # tail chunk (2 x cp chunks), so every rank does the same attention work; otherwise the last rank does
    # 2 - 1/cp times the mean, and every ring step waits for it
    load_balanced: bool = True

    @field_validator("algorithms")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"lists an algorithm twice: {v}")
        return v


class Kernels(Strict):
    # vendor: the chip's tuned fused attention (cuDNN / TE, FlashAttention-3/4, AITER/CK, FlashAttentionScore,
    # FusedSDPA, Splash); flash2: the FlashAttention-2 algorithm (flash-attn 2, PyTorch SDPA's flash backend);
    # unfused: scores materialised in memory (s^2 per head)
    attention: Literal["vendor", "flash2", "unfused"]
    fused_norm: bool
    fused_rope: bool
    fused_swiglu: bool
    fused_cross_entropy: bool
    fused_adam: bool
    grouped_gemm: bool  # one grouped GEMM for all local experts, rather than one GEMM per expert
    fused_moe_permute: bool = False  # MoE token permute and unpermute as fused kernels
    # chip architecture family (the start of a chip's `architecture`, e.g. "Blackwell") -> the largest (q/k, v) head
    # dimensions the release's fused attention trains on it; a model with larger heads runs attention unfused there
    fused_attention_max_head_dim: dict[str, tuple[int, int]] = Field(default_factory=dict)


class Fp8Recipe(Strict):
    """What the stack's fp8 training puts in fp8, and how it scales."""

    scaling: Literal["delayed", "tensorwise", "rowwise", "blockwise", "mxfp8"]
    lm_head: bool = False  # the output projection (logits) in fp8
    attention: bool = False  # fp8 dot-product attention


class Memory(Strict):
    """Bytes per parameter the stack keeps, by default, outside the activations."""

    # bytes per parameter (shipped: weights and gradients 2-4, optimizer state 1-12); the bounds are fp64 copies
    weight_bytes: float = Field(gt=0, le=8)  # the weights the step computes with (bf16 = 2; MaxText keeps fp32 = 4)
    grad_bytes: float = Field(gt=0, le=8)  # main gradient buffer, per element (fp32 = 4, bf16 = 2)
    optimizer_bytes: float = Field(gt=0, le=24)  # master weights (where separate) and Adam moments per parameter
    master_bytes: float = Field(default=4.0, ge=0, le=8)  # of which a separate fp32 master copy (0 where weights are fp32)
    # the master copy's bytes in a bf16 run where the stack keeps it otherwise: Megatron's precision-aware optimizer
    # stores only the 16 bits of each fp32 master weight that the bf16 weight lacks (2); null: master_bytes
    bf16_master_bytes: float | None = Field(default=None, ge=0, le=8)
    expert_tensor_parallel: Literal["tp", "1"] = "tp"  # experts split like the dense layers (Megatron default) or not
    # what "selective" recompute keeps: core_attention = Megatron's (recompute the attention core; with flash
    # attention that frees almost nothing), keep_qkv = keep the layer input and q, k, v and recompute the rest
    # (MaxText save_qkv_proj), keep_qkv_offloaded = the same kept tensors moved to host memory (qkv_proj_offloaded),
    # every_other_mm = per-op selective checkpointing that saves every compute op's output except every second matrix
    # multiply of a block (torchtitan's "selective op"; grouped expert GEMMs are recomputed, the attention core saved)
    selective_recompute: Literal["core_attention", "keep_qkv", "keep_qkv_offloaded", "every_other_mm"] = \
        "core_attention"
    # the compiler shards every saved activation along the tensor-parallel axis, as sequence parallelism does
    activations_follow_sharding: bool = False
    # what full recompute re-runs in the backward pass: whole_layer = the layer's whole forward (torch.utils.checkpoint
    # and Megatron's CheckpointFunction call the layer again); backward_needs = only what the backward pass reads, so a
    # layer's last GEMMs (the MLP's down projection; in a parallel block the attention output projection too) and the
    # collectives after them are not re-run (JAX's remat partial-evaluates the layer and drops what no residual needs);
    # null = not stated, read as whole_layer
    full_recompute: Literal["whole_layer", "backward_needs"] | None = None

    @property
    def recompute_skips_last_gemms(self) -> bool:
        """Full recompute leaves out the layer's last GEMMs and the traffic after them (`full_recompute`)."""
        return self.full_recompute == "backward_needs"


class PlanDefaults(Strict):
    """What the stack runs where a job leaves a plan field unset. Validation reads it for a published run that does
    not state the field (what ran is then the stack's default, not the fastest choice); the planner still searches."""

    # pipeline micro-batches of a job with pp > 1 that sets none: pp_degree = as many micro-batches as pipeline
    # stages (micro-batch = local batch / pp), size_1 = micro-batches of one sequence; null = not documented
    pipeline_microbatches: Literal["pp_degree", "size_1"] | None = None
    # virtual pipeline stages per rank a job with pp > 1 that names none runs with, one per schedule kind the stack
    # offers (torchtitan: 1 for single-stage schedules, 2 for multi-stage ones); null = not documented
    pipeline_virtual_stages: list[int] | None = None
    # how the stack splits the layers over pipeline stages by default: even_layers = the transformer layers split
    # evenly and the output layer and loss added to the last stage (Megatron's default); null = not documented. The
    # step model applies it to published runs (`Stack.as_published`); a request takes the head balanced over the
    # stages, the split a tuned run sets (Megatron's account-for-loss option, MindSpeed's layer list)
    pipeline_split: Literal["even_layers"] | None = None

    @field_validator("pipeline_virtual_stages")
    @classmethod
    def _stages(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(x < 1 for x in v) or len(set(v)) != len(v)):
            raise ValueError(f"lists distinct stage counts >= 1, got {v}")
        return v


class Release(Strict):
    version: str
    date: str | None = None  # YYYY-MM-DD or YYYY-MM
    changes: dict[str, Any] = Field(default_factory=dict)  # dotted property -> its value from this release on
    source: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _iso(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, datetime.date) else v


class RuntimeChanges(Strict):
    """Properties that differ on one device runtime (a vendor's fork of the stack, its own kernels)."""

    changes: dict[str, Any]  # dotted property -> its value on that runtime
    source: str


class Stack(Sourced):
    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    runtimes: list[Runtime]  # the device runtimes it runs on
    default_for: list[Runtime] = Field(default_factory=list)  # assumed on these runtimes when none is named
    execution: Execution
    overlap: Overlap
    context_parallel: ContextParallel = Field(default_factory=ContextParallel)
    kernels: Kernels
    fp8: Fp8Recipe | None = None  # None: the stack has no fp8 training
    memory: Memory
    plan_defaults: PlanDefaults = Field(default_factory=PlanDefaults)
    releases: list[Release] = Field(default_factory=list)
    by_runtime: dict[Runtime, RuntimeChanges] = Field(default_factory=dict)
    notes: str = ""
    version: str | None = None  # the release these properties are at (set by `at_release`)
    # set by validation for a published run: its unstated choices are the stack's defaults (`plan_defaults`); a
    # request is planned with the choice a tuned run makes instead (the planner searches what the stack can be set to)
    as_published: bool = False

    def figure_paths(self) -> dict[str, float]:
        """Every property the model reads is a figure that needs a source, booleans and choices included."""
        out: dict[str, float] = {}
        for group in ("execution", "overlap", "context_parallel", "kernels", "fp8", "memory", "plan_defaults"):
            sub = getattr(self, group)
            if sub is None:
                continue
            for k, v in sub.model_dump().items():
                if v is None or (isinstance(v, dict) and not v):  # null or an empty table states nothing
                    continue
                out[f"{group}.{k}"] = float(v) if isinstance(v, int | float) else 0.0  # a choice: its value is text
        return out

    @model_validator(mode="after")
    def _releases_name_properties(self) -> Stack:
        known = (set(self.figure_paths()) | {f"fp8.{k}" for k in Fp8Recipe.model_fields}
                 | {f"kernels.{k}" for k in Kernels.model_fields}
                 | {f"plan_defaults.{k}" for k in PlanDefaults.model_fields})
        changes = [(f"release {r.version}", r.changes) for r in self.releases]
        changes += [(f"by_runtime.{rt}", rc.changes) for rt, rc in self.by_runtime.items()]
        for where, ch in changes:
            for path in ch:
                if path not in known:
                    raise ValueError(f"{where} changes unknown property '{path}' (allowed: {', '.join(sorted(known))})")
        # each release, applied in order, and each runtime's changes on the latest release must leave valid
        # properties: checked here, not first when a request names that release
        data = self.model_dump()
        for r in self.releases:
            data = _checked(data, r.changes, f"release {r.version}")
        for rt, rc in self.by_runtime.items():
            _checked(copy.deepcopy(data), rc.changes, f"by_runtime.{rt}")
        return self

    def on_runtime(self, runtime: str | None) -> Stack:
        """The stack with the properties it has on `runtime` (its `by_runtime` changes applied)."""
        rc = self.by_runtime.get(runtime) if runtime else None  # type: ignore[call-overload]
        return self if rc is None else Stack.model_validate(_apply(self.model_dump(), rc.changes))

    @property
    def latest(self) -> str | None:
        return self.releases[-1].version if self.releases else None

    def at_release(self, version: str | None) -> tuple[Stack, str]:
        """The stack as of `version` (a release of `releases`, a container tag such as 'NeMo 25.04.01', or text
        with a date), and a note saying which release was used and why."""
        if not self.releases:
            return self, f"{self.id}: properties as documented (no release history recorded)"
        if version is None:
            idx, why = len(self.releases) - 1, "no version given: the latest release is assumed"
        else:
            found = match_release(version, self.releases)
            if found is None:
                idx, why = len(self.releases) - 1, f"version '{version}' not recognised: the latest release is assumed"
            else:
                idx, why = found, f"version '{version}'"
        data = self.model_dump()
        for r in self.releases[: idx + 1]:
            data = _apply(data, r.changes)
        data["version"] = self.releases[idx].version
        return Stack.model_validate(data), f"{self.id} {self.releases[idx].version} ({why})"


_GROUPS: dict[str, type[Strict]] = {"execution": Execution, "overlap": Overlap, "context_parallel": ContextParallel,
                                    "kernels": Kernels, "fp8": Fp8Recipe, "memory": Memory,
                                    "plan_defaults": PlanDefaults}


def _checked(data: dict[str, Any], changes: dict[str, Any], where: str) -> dict[str, Any]:
    """`data` with `changes` applied, each group they touch validated; ValueError naming `where` otherwise."""
    data = _apply(data, changes)
    for group in sorted({path.split(".", 1)[0] for path in changes}):
        model = _GROUPS[group]
        try:
            model.model_validate(data[group])
        except ValidationError as err:
            loc, msg = explain(err, model)
            raise ValueError(f"{where} leaves {group}.{loc} invalid: {msg}") from None
    return data


def _apply(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for path, value in changes.items():
        group, key = path.split(".", 1)
        if data.get(group) is None:
            data[group] = {}
        data[group][key] = value
    return data


_DATE = re.compile(r"(20\d\d)-(\d\d)(?:-(\d\d))?")
_CONTAINER = re.compile(r"(?<![\d.])(\d\d)\.(\d\d)(?:\.(\d\d|rc\d+))?(?![\d])")


def _date_key(text: str) -> str | None:
    """YYYY-MM(-DD) from a date in the text, or from a YY.MM container tag (NeMo 25.04 -> 2025-04)."""
    m = _DATE.search(text)
    if m:
        return f"{m.group(1)}-{m.group(2)}-{m.group(3) or '00'}"
    m = _CONTAINER.search(text)
    if m and 20 <= int(m.group(1)) <= 40 and 1 <= int(m.group(2)) <= 12:
        return f"20{m.group(1)}-{m.group(2)}-99"  # any day of that month: the release of that month is included
    return None


def match_release(version: str, releases: list[Release]) -> int | None:
    """Index of the release `version` names: an exact release name inside the text, else the last release dated on
    or before the date (or YY.MM container tag) the text carries."""
    norm = version.lower()
    for i in range(len(releases) - 1, -1, -1):
        if releases[i].version.lower() in norm:
            return i
    when = _date_key(version)
    if when is None:
        return None
    dated = [i for i, r in enumerate(releases) if r.date is not None and r.date <= when]
    return dated[-1] if dated else 0
