"""The Ray engine, on a local Ray runtime: same rows as the local pool, and resume works across engines."""

import pytest

pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")

from accelplan.sweep.engines import LocalEngine, RayEngine  # noqa: E402
from accelplan.sweep.grid import load_grid  # noqa: E402
from accelplan.sweep.runner import run_sweep  # noqa: E402


def test_ray_gives_the_same_results_as_the_local_pool(ray_runtime, tmp_path, small_grid_file):
    grid = load_grid(small_grid_file)
    r = run_sweep(grid, tmp_path / "ray.parquet", RayEngine(2))
    loc = run_sweep(grid, tmp_path / "local.parquet", LocalEngine(2))
    assert r.engine == "ray" and r.ran == loc.ran == 8
    assert pq.read_table(tmp_path / "ray.parquet").equals(pq.read_table(tmp_path / "local.parquet"))
    assert ray_runtime.is_initialized()  # a runtime the caller started is left running


def test_ray_resumes_a_sweep_the_local_engine_began(ray_runtime, tmp_path, small_grid_file):
    grid = load_grid(small_grid_file)
    part = grid.model_copy(update={"models": ["llama3.1-8b"]})
    assert run_sweep(part, tmp_path / "r.parquet", LocalEngine(2)).ran == 4
    res = run_sweep(grid, tmp_path / "r.parquet", RayEngine(2))
    assert res.skipped == 4 and res.ran == 4 and res.rows == 8
