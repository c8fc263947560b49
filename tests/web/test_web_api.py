"""The JSON API behind the page: answers, bounds, and errors that name the field and the allowed values."""

import json
import warnings

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("plotly")

with warnings.catch_warnings():  # newer starlette asks for httpx2 (a UserWarning); httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from accelplan.web.app import MAX_BODY_BYTES, create_app  # noqa: E402

THREE = ["h100-sxm", "ascend-910b", "mi300x"]
SMALL = {"model": "llama3.1-8b", "chips": THREE, "tokens": 1e12, "n_chips": 64}
# Meta-Llama-3-8B config.json (the keys that matter), as published with the weights
LLAMA3_8B_HF = {"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096, "num_attention_heads": 32,
                "num_key_value_heads": 8, "intermediate_size": 14336, "vocab_size": 128256, "hidden_act": "silu",
                "max_position_embeddings": 8192, "tie_word_embeddings": False}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(scope="module")
def small(client):
    r = client.post("/api/compare", json=SMALL)
    assert r.status_code == 200, r.text
    return r.json()


def errors_by_field(resp) -> dict:
    return {(d["loc"][1] if len(d["loc"]) > 1 else ""): d["msg"] for d in resp.json()["detail"]}


def test_options_offer_every_catalog_chip_and_preset(client, catalog):
    o = client.get("/api/options").json()
    assert {c["id"] for c in o["chips"]} == set(catalog.chips)
    assert {m["id"] for m in o["models"]} == set(catalog.models)
    # the programme presets, with their phases as --phase writes them (openpangu-2.0: 4K, 32K, 128K, 512K)
    assert {w["id"] for w in o["workloads"]} == set(catalog.workloads)
    pangu = next(w for w in o["workloads"] if w["id"] == "openpangu-2.0")
    assert pangu["phases"] == ["19.5T@4K", "400B@32K", "80B@128K", "20B@512K"] and pangu["illustrative"]
    assert o["limits"]["max_chips"] == 12 and o["limits"]["max_body_bytes"] == MAX_BODY_BYTES


def test_compare_answers_the_three_chips_with_table_and_four_plots(small):
    assert [r["chip"] for r in small["table"]["rows"]] == THREE
    assert [r["chip"] for r in small["comparison"]["rows"]] == THREE
    assert [f["id"] for f in small["figures"]] == ["pareto", "step_time", "memory", "roofline"]
    assert "time on 64 chips" in small["summary"]
    assert all(r["chips"] == 64 for r in small["comparison"]["rows"])


def test_step_time_bars_add_up_to_each_chips_step_time(small):
    fig = next(f for f in small["figures"] if f["id"] == "step_time")
    for i, row in enumerate(small["comparison"]["rows"]):
        stacked = sum(trace["y"][i] for trace in fig["data"] if trace["type"] == "bar")
        assert stacked == pytest.approx(row["estimate"]["step_time_s"], rel=1e-6)


def test_memory_bars_add_up_to_memory_per_device_and_capacity_is_marked(small):
    fig = next(f for f in small["figures"] if f["id"] == "memory")
    cap = next(t for t in fig["data"] if t["name"] == "capacity")
    for i, row in enumerate(small["comparison"]["rows"]):
        stacked = sum(trace["y"][i] for trace in fig["data"] if trace["type"] == "bar")
        assert stacked == pytest.approx(row["estimate"]["memory_gb"], rel=1e-6)
        assert cap["y"][i] == row["estimate"]["capacity_gb"]


def test_pareto_cost_axis_is_chip_hours_until_prices_exist(small):
    fig = next(f for f in small["figures"] if f["id"] == "pareto")
    y_title = fig["layout"]["yaxis"]["title"]["text"]
    hours = {r["chip"]: r["chip_hours"] for r in small["comparison"]["rows"]}
    points = {t["name"]: t["y"][0] for t in fig["data"] if t["name"] in hours}
    if "chip-hours" in y_title:
        assert points == pytest.approx(hours)
    else:
        assert "$" in y_title


def test_deadline_mode_sizes_each_cluster_to_finish_in_time(client):
    r = client.post("/api/compare", json={**{k: v for k, v in SMALL.items() if k != "n_chips"}, "days": 30})
    assert r.status_code == 200, r.text
    d = r.json()
    assert "finish in 30 days" in d["summary"]
    placed = [row for row in d["comparison"]["rows"] if row["days"] is not None]
    assert placed and all(row["days"] <= 30 for row in placed)


def test_pasted_hf_config_is_compared_like_a_preset(client):
    r = client.post("/api/compare", json={**SMALL, "model": None, "hf_config": LLAMA3_8B_HF, "chips": ["h100-sxm"]})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["comparison"]["model"].startswith("hf-")
    assert d["comparison"]["rows"][0]["tokens_per_s"] > 0


def test_unknown_chip_is_422_on_chips_listing_allowed_ids(client):
    r = client.post("/api/compare", json={**SMALL, "chips": ["h100-sxm", "h10-sxm"]})
    assert r.status_code == 422
    d = r.json()["detail"][0]
    assert d["loc"] == ["body", "chips", 1]
    assert "'h100-sxm'" in d["msg"] and "'ascend-910b'" in d["msg"]


def test_bad_precision_and_tokens_name_their_fields(client):
    r = client.post("/api/compare", json={**SMALL, "precision": "fp4", "tokens": -5})
    assert r.status_code == 422
    errs = errors_by_field(r)
    assert "'bf16', 'fp16' or 'fp8'" in errs["precision"]
    assert "greater than or equal" in errs["tokens"]


def test_more_than_twelve_chips_is_422(client, catalog):
    r = client.post("/api/compare", json={**SMALL, "chips": sorted(catalog.chips)[:13]})
    assert r.status_code == 422 and "chips" in errors_by_field(r)


def test_unknown_field_is_rejected(client):
    r = client.post("/api/compare", json={**SMALL, "tokenz": 5})
    assert r.status_code == 422 and "tokenz" in errors_by_field(r)


def test_model_and_config_both_is_422_on_model(client):
    r = client.post("/api/compare", json={**SMALL, "hf_config": LLAMA3_8B_HF})
    assert r.status_code == 422
    assert "model" in errors_by_field(r) and "hf_config" in errors_by_field(r)["model"]


def cli_compare_defaults() -> dict:
    """What `accelplan compare` uses when not told: the programme with no arguments, the single-phase figures
    with only --model, and the chips its JSON lists."""
    from typer.testing import CliRunner

    from accelplan.cli import app

    def run(*args: str) -> dict:
        out = CliRunner().invoke(app, ["compare", "--json", *args])
        assert out.exit_code == 0, out.output
        return json.loads(out.stdout)

    bare = run("-c", "h100-sxm", "-n", "4096")  # no workload flags: the default programme
    one = run("-m", "openpangu-505b-moe", "-c", "h100-sxm", "-n", "4096")  # one phase: the single-phase defaults
    small = run("-m", "llama3.1-8b", "-n", "64", "--tokens", "1e12")
    return {"workload": bare["workload"], "phases": len(bare["phases"]), "model": one["model"],
            "tokens": one["tokens"], "global_batch": one["global_batch"],
            "chips": [r["chip"] for r in small["rows"]]}


def test_form_and_api_default_to_what_the_cli_compares(client):
    cli = cli_compare_defaults()
    # issue 14: with no arguments, the openpangu-2.0 programme (4 phases to 512K); one phase on openPangu 505B MoE
    # is 20T tokens of 4,096 sequences; the same 8 chips
    assert cli["workload"] == "openpangu-2.0" and cli["phases"] == 4
    assert cli["model"] == "openpangu-505b-moe" and cli["tokens"] == 20e12 and len(cli["chips"]) == 8
    offered = client.get("/api/options").json()["defaults"]
    assert {k: offered[k] for k in ("workload", "model", "tokens", "global_batch", "chips")} == {
        k: cli[k] for k in ("workload", "model", "tokens", "global_batch", "chips")}
    # the API fills what the body leaves out with the same values
    r = client.post("/api/compare", json={"model": "llama3.1-8b", "n_chips": 64, "tokens": 1e12})
    assert r.status_code == 200, r.text
    assert [row["chip"] for row in r.json()["comparison"]["rows"]] == cli["chips"]
    r = client.post("/api/compare", json={"chips": ["h100-sxm"], "n_chips": 4096})
    assert r.status_code == 200, r.text
    d = r.json()["comparison"]
    assert d["workload"] == cli["workload"] and len(d["phases"]) == cli["phases"]
    assert any(f["id"] == "phases" for f in r.json()["figures"])  # days per phase, stacked per chip
    r = client.post("/api/compare", json={"model": "openpangu-505b-moe", "chips": ["h100-sxm"], "n_chips": 4096})
    d = r.json()["comparison"]
    assert d["model"] == cli["model"] and d["tokens"] == cli["tokens"] and d["global_batch"] == cli["global_batch"]


def test_phases_through_the_api(client):
    r = client.post("/api/compare", json={"model": "llama3.1-8b", "chips": ["h100-sxm"], "n_chips": 64,
                                          "phases": ["20B@8192:256", "1B@32K"]})
    assert r.status_code == 200, r.text
    d = r.json()["comparison"]
    assert [p["seq_len"] for p in d["phases"]] == [8192, 32768] and len(d["rows"][0]["phases"]) == 2
    bad = client.post("/api/compare", json={"chips": ["h100-sxm"], "phases": ["1T@0"]})
    assert bad.status_code == 422 and errors_by_field(bad).get("phases"), bad.text
    both = client.post("/api/compare", json={"chips": ["h100-sxm"], "workload": "openpangu-2.0", "tokens": 1e12})
    assert both.status_code == 422 and "tokens" in errors_by_field(both)["workload"]


def test_config_missing_a_key_names_it(client):
    cfg = {k: v for k, v in LLAMA3_8B_HF.items() if k != "hidden_size"}
    r = client.post("/api/compare", json={**SMALL, "model": None, "hf_config": cfg})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "hf_config", "hidden_size"]


@pytest.mark.parametrize("bad", [{"num_hidden_layers": "many"}, {"num_hidden_layers": [1]}, {"num_attention_heads": 0},
                                 {"num_hidden_layers": 10**9}, {"hidden_size": 4095}])
def test_unreadable_or_unbounded_config_is_422_not_500(client, bad):
    r = client.post("/api/compare", json={**SMALL, "model": None, "hf_config": {**LLAMA3_8B_HF, **bad}})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][:2] == ["body", "hf_config"]


def test_body_over_the_limit_is_413_declared_or_streamed(client):
    big = b'{"model": "llama3.1-8b", "pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    r = client.post("/api/compare", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/compare", content=iter([big[:1000], big[1000:]]), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "bytes" in r.json()["detail"][0]["msg"]


def test_region_is_applied(client):
    r = client.post("/api/compare", json={**SMALL, "chips": ["h100-sxm"], "region": "US"})
    assert r.status_code == 200, r.text
    assert "region US" in r.json()["summary"]
    assert not any("not applied" in n for n in r.json()["notes"])


def test_region_codes_match_without_regard_to_case(client):
    from accelplan.web.app import known_regions

    if not known_regions():
        pytest.skip("this build has no region codes (accelplan.economics)")
    r = client.post("/api/compare", json={**SMALL, "chips": ["h100-sxm"], "region": "de"})
    assert r.status_code == 200, r.text
    assert "region DE" in r.json()["summary"]


def test_region_text_is_bounded(client):
    r = client.post("/api/compare", json={**SMALL, "region": "<script>"})
    assert r.status_code == 422 and "region" in errors_by_field(r)


def test_page_and_plotly_come_from_this_server(client):
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text.replace('href="/docs"', "")
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000 and b"plotly" in js.content[:2000].lower()
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/..%2Fapp.py").status_code == 404


def test_openapi_carries_the_allowed_values_and_bounds(client):
    spec = client.get("/openapi.json").json()
    req = spec["components"]["schemas"]["CompareRequest"]["properties"]
    assert "h100-sxm" in req["chips"]["items"]["enum"] and req["chips"]["maxItems"] == 12
    def given(prop: dict) -> dict:  # an optional field's schema is anyOf [its type, null]
        return next((o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"), prop)

    assert given(req["tokens"])["maximum"] == 1e16
    assert given(req["precision"])["enum"] == ["bf16", "fp16", "fp8"]
    workload = given(req["workload"])  # one preset is a const, several an enum
    assert "openpangu-2.0" in workload.get("enum", [workload.get("const")])
    assert given(req["phases"])["maxItems"] == 16


def test_prices_and_power_fill_what_the_catalog_leaves_unknown(client):
    body = {**SMALL, "chips": ["ascend-910b", "h100-sxm"], "region": "CN",
            "prices": {"ascend-910b": 1.5}, "board_power_w": {"ascend-910b": 400}}
    r = client.post("/api/compare", json=body)
    assert r.status_code == 200, r.text
    rows = {row["chip"]: row for row in r.json()["comparison"]["rows"]}
    e = rows["ascend-910b"]["economics"]
    hours = rows["ascend-910b"]["chips"] * e["effective_days"] * 24
    assert e["cloud_cost_usd"]["typical"] == pytest.approx(1.5 * hours, rel=1e-6)
    assert e["energy_mwh"] > 0 and e["board_power_w"] == 400
    assert rows["h100-sxm"]["economics"]["availability"]["status"] == "licence_required"


def test_available_only_leaves_out_what_the_region_prohibits_and_needs_a_region(client):
    body = {**SMALL, "chips": ["ascend-910b", "b200-hgx"], "region": "CN", "available_only": True}
    r = client.post("/api/compare", json=body)
    assert r.status_code == 200, r.text
    assert [row["chip"] for row in r.json()["comparison"]["rows"]] == ["ascend-910b"]
    assert any(n.startswith("left out: b200-hgx") for n in r.json()["notes"])
    bad = client.post("/api/compare", json={**body, "region": None})
    assert bad.status_code == 422 and "available_only" in errors_by_field(bad)


def test_bad_prices_name_their_field(client):
    r = client.post("/api/compare", json={**SMALL, "prices": {"h100-sxm": -2}})
    assert r.status_code == 422 and "prices" in errors_by_field(r)
    r = client.post("/api/compare", json={**SMALL, "board_power_w": {"no-such-chip": 300}})
    assert r.status_code == 422 and "board_power_w" in errors_by_field(r)


def test_head_of_the_page_answers_with_its_headers_and_no_body(client):
    got, head = client.get("/"), client.head("/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert int(head.headers["content-length"]) == len(got.content)


FIELDS_WITH_NUMBERS = ["tokens", "days", "n_chips", "seq_len", "global_batch", "model", "chips", "region",
                       "available_only", "framework_version"]
NOT_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]


def post_text(client, text: str):
    return client.post("/api/compare", content=text.encode(), headers={"content-type": "application/json"})


@pytest.mark.parametrize("literal", NOT_FINITE)
@pytest.mark.parametrize("field", FIELDS_WITH_NUMBERS)
def test_a_number_json_cannot_carry_is_422_at_its_field(client, field, literal):
    body = json.dumps({k: v for k, v in SMALL.items() if k != field})
    r = post_text(client, body[:-1] + f', "{field}": {literal}}}')
    assert r.status_code == 422, r.text
    d = r.json()["detail"]
    assert [e["loc"] for e in d] == [["body", field]]
    assert literal in d[0]["msg"] and "finite" in d[0]["msg"]


@pytest.mark.parametrize("literal", NOT_FINITE)
def test_a_number_json_cannot_carry_inside_prices_or_a_config_is_422_at_its_place(client, literal):
    r = post_text(client, json.dumps(SMALL)[:-1] + f', "prices": {{"h100-sxm": {literal}}}}}')
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "prices", "h100-sxm"]
    assert f"up to {bound('prices')[1]:g}" in r.json()["detail"][0]["msg"]  # the allowed range
    cfg = json.dumps(LLAMA3_8B_HF)[:-1] + f', "rope_theta": [1, {literal}]}}'
    r = post_text(client, f'{{"hf_config": {cfg}, "chips": ["h100-sxm"], "n_chips": 64}}')
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "hf_config", "rope_theta", 1]


# (field, a bad value, words its message must hold: the allowed values or range, as docs/web.md states them)
BAD_FIELDS = [("tokens", "many", ["1e+06", "1e+16"]), ("days", -1, ["0.1", "3650"]),
              ("n_chips", 1.5, ["1", "65536"]), ("seq_len", 64, ["128", "131072"]),
              ("global_batch", 0, ["1", "65536"]), ("available_only", "maybe", ["true or false"]),
              ("precision", "fp4", ["'bf16'", "'fp16'", "'fp8'"]), ("chips", "h100-sxm", ["'h100-sxm'", "12"]),
              ("chips", [], ["'mi300x'", "12"]), ("framework_version", 5, ["80 characters"]),
              ("model", "llama-9", ["'llama3.1-8b'"])]


def bound(field: str) -> tuple[float, float]:
    """The range the library gives a per-chip price or power (economics.data, catalog.schema)."""
    from accelplan.catalog.schema import BoardW
    from accelplan.economics.data import UsdPerChipHour

    meta = {"prices": UsdPerChipHour, "board_power_w": BoardW}[field].__metadata__[0].metadata
    low = next(getattr(m, a) for m in meta for a in ("ge", "gt") if getattr(m, a, None) is not None)
    return low, next(m.le for m in meta if getattr(m, "le", None) is not None)


@pytest.mark.parametrize("field", ["prices", "board_power_w"])
def test_a_bad_price_or_power_is_422_at_its_chip_naming_the_range(client, field):
    low, high = bound(field)
    for value in ("hot", high * 1.01):
        r = client.post("/api/compare", json={**SMALL, field: {"h100-sxm": value}})
        assert r.status_code == 422, r.text
        d = r.json()["detail"][0]
        assert d["loc"] == ["body", field, "h100-sxm"] and f"{low:g}" in d["msg"] and f"{high:g}" in d["msg"]


@pytest.mark.parametrize(("field", "bad", "words"), BAD_FIELDS)
def test_a_bad_field_is_422_naming_it_and_what_it_allows(client, field, bad, words):
    r = client.post("/api/compare", json={**SMALL, field: bad})
    assert r.status_code == 422, r.text
    msg = errors_by_field(r)[field]
    assert all(w in msg for w in words), msg


def test_an_unknown_field_names_the_fields_there_are(client):
    msg = errors_by_field(client.post("/api/compare", json={**SMALL, "tokenz": 5}))["tokenz"]
    assert "tokens" in msg and "n_chips" in msg


def test_mixed_answers_the_mix_beside_its_parts(client):
    body = {"mix": {"ascend-910b": 64, "h100-sxm": 32}, "model": "llama3.1-8b", "seq_len": 4096, "global_batch": 64}
    r = client.post("/api/mixed", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert 0 < data["efficiency"] < 2 and data["verdict"]
    assert [row["cluster"] for row in data["rows"]][:2] == ["64 x ascend-910b", "32 x h100-sxm"]
    assert sum(b["layers"] for b in data["best"]["blocks"]) == 32
    assert any("DLSlime" in a for a in data["assumptions"])


@pytest.mark.parametrize(("body", "field"), [
    ({"mix": {"h100-sxm": 8}}, "mix"),
    ({"mix": {"h100-sxm": 8, "h10-sxm": 8}}, "mix"),
    ({"mix": {"h100-sxm": 0, "mi300x": 8}}, "mix"),
    ({"mix": {"h100-sxm": 8, "mi300x": 8}, "seq_len": 0}, "seq_len"),
])
def test_mixed_refuses_bad_input_naming_the_field(client, body, field):
    r = client.post("/api/mixed", json=body)
    assert r.status_code == 422
    assert field in r.json()["detail"][0]["loc"]
