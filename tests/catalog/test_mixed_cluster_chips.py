"""The chips and systems of the mixed-cluster runs (AMP: V100 16GB + T4 on AWS; FlashFlex: RTX 3080 Ti / 3090 / 4090
and A100 PCIe): datasheet dense peaks, PCIe scale-up, the instance networks, and the CLI showing them."""

import json
import subprocess
import sys

import pytest

MIXED_CHIPS = ("t4", "v100-sxm2-16gb", "rtx-3080-ti", "rtx-3090", "rtx-4090", "a100-pcie-80gb")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "accelplan", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("chip", "precision", "dense_tflops"), [
    ("t4", "fp16", 65),  # T4 datasheet: "Mixed Precision (FP16/FP32) 65 TFLOPS"
    ("v100-sxm2-16gb", "fp16", 125),  # the 32 GB card's tensor rate: same die and clocks
    # GeForce tensor cores accumulate FP32 at half the FP16-accumulate rate; training uses FP32 accumulate, dense:
    ("rtx-3090", "fp16", 71),  # GA102 whitepaper App. A: 71 (142 is FP16 accumulate, 284 also sparse)
    ("rtx-4090", "fp16", 165.2),  # Ada whitepaper App. A: 165.2 (330.3 is FP16 accumulate)
    ("rtx-4090", "bf16", 165.2),
    ("rtx-4090", "fp8", 330.3),  # FP8 with FP32 accumulate, corrected in whitepaper v2.02 (660.6 is FP16 accumulate)
    ("a100-pcie-80gb", "bf16", 312),  # A100 datasheet: same FLOPs as the SXM4 card
])
def test_mixed_cluster_chips_carry_their_dense_datasheet_peaks(catalog, chip, precision, dense_tflops):
    assert getattr(catalog.chip(chip).peak_tflops, precision) == pytest.approx(dense_tflops)


def test_rtx_3080_ti_peak_is_the_3090s_per_sm_rate_at_its_own_sms_and_clock(catalog):
    # not in the GA102 whitepaper: 71 TFLOPS / (82 SMs x 1695 MHz) = 512 FLOP per clock per SM, then 80 SMs x 1665 MHz
    per_sm_clock = 71e12 / (82 * 1695e6)
    assert per_sm_clock == pytest.approx(512, rel=0.01)
    c = catalog.chip("rtx-3080-ti")
    assert c.peak_tflops.fp16 == pytest.approx(80 * 1665e6 * 512 / 1e12, abs=0.05)
    assert c.confidence["peak_tflops.fp16"] == "derived"
    assert c.tdp_w is None  # no source giving it was read


def test_memory_sizes_are_the_variants_the_runs_name(catalog):
    assert catalog.chip("v100-sxm2-16gb").hbm_gb == 16  # "V100-SXM2-16GB"
    assert catalog.chip("v100-sxm2-32gb").hbm_gb == 32
    assert catalog.chip("t4").hbm_gb == 16
    assert catalog.chip("rtx-3080-ti").hbm_gb == 12
    assert catalog.chip("rtx-3090").hbm_gb == catalog.chip("rtx-4090").hbm_gb == 24
    assert catalog.chip("a100-pcie-80gb").hbm_tb_s == pytest.approx(1.935)  # not the SXM4 card's 2.039


def test_pcie_cards_scale_up_over_pcie_at_the_spec_rate(catalog):
    # PCIe x16 one way: 8 GT/s (Gen3) or 16 GT/s (Gen4) x 16 lanes x 128/130 / 8 bits
    gen3, gen4 = 8e9 * 16 * 128 / 130 / 8 / 1e9, 16e9 * 16 * 128 / 130 / 8 / 1e9
    assert catalog.chip("t4").scaleup.gb_s_unidir == pytest.approx(gen3, rel=0.01)
    for cid in ("rtx-3080-ti", "rtx-3090", "rtx-4090", "a100-pcie-80gb"):
        c = catalog.chip(cid)
        assert c.scaleup.gb_s_unidir == pytest.approx(gen4, rel=0.01), cid
        assert c.scaleup.domain_chips == catalog.default_system(c).chips_per_node == 8, cid


def test_aws_instances_have_their_published_networks_per_gpu(catalog):
    p3, g4 = catalog.system("aws-p3-8xlarge"), catalog.system("aws-g4dn-12xlarge")
    assert (p3.chip, p3.chips_per_node, g4.chip, g4.chips_per_node) == ("v100-sxm2-16gb", 4, "t4", 4)
    assert p3.levels[1].gb_s_unidir == pytest.approx(10 / 8 / 4)  # 10 Gbps per instance, 4 GPUs
    assert g4.levels[1].gb_s_unidir == pytest.approx(50 / 8 / 4)  # 50 Gbps per instance, 4 GPUs
    assert p3.levels[0].gb_s_unidir == pytest.approx(200 / 2)  # AWS: 200 GBps NVLink both ways


def test_flashflex_networks_are_marked_as_estimates(catalog):
    for sid in ("rtx-3080-ti-8gpu-pcie", "rtx-3090-8gpu-pcie", "rtx-4090-8gpu-pcie", "rtx-4090-4gpu-pcie",
                "a100-pcie-8gpu"):
        s = catalog.system(sid)
        assert s.confidence["levels.1.gb_s_unidir"] == "estimate", sid
        assert "estimate" in s.levels[1].name, sid
    assert catalog.system("rtx-4090-4gpu-pcie").chips_per_node == 4  # the LLaMA-30B run's 2x4x4090 machines


def test_chip_command_prints_a_new_chip_with_its_sources():
    r = _run("chip", "t4")
    assert r.returncode == 0, r.stderr
    assert "Tesla T4" in r.stdout and "aws-g4dn-12xlarge" in r.stdout  # the table; its width follows the terminal
    doc = json.loads(_run("chip", "rtx-4090", "--json").stdout)
    assert doc["peak_tflops"]["fp16"] == pytest.approx(165.2)
    assert any("Ada GPU Architecture whitepaper" in s["ref"] for s in doc["sources"])


def test_chips_command_lists_the_mixed_cluster_chips():
    r = _run("chips", "--json")
    assert r.returncode == 0, r.stderr
    assert set(MIXED_CHIPS) <= {c["id"] for c in json.loads(r.stdout)}
