"""`opsbench build`: pages from the registry and runs, escaped, deterministic, atomic."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.registry.loader import load_registry
from generator.site.build import CACHE_DIR
from tests.conftest import BuiltSite
from tests.synth import write_run

PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "[click me](javascript:alert(3)) **bold** <b>raw</b>",
]


def build(inputs: dict[str, Path], out: Path) -> tuple[int, str]:
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
            str(out),
        ],
        catch_exceptions=False,
    )
    return result.exit_code, result.output


def plant_run(inputs: dict[str, Path]) -> list[str]:
    reg = load_registry(inputs["registry"])
    cases = [c.id for c in reg.suites["smoke"].cases]
    outputs: dict[tuple[str, str], str | None] = {}
    for i, cid in enumerate(cases):
        outputs[("gemma3-270m", cid)] = PAYLOADS[i % len(PAYLOADS)]
    outputs[("llama3.1-8b", cases[0])] = None  # a hard failure
    write_run(reg, inputs["runs"], "20260102-030405-smoke-abcdef", "smoke", outputs)
    return cases


def all_html(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): p.read_text() for p in site.rglob("*.html")}


def digest(site: Path) -> dict[str, str]:
    return {
        str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def plant_hostile_title(inputs: dict[str, Path]) -> None:
    """A contributor's case title carrying markup (the first smoke case's)."""
    case_file = sorted((inputs["registry"] / "tasks" / "smoke").glob("smoke-*.yaml"))[0]
    text = case_file.read_text()
    title_line = next(ln for ln in text.splitlines() if ln.startswith("title:"))
    case_file.write_text(text.replace(title_line, "title: '<script>window.__pwned=4</script> title'"))


def test_site_pages_escaping_and_no_runs(planted_build: BuiltSite) -> None:
    # planted_build: plant_hostile_title and plant_run on the shipped registry, built once per session.
    # A contributor's title carrying markup must come out as text too.
    out = planted_build.site
    pages = all_html(out)
    reg = load_registry(planted_build.inputs["registry"])
    assert "index.html" in pages and "leaderboard.html" in pages
    for w in reg.workloads:
        assert f"workloads/{w}.html" in pages
    for m in reg.models:
        assert f"models/{m}.html" in pages
    assert "runs/20260102-030405-smoke-abcdef.html" in pages

    # Payloads render as text, never as markup: escaped somewhere, raw nowhere.
    every = "\n".join(pages.values())
    for name, html in pages.items():
        assert "<script>window.__pwned" not in html, name
        assert '<img src=x onerror="window.__pwned=2">' not in html, name
        assert 'href="javascript:' not in html, name
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in every
    assert "&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;" in every
    assert "&lt;script&gt;window.__pwned=4&lt;/script&gt; title" in every

    # A registry model that never ran says so.
    assert "No runs yet." in pages["models/qwen2.5-coder-14b.html"]
    assert "no runs yet" in pages["models/index.html"]
    # The leaderboard has its chart: an inline spec for vega-embed and an SVG fallback.
    lb = pages["leaderboard.html"]
    assert 'class="opsbench-chart"' in lb and 'data-spec="{&amp;quot;' not in lb and "data-spec=" in lb
    svg = (out / "charts" / "acceptance-vs-latency.svg").read_text()
    assert svg.startswith("<svg") and "gemma3-270m" in svg
    assert (out / "assets" / "vendor" / "vega-bundle.js").stat().st_size > 100_000
    csv_text = (out / "data" / "leaderboard--overall.csv").read_text()
    assert csv_text.startswith("Sources,Rank,Model,Cases,Acceptance")
    assert "executed here,1,gemma3-270m" in csv_text
    # The hard failure is counted, by kind, and the table is also there as JSON.
    assert "timeout: 1" in csv_text
    rows = json.loads((out / "data" / "leaderboard--overall.json").read_text())["rows"]
    assert {r["Model"] for r in rows} == {"gemma3-270m", "llama3.1-8b"}
    # Every generated page of the nav exists, and the reports folder got this run's report.
    for name in ("roles.html", "hardware.html", "cost.html", "methodology.html", "runs/index.html"):
        assert name in pages
    assert "local-model-benchmark-2026-01-01.md" in [p.name for p in (planted_build.root / "reports").iterdir()]


def test_internal_links_resolve(planted_build: BuiltSite) -> None:
    """Every relative href/src in every page names a file the site really has."""
    import re
    from urllib.parse import unquote, urlsplit

    out = planted_build.site
    broken = []
    for page in out.rglob("*.html"):
        for target in re.findall(r'(?:href|src)="([^"]+)"', page.read_text()):
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or not parts.path or target.startswith(("#", "mailto:")):
                continue
            path = unquote(parts.path)
            # 404.html links from the site root: site_url's path (derived from repo_url, mkdocs.yml).
            root = "/local-model-ops-bench/"
            rooted = path.removeprefix(root) if path.startswith(root) else path.lstrip("/")
            resolved = (out / rooted) if path.startswith("/") else (page.parent / path).resolve()
            if resolved.is_dir():
                resolved = resolved / "index.html"
            if not resolved.exists():
                broken.append(f"{page.relative_to(out)} -> {target}")
    assert broken == []


def test_build_is_deterministic(planted_build: BuiltSite, tmp_path: Path) -> None:
    """A second build of the same inputs, beside the first one's build cache, is the same site."""
    shutil.copytree(planted_build.root / CACHE_DIR, tmp_path / CACHE_DIR)
    b = tmp_path / "b"
    assert build(planted_build.inputs, b)[0] == 0
    assert digest(planted_build.site) == digest(b)


def test_failed_build_keeps_previous_site(bare_build: BuiltSite, site_inputs: dict[str, Path], tmp_path: Path) -> None:
    # The previous site: bare_build's (the same inputs, no runs), with its build cache beside it.
    out = tmp_path / "site"
    shutil.copytree(bare_build.site, out)
    shutil.copytree(bare_build.root / CACHE_DIR, tmp_path / CACHE_DIR)
    before = digest(out)
    assert before == digest(bare_build.site)
    (site_inputs["site_src"] / "broken.md").write_text("# Broken\n\n[dead link](nowhere.md)\n")
    code, output = build(site_inputs, out)
    assert code == 1
    assert "mkdocs build --strict failed" in output and "nowhere.md" in output
    assert digest(out) == before
    assert not list(tmp_path.glob(".opsbench-build-*")), "temporary build folder left behind"


@pytest.mark.parametrize("missing", ["runs"])
def test_build_without_runs_says_no_runs(bare_build: BuiltSite, missing: str) -> None:
    assert not bare_build.inputs[missing].exists()
    out = bare_build.site
    assert "No runs yet" in (out / "index.html").read_text()
    assert "No runs yet." in (out / "leaderboard.html").read_text()


def test_run_report_findings_come_from_that_run_alone(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    """Each run's Markdown report judges the workloads on its own results, not on every run's."""
    reg = load_registry(site_inputs["registry"])
    smoke = [c.id for c in reg.suites["smoke"].cases]
    ops = [c for c in reg.suites["operator"].cases]
    write_run(
        reg, site_inputs["runs"], "20260102-030405-smoke-abcdef", "smoke", {("gemma3-270m", c): "x" for c in smoke}
    )
    write_run(
        reg,
        site_inputs["runs"],
        "20260103-030405-operator-abcdef",
        "operator",
        {("llama3.1-8b", c.id): "y" for c in ops},
        created_at="2026-01-03T00:00:00Z",
    )
    code, output = build(site_inputs, tmp_path / "site")
    assert code == 0, output
    first = (tmp_path / "reports" / "local-model-benchmark-2026-01-01.md").read_text()
    second = (tmp_path / "reports" / "local-model-benchmark-2026-01-03.md").read_text()
    findings = [ln for ln in first.split("## Workload findings")[1].splitlines() if ln.startswith("- ")]
    assert findings and all("gemma3\\-270m" in ln for ln in findings), findings
    later = [ln for ln in second.split("## Workload findings")[1].splitlines() if ln.startswith("- ")]
    op_titles = {reg.workloads[c.workload].title for c in ops if c.workload}
    assert later and all("llama3\\.1\\-8b" in ln for ln in later), later
    assert len(later) == len(op_titles)


def test_measured_above_ceiling_is_flagged(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    """A run faster than its machine's bandwidth allows says the bandwidth figure is wrong,
    instead of showing an efficiency above 100 % without comment."""
    reg = load_registry(site_inputs["registry"])
    smoke = [c.id for c in reg.suites["smoke"].cases]
    run = {("gemma3-270m", c): "x" for c in smoke}
    write_run(reg, site_inputs["runs"], "20260102-030405-smoke-abcdef", "smoke", run, machine="bench-2core", tpot=0.05)
    code, output = build(site_inputs, tmp_path / "site")
    assert code == 0, output
    assert "above its ceiling" not in (tmp_path / "site" / "hardware.html").read_text()  # 20 tok/s: 14 %

    hw = site_inputs["registry"] / "hardware.yaml"
    hw.write_text(hw.read_text().replace("    bandwidth_gbs: 36\n", "    bandwidth_gbs: 1\n"))
    code, output = build(site_inputs, tmp_path / "site")
    assert code == 0, output
    page = (tmp_path / "site" / "hardware.html").read_text()
    # 1 GB/s ÷ (0.2529 GB of weights + the KV of a ~20-token context) ≈ 4 tok/s ceiling; 1 ÷ TPOT =
    # 20 tok/s measured reads 20 × 0.2529 = 5.1 GB/s of weights alone
    assert "gemma3-270m on bench-2core ran above its" in page
    assert "read at 5.1 GB/s or more, above the 1 GB/s" in page


def test_home_compares_with_the_last_run_of_the_same_models(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    """'Since the previous run' diffs case by case, so it skips an earlier run of other models."""
    reg = load_registry(site_inputs["registry"])
    smoke = [c.id for c in reg.suites["smoke"].cases]
    runs = site_inputs["runs"]
    failing = {("gemma3-270m", c): None for c in smoke}  # hard failures: every case fails
    write_run(reg, runs, "20260101-000000-smoke-aaaaaa", "smoke", failing, created_at="2026-01-01T00:00:00Z")
    other = {("llama3.1-8b", c): "x" for c in smoke}
    write_run(reg, runs, "20260102-000000-smoke-bbbbbb", "smoke", other, created_at="2026-01-02T00:00:00Z")
    code, output = build(site_inputs, tmp_path / "site")
    assert code == 0, output
    home = (tmp_path / "site" / "index.html").read_text()
    assert "measured llama3.1-8b, so there is nothing to compare case by case" in home
    assert "earlier runs of the suite measured gemma3-270m" in home

    again = {("gemma3-270m", c): "x" for c in smoke}
    write_run(reg, runs, "20260103-000000-smoke-cccccc", "smoke", again, created_at="2026-01-03T00:00:00Z")
    code, output = build(site_inputs, tmp_path / "site")
    assert code == 0, output
    home = (tmp_path / "site" / "index.html").read_text()
    since = home.split("Compared with")[1][:2000]
    assert "20260101-000000-smoke-aaaaaa" in since and "bbbbbb" not in since
    assert f"{len(smoke)} still-failing" in since  # "x" passes no case either


def test_served_model_names_are_text(site_inputs: dict[str, Path], tmp_path: Path) -> None:
    """A server's model list is untrusted text: it shows escaped on the run page."""
    reg = load_registry(site_inputs["registry"])
    smoke = [c.id for c in reg.suites["smoke"].cases]
    folder = write_run(
        reg, site_inputs["runs"], "20260102-030405-smoke-abcdef", "smoke", {("gemma3-270m", smoke[0]): "x"}
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["models"][0] |= {"endpoint": "http://127.0.0.1:9/v1", "served_models": [PAYLOADS[1] + ".gguf"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    code, output = build(site_inputs, tmp_path / "site")
    assert code == 0, output
    page = (tmp_path / "site" / "runs" / "20260102-030405-smoke-abcdef.html").read_text()
    assert "said it serves: <code>&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;.gguf</code>" in page
    assert '<img src=x onerror="window.__pwned=2">' not in page
