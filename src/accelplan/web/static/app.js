// The comparison page. Its whole state lives in the URL query, so a copied link reproduces the
// comparison in any browser; the server keeps nothing between requests.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  // URL key -> form field; "chips" and "hf" are handled apart
  const URL_FIELDS = { model: "model", tokens: "tokens", days: "days", n: "n_chips", region: "region",
                       seq: "seq_len", gbs: "global_batch", prec: "precision", price: "prices", fw: "framework",
                       power: "board_power_w" };
  const FIELDS = ["workload", "model", "hf_config", "tokens", "days", "n_chips", "region", "seq_len", "global_batch",
                  "precision", "framework", "chips", "prices", "board_power_w", "available_only"];
  let options = null;

  function radio(name) { return document.querySelector(`input[name="${name}"]:checked`).value; }
  function setRadio(name, value) {
    const el = document.querySelector(`input[name="${name}"][value="${value}"]`);
    if (el) el.checked = true;
  }
  function checkedChips() {
    return Array.from(document.querySelectorAll("#chip-list input:checked")).map((el) => el.value);
  }
  function setChips(ids) {
    document.querySelectorAll("#chip-list input").forEach((el) => { el.checked = ids.includes(el.value); });
    updateChipCount();
  }
  function updateChipCount() {
    $("chips-count").textContent = `(${checkedChips().length} picked, up to ${options.limits.max_chips})`;
  }
  function syncSource() {
    const hf = radio("source") === "hf";
    $("field-model").hidden = hf;
    $("field-hf_config").hidden = !hf;
  }
  // the fields of one phase; editing one of them asks for a single phase instead of a programme
  const SINGLE_PHASE = ["model", "hf_config", "tokens", "seq_len", "global_batch"];
  function syncWorkload() {
    const w = options.workloads.find((x) => x.id === $("workload").value);
    $("workload-hint").textContent = w ? `${w.model}: ${w.phases.join(" -> ")}, each phase on its own best plan` +
      (w.illustrative ? " (illustrative)" : "") : "the model, tokens, sequence length and batch below";
    $("single-phase").classList.toggle("unused", !!w);
    ["tokens", "seq_len", "global_batch"].forEach((f) => $(f).closest(".field").classList.toggle("unused", !!w));
  }
  function singlePhase() {
    if ($("workload").value !== "") { $("workload").value = ""; syncWorkload(); }
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function buildForm(o) {
    o.workloads.forEach((w) => $("workload").append(el("option", { value: w.id },
      `${w.id} (${w.model}, ${w.phases.length} phases${w.illustrative ? ", illustrative" : ""})`)));
    $("workload").append(el("option", { value: "" }, "single phase"));
    o.models.forEach((m) => $("model").append(el("option", { value: m.id },
      m.id + (m.illustrative ? " (illustrative)" : ""))));
    o.precisions.forEach((p) => $("precision").append(el("option", { value: p }, p)));
    $("framework").append(el("option", { value: "" }, "each chip's default"));
    o.stacks.forEach((s) => $("framework").append(el("option", { value: s.id, title: s.runtimes.join(", ") },
      `${s.id} (${s.runtimes.join(", ")})`)));
    o.regions.forEach((r) => $("region-list").append(
      el("option", { value: r, label: o.region_groups[r] === r ? "region group" : o.region_groups[r] })));
    $("region-hint").textContent = o.region_supported ? "" : "not applied in this build (no regional data yet)";
    let vendor = null;
    o.chips.forEach((c) => {
      if (c.vendor !== vendor) { vendor = c.vendor; $("chip-list").append(el("div", { class: "vendor" }, vendor)); }
      const label = el("label", { title: `${c.name} (${c.status})` });
      const box = el("input", { type: "checkbox", name: "chip", value: c.id });
      box.addEventListener("change", updateChipCount);
      label.append(box, " " + c.id);
      if (c.status !== "shipping") label.append(" ", el("span", { class: "status" }, c.status));
      $("chip-list").append(label);
    });
    $("version").textContent = o.version;
    // the server's defaults are those of `accelplan compare`
    $("workload").value = o.defaults.workload;  // as `accelplan compare` with no arguments
    $("model").value = o.defaults.model;
    $("tokens").value = o.defaults.tokens.toExponential().replace("e+", "e");
    $("days").value = String(o.defaults.days);
    $("global_batch").value = String(o.defaults.global_batch);
    $("precision").value = o.defaults.precision;
    setChips(o.defaults.chips);
  }

  // ------------------------------------------------------------------------------------ URL state
  function readURL() {
    const q = new URLSearchParams(location.search);
    // a link names its programme (w=ID), or gives a single phase (older links: model=, hf=)
    if (q.has("w")) $("workload").value = q.get("w");
    else if (["model", "hf", "tokens", "seq", "gbs"].some((k) => q.has(k))) $("workload").value = "";
    else $("workload").value = options.defaults.workload;
    Object.entries(URL_FIELDS).forEach(([key, field]) => { if (q.has(key)) $(field).value = q.get(key); });
    if (q.has("hf")) { setRadio("source", "hf"); $("hf_config").value = q.get("hf"); }
    if (q.has("days")) setRadio("mode", "deadline");
    if (q.has("n")) setRadio("mode", "chips");
    if (q.has("chips")) setChips(q.get("chips").split(",").filter(Boolean));
    $("available_only").checked = q.get("avail") === "1";
    if (q.has("price") || q.has("power") || q.has("avail")) $("economics").open = true;
    syncSource();
    syncWorkload();
    return q.has("chips");
  }
  function writeURL(body) {
    const q = new URLSearchParams();
    if (body.workload) q.set("w", body.workload);
    else {
      if (body.hf_config) q.set("hf", JSON.stringify(body.hf_config)); else q.set("model", body.model);
      q.set("tokens", $("tokens").value.trim());
    }
    if (body.n_chips !== null) q.set("n", $("n_chips").value.trim()); else q.set("days", $("days").value.trim());
    q.set("chips", body.chips.join(","));
    if (body.region) q.set("region", body.region);
    if (!body.workload && body.seq_len !== null) q.set("seq", $("seq_len").value.trim());
    if (!body.workload && body.global_batch !== options.defaults.global_batch) q.set("gbs", $("global_batch").value.trim());
    if (body.precision && body.precision !== "bf16") q.set("prec", body.precision);
    if (body.framework) q.set("fw", body.framework);
    if (body.prices) q.set("price", $("prices").value.trim());
    if (body.board_power_w) q.set("power", $("board_power_w").value.trim());
    if (body.available_only) q.set("avail", "1");
    const url = `${location.pathname}?${q.toString()}`;
    if (url !== location.pathname + location.search) history.pushState(null, "", url);
  }

  // ------------------------------------------------------------------------------------ errors
  function clearErrors() {
    FIELDS.concat(["form"]).forEach((f) => { const e = $(`err-${f}`); if (e) e.textContent = ""; });
    document.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }
  function showError(field, message) {
    const box = $(`err-${field}`) || $("err-form");
    box.textContent = (box.textContent ? box.textContent + "\n" : "") + message;
    const input = $(field);
    if (input) input.setAttribute("aria-invalid", "true");
  }
  function showDetail(detail) {
    if (!Array.isArray(detail)) { showError("form", String(detail)); return; }
    detail.forEach((d) => {
      const loc = d.loc || [];
      const field = loc.length > 1 ? String(loc[1]) : "form";
      const where = loc.slice(2).join(".");
      const got = d.input !== undefined && typeof d.input !== "object" ? ` (got ${JSON.stringify(d.input)})` : "";
      showError(FIELDS.includes(field) ? field : "form", (where ? where + ": " : "") + d.msg + got);
    });
  }

  // ------------------------------------------------------------------------------------ request
  function number(text) {  // a number when it reads as one; else the text, for the server to reject by name
    const t = text.trim();
    if (t === "") return null;
    const v = Number(t);
    return Number.isFinite(v) ? v : t;
  }
  // "chip=value, chip=value" as an object; null when empty; undefined (after marking the field) when malformed
  function pairs(field, unit) {
    const text = $(field).value.trim();
    if (text === "") return null;
    const out = {};
    for (const part of text.split(/[,;\s]+/).filter(Boolean)) {
      const [chip, value] = part.split("=");
      const v = Number(value);
      if (!chip || value === undefined || !Number.isFinite(v)) {
        showError(field, `'${part}' is not CHIP=${unit}, e.g. ascend-910b=${unit === "W" ? 400 : 1.9}`);
        return undefined;
      }
      out[chip.trim()] = v;
    }
    return out;
  }
  function buildBody() {
    const body = { chips: checkedChips(), tokens: number($("tokens").value), region: $("region").value.trim() || null,
                   seq_len: number($("seq_len").value), global_batch: number($("global_batch").value),
                   precision: $("precision").value, framework: $("framework").value || null,
                   days: null, n_chips: null };
    if (radio("mode") === "chips") body.n_chips = number($("n_chips").value);
    else body.days = number($("days").value);
    if ($("workload").value) {  // a programme gives its model, tokens, sequence lengths and batches
      body.workload = $("workload").value;
      ["tokens", "seq_len", "global_batch"].forEach((f) => delete body[f]);
      if (body.precision === "bf16") body.precision = null;  // the programme's own, unless changed
    } else if (radio("source") === "hf") {
      try {
        const cfg = JSON.parse($("hf_config").value);
        if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) throw new Error("expected a JSON object");
        body.hf_config = cfg;
      } catch (e) {
        showError("hf_config", `not valid JSON: ${e.message}`);
        return null;
      }
    } else {
      body.model = $("model").value;
    }
    if (body.chips.length === 0) { showError("chips", "pick at least one chip"); return null; }
    body.prices = pairs("prices", "USD");
    body.board_power_w = pairs("board_power_w", "W");
    if (body.prices === undefined || body.board_power_w === undefined) return null;
    body.available_only = $("available_only").checked;
    return body;
  }

  async function run(push) {
    clearErrors();
    const body = buildBody();
    if (!body) return;
    if (push) writeURL(body);
    $("run").disabled = true;
    $("status").textContent = `comparing ${body.chips.length} chips (a plan search per chip)...`;
    document.body.removeAttribute("data-plots");
    try {
      const resp = await fetch("/api/compare", { method: "POST", headers: { "Content-Type": "application/json" },
                                                 body: JSON.stringify(body) });
      const data = await resp.json().catch(() => ({ detail: `server answered ${resp.status}` }));
      if (!resp.ok) {
        showDetail(data.detail);
        const retry = resp.headers.get("Retry-After");
        $("status").textContent = resp.status === 422 || resp.status === 413 ? "fix the fields marked in red" :
          resp.status === 503 && retry ? `the server is busy: try again in ${retry} s` : `server error ${resp.status}`;
        return;
      }
      render(data);
      $("status").textContent = "";
      $("share").disabled = false;
    } catch (e) {
      showError("form", `request failed: ${e.message}`);
      $("status").textContent = "";
    } finally {
      $("run").disabled = false;
    }
  }

  // ------------------------------------------------------------------------------------ results
  function render(data) {
    $("results").hidden = false;
    $("summary").textContent = data.summary;
    $("notes").hidden = data.notes.length === 0;
    $("notes").textContent = data.notes.join("\n");
    $("conventions").textContent = data.comparison.conventions;
    const head = $("comparison-table").tHead, tbody = $("comparison-table").tBodies[0];
    head.replaceChildren();
    tbody.replaceChildren();
    const tr = el("tr");
    data.table.columns.forEach((c) => tr.append(el("th", { class: c.numeric ? "num" : "" }, c.label)));
    head.append(tr);
    data.table.rows.forEach((r) => {
      const row = el("tr", { "data-chip": r.chip });
      data.table.columns.forEach((c) => row.append(el("td", { class: c.numeric ? "num" : "" }, r[c.key] || "")));
      tbody.append(row);
    });
    const plots = $("plots");
    plots.replaceChildren();
    // lay out every section first: a plot sizes itself to its container when drawn
    const divs = data.figures.map((f) => {
      const section = el("section");
      const div = el("div", { class: "plot", id: `plot-${f.id}` });
      section.append(el("h3", {}, f.title), div, el("p", { class: "caption" }, f.caption));
      plots.append(section);
      return div;
    });
    const drawn = data.figures.map((f, i) =>
      Plotly.newPlot(divs[i], f.data, f.layout, { displaylogo: false, responsive: true }));
    Promise.all(drawn).then(() => document.body.setAttribute("data-plots", String(drawn.length)));
  }

  // ---- mixed cluster: /api/mixed ----
  const MIX_DEFAULT = [["ascend-910b", 2048], ["h100-sxm", 512]];

  function buildMix(o) {
    const rows = $("mix-rows");
    rows.replaceChildren();
    MIX_DEFAULT.concat([["", 0]]).forEach(([chip, n], i) => {
      const sel = el("select", { id: `mix-chip-${i}`, "aria-label": `chip type ${i + 1}` });
      sel.append(el("option", { value: "" }, i < 2 ? "choose a chip" : "(none)"));
      o.chips.forEach((c) => sel.append(el("option", { value: c.id }, `${c.id} (${c.vendor})`)));
      sel.value = chip;
      const count = el("input", { id: `mix-n-${i}`, class: "short", inputmode: "numeric",
                                  "aria-label": `count of chip type ${i + 1}` });
      count.value = n ? String(n) : "";
      const row = el("div", { class: "field" });
      row.append(sel, document.createTextNode(" x "), count);
      rows.append(row);
    });
  }

  function mixBody() {
    const mix = {};
    for (let i = 0; i < 3; i++) {
      const chip = $(`mix-chip-${i}`).value;
      const n = $(`mix-n-${i}`).value.trim();
      if (chip) mix[chip] = number(n);
    }
    const body = { mix, model: $("model").value || options.defaults.model };
    const w = options.workloads.find((x) => x.id === $("workload").value);
    if (w) body.model = w.model;  // a programme: its model, one phase at the form's (or the default) batch
    for (const f of ["tokens", "seq_len", "global_batch"]) {
      const v = $(f).value.trim();
      if (v && !w) body[f] = number(v);
    }
    if ($("precision").value) body.precision = $("precision").value;
    if ($("region").value.trim()) body.region = $("region").value.trim();
    return body;
  }

  async function runMix() {
    $("err-mix").textContent = "";
    const body = mixBody();
    if (Object.keys(body.mix).length < 2) {
      $("err-mix").textContent = "mix: pick 2 to 4 chip types, each with its count";
      return;
    }
    $("mix-status").textContent = "planning the mix...";
    $("mix-run").disabled = true;
    try {
      const resp = await fetch("/api/mixed", { method: "POST", headers: { "Content-Type": "application/json" },
                                               body: JSON.stringify(body) });
      const data = await resp.json();
      if (!resp.ok) {
        const d = Array.isArray(data.detail) ? data.detail[0] : { msg: data.detail, loc: [] };
        $("err-mix").textContent = `${(d.loc || []).slice(1).join(".") || "request"}: ${d.msg}`;
        return;
      }
      renderMix(data);
    } catch (e) {
      $("err-mix").textContent = `the server did not answer: ${e.message}`;
    } finally {
      $("mix-status").textContent = "";
      $("mix-run").disabled = false;
    }
  }

  function renderMix(data) {
    $("mix-verdict").textContent = data.verdict +
      (data.efficiency ? ` (efficiency ${(100 * data.efficiency).toFixed(0)}% of the sum of the parts)` : "");
    const head = ["cluster", "tokens/s", "days", "goodput", "cloud $ on-demand", "MWh", "plan"];
    const thead = $("mix-table").querySelector("thead");
    const tbody = $("mix-table").querySelector("tbody");
    thead.replaceChildren(el("tr"));
    head.forEach((h) => thead.firstChild.append(el("th", {}, h)));
    tbody.replaceChildren();
    const fmt = (v, d) => (v === null || v === undefined ? "-" : Number(v).toLocaleString(undefined,
      { maximumFractionDigits: d }));
    data.rows.forEach((r) => {
      const tr = el("tr");
      [r.cluster, fmt(r.tokens_per_s, 0), fmt(r.elapsed_days, 1), r.goodput_pct ? `${fmt(r.goodput_pct, 1)}%` : "-",
       r.cloud_cost_usd ? `$${fmt(r.cloud_cost_usd / 1e6, 1)}M` : "unknown", r.energy_mwh ? fmt(r.energy_mwh, 0) : "unknown",
       r.plan].forEach((v) => tr.append(el("td", {}, String(v))));
      tbody.append(tr);
    });
    const notes = $("mix-notes");
    notes.replaceChildren();
    data.assumptions.concat(data.notes).forEach((n) => notes.append(el("li", {}, `assumed: ${n}`)));
    data.caveats.forEach((n) => notes.append(el("li", { class: "caveat" }, `caveat: ${n}`)));
    $("mix-results").hidden = false;
    document.body.setAttribute("data-mix", "done");
  }

  async function init() {
    const resp = await fetch("/api/options");
    options = await resp.json();
    buildForm(options);
    buildMix(options);
    $("mix-form").addEventListener("submit", (ev) => { ev.preventDefault(); runMix(); });
    const fromLink = readURL();
    document.querySelectorAll('input[name="source"]').forEach((r) => r.addEventListener("change", () => {
      syncSource();
      singlePhase();
    }));
    $("workload").addEventListener("change", syncWorkload);
    SINGLE_PHASE.forEach((f) => ["input", "change"].forEach((ev) => $(f).addEventListener(ev, singlePhase)));
    $("form").addEventListener("submit", (ev) => { ev.preventDefault(); run(true); });
    $("share").addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(location.href); $("status").textContent = "link copied"; }
      catch (e) { $("status").textContent = location.href; }
    });
    window.addEventListener("popstate", () => { if (readURL()) run(false); });
    if (fromLink) run(false);
  }

  init().catch((e) => showError("form", `could not load the form: ${e.message}`));
})();
