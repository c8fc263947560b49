"""Named modelling assumptions: every constant the step model uses that is not a chip, model or stack figure.

Each is one field with its unit in the name and the reason for its default. A calibration profile (`accelplan bench`)
replaces the chip-level efficiencies; these stay. Fields that default to None take the training stack's documented
value (catalog/data/stacks); set them (`--assume NAME=VALUE`) to override the stack. Constants fitted to the published
runs are listed in `accelplan.validate.fit.FITTED`, which refits them without each source family (leave-one-source-out)
every time validation runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Assumptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # ---- links -----------------------------------------------------------------------------------------------
    link_efficiency: float = Field(
        0.8, gt=0, le=1,
        description="achieved fraction of per-direction link bandwidth for large collectives: ring "
                    "all-reduce bus bandwidth in nccl-tests reaches ~75-85% of NVLink/IB line rate")
    unknown_scaleup_gb_s: float = Field(
        90.0, gt=0, description="scale-up bandwidth per chip and direction where the catalog has none: the slowest "
                                "known scale-up in the catalog (Atlas 800 with Ascend 910, HCCS), so an unknown fabric "
                                "is never assumed faster than a known one; outputs say when it was used")
    unknown_scaleout_gb_s: float = Field(
        25.0, gt=0, description="scale-out bandwidth per chip and direction where the catalog has none: 200 Gb/s per "
                                "accelerator, the rate of the Atlas 800T A2 (RoCE) and Frontier (Slingshot) systems in "
                                "the catalog and below the 400 Gb/s of current HGX builds; outputs say when it was used")
    alpha_scaleup_us: float = Field(3.0, ge=0, description="per-hop latency on the scale-up fabric when the system gives none")
    alpha_scaleout_us: float = Field(8.0, ge=0, description="per-hop latency on the scale-out network when the system gives none")
    host_link_gb_s: float = Field(
        50.0, gt=0, description="device-host bandwidth per chip and direction for activation and optimizer offload: "
                                "PCIe Gen5 x16 is 64 GB/s per direction, of which ~50 is achieved by large DMA copies")

    # ---- kernels -----------------------------------------------------------------------------------------------
    bf16_peak_from_fp8_ratio: float = Field(
        2.0, ge=1, le=4,
        description="where a chip's bf16 peak is unknown but its fp8 peak is published (announced chips such as the "
                    "Ascend 950), fp8 training still runs attention and the logits in bf16: their rate is taken as the "
                    "fp8 peak over this ratio, and the output says so. Dense fp8 is 2x bf16 on 15 of the 20 catalog "
                    "chips with both peaks and 1x on the rest (Gaudi 3, TPU v5p/v6e, Trainium 1), so 2 is the "
                    "conservative end")
    gemm_sustained_fraction: float = Field(
        0.75, gt=0, le=1,
        description="GEMM and attention throughput inside a training step relative to the same kernels measured alone "
                    "(MAMF and isolated flash-attention benchmarks are best cases on an idle, warm device; a step runs "
                    "kernels back to back at power-limited clocks: FlashAttention-3 measured 0.45 of H200 peak inside a "
                    "Llama-3.1-8B step against 0.58 alone, stas00/ml-engineering insights/when-to-upgrade-gpus). FITTED "
                    "to the published runs; validation refits it without each source (leave-one-source-out) and "
                    "reports the figure")
    gemm_tile_rows: int = Field(
        256, gt=0, description="rows of one GEMM output tile (one thread block / AI core task): wave quantization "
                               "counts tiles against compute units (NVIDIA Matrix Multiplication Background User's Guide: "
                               "cuBLAS tiles of 256x128 and 128x256 for large GEMMs)")
    gemm_tile_cols: int = Field(128, gt=0, description="columns of one GEMM output tile (see gemm_tile_rows)")
    gemm_k_overhead: float = Field(
        256.0, ge=0, description="the inner dimension a tile's prologue and epilogue cost, in elements of K: a tile "
                                 "takes time ~ K + this, so K = 512 runs at 2/3 of a long-K GEMM's rate (DeepGEMM on "
                                 "H800: K=512 at 0.39 of peak against 0.61-0.77 for K >= 1536 at the same M)")
    attention_fwd_to_gemm: float = Field(
        0.69, gt=0, le=1, description="flash-attention forward rate over the chip's MAMF where the chip has no "
                                      "attention measurement: median of the measured chips (H100 cuDNN 0.66, A100 FA2 "
                                      "0.71, B200 0.67, MI355X AITER 0.77; docs/research/kernel_efficiency.md sec. 1)")
    attention_bwd_to_gemm: float = Field(
        0.65, gt=0, le=1, description="the same for the backward pass (H100 cuDNN 0.65, A100 0.66, B200 0.63, MI355X 0.68)")
    attention_seq_half_tokens: float = Field(
        400.0, ge=0, description="sequence length at which a causal flash-attention kernel would run at half its "
                                 "long-sequence rate: rate ~ s / (s + this); FA3 causal on H100 reaches 0.70 / 0.87 / "
                                 "0.96 of its 8k rate at 1k / 2k / 4k (FA3 paper Fig. 5), which this reproduces")
    attention_head_dim_64_factor: float = Field(
        0.8, gt=0, le=1, description="attention rate at head dim 64 relative to 128 (FA3 on H100 causal: 0.48 vs 0.61 of "
                                     "peak; FA2: 0.30 vs 0.34; docs/research/kernel_efficiency.md sec. 1)")
    gemm_backward_factor: float = Field(
        2.0, gt=0, description="backward FLOPs of a matmul over its forward: the data gradient and the weight "
                               "gradient are each a GEMM of the forward's size")
    flash_backward_factor: float = Field(
        2.5, gt=0, description="flash-attention backward FLOPs over its forward: it recomputes the scores "
                               "(FlashAttention-2, arXiv 2307.08691 sec. 3.1.2; its benchmarks use 2.5)")
    elementwise_backward_factor: float = Field(
        2.0, gt=0, description="backward traffic of a norm or activation over its forward: reads the input and the "
                               "output gradient, writes the input gradient")

    # ---- element-wise traffic and launch overhead --------------------------------------------------------------
    elementwise_traffic_factor: float = Field(
        3.0, gt=0,
        description="HBM traffic of norms, rotary, activations, MoE permutation and residual adds relative to the "
                    "minimal fused count in perf/costs.py in a kernel-by-kernel (eager or graph) stack: it runs them as "
                    "kernels of their own, with fp32 statistics, casts and layout copies (an eager RMSNorm moves ~36h bytes per "
                    "token against 4h fused; Ivanov et al. 2021, 'Data Movement Is All You Need', MLSys, measured "
                    "normalization and element-wise operators at about a third of BERT-large training time for well "
                    "under 1% of its FLOPs)")
    compiled_elementwise_traffic_factor: float = Field(
        1.0, gt=0,
        description="the same factor where a compiler fuses element-wise ops (XLA, torch.compile): they fold into "
                    "the producing or consuming kernel and intermediates stay on chip, so the traffic is the minimal "
                    "fused count")
    kernel_overhead_us: float = Field(
        5.0, ge=0, description="device idle gap between dependent kernels in a kernel-by-kernel stack: launch latency "
                               "and scheduling ('a few us' per launch; none inside a CUDA graph or a compiled program)")
    kernels_per_layer_forward: float = Field(
        20.0, ge=0, description="kernels a transformer layer launches in its forward pass (GEMMs, norms, rotary, "
                                "attention, activation, residuals, collectives); backward launches about twice as many")

    # ---- bytes -----------------------------------------------------------------------------------------------
    activation_bytes_per_element: float = Field(2.0, gt=0, description="saved activations in bf16")
    fp8_bytes_per_element: float = Field(
        1.0, gt=0, description="saved GEMM inputs under fp8 training (Transformer Engine keeps the fp8 cast; "
                               "DeepSeek-V3 sec. 3.3 caches activations in fp8)")
    activation_comm_bytes_per_element: float = Field(
        2.0, gt=0, description="tensor-, pipeline-, context- and expert-parallel messages carry bf16 activations, fp8 "
                               "training included (Megatron's fp8 recipes communicate bf16 unless an fp8 dispatch or "
                               "all-gather is enabled)")
    fp8_cast_bytes_per_element: float = Field(
        4.0, description="HBM traffic per element cast to fp8 (a GEMM's input in forward, its output gradient in "
                         "backward), a kernel of its own: read bf16 (2), write the fp8 copy and the transposed fp8 copy "
                         "the other pass's GEMM needs (1 + 1; Transformer Engine's cast-transpose)")
    logits_bytes_per_element: float = Field(
        6.0, description="memory per logit on the last stage without a fused cross-entropy: the bf16 logits (2) and "
                         "the fp32 buffer the loss gradient is computed in (4), as Megatron's unfused vocab-parallel "
                         "cross-entropy does; a fused one (TE, or a compiler) keeps the bf16 logits only and writes "
                         "the gradient into them")
    loss_bytes_per_element: float = Field(
        4.0, description="the loss works on fp32 logits: its element-wise traffic (write, softmax read and write, "
                         "gradient write) is in 4-byte elements")
    optimizer_traffic_bytes_per_param: float = Field(
        30.0, description="HBM bytes moved per locally updated parameter by a fused Adam step "
                          "(read grad, master, m, v: 16; write master, m, v, bf16 weight: 14)")
    checkpoint_bytes_per_param: float = Field(
        14.0, gt=0, description="bytes a checkpoint stores per parameter: bf16 weights (2) plus fp32 master weights "
                                "and Adam moments (12); gradients are not saved")
    reserve_bytes: float = Field(
        2.0e9, description="framework reserve per device: CUDA/CANN context, workspaces, NCCL/HCCL buffers")
    xla_reserve_bytes: float = Field(
        0.5e9, description="the same reserve for a step compiled as one program (XLA): buffers are planned at compile "
                           "time (no allocator fragmentation, no CUDA-style context); the runtime and program take some")
    fragmentation: float = Field(
        0.05, ge=0, lt=1, description="fraction of device memory lost to allocator fragmentation")

    # ---- counts --------------------------------------------------------------------------------------------------
    tp_collectives_per_layer: float = Field(
        4.0, gt=0, description="tensor-parallel all-reduces (or all-gather + reduce-scatter pairs with SP) per layer "
                               "and micro-batch: after attention and after the MLP, forward and backward (Megatron, "
                               "Shoeybi et al. 2019 Fig. 4); a parallel attention+MLP block needs half; full recompute "
                               "re-runs the forward ones")
    cp_kv_passes: float = Field(
        3.0, gt=0, description="K, V exchanges of context parallelism per layer and micro-batch: K and V forward, K and "
                               "V again and dK, dV in backward (a ring: each cp - 1 steps; all-gather CP: each one "
                               "all-gather or reduce-scatter); full recompute adds the forward one again")
    moe_all_to_alls_per_layer: float = Field(
        4.0, gt=0, description="all-to-alls per MoE layer and micro-batch: dispatch and combine, forward and backward")

    # ---- overlap the stack decides (None = the stack's documented value) ------------------------------------------
    overlap_slowdown: float = Field(
        0.19, ge=0, le=1,
        description="compute slowdown while a collective runs beside it, per second of hidden communication: the "
                    "collective's kernels take SMs and HBM bandwidth (Lee et al. 2025, arXiv 2507.03114: 18.9% average "
                    "compute slowdown under overlap across A100, H100, MI250, MI210 on GPT and Llama layers)")
    tp_overlap: float | None = Field(None, ge=0, le=1, description="share of tensor-parallel traffic hidden (None: the stack's)")
    dp_overlap: float | None = Field(None, ge=0, le=1, description="share of data-parallel traffic hidden (None: the stack's)")
    pp_overlap: float | None = Field(None, ge=0, le=1, description="share of pipeline sends hidden (None: the stack's)")
    ep_overlap: float | None = Field(None, ge=0, le=1, description="share of MoE all-to-all hidden (None: the stack's)")
    cp_overlap: float | None = Field(None, ge=0, le=1, description="share of context-parallel traffic hidden (None: the stack's)")
    cp_load_balanced: bool | None = Field(
        None, description="causal context parallelism gives every rank the same attention work (None: the stack's)")
    weight_bytes: float | None = Field(None, gt=0, description="bytes per weight element (None: the stack's)")
    grad_bytes: float | None = Field(None, gt=0, description="bytes per gradient element (None: the stack's)")
    optimizer_bytes: float | None = Field(
        None, gt=0, description="optimizer-state bytes per parameter, master weights included (None: the stack's)")


DEFAULT = Assumptions()
