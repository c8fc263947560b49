"""Checkpoint interval and goodput formulas against examples worked by hand (research §A.5)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelplan.economics.reliability import (
    checkpoint_write_s,
    daly_interval_s,
    goodput_fraction,
    interruptions_per_day,
    young_interval_s,
)


def test_young_interval_matches_research_worked_example():
    # research §A.5: delta = 60 s, M = 1.8 h = 6,480 s -> tau = sqrt(2 x 60 x 6,480) = sqrt(777,600) = 881.8 s ("882 s")
    assert young_interval_s(60.0, 6480.0) == pytest.approx(881.82, abs=0.01)
    # delta = 5 s: sqrt(64,800) = 254.6 s ("255 s")
    assert young_interval_s(5.0, 6480.0) == pytest.approx(254.56, abs=0.01)


def test_daly_interval_worked_by_hand():
    # x = delta / 2M = 60 / 12,960 = 0.0046296; sqrt(x) = 0.068041
    # bracket = 1 + 0.068041 / 3 + 0.0046296 / 9 = 1 + 0.022680 + 0.000514 = 1.023194
    # tau = 881.82 x 1.023194 - 60 = 902.27 - 60 = 842.27 s
    assert daly_interval_s(60.0, 6480.0) == pytest.approx(842.27, abs=0.05)


def test_daly_interval_is_mtti_when_checkpoint_takes_longer_than_two_mttis():
    assert daly_interval_s(3000.0, 1000.0) == 1000.0


@settings(max_examples=60, deadline=None)
@given(delta=st.floats(0.1, 100.0), mtti=st.floats(1e3, 1e7))
def test_daly_stays_within_delta_of_young_when_checkpoints_are_cheap(delta, mtti):
    # Daly's correction terms are of order delta; with delta << M both optimums nearly agree
    young, daly = young_interval_s(delta, mtti), daly_interval_s(delta, mtti)
    assert young - delta <= daly <= young + delta


def test_goodput_worked_by_hand():
    # tau = 881.82 s, delta = 60 s, M = 6,480 s, R = 600 s (research §A.5 first row)
    # lost work per failure = (881.82 + 60) / 2 = 470.91 s
    # running share = 1 - (600 + 470.91) / 6,480 = 1 - 0.165264 = 0.834736
    # checkpoint stalls: 881.82 / 941.82 = 0.936294 -> goodput = 0.834736 x 0.936294 = 0.78156
    assert goodput_fraction(881.82, 60.0, 6480.0, 600.0) == pytest.approx(0.78156, abs=5e-5)


def test_goodput_agrees_with_research_first_order_table():
    # research §A.5 (1 - delta/tau - (tau/2 + R)/M) gives ~77% / ~87% / ~94% for its three rows; our
    # formula keeps second-order terms that the table drops, so it may differ by a point or two
    rows = [(60.0, 600.0, 0.77), (5.0, 600.0, 0.87), (5.0, 120.0, 0.94)]
    for delta, restart, research in rows:
        tau = young_interval_s(delta, 6480.0)
        assert goodput_fraction(tau, delta, 6480.0, restart) == pytest.approx(research, abs=0.015)


def test_background_write_adds_to_the_lost_work():
    # async: a checkpoint counts once written, w = 30 s after the snapshot: each failure loses 30 s more
    plain = goodput_fraction(300.0, 5.0, 10_000.0, 600.0)
    lagged = goodput_fraction(300.0, 5.0, 10_000.0, 600.0, durable_lag_s=30.0)
    # (1 - (600 + 152.5) / 10,000) x 300/305 vs (1 - (600 + 182.5) / 10,000) x 300/305
    assert plain == pytest.approx(0.92475 * 300 / 305, rel=1e-9)
    assert lagged == pytest.approx(0.92175 * 300 / 305, rel=1e-9)


def test_planned_interruptions_cost_one_restart_each():
    # one planned interruption a day, R = 600 s: 600 / 86,400 = 0.6944% of the time lost
    base = goodput_fraction(300.0, 5.0, 1e12, 600.0)
    with_planned = goodput_fraction(300.0, 5.0, 1e12, 600.0, planned_per_s=1 / 86_400)
    assert base - with_planned == pytest.approx(600 / 86_400 * 300 / 305, rel=1e-6)


def test_goodput_is_zero_not_negative_when_failures_outrun_restarts():
    assert goodput_fraction(600.0, 60.0, 500.0, 600.0) == 0.0


def test_checkpoint_write_time_worked_by_hand():
    # 1 TB from 10 nodes at 2 GB/s each = 20 GB/s -> 50 s; a 10 GB/s storage cap -> 100 s
    assert checkpoint_write_s(1e12, 10, 2e9) == pytest.approx(50.0)
    assert checkpoint_write_s(1e12, 10, 2e9, storage_bytes_per_s=10e9) == pytest.approx(100.0)


def test_interruptions_per_day_worked_by_hand():
    # 1,024 chips on 8-chip nodes = 128 nodes at 5 per 1000 node-days: 128 x 0.005 = 0.64 per day,
    # whatever the chip/host split
    for share in (0.0, 0.64, 1.0):
        assert interruptions_per_day(1024, 8, 5.0, share) == pytest.approx(0.64)
    # 4-chip nodes: 256 nodes; chip part 0.5 x 0.005 / 8 x 1,024 = 0.32, host part 0.5 x 0.005 x 256 = 0.64
    assert interruptions_per_day(1024, 4, 5.0, 0.5) == pytest.approx(0.96)


@settings(max_examples=40, deadline=None)
@given(nodes=st.integers(1, 20_000), cpn=st.sampled_from([1, 4, 8, 16]), rate=st.floats(0.1, 50.0))
def test_interruptions_double_when_the_cluster_doubles(nodes, cpn, rate):
    one = interruptions_per_day(nodes * cpn, cpn, rate, 0.64)
    two = interruptions_per_day(2 * nodes * cpn, cpn, rate, 0.64)
    assert two == pytest.approx(2 * one)
    assert math.isfinite(one) and one > 0


def test_free_checkpoints_leave_only_restarts():
    # no state to save: interval and stall are zero; each failure costs the restart alone: 1 - 600/10,000
    assert goodput_fraction(0.0, 0.0, 10_000.0, 600.0) == pytest.approx(0.94)
