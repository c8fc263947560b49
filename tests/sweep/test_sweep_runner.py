"""Running sweeps: the local pool gives the in-process results, and a stopped or killed sweep resumes
without evaluating any finished scenario again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from accelplan.sweep.engines import InlineEngine, LocalEngine, make_engine  # noqa: E402
from accelplan.sweep.grid import load_grid, parse_grid  # noqa: E402
from accelplan.sweep.runner import run_sweep  # noqa: E402
from accelplan.sweep.scenario import run_scenario  # noqa: E402
from accelplan.sweep.storage import ResultStore  # noqa: E402

COUNT_DIR = "ACCELPLAN_TEST_SWEEP_COUNT_DIR"
FAIL_AFTER = "ACCELPLAN_TEST_SWEEP_FAIL_AFTER"


def counting_evaluate(scenario):
    """run_scenario that leaves one file per evaluation (works across worker processes) and can fail
    after a given number of evaluations in this process, to stop a sweep part-way."""
    d = Path(os.environ[COUNT_DIR])
    limit = int(os.environ.get(FAIL_AFTER, "0"))
    if limit and len(list(d.glob(f"{os.getpid()}-*"))) >= limit:
        raise RuntimeError("stopped by the test")
    (d / f"{os.getpid()}-{scenario.id}").touch()
    return run_scenario(scenario)


def evaluated(d: Path) -> list[str]:
    return [p.name.split("-", 1)[1] for p in d.iterdir()]


def table(path):
    return pq.read_table(path)


def wide_grid():
    return parse_grid({"models": ["llama3.1-8b", "llama2-7b"], "chips": ["h100-sxm", "ascend-910b", "mi300x"],
                       "cluster_sizes": [8, 16, 32, 64], "tokens": ["1e12"], "global_batch": [512]})


def test_local_pool_matches_in_process_results(tmp_path, small_grid_file):
    grid = load_grid(small_grid_file)
    a = run_sweep(grid, tmp_path / "inline.parquet", InlineEngine())
    b = run_sweep(grid, tmp_path / "pool.parquet", LocalEngine(2))
    assert a.ran == b.ran == 8 and not a.interrupted
    # llama3.1-70b on 8 chips: weights, grads and Adam state take ~16 B/parameter = 1.1 TB > 8 x 80 GB
    assert a.feasible == b.feasible == 6
    assert table(tmp_path / "inline.parquet").equals(table(tmp_path / "pool.parquet"))
    ids = table(tmp_path / "pool.parquet").column("scenario_id").to_pylist()
    assert ids == sorted(ids) == sorted(s.id for s in grid.scenarios())


def test_rerun_after_a_failure_evaluates_only_what_did_not_finish(tmp_path, monkeypatch):
    grid = wide_grid()
    n = len(grid.scenarios())
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    out = tmp_path / "r.parquet"
    monkeypatch.setenv(COUNT_DIR, str(first))
    monkeypatch.setenv(FAIL_AFTER, "3")  # each of the 2 workers stops after 3 scenarios
    with pytest.raises(RuntimeError, match="stopped by the test"):
        run_sweep(grid, out, LocalEngine(2), evaluate=counting_evaluate)
    kept = set(table(out).column("scenario_id").to_pylist())  # compacted on the way out
    assert 0 < len(kept) < n
    monkeypatch.setenv(COUNT_DIR, str(second))
    monkeypatch.delenv(FAIL_AFTER)
    res = run_sweep(grid, out, LocalEngine(2), evaluate=counting_evaluate)
    redone = evaluated(second)
    assert res.skipped == len(kept) and res.ran == n - len(kept) == len(redone)
    assert not set(redone) & kept
    assert set(table(out).column("scenario_id").to_pylist()) == {s.id for s in grid.scenarios()}
    # a third run has nothing to do
    assert run_sweep(grid, out, InlineEngine(), evaluate=counting_evaluate).ran == 0


def test_keyboard_interrupt_keeps_finished_scenarios(tmp_path, small_grid_file):
    grid = load_grid(small_grid_file)
    calls = []

    def stop_on_third(s):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(s.id)
        return run_scenario(s)

    res = run_sweep(grid, tmp_path / "r.parquet", InlineEngine(), evaluate=stop_on_third)
    assert res.interrupted and res.ran == 2 and res.rows == 2
    assert set(table(tmp_path / "r.parquet").column("scenario_id").to_pylist()) == set(calls)


def test_killed_cli_sweep_resumes_without_redoing_finished_work(tmp_path, monkeypatch):
    grid = tmp_path / "grid.yaml"
    grid.write_text("models: [llama3.1-8b, llama2-7b, mpt-7b]\nchips: [h100-sxm, ascend-910b, mi300x, tpu-v5p]\n"
                    "cluster_sizes: [8, 16, 32, 64, 128]\ntokens: 1e12\nglobal_batch: [512, 1024]\n")
    out = tmp_path / "r.parquet"
    store = ResultStore(out)
    proc = subprocess.Popen([sys.executable, "-m", "accelplan", "sweep", str(grid), "--out", str(out), "--workers", "2",
                             "--no-progress"], start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and len(store.done_ids()) < 10:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole session: the CLI and its worker processes
    proc.wait()
    assert not out.exists(), "the sweep finished before it could be killed"
    finished = store.done_ids()
    n = len(load_grid(grid).scenarios())
    assert 10 <= len(finished) < n
    counted = tmp_path / "count"
    counted.mkdir()
    monkeypatch.setenv(COUNT_DIR, str(counted))
    res = run_sweep(load_grid(grid), out, InlineEngine(), evaluate=counting_evaluate)
    assert res.skipped == len(finished) and res.ran == n - len(finished)
    assert not set(evaluated(counted)) & finished
    assert res.rows == n


def _children(ppid: int) -> dict[int, str]:
    """pid -> start time (to tell a reused pid apart) of the live processes whose parent is `ppid`."""
    out = {}
    for d in Path("/proc").iterdir():
        stat = _stat(int(d.name)) if d.name.isdigit() else None
        if stat and int(stat[1]) == ppid:
            out[int(d.name)] = stat[19]
    return out


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state, ppid, ...), None once the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields  # a zombie has exited; only its parent has yet to reap it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_pool_workers_exit_within_10_s_when_the_sweep_is_killed(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("models: [llama3.1-8b, llama2-7b, mpt-7b]\nchips: [h100-sxm, ascend-910b, mi300x, tpu-v5p]\n"
                    "cluster_sizes: [8, 16, 32, 64, 128]\ntokens: 1e12\nglobal_batch: [512, 1024]\n")
    store = ResultStore(tmp_path / "r.parquet")
    proc = subprocess.Popen([sys.executable, "-m", "accelplan", "sweep", str(grid), "--out", str(store.out),
                             "--workers", "2", "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not store.done_ids():
            time.sleep(0.05)
        children = _children(proc.pid)  # the two workers and multiprocessing's resource tracker
        os.kill(proc.pid, signal.SIGKILL)  # the parent alone: nothing of it runs after this
        proc.wait()
        assert not store.out.exists(), "the sweep finished before it could be killed"
        assert len(children) >= 2
        t0 = time.monotonic()
        alive = dict(children)
        while alive and time.monotonic() - t0 < 10:
            time.sleep(0.1)
            alive = {pid: start for pid, start in alive.items() if (st := _stat(pid)) and st[19] == start}
        assert not alive, f"processes of the killed sweep still running after 10 s: {sorted(alive)}"
    finally:
        proc.kill()
        for pid, start in children.items():  # leave nothing behind, whatever the outcome
            if (st := _stat(pid)) and st[19] == start:
                os.kill(pid, signal.SIGKILL)


def test_rows_from_other_model_code_are_reported_and_redone_on_request(tmp_path, small_grid_file):
    grid = load_grid(small_grid_file)
    out = tmp_path / "r.parquet"
    run_sweep(grid, out, InlineEngine())
    t = table(out)
    ids = t.column("scenario_id").to_pylist()
    old = [("0ld0ld0ld0ld" if i < 2 else fp) for i, fp in enumerate(t.column("model_fingerprint").to_pylist())]
    pq.write_table(t.set_column(t.column_names.index("model_fingerprint"), "model_fingerprint", pa.array(old)), out)
    res = run_sweep(grid, out, InlineEngine())
    assert res.ran == 0 and res.stale == 2
    res = run_sweep(grid, out, InlineEngine(), redo_stale=True)
    assert res.ran == 2 and res.stale == 0 and res.rows == 8
    t = table(out)
    assert t.column("scenario_id").to_pylist() == ids
    assert len(set(t.column("model_fingerprint").to_pylist())) == 1


def test_fingerprint_follows_the_catalog(tmp_path, monkeypatch):
    from accelplan.catalog.loader import load_catalog
    from accelplan.sweep.scenario import model_fingerprint

    here = model_fingerprint()
    cat = load_catalog()
    chip = cat.chips["h100-sxm"].model_dump(mode="json", exclude_none=True)
    (tmp_path / "chips").mkdir()
    import yaml

    (tmp_path / "chips" / "h100.yaml").write_text(yaml.safe_dump({**chip, "hbm_gb": chip["hbm_gb"] + 1}))
    monkeypatch.setenv("ACCELPLAN_CATALOG", str(tmp_path))
    model_fingerprint.cache_clear()
    try:
        assert model_fingerprint() != here
    finally:
        monkeypatch.delenv("ACCELPLAN_CATALOG")
        model_fingerprint.cache_clear()
    assert model_fingerprint() == here


def test_fresh_discards_earlier_results(tmp_path, small_grid_file):
    grid = load_grid(small_grid_file)
    run_sweep(grid, tmp_path / "r.parquet", InlineEngine())
    assert run_sweep(grid, tmp_path / "r.parquet", InlineEngine(), fresh=True).ran == 8


def test_csv_has_one_row_per_scenario(tmp_path, small_grid_file):
    res = run_sweep(load_grid(small_grid_file), tmp_path / "r.parquet", InlineEngine(), csv=True)
    lines = res.csv.read_text().splitlines()
    assert len(lines) == 1 + 8 and lines[0].startswith('"scenario_id"')


@pytest.mark.parametrize(("args", "needle"), [
    (("spark",), "allowed: local, ray"),
    (("local", None, "10.0.0.1:6379"), "--engine ray"),
    (("local", 0), "--workers"),
])
def test_bad_engine_options_are_named(args, needle):
    from accelplan.errors import AccelplanError

    with pytest.raises(AccelplanError, match=needle):
        make_engine(*args)


def test_an_address_where_nothing_listens_fails_at_once():
    import socket

    from accelplan.errors import AccelplanError
    from accelplan.sweep.engines import _check_reachable

    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.monotonic()
    with pytest.raises(AccelplanError, match=f"--address 127.0.0.1:{port}: no Ray head answers"):
        _check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - t < 5


def test_the_ray_engine_without_ray_is_refused_before_any_work():
    import importlib.util

    from accelplan.errors import AccelplanError

    if importlib.util.find_spec("ray") is not None:
        pytest.skip("Ray is installed here")
    with pytest.raises(AccelplanError, match=r"pip install 'accelplan\[ray\]'"):
        make_engine("ray", 2)
