"""Results on disk: a journal of finished rows beside the Parquet file, compacted into it at the end.

Each finished scenario is appended to `<out>.journal.jsonl` and flushed at once, so a killed sweep
loses only the scenarios in flight; a torn last line is ignored. Compaction merges the journal into
`<out>` (one row per scenario id, sorted by id, so the file does not depend on the engine or the
order scenarios finished in; a later row of an id replaces an earlier one, which is how a recomputed
scenario replaces a stale row), writes it through a temporary file and then removes the journal.
The journal is flushed to the operating system, not fsync'ed: it survives a killed process, not
a power cut.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from accelplan.errors import AccelplanError
from accelplan.sweep.scenario import COLUMNS

ID = "scenario_id"
FINGERPRINT = "model_fingerprint"


def require_pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise AccelplanError("sweep results are Parquet files and need pyarrow: pip install 'accelplan[sweep]'") from None
    return pyarrow


class ResultStore:
    """The rows of one output file: those compacted into it and those journaled since."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.journal = self.out.with_name(self.out.name + ".journal.jsonl")
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
            raise AccelplanError(f"{self.out}: not a readable Parquet file ({exc}); give another --out or --fresh") from None

    def _journal_rows(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        rows = []
        with self.journal.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the line being written when the sweep was killed
                if isinstance(row, dict) and ID in row:
                    rows.append(row)
        return rows

    def rows(self) -> list[dict[str, Any]]:
        """One row per scenario id (the last written wins), sorted by id."""
        by_id = {row[ID]: row for row in [*self._parquet_rows(), *self._journal_rows()]}
        return [by_id[k] for k in sorted(by_id)]

    def index(self) -> dict[str, str | None]:
        """Scenario id -> model fingerprint of its stored row (None in files written before there was one)."""
        out: dict[str, str | None] = {}
        if self.out.exists():
            require_pyarrow()
            import pyarrow.parquet as pq

            try:
                names = pq.read_schema(self.out).names
                table = pq.read_table(self.out, columns=[c for c in (ID, FINGERPRINT) if c in names])
            except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
                raise AccelplanError(f"{self.out}: not a readable sweep result ({exc}); give another --out or --fresh") from None
            if ID not in table.column_names:
                raise AccelplanError(f"{self.out}: has no {ID} column, so it is not a sweep result; give another --out")
            fps = table.column(FINGERPRINT).to_pylist() if FINGERPRINT in table.column_names else [None] * table.num_rows
            out.update(zip(table.column(ID).to_pylist(), fps, strict=True))
        out.update((r[ID], r.get(FINGERPRINT)) for r in self._journal_rows())
        return out

    def done_ids(self) -> set[str]:
        return set(self.index())

    # writing ---------------------------------------------------------------------------------
    def append(self, rows: list[dict[str, Any]]) -> None:
        if self._fh is None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            torn = self.journal.exists() and self.journal.stat().st_size > 0 and not self.journal.read_bytes().endswith(b"\n")
            self._fh = self.journal.open("a", encoding="utf-8")
            if torn:  # start on a fresh line after a line cut short by a kill
                self._fh.write("\n")
        for row in rows:
            self._fh.write(json.dumps(row, separators=(",", ":")) + "\n")
        self._fh.flush()

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
        self.close()
        self.out.unlink(missing_ok=True)
        self.journal.unlink(missing_ok=True)


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
