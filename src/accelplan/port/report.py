"""Turn scan findings into the audit: each finding with its equivalent and class per target, a summary
per target (findings by class, files touched, what the automatic migration covers, E.10 effort), and
the JSON and self-contained HTML forms of it. The CLI's table is drawn from the same data.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelplan.port.mappings import CLASSES, TARGETS, Mapping, load_mapping
from accelplan.port.scanner import DEFAULT_MAX_FILE_BYTES, ScanResult, scan_tree

# /2: files with a syntax error (or too nested or too big to parse) moved from `errors` to `not_scanned`
SCHEMA = "accelplan.port-audit/2"
AUTO_CLASS = "auto"


@dataclass
class RowSummary:
    row: str
    idiom: str
    category: str
    effort_class: str
    equivalent: str
    findings: int
    files: int
    units: int  # API families count once; kernel rows count their kernels (at least one)
    effort_days: tuple[float, float] | None  # None: blocker


@dataclass
class TargetSummary:
    target: str
    name: str
    findings: int
    files_touched: int  # files with a finding that needs any change on this target (class not `none`)
    by_class: dict[str, int]
    rows: list[RowSummary]
    effort_days: tuple[float, float]
    blockers: list[str]
    auto_migration: str
    auto_covered: int  # findings transfer_to_npu rewrites at run time (class `auto`)
    auto_not_covered: int  # findings that need a hand edit or more (neither `none` nor `auto`)
    not_covered_rows: list[str]
    limits: list[str]


@dataclass
class Audit:
    scan: ScanResult
    mapping: Mapping
    targets: tuple[str, ...]
    summaries: dict[str, TargetSummary] = field(default_factory=dict)


def audit(path: str | Path, targets: tuple[str, ...] = TARGETS, *, include_vendored: bool = False,
          max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, mapping: Mapping | None = None) -> Audit:
    """Scan PATH and summarise it for each target. Reads files only; runs and imports none of them."""
    mapping = mapping or load_mapping()
    scan = scan_tree(path, include_vendored=include_vendored, max_file_bytes=max_file_bytes, mapping=mapping)
    result = Audit(scan=scan, mapping=mapping, targets=tuple(targets))
    for t in targets:
        result.summaries[t] = summarize(scan, mapping, t)
    return result


def summarize(scan: ScanResult, mapping: Mapping, target: str) -> TargetSummary:
    by_class = dict.fromkeys(CLASSES, 0)
    touched: set[str] = set()
    per_row: dict[str, list[Any]] = {}  # row -> [findings, files, kernels]
    for f in scan.findings:
        row = mapping.row(f.row)
        cls = row.targets[target].effort_class
        by_class[cls] += 1
        if cls != "none":
            touched.add(f.path)
        acc = per_row.setdefault(f.row, [0, set(), 0])
        acc[0] += 1
        acc[1].add(f.path)
        acc[2] += f.kernel
    rows: list[RowSummary] = []
    low = high = 0.0
    blockers = []
    for row_id, (n, files, kernels) in per_row.items():
        row = mapping.row(row_id)
        tm = row.targets[target]
        units = max(1, kernels) if row.unit == "kernel" else 1
        per_unit = mapping.days(row, target)
        days = None if per_unit is None else (per_unit[0] * units, per_unit[1] * units)
        if days is None:
            blockers.append(row_id)
        else:
            low, high = low + days[0], high + days[1]
        rows.append(RowSummary(row_id, row.idiom, row.category, tm.effort_class, tm.equivalent, n, len(files), units, days))
    order = {c: i for i, c in enumerate(CLASSES)}
    rows.sort(key=lambda r: (-order[r.effort_class], -r.findings, r.row))
    info = mapping.targets[target]
    covered = by_class[AUTO_CLASS]
    not_covered = sum(n for c, n in by_class.items() if c not in ("none", AUTO_CLASS))
    return TargetSummary(
        target=target, name=info.name, findings=len(scan.findings), files_touched=len(touched), by_class=by_class,
        rows=rows, effort_days=(low, high), blockers=sorted(blockers), auto_migration=info.auto_migration,
        auto_covered=covered, auto_not_covered=not_covered,
        not_covered_rows=[r.row for r in rows if r.effort_class not in ("none", AUTO_CLASS)], limits=info.auto_limits)


# ------------------------------------------------------------------------------------------- JSON
def to_dict(a: Audit) -> dict[str, Any]:
    """The audit as one JSON-ready object (schema accelplan.port-audit/2)."""
    m = a.mapping
    findings = []
    for f in a.scan.findings:
        row = m.row(f.row)
        findings.append({
            "path": f.path, "line": f.line, "col": f.col, "code": f.code, "row": f.row, "category": row.category,
            "idiom": row.idiom, "section": row.section, "detail": f.detail, "kernel": f.kernel,
            "targets": {t: {"equivalent": row.targets[t].equivalent, "class": row.targets[t].effort_class,
                            "has_equivalent": row.targets[t].has_equivalent} for t in a.targets},
        })
    return {
        "schema": SCHEMA,
        "root": a.scan.root,
        "targets": list(a.targets),
        "source": {"document": m.source_document, "section": m.source_section},
        "files_scanned": a.scan.files_scanned,
        "lines_scanned": a.scan.lines_scanned,
        "files_by_kind": a.scan.files_by_kind,
        "findings": findings,
        "summary": {t: _summary_dict(s) for t, s in a.summaries.items()},
        "skipped": [{"path": p.path, "reason": p.reason} for p in a.scan.skipped],
        "not_scanned": [{"path": p.path, "reason": p.reason} for p in a.scan.not_scanned],
        "errors": [{"path": p.path, "reason": p.reason} for p in a.scan.errors],
    }


def _summary_dict(s: TargetSummary) -> dict[str, Any]:
    return {
        "name": s.name,
        "findings": s.findings,
        "files_touched": s.files_touched,
        "by_class": s.by_class,
        "effort_days": {"low": s.effort_days[0], "high": s.effort_days[1],
                        "method": "E.10 heuristic: engineer-days per API family or per kernel; blockers excluded"},
        "blockers": s.blockers,
        "automatic_migration": {"tool": s.auto_migration, "covered": s.auto_covered, "not_covered": s.auto_not_covered,
                                "not_covered_rows": s.not_covered_rows, "limits": s.limits},
        "rows": [{"row": r.row, "idiom": r.idiom, "category": r.category, "class": r.effort_class,
                  "equivalent": r.equivalent, "findings": r.findings, "files": r.files, "units": r.units,
                  "effort_days": None if r.effort_days is None else {"low": r.effort_days[0], "high": r.effort_days[1]}}
                 for r in s.rows],
    }


# ------------------------------------------------------------------------------------------- HTML
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d232a;max-width:1400px}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}th,td{border:1px solid #d5d9e0;padding:.25rem .45rem;
text-align:left;vertical-align:top}th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px/1.35 ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre-wrap;word-break:break-all}
.c-none,.c-auto,.c-drop{color:#2c7a3f}.c-check,.c-replace,.c-rebuild{color:#8a6100}.c-risk,.c-partial{color:#b54708}
.c-rewrite,.c-blocker{color:#b42318;font-weight:600}.muted{color:#5b6572}ul{margin:.3rem 0}
"""


def _e(v: object) -> str:
    return html.escape(str(v), quote=True)


def format_days(d: tuple[float, float] | None) -> str:
    if d is None:
        return "blocker"
    return f"{d[0]:g}" if d[0] == d[1] else f"{d[0]:g}-{d[1]:g}"


def to_html(a: Audit) -> str:
    """One self-contained page: inline CSS, no scripts, no external assets; every value escaped."""
    m, scan = a.mapping, a.scan
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>CUDA lock-in audit: {_e(scan.root)}</title>", f"<style>{_CSS}</style></head><body>",
           f"<h1>CUDA lock-in audit: <code>{_e(scan.root)}</code></h1>",
           f'<p>{scan.files_scanned:,} files, {scan.lines_scanned:,} lines; {len(scan.findings):,} findings; '
           f'<b>{len(scan.not_scanned)} files not scanned</b> (left out of every figure); '
           f'{len(scan.errors)} read with a caveat; {len(scan.skipped)} paths skipped. '
           f'<span class="muted">Mappings and effort classes: {_e(m.source_document)}, section '
           f'{_e(m.source_section)} (E.7 idiom table, E.6 library matrix, E.10 effort heuristic).</span></p>']
    out.append("<h2>Summary per target</h2><table><tr><th></th>"
               + "".join(f"<th>{_e(a.summaries[t].name)}</th>" for t in a.targets) + "</tr>")

    def line(label: str, cells: list[str]) -> None:
        out.append(f"<tr><th>{_e(label)}</th>" + "".join(f'<td class="n">{c}</td>' for c in cells) + "</tr>")

    line("files touched", [f"{a.summaries[t].files_touched:,}" for t in a.targets])
    for c in CLASSES:
        line(f"findings: {c}", [f"{a.summaries[t].by_class[c]:,}" for t in a.targets])
    line("effort, engineer-days (E.10)", [_e(format_days(a.summaries[t].effort_days)) for t in a.targets])
    line("blockers", [_e(", ".join(a.summaries[t].blockers) or "none") for t in a.targets])
    out.append("</table>")
    for t in a.targets:
        s = a.summaries[t]
        out.append(f"<h2>{_e(s.name)}</h2><p><b>Automatic migration:</b> {_e(s.auto_migration)}. "
                   f"Covers {s.auto_covered:,} findings; {s.auto_not_covered:,} need more than that"
                   + (f" ({_e(', '.join(s.not_covered_rows))})" if s.not_covered_rows else "") + ".</p>")
        out.append("<p>Limits:</p><ul>" + "".join(f"<li>{_e(x)}</li>" for x in s.limits) + "</ul>")
        out.append("<table><tr><th>idiom</th><th>class</th><th>equivalent</th><th>findings</th><th>files</th>"
                   "<th>units</th><th>engineer-days</th></tr>")
        for r in s.rows:
            out.append(f'<tr><td>{_e(r.idiom)}</td><td class="c-{_e(r.effort_class)}">{_e(r.effort_class)}</td>'
                       f'<td>{_e(r.equivalent)}</td><td class="n">{r.findings:,}</td><td class="n">{r.files:,}</td>'
                       f'<td class="n">{r.units:,}</td><td class="n">{_e(format_days(r.effort_days))}</td></tr>')
        out.append("</table>")
    out.append("<h2>Findings</h2><table><tr><th>file:line</th><th>category</th><th>code</th>"
               + "".join(f"<th>{_e(t)}</th>" for t in a.targets) + "</tr>")
    for f in scan.findings:
        row = m.row(f.row)
        cells = "".join(f'<td><span class="c-{_e(row.targets[t].effort_class)}">{_e(row.targets[t].effort_class)}'
                        f"</span>: {_e(row.targets[t].equivalent)}</td>" for t in a.targets)
        out.append(f"<tr><td><code>{_e(f.path)}:{f.line}</code></td><td>{_e(row.category)}<br>"
                   f'<span class="muted">{_e(f.row)}</span></td><td><code>{_e(f.code)}</code></td>{cells}</tr>')
    out.append("</table>")
    for title, problems in (("Not scanned", scan.not_scanned), ("Read with a caveat", scan.errors),
                            ("Skipped", scan.skipped)):
        if problems:
            out.append(f"<h2>{title}</h2><table><tr><th>path</th><th>reason</th></tr>")
            for p in problems:
                out.append(f"<tr><td><code>{_e(p.path)}</code></td><td>{_e(p.reason)}</td></tr>")
            out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)
