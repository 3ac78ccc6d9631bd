"""Page generators: analysis results in, Markdown/HTML text out. No file I/O here.

Every untrusted value goes through ``esc``/``esc_md``; tables are raw HTML built
by :meth:`SitePlan.table`, which also keeps a CSV and JSON copy next to the page.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from generator.analysis.review import ReviewReport
from generator.mine.store import MiningRun
from generator.registry.loader import Registry
from generator.runs.records import Manifest
from generator.site.glossary import glossary
from generator.site.pages.caselists import add_group_case_lists
from generator.site.pages.cases import run_files_dir
from generator.site.pages.context import SiteData, gather
from generator.site.pages.cost import cost_page
from generator.site.pages.deployment import deployment_page
from generator.site.pages.drill import add_drill_down, drill_down
from generator.site.pages.hardware import hardware_page
from generator.site.pages.home import home_page
from generator.site.pages.leaderboards import leaderboard_page
from generator.site.pages.methodology import methodology_page
from generator.site.pages.models import model_page, models_index
from generator.site.pages.orchestration import orchestration_page
from generator.site.pages.promptmix import prompt_mix_page
from generator.site.pages.proxyvalidity import proxy_page
from generator.site.pages.roles import roles_page
from generator.site.pages.runs import run_page, run_report, runs_index
from generator.site.pages.workloads import workload_page
from generator.site.plan import SitePlan

__all__ = ["SiteData", "SitePlan", "build_plan", "reports"]


def build_plan(
    reg: Registry,
    df: pd.DataFrame,
    manifests: list[Manifest],
    summaries: pd.DataFrame | None = None,
    perf: pd.DataFrame | None = None,
    review: ReviewReport | None = None,
    perf_records: dict | None = None,
    mining: list[MiningRun] | None = None,
    orchestration: list | None = None,
    latest: pd.DataFrame | None = None,
    outputs: dict[tuple[str, str], str] | None = None,
    read_outputs: Callable[[set[tuple[str, str]]], dict[tuple[str, str], str]] | None = None,
) -> tuple[SitePlan, SiteData]:
    """Gather every page, chart and data file of the site (nothing written yet).

    Outputs are not in ``df`` (a big archive's texts would not fit): ``read_outputs``, the run
    store's reader passed in by the build, is asked once for the results the pages show (each
    case's latest results, each decision's failing cases), as (run id, result key) pairs;
    ``outputs`` gives them directly instead (tests)."""
    from generator.analysis.cases import latest_results
    from generator.analysis.plans import measured_load_s, role_quality, site_plans
    from generator.analysis.proxy import proxy_report

    data = gather(reg, df, manifests, summaries, perf, review=review, perf_records=perf_records)
    plan = SitePlan(glossary=glossary(reg.policy))
    if latest is None:
        latest = latest_results(data.df, [m.run_id for m in manifests])
    if read_outputs is not None:
        outputs = read_outputs(shown_results(latest, data))
    data.outputs = outputs or {}
    drill = drill_down(data, plan, latest, data.outputs)
    plan.run_downloads = {m.run_id: run_files_dir(m.run_id) for m in manifests}
    plan.add("index.md", home_page(data, plan))
    plan.add("leaderboard.md", leaderboard_page(data, plan))
    plan.add("roles.md", roles_page(data, plan))
    for w in reg.workloads_file.workloads:
        plan.add(f"workloads/{w.id}.md", workload_page(data, plan, w))
    plan.add("models/index.md", models_index(data, plan))
    for m in reg.models_file.models:
        plan.add(f"models/{m.id}.md", model_page(data, plan, m.id))
    plan.add("hardware.md", hardware_page(data, plan))
    plan.add("cost.md", cost_page(data, plan))
    plan.add("prompt-mix.md", prompt_mix_page(reg, plan, mining or []))
    plans = site_plans(reg, role_quality(data.board(["role"])), measured_load_s(manifests))
    plan.add("deployment-plans.md", deployment_page(reg, plan, plans))
    mf = reg.models_file
    stats = reg.policy.statistics
    proxies = proxy_report(data.quality(), reg.models, stats, mf.seed_proxy_claims, mf.seed_proxy_source)
    plan.add("proxy-validity.md", proxy_page(reg, plan, proxies))
    from generator.analysis.orchestration import orchestration_report, seed_rows

    last = (orchestration or [None])[-1]  # the latest orchestration run (folders oldest first)
    orch = orchestration_report(reg, last.manifest, last.calls) if last is not None else None
    plan.add("orchestration.md", orchestration_page(plan, orch, seed_rows(reg)))
    plan.add("runs/index.md", runs_index(data, plan))
    for m in manifests:
        plan.add(f"runs/{m.run_id}.md", run_page(data, plan, m))
    plan.add("methodology.md", methodology_page(data, plan))
    add_drill_down(data, plan, drill)
    add_group_case_lists(data, plan, drill.latest, drill.case_by_id)
    for m in manifests:
        plan.download(f"runs/{m.run_id}.md", f"{run_files_dir(m.run_id)}/results.jsonl.gz", "the run's results")
        plan.download(f"runs/{m.run_id}.md", f"{run_files_dir(m.run_id)}/manifest.json", "the run's manifest")
    plan.data_files["data/index.json"] = plan.index_json()
    plan.nav = [
        {"Home": "index.md"},
        {"Leaderboard": "leaderboard.md"},
        {"Roles & incumbents": "roles.md"},
        {"Workloads": [{w.title: f"workloads/{w.id}.md"} for w in reg.workloads_file.workloads]},
        {"Models": "models/index.md"},
        {"Hardware & capacity": "hardware.md"},
        {"Cost": "cost.md"},
        {"Prompt mix": "prompt-mix.md"},
        {"Deployment plans": "deployment-plans.md"},
        {"Proxy validity": "proxy-validity.md"},
        {"Orchestration": "orchestration.md"},
        {"Cases": "cases/index.md"},
        {"Compare models": "compare/index.md"},
        # The archive, not one entry per run: the nav must not grow with each run
        # (run and model pages still build; their index pages link them).
        {"Runs": "runs/index.md"},
        {"Methodology": "methodology.md"},
    ]
    return plan, data


def shown_results(latest: pd.DataFrame, data: SiteData) -> set[tuple[str, str]]:
    """The results whose output text a page shows: every case's latest results (case pages) and
    the failing cases behind each decision (workload pages), as (run id, result key)."""
    from generator.runs.records import ResultRecord

    shown = {
        (str(r.run_id), ResultRecord.make_key(r.model_id, r.case_id, int(r.repeat), int(r.concurrency)))
        for r in latest.itertuples()
    }
    for decisions in data.decisions.values():
        for d in decisions:
            shown.update((f["run_id"], f["key"]) for f in d.failing_cases)
    return shown


def reports(data: SiteData) -> dict[str, str]:
    """One Markdown report per executed run, named by its date (later runs of a day get a suffix)."""
    out: dict[str, str] = {}
    for m in data.manifests:
        if m.origin != "executed":
            continue
        name = f"local-model-benchmark-{m.created_at[:10]}.md"
        n = 2
        while name in out:
            name = f"local-model-benchmark-{m.created_at[:10]}-{n}.md"
            n += 1
        out[name] = run_report(data, m)
    return out
