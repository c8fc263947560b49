"""Kernel-class rates: the systolic matrix unit of a TPU pads what is narrower than it."""

import numpy as np
import pytest

from accelplan.perf.assumptions import DEFAULT
from accelplan.perf.kernels import Rates, matrix_unit_fill


def test_matrix_unit_fill_is_the_padded_fraction():
    # by hand: 128 of a 256-wide unit is half of it, 384 pads to 512, 100 pads to 128
    assert matrix_unit_fill(128, 256) == pytest.approx(0.5)
    assert matrix_unit_fill(384, 256) == pytest.approx(0.75)
    assert matrix_unit_fill(100, 128) == pytest.approx(100 / 128)
    assert np.allclose(matrix_unit_fill(np.array([256.0, 4096.0]), 256), 1.0)


def test_head_dim_128_attention_fills_half_of_a_v6e_mxu_and_all_of_a_v5e_one(catalog):
    # the scaling book: v6e has 256x256 MXUs, earlier TPUs 128x128; every attention matmul has the head dim as an
    # inner or output dimension, so head dim 128 runs at half rate on v6e and at full rate on v5e
    v6e = Rates.of(catalog.chip("tpu-v6e"), "bf16", DEFAULT)
    v5e = Rates.of(catalog.chip("tpu-v5e"), "bf16", DEFAULT)
    f128, b128 = v6e.attention_rates(128, 8192, DEFAULT)
    f256, b256 = v6e.attention_rates(256, 8192, DEFAULT)
    assert (f128 / f256, b128 / b256) == pytest.approx((0.5, 0.5))
    g128, _ = v5e.attention_rates(128, 8192, DEFAULT)
    g256, _ = v5e.attention_rates(256, 8192, DEFAULT)
    assert g128 == pytest.approx(g256)
    # a GPU keeps its measured head-dim-64 factor instead: it has no systolic unit in the catalog
    h100 = Rates.of(catalog.chip("h100-sxm"), "bf16", DEFAULT)
    assert h100.matrix_unit_dim is None
    assert h100.attention_rates(64, 8192, DEFAULT)[0] / h100.attention_rates(128, 8192, DEFAULT)[0] == pytest.approx(
        DEFAULT.attention_head_dim_64_factor)


def test_a_gemm_narrower_than_the_v6e_mxu_runs_at_its_padded_fraction(catalog):
    v6e = Rates.of(catalog.chip("tpu-v6e"), "bf16", DEFAULT)
    m = np.array([8192.0, 8192.0])
    full, narrow = v6e.shape_factor(m, np.array([4096.0, 128.0]), np.array([4096.0, 4096.0]), DEFAULT)
    assert narrow / full == pytest.approx(0.5)
