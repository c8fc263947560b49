"""The page as a new user meets it, in a real headless Chromium against the real `accelplan serve`:
compare three chips for a preset, change the region, share the URL, open it in a fresh browser and see
the same comparison; bad input shows beside its field."""

import json
import urllib.request

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.web.browser import chromium, require_browser, served  # noqa: E402

THREE = ["h100-sxm", "ascend-910b", "mi300x"]
PLOTS = ("pareto", "step_time", "memory", "roofline")
VIEWPORT = {"width": 1360, "height": 1800}


@pytest.fixture(scope="module")
def base_url():
    require_browser()
    with served() as url:
        yield url


@pytest.fixture(scope="module")
def browser(base_url):
    with chromium() as b:
        yield b


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    return problems


def regions(base_url) -> tuple[str, str, bool]:
    """Two regions to switch between (the first and last offered), and whether compare applies them."""
    with urllib.request.urlopen(f"{base_url}/api/options") as r:
        o = json.load(r)
    offered = o["regions"]
    first, last = (offered[0], offered[-1]) if len(offered) >= 2 else ("US", "ALLY_A5A6")
    return first, last, o["region_supported"]


def wait_for_plots(page) -> None:
    page.wait_for_selector(f"body[data-plots='{len(PLOTS)}']", timeout=60_000)


def plots_drawn(page) -> dict[str, int]:
    return {p: page.locator(f"#plot-{p} svg.main-svg").count() for p in PLOTS}


def test_compare_change_region_share_and_reopen_in_a_fresh_browser(base_url, browser, tmp_path):
    first_region, second_region, region_applied = regions(base_url)
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    problems = watch(page)
    page.goto(f"{base_url}/")
    page.wait_for_selector("#chip-list input")
    page.select_option("#model", "llama3.1-8b")
    page.fill("#tokens", "1e12")
    page.check("input[name=mode][value=chips]")
    page.fill("#n_chips", "64")
    checked = page.locator("#chip-list input:checked")
    while checked.count():
        checked.first.uncheck()
    for chip in THREE:
        page.check(f"#chip-list input[value='{chip}']")
    page.fill("#region", first_region)
    page.click("#run")
    wait_for_plots(page)
    rows = page.locator("#comparison-table tbody tr")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.chip)")) == sorted(THREE)
    assert all(n >= 1 for n in plots_drawn(page).values()), plots_drawn(page)
    assert page.locator("#plot-pareto .scatterlayer .trace .point").count() >= 3
    assert "time on 64 chips" in page.inner_text("#summary")
    table_first_region = page.inner_text("#comparison-table")

    page.fill("#region", second_region)
    page.click("#run")
    page.wait_for_url(f"**region={second_region}**")
    wait_for_plots(page)
    shared = page.url
    table = page.inner_text("#comparison-table")
    summary = page.inner_text("#summary")
    if region_applied:  # availability differs between the first and the last region group (US and VN)
        assert table != table_first_region and second_region in summary
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    ctx.close()
    assert (tmp_path / "compare.png").stat().st_size > 50_000

    fresh = browser.new_context(viewport=VIEWPORT)  # no cookies, storage or history from the first
    page = fresh.new_page()
    problems += watch(page)
    page.goto(shared)
    wait_for_plots(page)
    assert page.inner_text("#comparison-table") == table
    assert page.inner_text("#summary") == summary
    assert page.input_value("#region") == second_region
    assert page.input_value("#model") == "llama3.1-8b"
    assert sorted(page.locator("#chip-list input:checked").evaluate_all("bs => bs.map(b => b.value)")) == sorted(THREE)
    assert all(n >= 1 for n in plots_drawn(page).values())
    page.screenshot(path=str(tmp_path / "shared.png"), full_page=True)
    fresh.close()
    assert problems == []


def test_bad_input_is_shown_beside_its_field(base_url, browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    page.goto(f"{base_url}/?model=llama3.1-8b&tokens=1e12&n=64&chips=h100-sxm")
    wait_for_plots(page)
    page.fill("#tokens", "-5")
    page.fill("#region", "not a region!")
    page.click("#run")
    page.wait_for_selector("#err-tokens:not(:empty)")
    assert "greater than or equal" in page.inner_text("#err-tokens")
    assert page.get_attribute("#tokens", "aria-invalid") == "true"
    region_error = page.inner_text("#err-region")  # the allowed codes, or the allowed pattern without economics
    assert "'US'" in region_error or "pattern" in region_error
    assert page.inner_text("#err-chips") == ""

    page.check("input[name=source][value=hf]")
    page.fill("#hf_config", '{"model_type": "llama", "num_hidden_layers": 32}')
    page.fill("#tokens", "1e12")
    page.fill("#region", "")
    page.click("#run")
    page.wait_for_selector("#err-hf_config:not(:empty)")
    assert "hidden_size" in page.inner_text("#err-hf_config")
    ctx.close()


def test_a_pasted_config_rides_in_the_link(base_url, browser):
    from tests.web.test_web_api import LLAMA3_8B_HF

    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    problems = watch(page)
    page.goto(f"{base_url}/?model=llama3.1-8b&tokens=1e12&n=64&chips=h100-sxm")
    wait_for_plots(page)
    page.check("input[name=source][value=hf]")
    page.fill("#hf_config", json.dumps(LLAMA3_8B_HF, indent=2))
    page.click("#run")
    page.wait_for_url("**hf=**")
    wait_for_plots(page)
    assert "hf-llama" in page.inner_text("#summary")
    table = page.inner_text("#comparison-table")
    other = browser.new_context(viewport=VIEWPORT).new_page()
    other.goto(page.url)
    wait_for_plots(other)
    assert other.inner_text("#comparison-table") == table
    assert json.loads(other.input_value("#hf_config")) == LLAMA3_8B_HF
    other.context.close()
    ctx.close()
    assert problems == []


def test_prices_power_and_leaving_out_ride_in_the_link(base_url, browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    problems = watch(page)
    page.goto(f"{base_url}/?model=llama3.1-8b&tokens=1e12&n=64&chips=ascend-910b,b200-hgx&region=CN")
    wait_for_plots(page)
    assert page.locator("#comparison-table tbody tr").count() == 2
    page.click("#economics summary")
    page.fill("#prices", "ascend-910b=oops")
    page.click("#run")
    page.wait_for_selector("#err-prices:not(:empty)")
    assert "CHIP=USD" in page.inner_text("#err-prices")
    page.fill("#prices", "ascend-910b=1.5")
    page.fill("#board_power_w", "ascend-910b=400")
    page.check("#available_only")
    page.click("#run")
    page.wait_for_url("**avail=1**")
    wait_for_plots(page)
    assert page.locator("#comparison-table tbody tr").count() == 1  # B200 is prohibited in CN and left out
    assert "left out: b200-hgx" in page.inner_text("#notes")
    other = browser.new_context(viewport=VIEWPORT).new_page()
    other.goto(page.url)
    wait_for_plots(other)
    assert other.input_value("#prices") == "ascend-910b=1.5" and other.is_checked("#available_only")
    assert other.inner_text("#comparison-table") == page.inner_text("#comparison-table")
    other.context.close()
    ctx.close()
    assert problems == []


def test_the_page_defaults_to_the_programme_and_draws_days_per_phase(base_url, browser):
    """As `accelplan compare` with no arguments: the openpangu-2.0 programme; its plot stacks each phase's days."""
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    problems = watch(page)
    page.goto(f"{base_url}/")
    page.wait_for_selector("#chip-list input")
    assert page.input_value("#workload") == "openpangu-2.0"
    assert "512K" in page.inner_text("#workload-hint")
    page.check("input[name=mode][value=chips]")
    page.fill("#n_chips", "8192")
    checked = page.locator("#chip-list input:checked")
    while checked.count():
        checked.first.uncheck()
    page.check("#chip-list input[value='h100-sxm']")
    page.click("#run")
    page.wait_for_url("**w=openpangu-2.0**")
    page.wait_for_selector(f"body[data-plots='{len(PLOTS) + 1}']", timeout=120_000)
    # one bar per phase, stacked on the chip
    assert page.locator("#plot-phases .barlayer .trace").count() == 4
    assert "model=" not in page.url and "tokens=" not in page.url
    # editing a single-phase field asks for one phase instead
    page.select_option("#model", "llama3.1-8b")
    assert page.input_value("#workload") == ""
    ctx.close()
    assert problems == []


def test_the_mixed_cluster_panel_plans_a_mix_beside_its_parts(base_url, browser):
    """The "mixed cluster" option: pick two chip types and counts, plan the mix, read the verdict and the table."""
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    problems = watch(page)
    page.goto(f"{base_url}/?model=llama3.1-8b&tokens=1e11&n=64&chips=h100-sxm&seq=4096&gbs=64")
    page.wait_for_selector("#mix-chip-0 option", state="attached")
    page.click("#mixed > summary")
    page.select_option("#mix-chip-0", "ascend-910b")
    page.fill("#mix-n-0", "64")
    page.select_option("#mix-chip-1", "h100-sxm")
    page.fill("#mix-n-1", "32")
    page.click("#mix-run")
    page.wait_for_selector("body[data-mix='done']", timeout=120_000)
    rows = page.locator("#mix-table tbody tr")
    assert rows.count() == 3  # each part alone, then the mix
    assert rows.nth(2).inner_text().startswith("mixed:")
    verdict = page.inner_text("#mix-verdict")
    assert "efficiency" in verdict and ("mixing adds" in verdict or "not worth it" in verdict)
    # a mix of one type is refused beside the panel, naming the field
    page.select_option("#mix-chip-1", "")
    page.click("#mix-run")
    page.wait_for_selector("#err-mix:not(:empty)")
    assert "mix" in page.inner_text("#err-mix")
    ctx.close()
    assert problems == []
