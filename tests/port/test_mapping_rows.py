"""One fixture per mapping row: each `expect:` marker is found, and nothing else is (comments,
docstrings and prose strings that mention CUDA on the other lines are not findings)."""

import pytest

from accelplan.port.mappings import TARGETS, load_mapping
from accelplan.port.scanner import scan_tree

from .conftest import ROWS, expectations, found

FIXTURE_PATHS = sorted(ROWS.iterdir())


@pytest.mark.parametrize("path", FIXTURE_PATHS, ids=[p.name for p in FIXTURE_PATHS])
def test_fixture_finds_exactly_its_expected_lines(path):
    result = scan_tree(path)
    assert not result.errors
    expected = expectations(path)
    assert expected, f"{path.name} has no expect: markers"
    assert found(result) == expected


def test_every_e7_row_is_detected_by_a_fixture():
    mapping = load_mapping()
    e7 = {r.id for r in mapping.rows if r.section == "E.7"}
    assert len(e7) >= 24  # E.7 has 24 idiom rows; torch.cuda.default_generators is split out of the RNG row
    detected = set()
    for path in FIXTURE_PATHS:
        detected |= {row for _, _, row in found(scan_tree(path))}
    assert e7 <= detected, f"E.7 rows no fixture detects: {sorted(e7 - detected)}"


def test_every_mapping_row_is_detected_by_a_fixture():
    rows = {r.id for r in load_mapping().rows}
    detected = set()
    for path in FIXTURE_PATHS:
        detected |= {row for _, _, row in expectations(path)}
    assert rows == detected


def test_every_row_maps_every_target_with_a_class_and_an_effort():
    mapping = load_mapping()
    for row in mapping.rows:
        for t in TARGETS:
            tm = row.targets[t]
            assert tm.equivalent.strip()
            days = mapping.days(row, t)
            assert (days is None) == (tm.effort_class == "blocker"), (row.id, t)


@pytest.mark.parametrize(("row_id", "npu", "rocm", "xla"), [
    # E.7's porting-class column (Ascend / ROCm / TPU), spot-checked against the research table
    ("device-query", "auto", "none", "rewrite"),
    ("cudnn-flags", "replace", "none", "drop"),
    ("flash-attn", "replace", "rebuild", "replace"),
    ("custom-extension", "rewrite", "partial", "rewrite"),
    ("triton-kernel", "partial", "check", "rewrite"),
    ("bitsandbytes", "risk", "none", "blocker"),
    ("cuda-graphs", "auto", "none", "drop"),
    ("fp64-on-device", "blocker", "none", "risk"),
    ("nvidia-smi", "replace", "replace", "replace"),
    ("launcher", "none", "none", "rewrite"),
])
def test_classes_follow_the_research_table(row_id, npu, rocm, xla):
    row = load_mapping().row(row_id)
    assert (row.targets["npu"].effort_class, row.targets["rocm"].effort_class, row.targets["xla"].effort_class) == (
        npu, rocm, xla)


def test_no_equivalent_is_flagged_where_the_table_says_so():
    m = load_mapping()
    assert not m.row("triton-kernel").targets["xla"].has_equivalent
    assert not m.row("custom-extension").targets["xla"].has_equivalent
    assert m.row("flash-attn").targets["npu"].has_equivalent


def test_mapping_names_its_source_section():
    m = load_mapping()
    assert m.source_document == "research/reliability_cost_policy.md"
    assert m.source_section.startswith("E.")
    assert {r.section for r in m.rows} <= {"E.1", "E.2", "E.4", "E.6", "E.7", "E.8", "accelplan"}
    assert all(r.note for r in m.rows if r.section == "accelplan")


def test_a_malformed_mapping_names_the_row_and_field(tmp_path):
    from accelplan.errors import CatalogError
    from accelplan.port.mappings import DATA_FILE

    text = DATA_FILE.read_text(encoding="utf-8").replace("class: auto}", "class: automatic}", 1)
    bad = tmp_path / "mappings.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_mapping(bad)
    message = str(err.value)
    assert "entry 'device-query'" in message and "class" in message
