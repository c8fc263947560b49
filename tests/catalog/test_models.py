"""Parameter counts of the presets against the numbers their authors publish."""

import pytest

from accelplan.perf.costs import model_costs

PUBLISHED = [  # (preset, total B, active B or None); sources in each preset's YAML
    ("llama3.1-405b", 405, None),
    ("deepseek-v3", 671, 37),
    ("mixtral-8x22b", 141, 39),
    ("palm-540b", 540.35, None),
    ("gpt3-175b", 175, None),
    ("qwen3-235b-a22b", 235, 22),
    ("mixtral-8x7b", 46.7, 12.9),
]


@pytest.mark.parametrize(("preset", "total_b", "active_b"), PUBLISHED)
def test_parameter_counts_within_two_percent_of_published(catalog, preset, total_b, active_b):
    c = model_costs(catalog.model(preset))
    assert c.params_total / 1e9 == pytest.approx(total_b, rel=0.02)
    if active_b is not None:
        assert c.params_active / 1e9 == pytest.approx(active_b, rel=0.02)


def test_pangu_ultra_moe_within_two_percent_counting_the_input_embedding_as_inactive(catalog):
    # The 39B active figure excludes the input-embedding lookup (no FLOPs); DeepSeek's 37B is within 2% either way.
    c = model_costs(catalog.model("pangu-ultra-moe-718b"))
    assert c.params_total / 1e9 == pytest.approx(718, rel=0.02)
    assert (c.params_active - c.params_embedding) / 1e9 == pytest.approx(39, rel=0.02)


def test_illustrative_model_says_what_it_is_modelled_on(catalog):
    m = catalog.model("openpangu-505b-moe")
    assert m.illustrative and "Pangu Ultra MoE" in (m.illustrative_note or "")
    assert model_costs(m).params_total / 1e9 == pytest.approx(505, rel=0.02)


def test_required_presets_exist(catalog):
    for pid in ("gpt3-175b", "megatron-1t", "llama2-7b", "llama2-70b", "llama3.1-8b", "llama3.1-70b",
                "llama3.1-405b", "mixtral-8x7b", "mixtral-8x22b", "deepseek-v3", "qwen3-235b-a22b",
                "nemotron4-340b", "palm-540b", "pangu-ultra-135b", "pangu-ultra-moe-718b", "openpangu-505b-moe"):
        assert catalog.model(pid)
