"""Collectives: bus-bandwidth factors, a 2-process gloo run under torchrun, and unsupported ops reported."""

import json
import socket
import subprocess
import sys

import pytest

from accelplan.bench.collectives import OPS, bus_factor


def test_bus_factors_follow_nccl_tests():
    assert bus_factor("all_reduce", 8) == pytest.approx(2 * 7 / 8)
    for op in ("all_gather", "reduce_scatter", "all_to_all"):
        assert bus_factor(op, 8) == pytest.approx(7 / 8)
    assert bus_factor("send_recv", 8) == 1.0
    assert bus_factor("all_reduce", 1) == 0.0  # one rank moves nothing over a bus


def test_without_torchrun_it_says_how_to_launch(tmp_path):
    pytest.importorskip("torch")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("RANK", "WORLD_SIZE")}
    r = subprocess.run([sys.executable, "-m", "accelplan.bench.collectives", "--quick"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 2 and "launch with torchrun" in r.stderr


def test_two_gloo_processes_measure_and_verify_every_op(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "coll.yaml"
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                        "-m", "accelplan.bench.collectives", "--quick", "--json", "--out", str(out)],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    data = json.loads(r.stdout)
    points = data["collectives"]
    assert {p["op"] for p in points} | {u["what"] for u in data["unsupported"]} == set(OPS)
    assert {p["op"] for p in points} >= {"all_reduce", "send_recv"}
    for p in points:
        assert p["backend"] == "gloo" and p["world_size"] == 2 and p["nodes"] == 1
        assert p["verified"], p
        assert p["algbw_gb_s"] == pytest.approx(p["size_bytes"] / p["seconds"] / 1e9)
        assert p["busbw_gb_s"] == pytest.approx(p["algbw_gb_s"] * bus_factor(p["op"], 2))
    for u in data["unsupported"]:
        assert u["reason"].startswith("unsupported on gloo")
    from accelplan.bench.profile import load_profile

    prof = load_profile(out)
    assert [p.model_dump(mode="json") for p in prof.collectives] == points
    assert prof.collective_busbw_bytes_per_s("all_reduce", 2**16) > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_op_gloo_lacks_is_reported_not_crashed(monkeypatch):
    torch = pytest.importorskip("torch")
    import torch.distributed as dist

    from accelplan.bench.collectives import Comm, probe

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1)
    try:
        def missing(*args, **kwargs):
            raise RuntimeError("ProcessGroupGloo does not support reduce_scatter")

        for name in ("reduce_scatter_single", "reduce_scatter_tensor"):
            if hasattr(dist, name):
                monkeypatch.setattr(dist, name, missing)
        c = Comm(torch, dist, torch.device("cpu"), "cpu", "fp32")
        why = probe(c, "reduce_scatter")
        assert why == "unsupported on gloo: ProcessGroupGloo does not support reduce_scatter"
        assert probe(c, "all_reduce") is None
        assert probe(c, "send_recv") == "needs at least 2 ranks"  # not a backend limit
    finally:
        dist.destroy_process_group()


def test_out_merges_collectives_into_a_profile_of_the_same_device(tmp_path, make_profile):
    from types import SimpleNamespace

    from accelplan.bench.collectives import to_profile
    from accelplan.bench.profile import CollectivePoint, Unsupported, save_profile
    from accelplan.errors import AccelplanError

    path = save_profile(make_profile({(8192, 8192, 8192, "bf16"): 700.0}, copy_gb_s=4000.0), tmp_path / "p.yaml")
    point = CollectivePoint(op="all_reduce", backend="nccl", world_size=8, nodes=1, dtype="fp32", size_bytes=2**20,
                            seconds=1e-4, algbw_gb_s=10.5, busbw_gb_s=18.35, bus_factor=1.75, verified=True)
    res = {"device": SimpleNamespace(name="NVIDIA H200"), "points": [point],
           "unsupported": [Unsupported(what="all_to_all", reason="unsupported on nccl: test")], "quick": True}
    merged = to_profile(res, str(path))
    assert merged.collectives == [point]
    assert len(merged.gemm) == 1 and len(merged.bandwidth) == 1  # the device measurements stay
    assert [u.what for u in merged.unsupported] == ["all_to_all"]
    other = dict(res, device=SimpleNamespace(name="NVIDIA H100 80GB HBM3"))
    with pytest.raises(AccelplanError, match="measured on NVIDIA H200.*NVIDIA H100"):
        to_profile(other, str(path))
