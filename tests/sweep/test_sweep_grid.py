"""Grid parsing: dimensions, defaults, excludes, stable scenario ids, and errors that name the field."""

import pytest

from accelplan.api import DEFAULT_GLOBAL_BATCH, DEFAULT_TOKENS
from accelplan.errors import AccelplanError
from accelplan.sweep.grid import Scenario, load_grid, parse_grid, scenario_id


def grid(**kw):
    return parse_grid({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], **kw})


def test_scenarios_are_the_cartesian_product_of_the_dimensions():
    g = parse_grid({"models": ["llama3.1-8b", "llama3.1-70b"], "chips": ["h100-sxm", "ascend-910b", "mi300x"],
                    "cluster_sizes": [64, 256], "seq_len": [4096, 8192]})
    s = g.scenarios()
    assert len(s) == 2 * 3 * 2 * 2
    assert len({x.id for x in s}) == len(s)
    assert {(x.model, x.chip, x.cluster_size, x.seq_len) for x in s} == {
        (m, c, n, q) for m in ("llama3.1-8b", "llama3.1-70b") for c in ("h100-sxm", "ascend-910b", "mi300x")
        for n in (64, 256) for q in (4096, 8192)}


def test_defaults_and_scalars_and_yaml_exponent_strings():
    s = grid(tokens="1e12", precision="fp8").scenarios()
    assert len(s) == 1
    assert s[0].tokens == 1e12 and isinstance(s[0].tokens, float)
    assert s[0].precision == "fp8" and s[0].global_batch == DEFAULT_GLOBAL_BATCH and s[0].region is None
    assert grid().scenarios()[0].tokens == DEFAULT_TOKENS


def test_deadline_mode_has_no_cluster_size():
    s = parse_grid({"models": "llama3.1-8b", "chips": "h100-sxm", "deadline_days": [30, 90]}).scenarios()
    assert [(x.cluster_size, x.deadline_days) for x in s] == [(None, 30.0), (None, 90.0)]


def test_exclude_drops_matching_combinations_only():
    g = parse_grid({"models": ["llama3.1-8b", "llama3.1-70b"], "chips": ["h100-sxm", "ascend-910b"],
                    "cluster_sizes": [8, 64],
                    "exclude": [{"model": "llama3.1-70b", "cluster_sizes": 8},
                                {"chip": "ascend-910b", "model": "llama3.1-8b", "cluster_size": [8, 64]}]})
    got = {(x.model, x.chip, x.cluster_size) for x in g.scenarios()}
    assert got == {("llama3.1-8b", "h100-sxm", 8), ("llama3.1-8b", "h100-sxm", 64),
                   ("llama3.1-70b", "h100-sxm", 64), ("llama3.1-70b", "ascend-910b", 64)}


def test_chip_alias_and_id_give_one_scenario(catalog):
    alias = next(a for a, cid in catalog.chip_alias.items() if cid == "h100-sxm")
    s = grid(chips=["h100-sxm", alias]).scenarios()
    assert len(s) == 1 and s[0].chip == "h100-sxm"


def test_scenario_id_ignores_null_dimensions_and_number_spelling():
    a = Scenario("llama3.1-8b", "h100-sxm", 64, None, 1e12, 4096, 1024, "bf16", None)
    b = Scenario("llama3.1-8b", "h100-sxm", 64, None, 1_000_000_000_000, 4096, 1024, "bf16", None)
    assert a.id == b.id
    # a dimension added later with a null default keeps older ids
    assert scenario_id({**a.values(), "price": None}) == a.id
    assert Scenario("llama3.1-8b", "h100-sxm", 64, None, 1e12, 4096, 1024, "bf16", "eu").id != a.id
    assert len(a.id) == 16 and int(a.id, 16) >= 0


@pytest.mark.parametrize(("data", "needles"), [
    ({"chips": ["h100-sxm"], "cluster_sizes": [64]}, ["models", "required"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxmm"], "cluster_sizes": [64]}, ["chips[0]", "did you mean h100-sxm"]),
    ({"models": ["llama3-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64]}, ["models[0]", "unknown model 'llama3-8b'"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"]}, ["cluster_sizes", "deadline_days"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "deadline_days": [30]},
     ["exactly one"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64, -8]}, ["cluster_sizes[1]", "greater than 0"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "precision": ["bf8"]},
     ["precision[0]", "'bf16', 'fp16' or 'fp8'"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "seq_lens": [4096]},
     ["unknown key 'seq_lens'", "seq_len"]),
    ({"models": [], "chips": ["h100-sxm"], "cluster_sizes": [64]}, ["models", "at least 1"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "exclude": [{"chipz": "h100-sxm"}]},
     ["exclude[0]", "unknown dimension 'chipz'", "cluster_size"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "exclude": [{"cluster_size": 128}]},
     ["exclude[0].cluster_size", "128", "allowed: 64"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "exclude": [{"chip": "h10-sxm"}]},
     ["exclude[0].chip", "did you mean"]),
    (["llama3.1-8b"], ["expected a mapping"]),
    # numbers outside the CLI flags' ranges (accelplan.limits) would make endless plan searches
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64, 10**11]},
     ["cluster_sizes[1]", "1..1,048,576"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "tokens": [float("inf")]},
     ["tokens[0]", "not a finite number"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "deadline_days": [1e-300]}, ["deadline_days[0]", "0.01..3,650"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "seq_len": [True]},
     ["seq_len[0]", "true (a YAML boolean)"]),
    # the economics model's own range for a price: past it, every scenario would fail in a worker
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "prices": [{"h100-sxm": 1e300}]},
     ["prices[0]", "less than or equal to 100", "1e+300"]),
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": [64], "prices": [{"h100-sxm": float("inf")}]},
     ["prices[0]", "less than or equal to 100"]),
    # 1,000 cluster sizes x 1,001 batch sizes = 1,001,000 combinations, one past the bound
    ({"models": ["llama3.1-8b"], "chips": ["h100-sxm"], "cluster_sizes": list(range(1, 1001)),
      "global_batch": list(range(1, 1002))}, ["1,001,000 combinations", "at most 1,000,000"]),
])
def test_bad_grid_names_the_field(data, needles):
    with pytest.raises(AccelplanError) as err:
        parse_grid(data, "g.yaml")
    msg = str(err.value)
    assert msg.startswith("g.yaml: ")
    for n in needles:
        assert n in msg
    assert "\n" not in msg


def test_load_grid_reports_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(AccelplanError, match="nope.yaml': no such file"):
        load_grid(tmp_path / "nope.yaml")
    with pytest.raises(AccelplanError, match="is a directory"):
        load_grid(tmp_path)
    binary = tmp_path / "grid.bin"
    binary.write_bytes(b"models: [\xff\xfe]\n")
    with pytest.raises(AccelplanError, match="not UTF-8"):
        load_grid(binary)
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [llama3.1-8b\nchips: h100")
    with pytest.raises(AccelplanError, match="not valid YAML"):
        load_grid(bad)


def test_load_grid_reads_yaml(small_grid_file):
    g = load_grid(small_grid_file)
    assert len(g.scenarios()) == 8


def test_price_assumptions_are_a_dimension_per_chip_and_keep_old_ids():
    g = parse_grid({"models": ["llama3.1-8b"], "chips": ["h100", "ascend-910b"], "cluster_sizes": [64],
                    "prices": [None, {"h100": 2.0, "ascend-910b": 1.5}, {"h100": 3.0}]})
    s = g.scenarios()
    got = sorted(((x.chip, x.price) for x in s), key=lambda t: (t[0], t[1] or 0.0))
    # {"h100": 3.0} names no Ascend price, so that scenario is the published-price one again (deduplicated)
    assert got == [("ascend-910b", None), ("ascend-910b", 1.5), ("h100-sxm", None), ("h100-sxm", 2.0),
                   ("h100-sxm", 3.0)]
    plain = next(x for x in s if x.chip == "h100-sxm" and x.price is None)
    assert plain.id == grid().scenarios()[0].id  # adding the dimension kept the ids of older sweeps


def test_unknown_price_chip_and_region_name_their_place():
    with pytest.raises(AccelplanError, match=r"prices\[0\]\.h10.*did you mean"):
        grid(prices=[{"h10": 2.0}])
    with pytest.raises(AccelplanError, match=r"region\[1\]"):
        grid(region=["US", "Atlantis"])


def test_frameworks_are_a_dimension_checked_against_the_catalog(catalog):
    from accelplan.errors import AccelplanError
    from accelplan.sweep.grid import Grid, check_grid

    g = check_grid(Grid(models=["llama3.1-8b"], chips=["h100"], cluster_sizes=[8], frameworks=[None, "megatron"]),
                   catalog=catalog)
    assert g.frameworks == [None, "megatron-lm"]  # aliases resolve to the stack id
    assert [s.framework for s in g.scenarios()] == [None, "megatron-lm"]
    # a null framework leaves the id of a scenario written before the dimension existed
    assert g.scenarios()[0].id == Grid(models=["llama3.1-8b"], chips=["h100-sxm"], cluster_sizes=[8]).scenarios()[0].id
    with pytest.raises(AccelplanError, match=r"frameworks\[0\].*unknown stack 'megatorn'"):
        check_grid(Grid(models=["llama3.1-8b"], chips=["h100"], cluster_sizes=[8], frameworks=["megatorn"]),
                   catalog=catalog)


def test_a_stack_that_does_not_run_on_the_chip_is_an_infeasible_row():
    from accelplan.sweep.grid import Scenario
    from accelplan.sweep.scenario import run_scenario

    row = run_scenario(Scenario(model="llama3.1-8b", chip="ascend-910b", cluster_size=8, deadline_days=None,
                                tokens=1e12, seq_len=4096, global_batch=64, precision="bf16", region=None,
                                framework="nemo"))
    assert row["feasible"] is False and "does not run on ascend-910b" in row["note"]
