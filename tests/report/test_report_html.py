"""`accelplan report`: one HTML file that opens with no network and draws every plot; PNG plots."""

import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

pytest.importorskip("plotly")

from accelplan.cli import app  # noqa: E402
from tests.web.browser import chromium, require_browser  # noqa: E402

ARGS = ["-m", "llama3.1-8b", "--tokens", "1e12", "-n", "64", "-c", "h100-sxm", "-c", "ascend-910b", "-c", "mi300x"]
PLOTS = ("pareto", "step_time", "memory", "roofline")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    r = CliRunner().invoke(app, ["report", *ARGS, "--html", str(out / "r.html"), "--png", str(out / "png")],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out


def test_html_holds_its_own_plotly_and_names_no_outside_resource(written):
    text = (written / "r.html").read_text(encoding="utf-8")
    assert len(text) > 3_000_000  # plotly.min.js is inside
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?https?:""", text)
    assert 'id="comparison-table"' in text
    for chip in ("h100-sxm", "ascend-910b", "mi300x"):
        assert f"<td class=\"\">{chip}</td>" in text


def test_html_opens_with_networking_blocked_and_draws_every_plot(written, tmp_path):
    require_browser()
    blocked = []
    with chromium() as browser:
        ctx = browser.new_context(viewport={"width": 1300, "height": 1600})
        ctx.route(re.compile(r"^https?://"), lambda route: (blocked.append(route.request.url), route.abort()))
        page = ctx.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((written / "r.html").as_uri())
        page.wait_for_selector("body[data-plots='rendered']", timeout=30_000)
        for plot in PLOTS:
            assert page.locator(f"#plot-{plot} svg.main-svg").count() >= 1, plot
        # the Pareto plot has a marker per chip; the roofline one line per chip
        assert page.locator("#plot-pareto .scatterlayer .trace .point").count() >= 3
        assert page.locator("#plot-roofline .scatterlayer .trace .js-line").count() >= 3
        assert page.locator("#comparison-table tbody tr").count() == 3
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert errors == [] and blocked == []
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_png_folder_gets_the_four_plots(written):
    from PIL import Image

    for name in PLOTS:
        with Image.open(written / "png" / f"{name}.png") as im:
            assert im.format == "PNG" and im.size == (960, 600)


def test_report_without_an_output_is_one_line_exit_2():
    r = subprocess.run([sys.executable, "-m", "accelplan", "report", *ARGS], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "--html" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_report_rejects_an_unknown_precision_naming_the_allowed_ones(tmp_path):
    r = subprocess.run([sys.executable, "-m", "accelplan", "report", *ARGS, "--precision", "fp4", "--html",
                        str(tmp_path / "x.html")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "bf16, fp16, fp8" in r.stderr


def test_a_mixed_cluster_report_opens_offline_with_its_verdict_and_plot(tmp_path):
    out = tmp_path / "mix.html"
    r = CliRunner().invoke(app, ["report", "--mix", "ascend-910b=64", "--mix", "h100-sxm=32", "-m", "llama3.1-8b",
                                 "--seq-len", "4096", "--global-batch", "64", "--html", str(out)],
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?https?:""", text)
    assert "<h2 id=verdict>" in text and "sum of the parts" in text and "DLSlime" in text
    assert text.count("<tr><td>") >= 3  # each part alone and the mix
    require_browser()
    with chromium() as browser:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri())
        page.wait_for_selector("body[data-plots='rendered']", timeout=30_000)
        assert page.locator("#plot-mixed .barlayer .trace").count() == 1
    assert errors == []
