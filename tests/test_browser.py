"""The built site in a real headless Chromium (Debian's), served on loopback.

Checks that every chart renders (an SVG or canvas inside each chart container),
that no page logs a console error, that Material's instant navigation keeps
charts working, and that the payloads planted in model outputs and task titles
never execute. Screenshots land in test-output/ at the repository root.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import REPO
from tests.test_site import plant_run

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Debian's chromium (make test does) for the browser test")
    pytest.skip("Debian's chromium is not installed (make test installs it)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PAGES = [
    "index.html",
    "leaderboard.html",
    "roles.html",
    "workloads/claim-summarization.html",
    "models/gemma3-270m.html",
    "hardware.html",
    "cost.html",
    "methodology.html",
]


SITE_ROOTS: dict[str, str] = {}  # served URL -> built site folder


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    inputs = {
        "registry": root / "registry",
        "site_src": root / "site_src",
        "config": root / "mkdocs.yml",
        "runs": root / "runs",
    }
    shutil.copytree(REPO / "registry", inputs["registry"])
    shutil.copytree(REPO / "site_src", inputs["site_src"])
    shutil.copytree(REPO / "overrides", root / "overrides")  # theme.custom_dir, relative to mkdocs.yml
    # Material's instant navigation only intercepts links to the site_url's host and
    # port (it reads the sitemap): publish the test site at the address we serve it on.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # An explicit site_url wins over the one derived from repo_url. The repository link is
    # dropped here: Material fetches its star count from api.github.com, which the test's
    # browser (offline) cannot reach and would log as a console error.
    config = re.sub(r"(?m)^repo_url:.*$", "", (REPO / "mkdocs.yml").read_text())
    assert "site_url:" not in config
    inputs["config"].write_text(config + f"\nsite_url: http://127.0.0.1:{port}/\n")
    plant_run(inputs)
    site = root / "site"
    result = CliRunner().invoke(
        cli,
        [
            "build",
            "--registry",
            str(inputs["registry"]),
            "--runs",
            str(inputs["runs"]),
            "--site-src",
            str(inputs["site_src"]),
            "--config",
            str(inputs["config"]),
            "--out",
            str(site),
            "--reports",
            str(root / "reports"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    SITE_ROOTS[url] = str(site)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _page(browser, base: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    # Nothing but our loopback server may be reached.
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    return context, page, errors


def _charts_rendered(page) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    total = page.locator(".opsbench-chart").count()
    if total:
        page.wait_for_function(
            "() => [...document.querySelectorAll('.opsbench-chart')].every("
            "c => c.querySelector('.opsbench-chart-target svg, .opsbench-chart-target canvas'))",
            timeout=15000,
        )
    drawn = page.locator(".opsbench-chart-target svg, .opsbench-chart-target canvas").count()
    return total, drawn


def test_pages_render_charts_without_errors(served_site: str, browser) -> None:  # type: ignore[no-untyped-def]
    out = REPO / "test-output"
    out.mkdir(exist_ok=True)
    context, page, errors = _page(browser, served_site)
    charts_seen = 0
    for name in PAGES:
        page.goto(served_site + name, wait_until="networkidle")
        total, drawn = _charts_rendered(page)
        assert drawn >= total, f"{name}: {drawn} of {total} charts drawn"
        charts_seen += total
        assert page.evaluate("() => window.__pwned") is None, f"a planted payload ran on {name}"
        if name in ("index.html", "workloads/claim-summarization.html"):
            page.screenshot(path=str(out / f"{name.replace('/', '-').removesuffix('.html')}.png"), full_page=True)
    context.close()
    assert charts_seen >= 3
    assert errors == [], errors


def test_payloads_show_as_text(served_site: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = _page(browser, served_site)
    shown = []
    for name in (
        "workloads/claim-summarization.html",
        "workloads/escalation-classification.html",
        "workloads/field-extraction.html",
        "workloads/operator-verification.html",
        "workloads/response-drafting.html",
    ):
        page.goto(served_site + name, wait_until="networkidle")
        assert page.evaluate("() => window.__pwned") is None
        assert page.locator("img[src='x']").count() == 0
        shown.append(page.locator("body").inner_text())
    text = "\n".join(shown)
    assert "<script>window.__pwned" in text or "onerror=" in text  # visible as text on some page
    context.close()
    assert errors == [], errors


def test_instant_navigation_keeps_charts_working(served_site: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = _page(browser, served_site)
    page.goto(served_site + "index.html", wait_until="networkidle")
    page.evaluate("() => { window.__sameDocument = true; }")
    page.locator("nav.md-nav a[href$='leaderboard.html']").first.click()
    page.wait_for_url("**/leaderboard.html")
    page.wait_for_selector("h1:has-text('Leaderboard')")
    page.wait_for_selector(".opsbench-chart")
    total, drawn = _charts_rendered(page)
    assert total >= 1 and drawn >= total
    # Instant navigation swapped the content without a reload: our marker survived.
    assert page.evaluate("() => window.__sameDocument") is True
    page.locator("nav.md-nav a[href$='cost.html']").first.click()
    page.wait_for_url("**/cost.html")
    page.wait_for_selector("h1:has-text('Cost')")
    page.wait_for_selector(".opsbench-chart")
    total, drawn = _charts_rendered(page)
    assert total >= 1 and drawn >= total
    assert page.evaluate("() => window.__sameDocument") is True
    context.close()
    assert errors == [], errors


def _case_or_run_page(site_root: Path) -> str:
    """A case page (cases/<suite>/<case>.html; not the per-model case lists), else a run page."""
    cases = sorted(
        p for p in (site_root / "cases").glob("*/*.html") if p.name != "index.html" and p.parent.name != "models"
    )
    if cases:
        return cases[0].relative_to(site_root).as_posix()
    runs = sorted(p for p in (site_root / "runs").glob("*.html") if p.name != "index.html")
    if runs:
        return runs[0].relative_to(site_root).as_posix()
    raise AssertionError("the site has neither case nor run pages")


def _compare_page(site_root: Path) -> str | None:
    """The first pair's compare page, if the site has a pair of models with shared cases."""
    pairs = sorted((site_root / "compare").glob("*--*.html"))
    return pairs[0].relative_to(site_root).as_posix() if pairs else None


def _site_root(served_site: str) -> Path:
    return Path(SITE_ROOTS[served_site])


SCREENSHOTS = REPO / "test-output" / "screenshots"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(served_site: str, browser, scheme: str) -> None:  # type: ignore[no-untyped-def]
    axe_mod = pytest.importorskip("axe_playwright_python.sync_playwright")
    axe = axe_mod.Axe()
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    found = {}
    pages = ["index.html", "leaderboard.html", "workloads/claim-summarization.html"]
    pages.append(_case_or_run_page(_site_root(served_site)))
    for name in pages:
        page.goto(served_site + name, wait_until="networkidle")
        violations = axe.run(page).response["violations"]
        bad = [f"{v['id']} ({len(v['nodes'])})" for v in violations if v["impact"] in ("serious", "critical")]
        if bad:
            found[name] = bad
    context.close()
    assert found == {}, found


def test_filter_and_column_toggle(served_site: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page, errors = _page(browser, served_site)
    page.goto(served_site + "hardware.html", wait_until="networkidle")
    box = page.locator(".opsbench-table", has=page.locator(".opsbench-filter")).first
    rows = box.locator("tbody tr")
    total = rows.count()
    assert total > 15
    first = rows.first.locator("td").first.inner_text().strip()
    box.locator(".opsbench-filter input").fill(first)
    shown = box.locator("tbody tr:not([hidden])").count()
    assert 0 < shown < total
    assert all(first.lower() in t.lower() for t in box.locator("tbody tr:not([hidden])").all_inner_texts())
    box.locator(".opsbench-filter input").fill("")
    assert box.locator("tbody tr:not([hidden])").count() == total

    page.goto(served_site + "leaderboard.html", wait_until="networkidle")
    board = page.locator(".opsbench-table", has=page.locator(".opsbench-columns")).first
    visible_before = board.locator("thead th:visible").count()
    opt = board.locator("thead th.opsbench-opt").first
    assert not opt.is_visible()
    board.locator(".opsbench-columns summary").click()
    board.locator(".opsbench-columns input[type=checkbox]").first.check()
    assert opt.is_visible()
    assert board.locator("thead th:visible").count() == visible_before + 1
    col = int(opt.get_attribute("data-col") or "0")
    assert board.locator(f"tbody tr td:nth-child({col + 1})").first.is_visible()
    # The defaults fit 1280 px: the board does not scroll sideways.
    page.locator(".opsbench-columns input[type=checkbox]").first.uncheck()
    assert board.evaluate("b => b.querySelector('table').scrollWidth <= b.clientWidth + 1")
    context.close()
    assert errors == [], errors


def test_mobile_cards_and_screenshots(served_site: str, browser) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = ["index.html", "workloads/claim-summarization.html", _case_or_run_page(_site_root(served_site))]
    compare = _compare_page(_site_root(served_site))
    if compare:
        pages += ["compare/index.html", compare]
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
        for name in pages:
            page.goto(served_site + name, wait_until="networkidle")
            assert page.evaluate("() => window.__pwned") is None
            if name == "index.html":
                # The answer comes first: the verdict sentence is the page's first paragraph, in view.
                first = page.locator("article p").first
                assert "opsbench-verdict" in (first.get_attribute("class") or "")
                assert first.is_visible() and first.inner_text().strip().endswith(".")
            stem = name.replace("/", "-").removesuffix(".html")
            page.screenshot(path=str(SCREENSHOTS / f"{stem}-{width}.png"), full_page=True)
        if width == 390:
            page.goto(served_site + "leaderboard.html", wait_until="networkidle")
            cell = page.locator(".opsbench-table td[data-label^='Acceptance']").first
            assert cell.is_visible()
            assert cell.evaluate("td => getComputedStyle(td).display") == "block"  # a card, not a column
            box = cell.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 390 + 1
        context.close()
        assert errors == [], errors
