"""The defaults of a comparison request (accelplan.request.CompareRequest), decided once. Plain constants, no imports:
the CLI reads them at start-up to show them in --help."""

DEFAULT_COMPARE_CHIPS = ("ascend-910b", "ascend-910c", "h100-sxm", "h200-sxm", "b200-hgx", "mi300x", "tpu-v5p", "gaudi3")
DEFAULT_WORKLOAD = "openpangu-2.0"  # the programme a request with no workload and no single-phase field asks for
DEFAULT_MODEL = "openpangu-505b-moe"  # a single phase's model, and the model of --phase without --model
DEFAULT_TOKENS = 20e12
DEFAULT_DAYS = 90.0
DEFAULT_SEQ = 4096  # a single phase's sequence length: min(the model's context, this)
DEFAULT_GLOBAL_BATCH = 4096  # sequences: 16.8M tokens per step at 4096 context (Llama 3 used 16M)
PRECISIONS = ("bf16", "fp16", "fp8")
