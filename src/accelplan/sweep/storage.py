"""Results on disk: a journal of finished rows beside the Parquet file, compacted into it at the end.

Each finished scenario is appended to `<out>.journal.jsonl` and flushed at once, so a killed sweep
loses only the scenarios in flight; a torn last line (the kill in mid-write) is ignored, and cut off
before the next append. Any other line that is not a row (not UTF-8, not JSON, a value of the wrong
type) is skipped with a warning naming the file and the line, so its scenario counts as not done and
is computed again. Compaction merges the journal into
`<out>` (one row per scenario id, sorted by id, so the file does not depend on the engine or the
order scenarios finished in; a later row of an id replaces an earlier one, which is how a recomputed
scenario replaces a stale row), writes it through a temporary file and then removes the journal.
The journal is flushed to the operating system, not fsync'ed: it survives a killed process, not
a power cut.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from accelplan.errors import AccelplanError
from accelplan.sweep.scenario import COLUMNS

ID = "scenario_id"
FINGERPRINT = "model_fingerprint"
INT64_RANGE = (-(2**63), 2**63 - 1)
TAIL_CHUNK_BYTES = 64 * 1024  # read backwards in steps this size to find the journal's last full line


def require_pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise AccelplanError("sweep results are Parquet files and need pyarrow: pip install 'accelplan[sweep]'") from None
    return pyarrow


class ResultStore:
    """The rows of one output file: those compacted into it and those journaled since."""

    def __init__(self, out: str | Path, on_warning: Callable[[str], None] | None = None):
        self.out = Path(out)
        self.journal = self.out.with_name(self.out.name + ".journal.jsonl")
        self.on_warning = on_warning
        self.damaged: dict[int, str] = {}  # journal line number (from 1) -> why it was skipped
        self._fh: Any = None

    # reading ---------------------------------------------------------------------------------
    def _parquet_rows(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        require_pyarrow()
        import pyarrow.parquet as pq

        try:
            return pq.read_table(self.out).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
            raise AccelplanError(f"{self.out}: not a readable Parquet file ({exc}); give another --out") from None

    def _extra_kinds(self) -> dict[str, str]:
        """Kind (string, number, bool) of each column of the Parquet file beyond COLUMNS."""
        if not self.out.exists():
            return {}
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(self.out)
        except Exception:  # not Parquet: the readers say so
            return {}
        return {f.name: k for f in schema if f.name not in COLUMNS and (k := _arrow_kind(f.type))}

    def _journal_rows(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        rows = []
        kinds = self._extra_kinds()  # an extra column keeps the kind it first had, or it cannot be stored
        lines = self.journal.read_bytes().split(b"\n")
        for n, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if n < len(lines):  # else no newline after it: the line being written when the sweep was killed
                    self._damaged(n, "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else
                                  f"is not JSON ({exc.msg} at column {exc.colno})")
                continue
            why = row_problem(row) or _extra_clash(row, kinds)
            if why:
                self._damaged(n, why)
                continue
            rows.append(row)
        return rows

    def _damaged(self, line: int, why: str) -> None:
        if line in self.damaged:
            return
        self.damaged[line] = why
        if self.on_warning:
            self.on_warning(f"{self.journal}: line {line} {why}; skipped, so its scenario is computed again")

    def rows(self) -> list[dict[str, Any]]:
        """One row per scenario id (the last written wins), sorted by id."""
        by_id = {row[ID]: row for row in [*self._parquet_rows(), *self._journal_rows()]}
        return [by_id[k] for k in sorted(by_id)]

    def index(self) -> dict[str, str | None]:
        """Scenario id -> model fingerprint of its stored row (None in files written before there was one)."""
        out: dict[str, str | None] = {}
        if self.out.exists():
            import pyarrow.parquet as pq

            names = self.result_columns()
            try:
                table = pq.read_table(self.out, columns=[c for c in (ID, FINGERPRINT) if c in names])
            except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
                raise AccelplanError(f"{self.out}: not a readable sweep result ({exc}); give another --out") from None
            fps = table.column(FINGERPRINT).to_pylist() if FINGERPRINT in table.column_names else [None] * table.num_rows
            out.update(zip(table.column(ID).to_pylist(), fps, strict=True))
        out.update((r[ID], r.get(FINGERPRINT)) for r in self._journal_rows())
        return out

    def result_columns(self) -> list[str]:
        """The columns of the Parquet file, refused in one line if it is not a sweep result (no Parquet, no id)."""
        require_pyarrow()
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(self.out).names
        except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
            raise AccelplanError(f"{self.out}: not a readable sweep result ({exc}); give another --out") from None
        if ID not in names:
            raise AccelplanError(f"{self.out}: has no {ID} column, so it is not a sweep result; give another --out")
        return names

    def done_ids(self) -> set[str]:
        return set(self.index())

    # writing ---------------------------------------------------------------------------------
    def append(self, rows: list[dict[str, Any]]) -> None:
        if self._fh is None:
            self._cut_torn_tail()
            self._fh = self.journal.open("a", encoding="utf-8")
        for row in rows:
            self._fh.write(json.dumps(row, separators=(",", ":")) + "\n")
        self._fh.flush()

    def _cut_torn_tail(self) -> None:
        """End the journal with a newline: a last line cut short by a kill is removed, a whole one is ended."""
        if not self.journal.exists():
            return
        with self.journal.open("r+b") as fh:
            end = fh.seek(0, os.SEEK_END)
            start = end
            while start > 0:  # back to just after the last newline
                step = min(TAIL_CHUNK_BYTES, start)
                fh.seek(start - step)
                chunk = fh.read(step)
                if b"\n" in chunk:
                    start = start - step + chunk.rindex(b"\n") + 1
                    break
                start -= step
            if start == end:
                return
            fh.seek(start)
            try:
                json.loads(fh.read().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                fh.truncate(start)
            else:
                fh.write(b"\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def compact(self) -> int:
        """Merge the journal into the Parquet file; returns the number of rows in it."""
        self.close()
        rows = self.rows()
        table = to_table(rows)
        import pyarrow.parquet as pq

        tmp = self.out.with_name(self.out.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.out)
        self.journal.unlink(missing_ok=True)
        return len(rows)

    def clear(self) -> None:
        """Remove the results and the journal; a file at `out` that is not a sweep result is refused, not removed."""
        if self.out.exists():
            self.result_columns()
        self.close()
        self.out.unlink(missing_ok=True)
        self.journal.unlink(missing_ok=True)


def row_problem(row: Any) -> str | None:
    """Why a journal entry is not a row a sweep writes (None if it is one): a JSON object with a string
    scenario id whose known columns hold values of their Parquet type (or null)."""
    if not isinstance(row, dict):
        return f"is not a row (a JSON {type(row).__name__}, not an object)"
    if not isinstance(row.get(ID), str):
        return f"has no {ID} string" if row.get(ID) is None else f"field {ID}: {_type_clash(row[ID], 'string')}"
    for name, kind in COLUMNS.items():
        v = row.get(name)
        if v is not None and not _is_kind(v, kind):
            return f"field {name}: {_type_clash(v, kind)}"
    for name, v in row.items():
        if name not in COLUMNS and v is not None and not isinstance(v, str | int | float):
            return f"field {name}: expected a string, number or boolean, got {type(v).__name__}"
    return None


def _scalar_kind(v: Any) -> str:
    return "bool" if isinstance(v, bool) else "string" if isinstance(v, str) else "number"


def _arrow_kind(t: Any) -> str | None:
    import pyarrow.types as pt

    if pt.is_boolean(t):
        return "bool"
    if pt.is_string(t) or pt.is_large_string(t):
        return "string"
    return "number" if pt.is_integer(t) or pt.is_floating(t) else None


def _extra_clash(row: dict[str, Any], kinds: dict[str, str]) -> str | None:
    """A column beyond COLUMNS whose value differs in kind from earlier rows (else record the kinds it sets)."""
    new = {k: _scalar_kind(v) for k, v in row.items() if k not in COLUMNS and v is not None}
    for name, kind in new.items():
        if kinds.get(name, kind) != kind:
            return f"field {name}: expected {kinds[name]} as in earlier rows, got {kind}"
    kinds.update(new)
    return None


def _is_kind(v: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    if isinstance(v, bool):  # bool is an int to Python, not to Parquet
        return False
    if kind == "int64":
        return isinstance(v, int) and INT64_RANGE[0] <= v <= INT64_RANGE[1]
    return isinstance(v, float) or (isinstance(v, int) and INT64_RANGE[0] <= v <= INT64_RANGE[1])  # float64


def _type_clash(v: Any, kind: str) -> str:
    shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:37] + "..."
    return f"expected {kind}, got {type(v).__name__} {shown}"


def to_table(rows: list[dict[str, Any]]) -> Any:
    """A pyarrow Table with the known columns typed and in order, then any others (inferred types)."""
    pa = require_pyarrow()
    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_()}
    known = pa.schema([(name, types[kind]) for name, kind in COLUMNS.items()])
    extra = sorted({k for r in rows for k in r} - set(COLUMNS))
    table = pa.Table.from_pylist([{k: r.get(k) for k in COLUMNS} for r in rows], schema=known)
    if extra:
        more = pa.Table.from_pylist([{k: r.get(k) for k in extra} for r in rows])
        for name in extra:
            table = table.append_column(more.schema.field(name), more.column(name))
    return table


def write_csv(parquet_path: str | Path, csv_path: str | Path) -> None:
    require_pyarrow()
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    pcsv.write_csv(pq.read_table(parquet_path), csv_path)
