"""The result store: journal lines survive a kill, compaction dedupes and sorts, columns keep their types."""

import json
import math

import pytest

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

from accelplan.sweep.scenario import COLUMNS  # noqa: E402
from accelplan.sweep.storage import ResultStore  # noqa: E402


def row(i, **kw):
    return {"scenario_id": f"{i:016x}", "model": "m", "feasible": i % 2 == 0, "mfu": i / 10, **kw}


def test_torn_last_line_is_ignored_and_the_next_append_starts_a_new_line(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    store.append([row(1), row(2)])
    store.close()
    with store.journal.open("a") as fh:
        fh.write('{"scenario_id": "00000000000000')  # a kill in the middle of a write
    assert store.done_ids() == {row(1)["scenario_id"], row(2)["scenario_id"]}
    store.append([row(3)])
    store.close()
    assert len(store.done_ids()) == 3
    assert store.damaged == {}  # the torn line was cut off, not left in the middle to be warned about
    assert store.journal.read_bytes().count(b"\n") == 3


def test_a_whole_last_line_without_its_newline_is_kept_by_the_next_append(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    store.journal.write_text(json.dumps(row(1)))  # the kill came between the row and its newline
    store.append([row(2)])
    store.close()
    assert store.done_ids() == {row(1)["scenario_id"], row(2)["scenario_id"]} and store.damaged == {}


def test_damaged_journal_lines_are_skipped_and_named_and_the_rest_compacts(tmp_path):
    warnings = []
    store = ResultStore(tmp_path / "r.parquet", on_warning=warnings.append)
    good = [json.dumps(row(i)).encode() for i in range(1, 4)]
    lines = [good[0],
             b'{"scenario_id": "00000000000000aa", "model": "m\xff\xfe"}',  # line 2: not UTF-8
             json.dumps(row(10, chips="many")).encode(),  # 3: a string in an int64 column
             json.dumps(row(11, feasible=1)).encode(),  # 4: a number in a bool column
             json.dumps({**row(12), "scenario_id": 12}).encode(),  # 5: the id is not a string
             b"[1, 2, 3]",  # 6: not an object
             good[1],
             b'{"scenario_id": "00000000000000bb", "mfu": 0.5',  # 8: cut short, yet a line follows: damage
             json.dumps(row(13, tp=2.5)).encode(),  # 9: a fraction in an int64 column (Parquet would truncate it)
             json.dumps(row(14, chips=2**63)).encode(),  # 10: past int64
             good[2]]
    store.journal.write_bytes(b"\n".join(lines) + b"\n")
    assert store.done_ids() == {row(i)["scenario_id"] for i in (1, 2, 3)}
    assert sorted(store.damaged) == [2, 3, 4, 5, 6, 8, 9, 10]
    assert "not UTF-8" in store.damaged[2] and "chips" in store.damaged[3] and "feasible" in store.damaged[4]
    assert "scenario_id" in store.damaged[5] and "tp" in store.damaged[9] and "chips" in store.damaged[10]
    assert len(warnings) == 8 and all(w.startswith(f"{store.journal}: line ") for w in warnings)
    assert warnings[0].startswith(f"{store.journal}: line 2 is not UTF-8") and "\n" not in "".join(warnings)
    assert store.compact() == 3  # the skipped lines do not stop compaction, and are not warned about twice
    assert len(warnings) == 8
    assert pq.read_table(store.out).column("scenario_id").to_pylist() == [row(i)["scenario_id"] for i in (1, 2, 3)]


def test_an_extra_column_that_changes_kind_is_damage_not_a_crash(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    store.append([row(1, price_scenario="high"), row(2, price_scenario=3.0), row(3)])
    assert store.done_ids() == {row(1)["scenario_id"], row(3)["scenario_id"]} and list(store.damaged) == [2]
    assert store.compact() == 2


def test_compaction_merges_dedupes_sorts_and_removes_the_journal(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    store.append([row(5), row(3)])
    assert store.compact() == 2
    assert not store.journal.exists()
    store.append([row(4), row(3, mfu=0.99)])  # 3 again, recomputed: the later row replaces the stored one
    assert store.compact() == 3
    t = pq.read_table(store.out)
    assert t.column("scenario_id").to_pylist() == [row(i)["scenario_id"] for i in (3, 4, 5)]
    assert t.column("mfu").to_pylist() == pytest.approx([0.99, 0.4, 0.5])


def test_known_columns_keep_their_types_even_when_all_null_and_extra_columns_are_kept(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    store.append([row(1, price_scenario="high", tokens_per_s=math.inf)])
    store.compact()
    t = pq.read_table(store.out)
    assert t.column_names == [*COLUMNS, "price_scenario"]
    assert t.schema.field("chips").type == pa.int64() and t.schema.field("days").type == pa.float64()
    assert t.column("price_scenario").to_pylist() == ["high"]
    assert t.column("tokens_per_s").to_pylist() == [math.inf]


def test_index_maps_ids_to_fingerprints_from_file_and_journal(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    store.append([row(1, model_fingerprint="aaa")])
    store.compact()
    store.append([row(2, model_fingerprint="bbb")])
    assert store.index() == {row(1)["scenario_id"]: "aaa", row(2)["scenario_id"]: "bbb"}


def test_a_parquet_file_that_is_not_a_sweep_result_is_refused(tmp_path):
    from accelplan.errors import AccelplanError

    out = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), out)
    with pytest.raises(AccelplanError, match="no scenario_id column"):
        ResultStore(out).index()


def test_clear_removes_results_and_journal(tmp_path):
    store = ResultStore(tmp_path / "r.parquet")
    store.append([row(1)])
    store.compact()
    store.append([row(2)])
    store.clear()
    assert store.done_ids() == set()


def test_clear_refuses_to_remove_a_file_that_is_not_a_sweep_result(tmp_path):
    from accelplan.errors import AccelplanError

    notes = tmp_path / "notes.txt"
    notes.write_text("the user's own file, given as --out by mistake\n")
    with pytest.raises(AccelplanError, match="not a readable sweep result"):
        ResultStore(notes).clear()
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1, 2]}), other)
    with pytest.raises(AccelplanError, match="no scenario_id column"):
        ResultStore(other).clear()
    assert notes.exists() and other.exists()
