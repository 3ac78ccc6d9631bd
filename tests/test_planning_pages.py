"""The prompt-mix, deployment-plans and proxy-validity pages: built from real components, untrusted text escaped."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from generator.cli import cli
from generator.mine.store import load_mining_runs
from generator.registry.loader import load_registry
from generator.runs.scan import load_results
from generator.site.pages import build_plan

EVIL = "<script>alert(1)</script>"


def test_pages_escape_registry_text_and_show_the_mix(registry_copy: Path, tmp_path: Path) -> None:
    hw = registry_copy / "hardware.yaml"
    hw.write_text(hw.read_text().replace('label: "Option B: Dual-Model Setup"', f'label: "Option B {EVIL}"'))
    models = registry_copy / "models.yaml"
    models.write_text(models.read_text().replace('claim: "Qwen3-14B quality', f'claim: "{EVIL} Qwen3-14B quality'))
    hist = tmp_path / "h.csv"
    hist.write_text("id,prompt\nx1,yes\nx2,/clear\n")
    runs = tmp_path / "runs"
    r = CliRunner().invoke(
        cli,
        [
            "mine",
            str(hist),
            "--format",
            "csv",
            "--id-column",
            "id",
            "--registry",
            str(registry_copy),
            "--out",
            str(runs),
        ],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    reg = load_registry(registry_copy)
    df, manifests = load_results(runs)
    plan, _ = build_plan(reg, df, manifests, mining=load_mining_runs(runs))
    for page in ("prompt-mix.md", "deployment-plans.md", "proxy-validity.md"):
        assert EVIL not in plan.pages[page], page
    assert "Option B &lt;script&gt;" in plan.pages["deployment-plans.md"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Qwen3-14B" in plan.pages["proxy-validity.md"]
    mix = plan.pages["prompt-mix.md"]
    assert "2 prompts from 1 file(s)" in mix
    # Both prompts matched rules at the edge tier: 2 of 2 offloadable, Wilson [34.2 %, 100.0 %].
    assert '100.0 % <span class="opsbench-ci">[34.2 %, 100.0 %]</span>' in mix
    # The seed's GLM "~4 GB" is flagged on the deployment page, beside the registry's 18.2 GB.
    assert "weights memory, glm-4.7-flash" in plan.pages["deployment-plans.md"]
    assert (
        plan.data_files["data/deployment-plans--mac-studio-m5-max-128-option-b-checks.csv"].count("INCONSISTENT") >= 2
    )
    nav = [next(iter(x)) for x in plan.nav]
    assert nav[nav.index("Cost") + 1 : nav.index("Cost") + 4] == ["Prompt mix", "Deployment plans", "Proxy validity"]


def test_prompt_mix_page_without_a_mining_run(registry_copy: Path, tmp_path: Path) -> None:
    reg = load_registry(registry_copy)
    df, manifests = load_results(tmp_path / "none")
    plan, _ = build_plan(reg, df, manifests)
    assert "No mining run yet" in plan.pages["prompt-mix.md"]
