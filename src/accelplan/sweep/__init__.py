"""Scenario sweeps: a grid of workloads x chips x cluster sizes (or deadlines), each a full plan search.

- `grid`: read and check a grid YAML, expand it into `Scenario`s with stable ids;
- `scenario`: `run_scenario(scenario) -> dict`, the one function that evaluates a scenario into a row;
- `engines`: run scenarios in-process, on a local process pool, or as Ray tasks;
- `storage`: a journal of finished rows (resume after a kill), compacted into Parquet;
- `runner`: ties them together (`run_sweep`); `report`: the HTML summary of a results file.
"""
