"""Report pieces checked against answers worked by hand."""

from accelplan.sweep.report import _reference, infeasible_reasons, pareto


def test_pareto_keeps_points_nothing_beats_on_both_axes():
    pts = [(1.0, 10.0), (2.0, 8.0), (2.5, 9.0), (3.0, 8.0), (4.0, 5.0), (5.0, 6.0)]
    assert pareto(pts) == [(1.0, 10.0), (2.0, 8.0), (4.0, 5.0)]


def test_reference_takes_the_most_common_value_and_the_smallest_on_a_tie():
    rows = [{"tokens": 2e12, "seq_len": 8192}, {"tokens": 1e12, "seq_len": 8192}, {"tokens": 1e12, "seq_len": 4096},
            {"tokens": 2e12, "seq_len": 4096}, {"tokens": 2e12, "seq_len": 8192}]
    ref = _reference(rows)
    assert ref["tokens"] == 2e12 and ref["seq_len"] == 8192 and ref["region"] is None
    assert _reference(rows[1:4])["seq_len"] == 4096  # 2 x 4096 vs 1 x 8192
    assert _reference(rows[:4])["tokens"] == 1e12  # 2 vs 2: the smaller


def test_infeasible_reasons_group_like_reasons():
    rows = [{"feasible": False, "note": "no feasible plan on 8 chips: does not fit in device memory (2,070 plans)"},
            {"feasible": False, "note": "projected: x; no feasible plan on 16 chips: does not fit in device memory (9 plans)"},
            {"feasible": True, "note": ""}]
    assert infeasible_reasons(rows) == [["no feasible plan on N chips: does not fit in device memory (N plans)", 2]]
