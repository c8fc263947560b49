"""`accelplan port-audit PATH`: the CUDA lock-in audit as a command. Only typer loads at import."""

from __future__ import annotations

import sys

import typer

TARGET_CHOICES = ("npu", "rocm", "xla", "all")


def register(app: typer.Typer) -> None:
    app.command("port-audit")(port_audit)


def port_audit(
    path: str = typer.Argument(..., help="Folder (or one file) to audit. Files are read, never imported or run."),
    target: str = typer.Option("all", "--target", "-t", help="npu (Ascend, torch_npu) | rocm | xla (TPU) | all"),
    json_out: bool = typer.Option(False, "--json", help="Print the audit as one JSON object."),
    html_file: str | None = typer.Option(None, "--html", help="Also write a self-contained HTML report to this file."),
    include_vendored: bool = typer.Option(False, "--include-vendored",
                                          help="Also read virtualenvs, hidden, build and vendored folders."),
    max_file_bytes: int = typer.Option(None, "--max-file-bytes", min=1,
                                       help="Larger files are reported and not read [default: 4 MiB]."),
) -> None:
    """Audit PyTorch code for CUDA lock-in: what porting to Ascend, ROCm or TPU takes, line by line."""
    from accelplan.errors import AccelplanError
    from accelplan.paths import output_file
    from accelplan.port.mappings import TARGETS
    from accelplan.port.report import audit, to_dict, to_html
    from accelplan.port.scanner import DEFAULT_MAX_FILE_BYTES

    t = target.lower()
    if t not in TARGET_CHOICES:
        raise AccelplanError(f"--target '{target}' is not one of: {', '.join(TARGET_CHOICES)}")
    targets = TARGETS if t == "all" else (t,)
    html_path = None if html_file is None else output_file(html_file, "--html")  # refused before the work

    result = audit(path, targets, include_vendored=include_vendored,
                   max_file_bytes=max_file_bytes or DEFAULT_MAX_FILE_BYTES)
    if html_path is not None:
        try:
            html_path.write_text(to_html(result), encoding="utf-8")
        except OSError as exc:
            raise AccelplanError(f"--html '{html_file}': cannot write: {exc.strerror or exc}") from None
    if json_out:
        import json

        sys.stdout.write(json.dumps(to_dict(result), indent=2) + "\n")
        return
    _print(result)
    if html_file is not None:
        sys.stdout.write(f"HTML report written to {html_file}\n")


def _print(result) -> None:  # noqa: ANN001
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from accelplan.port.mappings import CLASSES
    from accelplan.port.report import format_days

    con = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 180, highlight=False)
    scan, targets = result.scan, result.targets
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(scan.files_by_kind.items()))
    con.print(f"[bold]CUDA lock-in audit[/bold] of {escape(scan.root)}: {scan.files_scanned:,} files ({kinds}), "
              f"{scan.lines_scanned:,} lines; [bold]{len(scan.findings):,} findings[/bold]; "
              f"{len(scan.not_scanned)} files not scanned; {len(scan.errors)} read with a caveat; "
              f"{len(scan.skipped)} paths skipped")
    t = Table(title="summary per target", caption="classes: research section E.7; engineer-days: the E.10 heuristic")
    t.add_column("")
    for tg in targets:
        t.add_column(result.summaries[tg].name, justify="right")
    t.add_row("files touched", *(f"{result.summaries[tg].files_touched:,}" for tg in targets))
    for c in CLASSES:
        counts = [result.summaries[tg].by_class[c] for tg in targets]
        if any(counts):
            t.add_row(f"findings: {c}", *(f"{n:,}" for n in counts))
    t.add_row("engineer-days", *(format_days(result.summaries[tg].effort_days) for tg in targets))
    t.add_row("blockers", *(", ".join(result.summaries[tg].blockers) or "none" for tg in targets))
    con.print(t)
    if scan.not_scanned:
        con.print(f"[bold]{len(scan.not_scanned)} files not scanned[/bold] (listed at the end): every figure here "
                  "leaves them out")
    for tg in targets:
        s = result.summaries[tg]
        rt = Table(title=f"{s.name}: what each idiom becomes")
        for col in ("idiom", "class", "equivalent", "findings", "files", "days"):
            rt.add_column(col, justify="right" if col in ("findings", "files", "days") else "left",
                          overflow="fold", max_width=70 if col == "equivalent" else 50 if col == "idiom" else None)
        for r in s.rows:
            rt.add_row(escape(r.idiom), r.effort_class, escape(r.equivalent), f"{r.findings:,}", f"{r.files:,}",
                       format_days(r.effort_days))
        con.print(rt)
        rest = f": {', '.join(s.not_covered_rows)}" if s.not_covered_rows else ""
        if s.auto_covered:
            con.print(f"automatic migration: {escape(s.auto_migration)}\n  covers {s.auto_covered:,} findings; "
                      f"{s.auto_not_covered:,} need more{rest}")
        else:
            con.print(f"automatic migration: {escape(s.auto_migration)}\n  {s.by_class['none']:,} findings run "
                      f"unchanged; {s.auto_not_covered:,} need work{rest}")
        for limit in s.limits:
            con.print(f"  [dim]limit: {escape(limit)}[/dim]")
    out = sys.stdout
    out.write("\nfindings (file:line [row] classes  code)\n")
    m = result.mapping
    for f in scan.findings:
        row = m.row(f.row)
        classes = " ".join(f"{tg}:{row.targets[tg].effort_class}" for tg in targets)
        out.write(f"{f.path}:{f.line} [{f.row}] {classes}  {f.code}\n")
    for p in scan.not_scanned:
        out.write(f"not scanned: {p.path}: {p.reason}\n")
    for p in scan.errors:
        out.write(f"read with a caveat: {p.path}: {p.reason}\n")
    for p in scan.skipped:
        out.write(f"skipped: {p.path}: {p.reason}\n")
