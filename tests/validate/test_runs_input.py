"""A bad runs file is refused on one line naming the file, the run and the field, with the allowed values; `accelplan
validate` exits 2 on it without a traceback."""

import copy
import sys
from pathlib import Path

import pytest
import yaml

from accelplan import cli
from accelplan.errors import AccelplanError, CatalogError
from accelplan.validate.runs import load_runs

SHIPPED = Path(cli.__file__).parent / "validate" / "data" / "runs.yaml"


@pytest.fixture(scope="module")
def run() -> dict:
    """The first shipped run (Megatron-LM 2021, 1.7B on 32 A100): a valid entry to spoil one field of."""
    return yaml.safe_load(SHIPPED.read_text())[0]


def _write(tmp_path: Path, entry: dict) -> Path:
    p = tmp_path / "runs.yaml"
    p.write_text(yaml.safe_dump([entry]))
    return p


def _refusal(path: Path) -> str:
    with pytest.raises(AccelplanError) as exc:
        load_runs(path)
    msg = str(exc.value)
    assert "\n" not in msg and path.name in msg, msg
    return msg


def test_the_valid_entry_loads(tmp_path, run):
    assert load_runs(_write(tmp_path, run))[0].chips == 32


@pytest.mark.parametrize(("section", "key", "value"), [
    ("measured", "tokens_per_s", -297213.9), ("measured", "tokens_per_s", 0), ("measured", "tokens_per_s", float("nan")),
    ("measured", "tokens_per_s", float("inf")), ("model", "layers", -24), ("model", "hidden", 0),
    ("model", "seq_len", float("inf")), ("plan", "tp", 0), ("plan", "global_batch", -512), (None, "chips", 0),
])
def test_a_negative_zero_or_infinite_figure_is_refused_naming_run_and_field(tmp_path, run, section, key, value):
    entry = copy.deepcopy(run)
    (entry[section] if section else entry)[key] = value
    msg = _refusal(_write(tmp_path, entry))
    assert run["id"] in msg and key in msg and "allowed" in msg


def test_mfu_written_as_a_percent_is_refused_with_the_fraction_it_meant(tmp_path, run):
    entry = copy.deepcopy(run)
    entry["measured"] = {"mfu": 38, "mfu_convention": "6N"}
    msg = _refusal(_write(tmp_path, entry))
    assert "measured.mfu" in msg and "0.38" in msg and "percent" in msg


def test_a_duplicate_key_is_refused(tmp_path, run):
    p = tmp_path / "runs.yaml"
    p.write_text(yaml.safe_dump([run]).replace("  chips: 32\n", "  chips: 32\n  chips: 64\n"))
    assert "duplicate key 'chips'" in _refusal(p)


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: p.write_bytes(bytes(range(256))),
                                  lambda p: p.write_text("")])
def test_a_directory_binary_or_empty_runs_file_is_refused(tmp_path, make):
    p = tmp_path / "runs.yaml"
    make(p)
    _refusal(p)


def test_a_top_level_mapping_is_refused(tmp_path, run):
    p = tmp_path / "runs.yaml"
    p.write_text(yaml.safe_dump(run))
    with pytest.raises(CatalogError, match="list of runs"):
        load_runs(p)


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))])
def test_validate_command_exits_2_with_one_line(tmp_path, monkeypatch, capsys, make):
    p = tmp_path / "runs.yaml"
    make(p)
    monkeypatch.setattr(sys, "argv", ["accelplan", "validate", str(p)])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "runs.yaml" in err


def test_a_run_of_the_other_kind_names_the_command_that_reads_it(tmp_path, run):
    # a mixed-cluster run (a `devices` list, no `chip`) fed to plain validate, and a one-chip run fed to --mixed
    from accelplan.validate.mixed import load_mixed_runs

    mixed = {k: v for k, v in run.items() if k not in ("chip", "chips")}
    mixed["devices"] = [{"chip": run["chip"], "count": run["chips"]}]
    msg = _refusal(_write(tmp_path, mixed))
    assert "field 'chip'" in msg and "validate --mixed" in msg
    with pytest.raises(CatalogError) as err:
        load_mixed_runs(_write(tmp_path, run))
    assert "field 'devices'" in str(err.value) and "without --mixed" in str(err.value)


def test_a_run_may_say_its_embedding_is_tied(tmp_path, run):
    """`model.tied_embeddings` (accelplan's addition to the format) reaches the step model; the shipped runs leave it
    out, which reads as untied."""
    from accelplan.validate.runs import run_model

    assert run_model(load_runs(_write(tmp_path, run))[0]).tied_embeddings is False
    tied = copy.deepcopy(run)
    tied["model"]["tied_embeddings"] = True
    assert run_model(load_runs(_write(tmp_path, tied))[0]).tied_embeddings is True
    tied["model"]["tied_embeddings"] = "sometimes"
    assert "tied_embeddings" in _refusal(_write(tmp_path, tied))


def test_a_parallel_block_comes_from_the_run_or_from_its_preset_of_the_same_shape(tmp_path, catalog):
    """`model.parallel_block` (accelplan's addition): stated, it holds; left out, a run naming a catalog model of its
    own shape gets that model's block (PaLM's is parallel, sec. 2 of the paper), any other run a sequential one."""
    from accelplan.validate.runs import run_model

    palm = catalog.models["palm-540b"]
    assert palm.parallel_block
    entry = {"id": "palm_like", "source": "test", "source_group": "test", "chip": "tpu-v4", "chips": 6144,
             "model": {"preset": "palm-540b", "layers": palm.layers, "hidden": palm.hidden, "heads": palm.heads,
                       "kv_heads": palm.kv_heads, "head_dim": palm.head_dim, "ffn_hidden": palm.ffn_hidden,
                       "gated_mlp": True, "vocab": palm.vocab, "seq_len": 2048},
             "plan": {"tp": 12}, "measured": {"tokens_per_s": 1.0}}

    def block(e: dict) -> bool:
        return run_model(load_runs(_write(tmp_path, e))[0], catalog).parallel_block

    assert block(entry) is True
    assert run_model(load_runs(_write(tmp_path, entry))[0]).parallel_block is False  # no catalog to ask
    stated = copy.deepcopy(entry)
    stated["model"]["parallel_block"] = False
    assert block(stated) is False
    other_shape = copy.deepcopy(entry)
    other_shape["model"]["layers"] = palm.layers // 2  # a different model that borrowed the name
    assert block(other_shape) is False
    unnamed = copy.deepcopy(entry)
    unnamed["model"]["preset"] = None
    unnamed["model"]["parallel_block"] = True
    assert block(unnamed) is True
    unnamed["model"]["parallel_block"] = "sometimes"
    assert "parallel_block" in _refusal(_write(tmp_path, unnamed))
