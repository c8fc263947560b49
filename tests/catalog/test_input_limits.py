"""Hostile or malformed catalog files are refused on one line naming the file, quickly, never with a traceback.

The limits themselves live in accelplan.yamlio (duplicate keys, alias expansion, recursion, depth) and
accelplan.paths (size, directories, binary files); the plausible ranges in the pydantic models.
"""

import json
import time

import pytest
import yaml

from accelplan import paths, yamlio
from accelplan.catalog.loader import DATA, load_catalog, load_model_file, read_entry
from accelplan.catalog.refusal import allowed_range
from accelplan.catalog.schema import Chip
from accelplan.errors import AccelplanError, CatalogError

H100 = DATA / "chips" / "h100-sxm.yaml"


def billion_laughs(levels: int = 9) -> str:
    """The classic alias bomb: each level lists the previous one nine times (9**levels strings in all)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        name, prev = chr(97 + i), chr(96 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def one_line(exc: BaseException) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg, msg
    return msg


def test_alias_bomb_is_refused_in_well_under_a_second(tmp_path):
    text = billion_laughs()
    assert len(text.encode()) < 500  # the size of the bomb in the issue (483 bytes)
    f = tmp_path / "chips" / "bomb.yaml"
    f.parent.mkdir()
    f.write_text(text)
    start = time.process_time()
    with pytest.raises(CatalogError) as exc:
        read_entry(f, "chips")
    assert time.process_time() - start < 0.25
    assert "bomb.yaml" in one_line(exc.value) and "aliases" in str(exc.value)


def test_a_few_aliases_are_still_read():
    text = "base: &b {tp: 2, pp: 4}\nruns: [*b, *b, {<<: *b, pp: 8}]\n"
    data = yamlio.safe_load(text)
    assert data["runs"] == [{"tp": 2, "pp": 4}, {"tp": 2, "pp": 4}, {"tp": 2, "pp": 8}]


def test_a_recursive_alias_is_refused():
    with pytest.raises(yamlio.RefusedInputError, match="contains it"):
        yamlio.safe_load("a: &x [1, *x]\n")


def test_a_duplicate_key_is_refused_naming_it_and_both_lines():
    with pytest.raises(yamlio.RefusedInputError) as exc:
        yamlio.safe_load("id: x\nhbm_gb: 80\nname: y\nhbm_gb: 8\n")
    msg = one_line(exc.value)
    assert "hbm_gb" in msg and "line 4" in msg and "line 2" in msg


def test_a_merge_key_may_be_overridden_but_a_mapping_may_not_repeat_its_own_key():
    assert yamlio.safe_load("b: &b {k: 1, j: 2}\nc: {<<: *b, k: 3}\n")["c"] == {"k": 3, "j": 2}
    with pytest.raises(yamlio.RefusedInputError, match="'k'"):
        yamlio.safe_load("c: {<<: {k: 1}, k: 2, k: 3}\n")


def test_the_refusals_are_yaml_errors_and_accelplan_errors():
    # callers that catch yaml.YAMLError (sweep grids, port mappings) report them as before; the CLI prints any
    # AccelplanError on one line
    assert issubclass(yamlio.RefusedInputError, yaml.YAMLError)
    assert issubclass(yamlio.RefusedInputError, AccelplanError)


@pytest.mark.parametrize("text", [
    "[" * (yamlio.MAX_DEPTH + 1) + "]" * (yamlio.MAX_DEPTH + 1),
    "".join("  " * i + "k:\n" for i in range(yamlio.MAX_DEPTH + 1)) + "  " * (yamlio.MAX_DEPTH + 1) + "v: 1\n",
    "a: &a x\n" + "b: " + "[" * (yamlio.MAX_DEPTH + 1) + "*a" + "]" * (yamlio.MAX_DEPTH + 1),
])
def test_deep_nesting_is_refused(text):
    with pytest.raises(yamlio.RefusedInputError, match="levels deep"):
        yamlio.safe_load(text)


def test_nesting_at_the_limit_is_read():
    d = yamlio.MAX_DEPTH
    assert yamlio.safe_load("[" * d + "]" * d) is not None
    assert yamlio.load_json("[" * d + "]" * d) is not None


def test_json_refuses_duplicate_keys_and_deep_nesting():
    with pytest.raises(yamlio.RefusedInputError, match="hidden_size"):
        yamlio.load_json('{"hidden_size": 4096, "hidden_size": 8192}')
    for depth in (yamlio.MAX_DEPTH + 1, 100_000):  # the second overflows json's own recursion
        with pytest.raises(yamlio.RefusedInputError, match="levels deep"):
            yamlio.load_json("[" * depth + "]" * depth)


def test_deeply_nested_catalog_entry_is_refused(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("id: x\nname: x\nvendor: nvidia\nstatus: shipping\npeak_tflops: {}\nextra: "
                 + "{a: " * 990 + "1" + "}" * 990 + "\n")
    with pytest.raises(AccelplanError) as exc:
        read_entry(f)
    assert "x.yaml" in one_line(exc.value) and "deep" in str(exc.value)


def test_catalog_yaml_that_is_a_directory_is_refused(tmp_path):
    (tmp_path / "chips" / "x.yaml").mkdir(parents=True)
    with pytest.raises(AccelplanError) as exc:
        load_catalog([str(tmp_path)])
    assert "x.yaml" in one_line(exc.value) and "directory" in str(exc.value)


def test_binary_catalog_file_is_refused(tmp_path):
    (tmp_path / "c.yaml").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(AccelplanError) as exc:
        load_catalog([str(tmp_path)])
    assert "c.yaml" in one_line(exc.value) and "UTF-8" in str(exc.value)


def test_oversized_catalog_file_is_refused_unread(tmp_path):
    f = tmp_path / "c.yaml"
    with f.open("wb") as fh:
        fh.truncate(paths.MAX_INPUT_BYTES + 1)  # sparse: nothing is written
    start = time.process_time()
    with pytest.raises(AccelplanError) as exc:
        read_entry(f)
    assert time.process_time() - start < 0.25
    assert "c.yaml" in one_line(exc.value) and "MiB" in str(exc.value)


@pytest.mark.parametrize("make", [
    lambda p: p.mkdir(),
    lambda p: p.write_text(""),
    lambda p: p.write_bytes(b"\xff\xfe\x00garbage"),
])
@pytest.mark.parametrize("name", ["adir", "config.json", "m.yaml"])
def test_model_path_that_is_a_directory_empty_or_binary_is_refused(tmp_path, make, name):
    p = tmp_path / name
    make(p)
    with pytest.raises(AccelplanError) as exc:
        load_model_file(p)
    assert name in one_line(exc.value)


def test_duplicate_key_in_a_user_chip_names_the_file_and_key(tmp_path):
    text = H100.read_text() + "\ntdp_w: 350\n"  # h100-sxm.yaml gives tdp_w already
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(CatalogError) as exc:
        load_catalog([str(tmp_path)])
    msg = one_line(exc.value)
    assert "c.yaml" in msg and "duplicate key 'tdp_w'" in msg


@pytest.mark.parametrize("value", ["-700", "0", ".nan", ".inf", "-.inf", "70000"])
def test_implausible_board_power_is_refused_with_its_range(tmp_path, value):
    data = yaml.safe_load(H100.read_text())
    text = yaml.safe_dump({**data, "id": "my-h100", "aliases": []}).replace("tdp_w: 700", f"tdp_w: {value}")
    assert f"tdp_w: {value}\n" in text
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(CatalogError) as exc:
        load_catalog([str(tmp_path)])
    msg = one_line(exc.value)
    assert "c.yaml" in msg and "my-h100" in msg and "tdp_w" in msg
    assert str(allowed_range(Chip, ("tdp_w",))) in msg


def test_board_power_range_spans_the_issue_and_the_datasheets():
    # the issue: "board power per chip up to a few kW"; GB300 boards draw 1,400 W (NVIDIA), a 10 kW chip is a slip
    h100 = yaml.safe_load(H100.read_text())
    for watts, ok in ((1_400, True), (3_000, True), (10_000, False), (-1, False)):
        data = {**h100, "tdp_w": watts}
        if ok:
            assert Chip.model_validate(data).tdp_w == watts
        else:
            with pytest.raises(ValueError, match="tdp_w"):
                Chip.model_validate(data)


def test_hbm_in_megabytes_is_refused(tmp_path):
    # 80 GB written as 80,000 (MB): above any HBM stack announced (1 TB for Rubin Ultra)
    h100 = yaml.safe_load(H100.read_text())
    with pytest.raises(ValueError, match="hbm_gb"):
        Chip.model_validate({**h100, "hbm_gb": 80_000})


def test_unknown_field_lists_the_allowed_ones(tmp_path):
    h100 = yaml.safe_load(H100.read_text())
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({**h100, "id": "x", "aliases": [], "hbm_gib": 80}))
    with pytest.raises(CatalogError) as exc:
        load_catalog([str(tmp_path)])
    msg = one_line(exc.value)
    assert "hbm_gib" in msg and "unknown field" in msg and "hbm_gb" in msg


def test_json_model_file_with_a_duplicate_key_is_refused(tmp_path):
    p = tmp_path / "config.json"
    cfg = {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
           "vocab_size": 32000}
    p.write_text(json.dumps(cfg)[:-1] + ', "hidden_size": 8192}')
    with pytest.raises(CatalogError) as exc:
        load_model_file(p)
    assert "config.json" in one_line(exc.value) and "hidden_size" in str(exc.value)


@pytest.mark.parametrize("value", ["yes", "on", "true"])
def test_a_yaml_boolean_where_a_number_belongs_is_refused(tmp_path, value):
    # YAML 1.1 reads yes/on as true, and pydantic would read true as 1: hbm_tb_s 1 TB/s, silently
    data = yaml.safe_load(H100.read_text())
    text = yaml.safe_dump({**data, "id": "x", "aliases": []}).replace("hbm_tb_s: 3.35", f"hbm_tb_s: {value}")
    assert f"hbm_tb_s: {value}\n" in text
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(CatalogError) as exc:
        load_catalog([str(tmp_path)])
    assert "hbm_tb_s" in one_line(exc.value) and "must be a number" in str(exc.value)


@pytest.mark.parametrize("text", ["as_of: 2024-13-01", "n: 0x_", "n: !!int x", "b: !!bool maybe",
                                  "t: 2001-12-14 99:59:43"])
def test_a_scalar_yaml_cannot_convert_is_refused_with_its_line(text):
    # PyYAML's resolver takes these for a date, an int or a bool, and its constructor then raises ValueError/KeyError
    with pytest.raises(yamlio.RefusedInputError) as exc:
        yamlio.safe_load("id: x\n" + text + "\n")
    assert "line 2" in one_line(exc.value)


def test_load_file_reads_a_yaml_file_and_refuses_a_directory(tmp_path):
    f = tmp_path / "grid.yaml"
    f.write_text("chips: [h100-sxm]\n")
    assert yamlio.load_file(f, "grid file") == {"chips": ["h100-sxm"]}
    with pytest.raises(AccelplanError, match="grid file .* is a directory"):
        yamlio.load_file(tmp_path, "grid file")


@pytest.mark.parametrize("loader", [yamlio.safe_load, yamlio.load_json])
def test_a_file_of_millions_of_values_within_the_size_limit_is_refused_fast(loader):
    # 16 MiB of `1,1,1,...` is 8 million values: reading it took 87 s
    text = "[" + "1," * (paths.MAX_INPUT_BYTES // 2 - 2) + "1]"
    assert len(text) <= paths.MAX_INPUT_BYTES
    start = time.process_time()
    with pytest.raises(yamlio.RefusedInputError, match="values"):
        loader(text)
    assert time.process_time() - start < 1.0


@pytest.mark.parametrize("loader", [yamlio.safe_load, yamlio.load_json])
def test_values_just_within_the_node_limit_are_read(loader):
    n = yamlio.MAX_NODES // 2
    assert len(loader("[" + "1," * (n - 1) + "1]")) == n
