from pathlib import Path

import pytest

SMALL_GRID = """
models: [llama3.1-8b, llama3.1-70b]
chips: [h100-sxm, ascend-910b]
cluster_sizes: [8, 64]
tokens: 1e12
seq_len: [4096]
global_batch: [1024]
"""


@pytest.fixture
def small_grid_file(tmp_path: Path) -> Path:
    p = tmp_path / "grid.yaml"
    p.write_text(SMALL_GRID)
    return p


@pytest.fixture(scope="session")
def ray_runtime():
    """One local Ray runtime for the whole test session (start-up takes a few seconds)."""
    ray = pytest.importorskip("ray")
    import logging

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield ray
    ray.shutdown()
