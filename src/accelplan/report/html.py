"""A comparison as one self-contained HTML file: the table, the four plots and the notes.

plotly.js is copied into the file from the installed plotly package, so the file opens without a
network (mailed, archived, on an air-gapped machine). The comparison itself rides along as JSON in
a <script type="application/json" id="comparison"> block for anyone who wants the numbers.
"""

from __future__ import annotations

import datetime as dt
import html
import importlib.util
import json
from pathlib import Path
from typing import Any

from accelplan.errors import AccelplanError
from accelplan.paths import output_file

INSTALL_HINT = "pip install 'accelplan[web]'"


def plotly_js_path() -> Path:
    """plotly.min.js inside the installed plotly Python package (no import of plotly itself)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise AccelplanError(f"the HTML report and the web page need plotly: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise AccelplanError(f"plotly is installed but {path} is missing: reinstall it ({INSTALL_HINT})")
    return path


def _script_json(obj: Any) -> str:
    """JSON safe inside a <script> element (no '</' that could close it)."""
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 0 auto;
       max-width: 1280px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 6px; }
.meta, .caption, footer { color: #555; font-size: 12.5px; }
.notes { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 12px; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f7; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 8px 28px; }
.plot { min-height: 420px; }
"""


def render_table(tab: dict[str, Any]) -> str:
    cols = tab["columns"]
    head = "".join(f'<th class="{"num" if c["numeric"] else ""}">{html.escape(c["label"])}</th>' for c in cols)
    body = "".join("<tr>" + "".join(f'<td class="{"num" if c["numeric"] else ""}">{html.escape(r.get(c["key"], ""))}</td>'
                                    for c in cols) + "</tr>" for r in tab["rows"])
    return f'<table id="comparison-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render(comparison: Any, model: Any, notes: list[str] | None = None, catalog: Any = None) -> str:
    """The whole report as one HTML string."""
    from accelplan import __version__
    from accelplan.report.views import disclaimers, jsonable, plotly_figures, summary, table

    figs = plotly_figures(comparison, model, catalog)
    all_notes = [*comparison.notes, *(notes or []), *disclaimers(comparison)]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>accelplan: {html.escape(comparison.model)}</title>",
        f"<style>{CSS}</style>",
        f"<script>{plotly_js_path().read_text(encoding='utf-8')}</script>",
        "</head><body>",
        "<h1>accelplan comparison</h1>",
        f'<div class="meta">{html.escape(summary(comparison))}<br>generated {stamp} by accelplan {__version__}</div>',
    ]
    if all_notes:
        parts.append('<div class="notes">' + "<br>".join(html.escape(n) for n in all_notes) + "</div>")
    parts.append(render_table(table(comparison)))
    parts.append('<div class="grid">')
    for f in figs:
        parts.append(f'<section><h2>{html.escape(f["title"])}</h2><div class="plot" id="plot-{f["id"]}"></div>'
                     f'<p class="caption">{html.escape(f["caption"])}</p></section>')
    parts.append("</div>")
    parts.append(f"<footer><p>{html.escape(comparison.conventions)}. Cluster sizes are whole nodes x 2^k or 3 x 2^k. "
                 "Peaks are dense datasheet figures; efficiencies are measured GEMM rates where published, else "
                 "defaults (see <code>accelplan chip ID</code>).</p></footer>")
    parts.append(f'<script type="application/json" id="comparison">{_script_json(jsonable(comparison.model_dump(mode="json")))}'
                 "</script>")
    parts.append(f'<script type="application/json" id="figures">{_script_json(figs)}</script>')
    parts.append("""<script>
(function () {
  var figs = JSON.parse(document.getElementById("figures").textContent);
  figs.forEach(function (f) {
    Plotly.newPlot("plot-" + f.id, f.data, f.layout, {displaylogo: false, responsive: true});
  });
  document.body.setAttribute("data-plots", "rendered");
})();
</script>""")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(comparison: Any, model: Any, path: str | Path, notes: list[str] | None = None, catalog: Any = None) -> Path:
    out = output_file(path, "--html")
    out.write_text(render(comparison, model, notes, catalog), encoding="utf-8")
    return out


def render_mixed(comparison: Any, workload: Any) -> str:
    """A mixed cluster (accelplan.plan.mixed.MixedComparison) as one HTML page: verdict, parts and mix, the best
    plans' blocks, a bar plot of tokens/s (each part, their sum, the mix), assumptions and caveats."""
    from accelplan import __version__

    res = comparison.result
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    mix = " + ".join(f"{n:,} x {c}" for c, n in res.parts.items())
    title = f"{workload.model.id} on {mix}"

    def num(v: Any, digits: int = 0) -> str:
        return "-" if v is None else f"{v:,.{digits}f}"

    rows = "".join(
        f"<tr><td>{html.escape(r.cluster)}</td><td class=num>{num(r.tokens_per_s)}</td>"
        f"<td class=num>{num(r.elapsed_days, 1)}</td><td class=num>{num(r.goodput_pct, 1)}</td>"
        f"<td class=num>{'unknown' if r.cloud_cost_usd is None else '$' + num(r.cloud_cost_usd / 1e6, 1) + 'M'}</td>"
        f"<td class=num>{'unknown' if r.energy_mwh is None else num(r.energy_mwh)}</td>"
        f"<td>{html.escape(r.plan)}</td></tr>" for r in comparison.rows)
    parts_table = ("<table id=mixed-table><thead><tr><th>cluster</th><th class=num>tokens/s</th><th class=num>days"
                   "</th><th class=num>goodput %</th><th class=num>cloud $ on-demand</th><th class=num>MWh</th>"
                   f"<th>plan</th></tr></thead><tbody>{rows}</tbody></table>")
    def shape(e: Any) -> str:
        return " | ".join(f"{b.chip}: tp{b.tp}/ep{b.ep} x{b.stages}, {b.layers}L" for b in e.blocks)

    blocks = "".join(
        f"<tr><td class=num>{i}</td><td>{html.escape(shape(e))}"
        f"</td><td class=num>{e.dp}</td><td class=num>{e.micro_batch}</td><td>{e.recompute}</td>"
        f"<td class=num>{num(e.tokens_per_s)}</td><td class=num>{e.bubble_s:.2f}</td>"
        f"<td class=num>{e.boundary_s * 1e3:.1f}</td>"
        f"<td>{html.escape(' / '.join(f'{b.busy_share:.0%}' for b in e.blocks))}</td></tr>"
        for i, e in enumerate(res.top, 1))
    plans_table = ("<table id=mixed-plans><thead><tr><th class=num>#</th><th>blocks in pipeline order</th>"
                   "<th class=num>dp</th><th class=num>mb</th><th>recompute</th><th class=num>tokens/s</th>"
                   "<th class=num>bubble s</th><th class=num>cross-type ms</th><th>busy</th></tr></thead>"
                   f"<tbody>{blocks}</tbody></table>")
    names = [f"{n:,} x {c}" for c, n in res.parts.items()]
    values = [res.alone_tokens_per_s.get(c) or 0.0 for c in res.parts]
    if res.sum_of_parts_tokens_per_s:
        names.append("sum of the parts")
        values.append(res.sum_of_parts_tokens_per_s)
    if res.best:
        names.append("mixed: pipeline")
        values.append(res.best.tokens_per_s)
    if res.data_split:
        names.append("mixed: batch shares")
        values.append(res.data_split.tokens_per_s)
    fig = {"data": [{"type": "bar", "x": names, "y": values, "marker": {"color": "#4e79a7"}}],
           "layout": {"yaxis": {"title": {"text": "tokens/s"}}, "margin": {"t": 20}}}
    notes = [*(f"assumed: {a}" for a in [*res.assumptions, *comparison.notes]), *(f"caveat: {c}" for c in res.caveats)]
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>accelplan mixed cluster: {html.escape(title)}</title>", f"<style>{CSS}</style>",
        f"<script>{plotly_js_path().read_text(encoding='utf-8')}</script>", "</head><body>",
        "<h1>accelplan mixed cluster</h1>",
        f'<div class="meta">{html.escape(title)}: {workload.tokens:,.3g} tokens at {workload.seq_len:,} x '
        f"{workload.global_batch:,}, {workload.precision}<br>generated {stamp} by accelplan {__version__}</div>",
        f"<h2 id=verdict>{html.escape(res.verdict)}</h2>",
        parts_table,
        "<h2>fastest mixed plans</h2>", plans_table,
        '<h2>tokens/s: each part alone, their sum, the mix</h2><div class="plot" id="plot-mixed"></div>',
        '<div class="notes">' + "<br>".join(html.escape(n) for n in notes) + "</div>",
        f'<script type="application/json" id="comparison">{_script_json(comparison.model_dump(mode="json"))}</script>',
        f'<script type="application/json" id="figure">{_script_json(fig)}</script>',
        """<script>
(function () {
  var f = JSON.parse(document.getElementById("figure").textContent);
  Plotly.newPlot("plot-mixed", f.data, f.layout, {displaylogo: false, responsive: true});
  document.body.setAttribute("data-plots", "rendered");
})();
</script>""",
        "</body></html>",
    ]
    return "\n".join(parts)
