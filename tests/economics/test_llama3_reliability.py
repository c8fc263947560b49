"""Reproduce Llama 3 405B's reliability report (arXiv 2407.21783 §3.3.4) from data that is NOT Llama 3's count.

What this checks, honestly:
- The interruption rate comes from Meta's research clusters (Kokolis et al., arXiv 2410.21680: 6.50 and
  2.34 node failures per 1000 node-days on RSC-1 and RSC-2). Llama 3's 419 is never used to set it.
- The default is the geometric mean of the two clusters. That choice was made after seeing (research
  §A.3) that RSC-1 alone predicts ~1.7x Llama 3's count and RSC-2 ~0.6x, so the +-20% test below is
  not fully blind; the blind claim is the bracket test: the measured count lies between the two
  clusters' predictions.
- Llama 3 Table 5 sets only the chip/host split, which does not change the total on 8-GPU nodes.
"""

import pytest

from accelplan.economics import EconomicsOptions, assess, load_tables
from accelplan.economics.reliability import chip_share, default_rate_per_1000_node_days, interruptions_per_day

LLAMA3_GPUS = 16_384
LLAMA3_DAYS = 54
LLAMA3_UNEXPECTED = 419  # Table 5
LLAMA3_PARAMS = 405e9
BYTES_PER_PARAM = 16  # bf16 weights + fp32 master, Adam m and v (upper end of research §A.6's 12-16)
TECTONIC_SUSTAINED_GB_S = 2000  # Llama 3 §3.3.1: 2 TB/s sustained


def _predicted(rate_per_1000_node_days):
    rel = load_tables().reliability
    return interruptions_per_day(LLAMA3_GPUS, 8, rate_per_1000_node_days, chip_share(rel)) * LLAMA3_DAYS


def test_meta_cluster_rates_bracket_llama3_count():
    _, low, high = default_rate_per_1000_node_days(load_tables().reliability)
    assert _predicted(low) < LLAMA3_UNEXPECTED < _predicted(high)


def test_default_rate_predicts_llama3_interruptions_within_20_percent():
    central, _, _ = default_rate_per_1000_node_days(load_tables().reliability)
    predicted = _predicted(central)  # 2,048 nodes x 3.90/1000 x 54 d = 431
    assert predicted == pytest.approx(LLAMA3_UNEXPECTED, rel=0.20)


def test_rsc1_rate_reproduces_kokolis_projection_of_1_8_hours_at_16k_gpus():
    # Kokolis et al. project a job MTTF of 1.8 h at 16,384 GPUs from RSC-1's 6.50 per 1000 node-days
    rel = load_tables().reliability
    per_day = interruptions_per_day(LLAMA3_GPUS, 8, 6.50, chip_share(rel))
    assert 24 / per_day == pytest.approx(1.8, abs=0.05)


def test_llama3_like_checkpointing_gives_over_90_percent_effective_training_time(catalog):
    # synchronous checkpoints of the whole state to storage at Tectonic's sustained 2 TB/s, automated
    # restarts (MegaScale's <10 min), Daly's interval: Llama 3 reports "higher than 90% effective training time"
    chip = catalog.chip("h100-sxm")
    e = assess(chip, catalog.default_system(chip), LLAMA3_GPUS, 50.0, state_bytes=LLAMA3_PARAMS * BYTES_PER_PARAM,
               options=EconomicsOptions(checkpoint="sync", storage_gb_s=TECTONIC_SUSTAINED_GB_S))
    assert e.goodput_pct > 90.0
    assert e.checkpoint_write_s == pytest.approx(LLAMA3_PARAMS * BYTES_PER_PARAM / 2e12)  # storage-bound
    # interruptions scale with the elapsed (effective) time
    assert e.expected_interruptions == pytest.approx(e.effective_days * _predicted(
        default_rate_per_1000_node_days(load_tables().reliability)[0]) / LLAMA3_DAYS)


def test_bigger_checkpoints_cost_goodput(catalog):
    chip = catalog.chip("h100-sxm")
    system = catalog.default_system(chip)
    opts = EconomicsOptions(checkpoint="sync", storage_gb_s=TECTONIC_SUSTAINED_GB_S)
    small = assess(chip, system, LLAMA3_GPUS, 50.0, state_bytes=6.5e12, options=opts)
    # Llama 3 §3.3.1: up to 4 GB per GPU -> 65.5 TB
    large = assess(chip, system, LLAMA3_GPUS, 50.0, state_bytes=4e9 * LLAMA3_GPUS, options=opts)
    assert large.goodput_pct < small.goodput_pct
    assert large.checkpoint_interval_min > small.checkpoint_interval_min
