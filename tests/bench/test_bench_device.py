"""Device names as torch reports them map to the right catalog chip, or to none."""

import pytest

from accelplan.bench.device import CHIP_RULES, chip_for_name


@pytest.mark.parametrize(("name", "chip"), [
    ("NVIDIA H200", "h200-sxm"),
    ("NVIDIA H200 NVL", "h200-sxm"),
    ("NVIDIA H100 80GB HBM3", "h100-sxm"),
    ("NVIDIA H100 PCIe", "h100-pcie-80gb"),
    ("NVIDIA H800", "h800-sxm"),
    ("NVIDIA H20", "h20"),
    ("NVIDIA B200", "b200-hgx"),
    ("NVIDIA GB200", "gb200"),
    ("NVIDIA A100-SXM4-40GB", "a100-sxm-40gb"),
    ("NVIDIA A100-SXM4-80GB", "a100-sxm-80gb"),
    ("NVIDIA A800-SXM4-80GB", "a800-sxm4-80gb"),
    ("Tesla V100-SXM2-32GB", "v100-sxm2-32gb"),
    ("AMD Instinct MI300X", "mi300x"),
    ("AMD Instinct MI250X/MI250", "mi250x"),
    ("Ascend910B3", "ascend-910b3"),
    ("Ascend910B2C", "ascend-910b2"),
    ("Ascend910_9392", "ascend-910c"),
    ("Ascend910ProB", "ascend-910"),
    # names that contain a catalog chip's name but are not that chip
    ("NVIDIA GH200 480GB", None),
    ("Intel(R) Xeon(R) Processor", None),
    ("Apple M2 Max", None),
    ("Intel(R) Data Center GPU Max 1550", None),
])
def test_device_name_maps_to_catalog_chip(name, chip):
    got, why = chip_for_name(name)
    assert got == chip
    assert name in why


def test_every_rule_names_a_catalog_chip(catalog):
    for _, chip in CHIP_RULES:
        if chip is not None:
            assert catalog.chip(chip).id == chip
