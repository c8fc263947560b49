"""Collective costs against hand calculations: full meshes, switches, torus slices, pipelined hierarchies."""

import numpy as np
import pytest

from accelplan.perf.assumptions import DEFAULT
from accelplan.perf.collectives import Fabric, all_reduce_s, all_to_all_s, reduce_scatter_s, send_recv_s, slice_dims

GB = 1e9
EFF = DEFAULT.link_efficiency


def fabric(catalog, system_id, chips=None):
    return Fabric.of(catalog.system(system_id), DEFAULT, chips=chips)


def test_tp2_on_a_full_mesh_uses_one_of_the_seven_links(catalog):
    # MI300X: 7 xGMI links, 448 GB/s per direction in all; a pair shares one link (64 GB/s), not all seven
    fab = fabric(catalog, "mi300x-platform")
    b = 1e9
    t = reduce_scatter_s(fab, np.array([b]), np.array([2.0]), np.array([1.0]))[0]
    one_link = 448 * GB / 7 * EFF
    assert t == pytest.approx(0.5 * b / one_link + fab.up_alpha_s)


def test_a_full_mesh_group_of_eight_gets_every_link(catalog):
    # Atlas 800T A2: the system carries a measured bus bandwidth (limulidae: all_reduce 72 GB/s algbw on 8 cards,
    # x 2 x 7/8 = 126 GB/s bus), which replaces 196 GB/s x the link efficiency
    fab = fabric(catalog, "atlas-800t-a2")
    b = 1e9
    t8 = all_reduce_s(fab, np.array([b]), np.array([8.0]), np.array([1.0]))[0]
    assert t8 == pytest.approx(2 * (7 / 8 * b / (128 * GB) + 7 * fab.up_alpha_s))
    assert b / t8 == pytest.approx(72 * GB, rel=0.03)  # the measured all_reduce rate (size / time), 2% latency apart
    # a group of four uses three of seven links: its bus bandwidth is 3/7 of the eight-card one (measured 45-48)
    t4 = reduce_scatter_s(fab, np.array([b]), np.array([4.0]), np.array([1.0]))[0]
    assert t4 == pytest.approx(3 / 4 * b / (128 * GB * 3 / 7) + 3 * fab.up_alpha_s)
    mi300x = fabric(catalog, "mi300x-platform")  # no measurement: the nominal rate x the link efficiency
    t = reduce_scatter_s(mi300x, np.array([b]), np.array([8.0]), np.array([1.0]))[0]
    assert t == pytest.approx(7 / 8 * b / (448 * GB * EFF) + 7 * mi300x.up_alpha_s)


def test_a_switch_gives_a_pair_the_full_bandwidth(catalog):
    fab = fabric(catalog, "hgx-h100-ib400")
    b = 1e9
    t = reduce_scatter_s(fab, np.array([b]), np.array([2.0]), np.array([1.0]))[0]
    assert t == pytest.approx(0.5 * b / (450 * GB * EFF) + fab.up_alpha_s)


def test_point_to_point_uses_one_link_of_a_mesh(catalog):
    mesh, switch = fabric(catalog, "mi300x-platform"), fabric(catalog, "hgx-h100-ib400")
    b = 1e8
    assert send_recv_s(mesh, np.array([b]), np.array([1.0]))[0] == pytest.approx(b / (448 * GB / 7 * EFF) + mesh.up_alpha_s)
    assert send_recv_s(switch, np.array([b]), np.array([1.0]))[0] == pytest.approx(b / (450 * GB * EFF) + switch.up_alpha_s)


def test_hierarchical_phases_pipeline_so_the_slower_sets_the_time(catalog):
    # 64 H100: 8 per node over NVLink, 8 nodes over 400 Gb/s; the inter-node phase carries 1/8 of the data
    fab = fabric(catalog, "hgx-h100-ib400")
    b = 8e9
    t = reduce_scatter_s(fab, np.array([b]), np.array([64.0]), np.array([1.0]))[0]
    t_up = 7 / 8 * b / (450 * GB * EFF)
    t_out = 7 / 8 * b / 8 / (50 * GB * EFF)
    alphas = 7 * fab.up_alpha_s + 7 * fab.out_alpha_s
    assert t == pytest.approx(max(t_up, t_out) + alphas)
    assert t < t_up + t_out


def test_all_to_all_on_a_mesh_scales_with_the_links_it_uses(catalog):
    fab = fabric(catalog, "gaudi2-hls")
    b = 1e9
    t = all_to_all_s(fab, np.array([b]), np.array([4.0]), np.array([1.0]))[0]
    assert t == pytest.approx(b * 3 / 4 / (262.5 * GB * EFF * 3 / 7) + 3 * fab.up_alpha_s)


@pytest.mark.parametrize(("pod", "chips", "dims"), [
    ((16, 20, 28), 1024, (8, 8, 16)),   # v5p-2048 (TensorCores) = 1024 chips
    ((16, 20, 28), 128, (4, 4, 8)),
    ((16, 16), 32, (4, 8)),              # v6e-32
    ((16, 16), 8, (2, 4)),               # v6e-8
    ((16, 16), 256, (16, 16)),
])
def test_a_torus_job_sees_its_own_slice(pod, chips, dims):
    assert slice_dims(pod, chips) == dims


def test_a_torus_group_uses_the_axes_of_its_slice(catalog):
    # v6e-32 (4 x 8): a group of 4 neighbours spans one axis (2 of 4 links); of 32, both axes
    fab = fabric(catalog, "tpu-v6e-pod", chips=32)
    assert fab.torus_dims == (4, 8)
    bw = fab.up_bandwidth(np.array([4.0, 32.0]), np.array([1.0, 1.0]))
    assert bw[0] == pytest.approx(fab.up_bytes_per_s / 2)
    assert bw[1] == pytest.approx(fab.up_bytes_per_s)
    # on the whole 16 x 16 pod the same group of 4 still spans one axis
    pod = fabric(catalog, "tpu-v6e-pod")
    assert pod.torus_dims == (16, 16)
