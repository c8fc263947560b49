"""The one data model every layer shares: what runs (Chip, System), what is trained (ModelSpec,
Workload) and how it is split (Plan).

Catalog files store figures in the units vendors quote (TFLOP/s, GB, TB/s, GB/s, W); the `*_per_s`,
`*_bytes` properties convert once, here, to SI base units for the model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from accelplan.catalog.refusal import number_not_bool

TERA = 1e12
GIGA = 1e9

# ---- plausible ranges (issue 13 sec. 3). Each is wide enough for every chip, system and model announced to date,
# with headroom, and narrow enough to catch a unit slip (MB for GB, GB/s for TB/s, a percent for a fraction). A
# value outside is refused with the range named (catalog.refusal). Shipped extremes are in the comments.

# a chip's dense peak, TFLOP/s: 15,000 (GB300 fp4) is the largest shipped; NVIDIA announces 100 PFLOP/s fp4 for a
# Rubin Ultra package, half the bound; a GFLOP/s-for-TFLOP/s slip on any bf16 figure is far above it
PeakTflops = Annotated[float, Field(gt=0, le=200_000)]
HbmGb = Annotated[float, Field(gt=0, le=4_096)]  # 16-288 shipped; 1 TB announced for Rubin Ultra; MB slips refused
MiB = 2.0**20
# what the device tells the runtime it has (nvidia-smi, rocm-smi, npu-smi, JAX): 15,360-283,136 MiB for the chips sourced
ReportedMib = Annotated[float, Field(gt=0, le=4_194_304)]
HbmTbS = Annotated[float, Field(gt=0, le=100)]  # 0.8-14.4 shipped, 32 announced; a GB/s-for-TB/s slip refused
# board power per chip, W: 300-1,400 shipped; the smallest training boards draw ~70 W; a kW-for-W slip is refused
BoardW = Annotated[float, Field(ge=50, le=5_000)]
# per chip and direction, GB/s: 3-2,000 shipped (NVLink 5: 900 each way); both directions summed: up to 4,000
LinkGbS = Annotated[float, Field(gt=0, le=10_000)]
LinkBidirGbS = Annotated[float, Field(gt=0, le=20_000)]
LineGbps = Annotated[float, Field(gt=0, le=10_000)]  # scale-out line rate per chip, Gb/s: 25-800 shipped
# chips in a job, a scale-up domain or a network level: 15,488 at most shipped, ~100,000 in the largest clusters
# reported (2025); 2^20 is ten times that
MAX_CHIPS = 1_048_576
Chips = Annotated[int, Field(ge=1, le=MAX_CHIPS)]
LatencyUs = Annotated[float, Field(gt=0, le=10_000)]  # 1-2 us shipped; 10 ms is a WAN
NodeW = Annotated[float, Field(ge=0, le=200_000)]  # node overhead, W: 1,900-6,300 shipped; a 72-chip rack ~30 kW
Year = Annotated[int, Field(ge=2000, le=2040)]  # 2017-2028 shipped
# model shapes: shipped and published runs reach 128 layers, hidden 25,600, 160 heads, head dim 256, FFN 102,400,
# vocabulary 256,000, 384 experts, top-8, 8 shared experts, sequence 262,144
Layers = Annotated[int, Field(ge=1, le=1_024)]
Width = Annotated[int, Field(ge=1, le=131_072)]  # hidden size
Heads = Annotated[int, Field(ge=1, le=1_024)]
HeadDim = Annotated[int, Field(ge=1, le=1_024)]
FfnWidth = Annotated[int, Field(ge=1, le=1_048_576)]
Vocab = Annotated[int, Field(ge=1, le=2_097_152)]
SeqLen = Annotated[int, Field(ge=1, le=4_194_304)]  # tokens per sequence; 2^22
LoraRank = Annotated[int, Field(ge=1, le=65_536)]
Experts = Annotated[int, Field(ge=1, le=4_096)]
TopK = Annotated[int, Field(ge=1, le=64)]
SharedExperts = Annotated[int, Field(ge=0, le=64)]
# the sequence length of a model or workload that names none (the ModelSpec default, and the workload's)
DEFAULT_SEQ_LEN = 4096
GlobalBatch = Annotated[int, Field(ge=1, le=16_777_216)]  # sequences per step: 49,152 at most in the runs; 2^24

Precision = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"]
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4")
Status = Literal["shipping", "announced", "projected"]
STATUSES: tuple[str, ...] = ("shipping", "announced", "projected")
Confidence = Literal["vendor", "paper", "derived", "third_party", "reported", "estimate", "unverified", "measured"]
Vendor = Literal["huawei", "nvidia", "amd", "google", "intel", "aws"]
# the software runtime a chip's frameworks run on: it decides what an eager kernel launch costs the host
Runtime = Literal["cuda", "rocm", "cann", "habana", "xla", "neuron"]
RUNTIMES: tuple[str, ...] = ("cuda", "rocm", "cann", "habana", "xla", "neuron")
_VENDOR_RUNTIME: dict[str, str] = {"nvidia": "cuda", "amd": "rocm", "huawei": "cann", "intel": "habana",
                                   "google": "xla", "aws": "neuron"}
Topology = Literal["switched", "full_mesh", "torus2d", "torus3d", "fat_tree", "hypercube"]
Recompute = Literal["none", "selective", "full"]
# how context parallelism exchanges keys and values: a point-to-point ring overlapped with attention (Megatron/TE p2p,
# ring attention), one all-gather of K and V (Llama 3, torchtitan, MaxText), an all-to-all over heads (DeepSpeed
# Ulysses), or Ulysses inside the scale-up domain and a ring across it (Megatron a2a+p2p, MindSpeed hybrid, USP)
CpAlgorithm = Literal["ring", "all_gather", "ulysses", "hybrid"]
CP_ALGORITHMS: tuple[CpAlgorithm, ...] = ("ring", "all_gather", "ulysses", "hybrid")
RECOMPUTES: tuple[str, ...] = ("none", "selective", "full")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _number_not_bool(cls, v: Any, info: ValidationInfo) -> Any:
        return number_not_bool(cls, v, info)


class Source(Strict):
    ref: str
    figures: str = ""


class Sourced(Strict):
    """Mixin: every non-null figure (dotted path) must name its sources and carry a confidence."""

    sources: list[Source] = Field(default_factory=list)
    field_sources: dict[str, list[int]] = Field(default_factory=dict)
    confidence: dict[str, Confidence] = Field(default_factory=dict)

    def figure_paths(self) -> dict[str, float]:
        """Dotted path -> value for every numeric figure of this entry (nulls excluded)."""
        return {}

    @model_validator(mode="after")
    def _every_figure_sourced(self) -> Sourced:
        figures = self.figure_paths()
        for path in figures:
            if path not in self.confidence:
                raise ValueError(f"figure '{path}' has no confidence (allowed: {', '.join(_CONFIDENCES)})")
            idx = self.field_sources.get(path)
            if not idx:
                raise ValueError(f"figure '{path}' names no source (field_sources.{path}: [index, ...])")
            for i in idx:
                if not 0 <= i < len(self.sources):
                    raise ValueError(f"field_sources.{path} names source {i}, but there are {len(self.sources)}")
        return self

    def sources_for(self, path: str) -> list[Source]:
        return [self.sources[i] for i in self.field_sources.get(path, [])]


_CONFIDENCES = Confidence.__args__  # type: ignore[attr-defined]


class PeakTable(Strict):
    """Peak throughput per number format, TFLOP/s (TOP/s for int8). DENSE: never with 2:4 sparsity."""

    fp32: PeakTflops | None = None
    tf32: PeakTflops | None = None
    bf16: PeakTflops | None = None
    fp16: PeakTflops | None = None
    fp8: PeakTflops | None = None
    int8: PeakTflops | None = None
    fp4: PeakTflops | None = None


class ScaleUp(Strict):
    name: str | None = None
    gb_s_unidir: LinkGbS | None = None  # one direction, summed over the chip's scale-up links
    gb_s_bidir: LinkBidirGbS | None = None  # both directions summed (the figure vendors usually quote)
    domain_chips: Chips | None = None
    topology: str | None = None


class ScaleOut(Strict):
    gbps: LineGbps | None = None  # line rate per chip, Gb/s (bits)
    gb_s: Annotated[float, Field(gt=0, le=1_250)] | None = None  # one direction, GB/s (bytes): gbps / 8


class Efficiency(Strict):
    """Achievable fraction of datasheet peaks by kernel class, with where each comes from (shipped defaults).

    `matmul` is the best-shape GEMM rate (MAMF) over the dense bf16 peak; `attention_*` are fused attention forward and
    backward rates over the same peak, causal, head dim 128, 8k-16k tokens, the FLOP convention of the
    FlashAttention benchmarks (causal counted at half); `compute_units` (SMs, CUs, AI cores) sets GEMM wave
    quantization; `matrix_unit_dim` is the side of a systolic matrix unit (TPU MXU) to which every GEMM operand
    dimension but the streamed rows is padded. Each basis names the SKU, dtype, kernel and source it was measured on,
    or says it is a default."""

    matmul: float = Field(gt=0, le=1)
    matmul_fp8: float | None = Field(default=None, gt=0, le=1)
    memory: float = Field(gt=0, le=1)
    basis: str  # "measured: <what>" or "default: <reason>"
    attention_fwd: float | None = Field(default=None, gt=0, le=1)  # the chip's vendor-tuned fused attention
    attention_bwd: float | None = Field(default=None, gt=0, le=1)
    attention_flash2_fwd: float | None = Field(default=None, gt=0, le=1)  # the FlashAttention-2 algorithm
    attention_flash2_bwd: float | None = Field(default=None, gt=0, le=1)
    attention_basis: str = "default: no attention measurement; a median ratio to the chip's GEMM rate"
    compute_units: int | None = Field(default=None, gt=0, le=10_000)  # 20-304 shipped
    compute_units_basis: str = ""
    matrix_unit_dim: int | None = Field(default=None, gt=0, le=4096)  # 128 or 256 shipped (TPUs)
    matrix_unit_basis: str = ""


class Chip(Sourced):
    id: str
    aliases: list[str] = Field(default_factory=list)
    vendor: Vendor
    runtime: Runtime | None = None  # None: the vendor's own training runtime (see `_runtime`)
    name: str
    architecture: str | None = None
    year: Year | None = None
    status: Status
    lifecycle: str | None = None
    process_node: str | None = None
    peak_tflops: PeakTable
    sparse_tflops: PeakTable | None = None  # vendor "with sparsity" figures, kept for reference only
    unsupported: list[str] = Field(default_factory=list)
    hbm_gb: HbmGb | None = None
    hbm_type: str | None = None
    # the total the device reports to its runtime, in MiB (binary): vendors' "80 GB" HBM is 80 GiB of stacks, less
    # what the driver keeps (an H100 SXM reports 81,559 MiB = 85.5e9 bytes); None: `hbm_gb` x 1e9, the cautious reading
    memory_reported_mib: ReportedMib | None = None
    hbm_tb_s: HbmTbS | None = None
    tdp_w: BoardW | None = None
    scaleup: ScaleUp = ScaleUp()
    scaleout: ScaleOut = ScaleOut()
    efficiency: Efficiency | None = None
    export_control: str | None = None
    notes: dict[str, str] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)  # research fields not modelled (prices, rack figures)

    def figure_paths(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for group in ("peak_tflops", "sparse_tflops", "scaleup", "scaleout"):
            sub = getattr(self, group)
            if sub is None:
                continue
            for k, v in sub.model_dump().items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    out[f"{group}.{k}"] = float(v)
        for k in ("hbm_gb", "memory_reported_mib", "hbm_tb_s", "tdp_w"):
            v = getattr(self, k)
            if v is not None:
                out[k] = float(v)
        return out

    @model_validator(mode="after")
    def _runtime(self) -> Chip:
        """A chip file that names no runtime runs its vendor's own: CUDA, ROCm, CANN, Gaudi's SynapseAI, XLA, Neuron."""
        if self.runtime is None:
            object.__setattr__(self, "runtime", _VENDOR_RUNTIME[self.vendor])
        return self

    # SI accessors used by the model
    def peak_flops_per_s(self, precision: str) -> float | None:
        v = getattr(self.peak_tflops, precision, None)
        return None if v is None else v * TERA

    @property
    def hbm_bytes(self) -> float | None:
        """Device memory in bytes: what the device reports to its runtime where the catalog has that figure, else the
        datasheet's capacity read as decimal GB (which undercounts binary HBM by up to 7%)."""
        if self.memory_reported_mib is not None:
            return self.memory_reported_mib * MiB
        return None if self.hbm_gb is None else self.hbm_gb * GIGA

    @property
    def hbm_bytes_per_s(self) -> float | None:
        return None if self.hbm_tb_s is None else self.hbm_tb_s * TERA


class NetworkLevel(Strict):
    """One level of a system's network. `size` = chips reachable at this level (None = whole cluster)."""

    name: str
    kind: Literal["scaleup", "scaleout"]
    topology: Topology
    size: Chips | None = None
    gb_s_unidir: LinkGbS | None = None  # per chip, one direction, summed over its links at this level
    # measured bus bandwidth of large collectives over the whole level (nccl-tests convention, GB/s per chip): where
    # given, it replaces gb_s_unidir x the assumed link efficiency
    busbw_gb_s: LinkGbS | None = None
    latency_us: LatencyUs | None = None
    torus_dims: list[Annotated[int, Field(ge=1, le=1_024)]] | None = None  # e.g. [16, 16, 24] for a v5p slice; None = not a torus

    @property
    def bytes_per_s(self) -> float | None:
        return None if self.gb_s_unidir is None else self.gb_s_unidir * GIGA


class System(Sourced):
    id: str
    name: str
    chip: str
    chips_per_node: int = Field(ge=1, le=1_024)  # 4-16 shipped; a 72-chip rack modelled as one node fits
    default_for: list[str] = Field(default_factory=list)
    levels: list[NetworkLevel] = Field(min_length=1)
    node_overhead_w: NodeW | None = None  # host CPUs, NICs, fans per node, for energy
    notes: str | None = None

    def figure_paths(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, lvl in enumerate(self.levels):
            for k in ("gb_s_unidir", "busbw_gb_s", "latency_us"):
                v = getattr(lvl, k)
                if v is not None:
                    out[f"levels.{i}.{k}"] = float(v)
        if self.node_overhead_w is not None:
            out["node_overhead_w"] = self.node_overhead_w
        return out

    @property
    def scaleup(self) -> NetworkLevel:
        return self.levels[0]

    @property
    def scaleout(self) -> NetworkLevel | None:
        return self.levels[1] if len(self.levels) > 1 else None

    @property
    def domain_chips(self) -> int:
        return self.levels[0].size or 1


class Attention(Strict):
    type: Literal["mha", "gqa", "mqa", "mla"] = "gqa"
    q_lora_rank: LoraRank | None = None
    kv_lora_rank: LoraRank | None = None
    qk_nope_head_dim: HeadDim | None = None
    qk_rope_head_dim: HeadDim | None = None
    v_head_dim: HeadDim | None = None

    @model_validator(mode="after")
    def _mla_complete(self) -> Attention:
        if self.type == "mla":
            missing = [k for k in ("kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim")
                       if getattr(self, k) is None]
            if missing:
                raise ValueError(f"attention type 'mla' needs {', '.join(missing)}")
        return self

    def mla_dims(self) -> tuple[int, int, int, int, int]:
        """(q_lora_rank or 0, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim) of an MLA layer."""
        dims = (self.kv_lora_rank, self.qk_nope_head_dim, self.qk_rope_head_dim, self.v_head_dim)
        if self.type != "mla" or any(d is None for d in dims):
            raise ValueError("mla_dims() needs a complete MLA attention")
        kv, nope, rope, v = (int(d or 0) for d in dims)
        return self.q_lora_rank or 0, kv, nope, rope, v


class MoE(Strict):
    experts: Experts
    top_k: TopK
    shared_experts: SharedExperts = 0
    expert_ffn_hidden: FfnWidth
    dense_layers: int = Field(default=0, ge=0, le=1_024)  # leading dense (non-MoE) layers
    shared_expert_ffn_hidden: FfnWidth | None = None  # None = expert_ffn_hidden

    @model_validator(mode="after")
    def _topk(self) -> MoE:
        if self.top_k > self.experts:
            raise ValueError(f"moe.top_k ({self.top_k}) must be <= moe.experts ({self.experts})")
        return self


class PublishedCount(Strict):
    total_b: float = Field(gt=0, le=100_000)  # billions of parameters: 6.7-1,008 shipped
    active_b: float | None = Field(default=None, gt=0, le=100_000)
    source: str

    @model_validator(mode="after")
    def _active_within_total(self) -> PublishedCount:
        if self.active_b is not None and self.active_b > self.total_b:
            raise ValueError(f"active_b ({self.active_b:g}) exceeds total_b ({self.total_b:g})")
        return self


class ModelSpec(Strict):
    id: str
    name: str
    layers: Layers
    hidden: Width
    heads: Heads
    kv_heads: Heads | None = None  # None = heads (MHA)
    head_dim: HeadDim | None = None  # None = hidden / heads
    ffn_hidden: FfnWidth  # per dense MLP
    gated_mlp: bool = True
    vocab: Vocab
    tied_embeddings: bool = False
    seq_len: SeqLen = DEFAULT_SEQ_LEN  # training context of the preset
    attention: Attention | None = None
    moe: MoE | None = None
    parallel_block: bool = False  # attention and MLP side by side (PaLM, GPT-J)
    # bias parameters: "none" (Llama); "qkv" = on the q, k, v projections only (Qwen2); "all" = on every
    # attention and MLP linear layer, and LayerNorm (weight + bias) in place of RMSNorm (StarCoder2, GPT-2)
    linear_bias: Literal["none", "qkv", "all"] = "none"
    illustrative: bool = False
    illustrative_note: str | None = None
    published: PublishedCount | None = None
    source: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> ModelSpec:
        kv = self.kv_heads if self.kv_heads is not None else self.heads
        if kv <= 0 or self.heads % kv:
            raise ValueError(f"kv_heads ({kv}) must divide heads ({self.heads})")
        if self.head_dim is None and self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) is not a multiple of heads ({self.heads}); give head_dim")
        if self.moe is not None and self.moe.dense_layers > self.layers:
            raise ValueError(f"moe.dense_layers ({self.moe.dense_layers}) exceeds layers ({self.layers})")
        if self.illustrative and not self.illustrative_note:
            raise ValueError("an illustrative model must say what it is modelled on (illustrative_note)")
        return self

    @property
    def n_kv_heads(self) -> int:
        return self.kv_heads if self.kv_heads is not None else self.heads

    @property
    def d_head(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads

    @property
    def is_mla(self) -> bool:
        return self.attention is not None and self.attention.type == "mla"

    @property
    def moe_layers(self) -> int:
        return 0 if self.moe is None else self.layers - self.moe.dense_layers


class Workload(Strict):
    """What is trained: a model, a token budget and the batch shape."""

    model: ModelSpec
    tokens: float = Field(gt=0, le=1e16)  # total training tokens: 36e12 is the largest reported (Qwen3)
    seq_len: SeqLen
    global_batch: GlobalBatch  # sequences per step
    precision: Literal["bf16", "fp16", "fp8"] = "bf16"

    @property
    def tokens_per_step(self) -> int:
        return self.global_batch * self.seq_len


MAX_PHASES = 16  # Llama 3 used 7 (pre-training at 8K, six context stages to 128K)


class Phase(Strict):
    """One stage of a training programme: its tokens at one sequence length and batch (e.g. pre-training at 4K,
    then a long-context extension at 32K ... 512K). The batch is given in sequences or in tokens per step; with
    neither, the programme keeps the tokens per step of its first phase (Llama 3 kept 16M tokens per step from 8K to
    128K: arXiv 2407.21783 Table 4)."""

    name: str = Field(default="", max_length=64)
    tokens: float = Field(gt=0, le=1e16)
    seq_len: SeqLen
    global_batch: GlobalBatch | None = None  # sequences per step
    batch_tokens: float | None = Field(default=None, gt=0, le=2**36)  # tokens per step, rounded to whole sequences
    precision: Literal["bf16", "fp16", "fp8"] | None = None  # None: the programme's

    @model_validator(mode="after")
    def _one_batch(self) -> Phase:
        if self.global_batch is not None and self.batch_tokens is not None:
            raise ValueError("give global_batch (sequences) or batch_tokens (tokens per step), not both")
        return self

    def label(self, i: int) -> str:
        return self.name or f"phase {i + 1}"


class WorkloadSpec(Strict):
    """A training programme: one model, its phases in order, and where its figures come from (a preset in
    catalog/data/workloads, or the user's workload YAML)."""

    id: str = Field(default="workload", min_length=1, max_length=80)
    name: str = ""
    model: str = Field(min_length=1, max_length=200)  # preset id or model file path
    precision: Literal["bf16", "fp16", "fp8"] = "bf16"
    phases: list[Phase] = Field(min_length=1, max_length=MAX_PHASES)
    illustrative: bool = False
    illustrative_note: str = ""
    sources: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _note(self) -> WorkloadSpec:
        if self.illustrative and not self.illustrative_note:
            raise ValueError("an illustrative workload must say what it is modelled on (illustrative_note)")
        return self

    @property
    def tokens(self) -> float:
        return sum(p.tokens for p in self.phases)


class Plan(Strict):
    """How the job is split. chips = tp * pp * dp * cp; EP is folded inside dp*cp*tp (Megatron folding)."""

    tp: Chips = 1
    pp: Chips = 1
    dp: Chips = 1
    ep: Chips = 1
    cp: Chips = 1
    # how context parallelism exchanges K and V (None: the training stack's default); ignored with cp = 1
    cp_algo: CpAlgorithm | None = None
    vpp: int = Field(default=1, ge=1, le=1_024)  # virtual stages per pipeline stage: at most one per layer
    micro_batch: GlobalBatch = 1
    recompute: Recompute = "selective"
    # with recompute=full: how many layers of each (virtual) pipeline stage recompute, the rest keep their
    # activations (Megatron --recompute-method block --recompute-num-layers N); None = every layer
    recompute_layers: int | None = Field(default=None, ge=1, le=1_024)
    zero: int = Field(default=1, ge=0, le=3)
    sequence_parallel: bool = True
    # Adam moments in bf16 instead of fp32 (the master weights stay fp32): MaxText's mu_dtype, Megatron's
    # precision-aware optimizer, torchtitan's bf16 optimizer states; None = the stack's default (fp32)
    optimizer_dtype: Literal["fp32", "bf16"] | None = None
    offload_activations: bool = False  # saved activations go to host memory and come back for backward
    offload_optimizer: bool = False  # optimizer state lives in host memory (ZeRO-Offload, swap-optimizer)

    @field_validator("recompute", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _layers_need_full(self) -> Plan:
        if self.recompute_layers is not None and self.recompute != "full":
            raise ValueError(f"recompute_layers needs recompute='full' (got recompute='{self.recompute}')")
        return self

    @property
    def chips(self) -> int:
        return self.tp * self.pp * self.dp * self.cp
