"""The run archive: an index, one page per run, and a Markdown report per run in reports/."""

from __future__ import annotations

import pandas as pd

from generator.analysis.decisions import GATE_COLUMNS, decide
from generator.analysis.evidence import LEVEL, run_cells
from generator.analysis.leaderboard import evidence_cells, leaderboard
from generator.privacy import localities
from generator.runs.records import Manifest
from generator.site.html import Cell, esc, esc_md, fmt_num
from generator.site.pages.common import num_cell
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan, rel

MAX_ROWS = 500


def runs_index(data: SiteData, plan: SitePlan) -> str:
    page = "runs/index.md"
    out = ["# Run archive", ""]
    if not data.manifests:
        return "\n".join([*out, "No runs yet.", ""])
    rows = []
    for m in reversed(data.manifests):
        origin = m.origin if m.origin == "executed" else f"ingested from {(m.source or {}).get('format', '?')}"
        rows.append(
            [
                Cell(f'<a href="{esc(rel(page, f"runs/{m.run_id}.md"))}">{esc(m.run_id)}</a>', plain=m.run_id),
                origin,
                m.created_at,
                m.settings.suite,
                ", ".join(m.settings.models),
                m.status,
                (m.privacy.outputs if m.privacy else "text (not recorded)") if m.origin == "executed" else "—",
            ]
        )
    out += [
        plan.table(
            page, "runs", ["Run", "Origin", "Created (UTC)", "Suite", "Models", "Status", "Outputs stored"], rows
        ),
        "",
    ]
    return "\n".join(out)


def _settings_rows(m: Manifest) -> list[list[object]]:
    s = m.settings
    rows: list[list[object]] = [
        ["Origin", m.origin],
        ["Status", m.status],
        ["Created (UTC)", m.created_at],
        ["Finished (UTC)", m.finished_at or "—"],
        ["Suite", s.suite],
        ["Models", ", ".join(s.models)],
        ["Repeats", s.repeats],
        ["Load levels", ", ".join(map(str, s.concurrency_levels)) or "—"],
        ["Max tokens", s.max_tokens or "per case"],
        ["Temperature", s.temperature],
        ["Seed", s.seed],
        ["Request timeout (s)", s.request_timeout_s],
        ["Machine profile", s.machine or "not stated"],
        ["Judges", ", ".join(s.judges) or "none"],
        ["Registry hash", m.registry_hash],
        ["Suite hash", m.suite_hash],
        ["Tool version", m.tool_version],
        ["Command", "opsbench " + " ".join(m.cli_args)],
    ]
    if m.source:
        rows += [[f"source {k}", v if not isinstance(v, list | dict) else str(v)] for k, v in sorted(m.source.items())]
    rows += [["note", n] for n in m.notes]
    return rows


def stale_reasons(data: SiteData, m: Manifest) -> list[str]:
    """Why a run was made at other registry or suite files than this site's (empty: the same)."""
    reg = data.reg
    if m.origin != "executed":
        return []
    out = []
    if m.registry_hash != reg.content_hash:
        out.append("registry files differ from this site's")
    if m.settings.suite not in reg.suite_hashes:
        out.append(f"suite {m.settings.suite} is no longer in the registry")
    elif m.suite_hash != reg.suite_hashes[m.settings.suite]:
        out.append(f"suite {m.settings.suite}'s task files differ from this site's")
    return out


def _privacy_rows(data: SiteData, plan: SitePlan, page: str, m: Manifest) -> list[str]:
    """Where this run's prompts and outputs went and what it stored (``opsbench run`` records it)."""
    out = ["## Privacy and provenance", ""]
    stale = stale_reasons(data, m)
    out += [
        f"Registry at this site's commit: **{'stale' if stale else 'same files'}**"
        + (f" ({esc_md('; '.join(stale))})" if stale else "")
        + ".",
        "",
    ]
    pv = m.privacy
    if pv is None:
        stored = "output text" if m.origin == "executed" else "what the ingested file held"
        out += [
            f"This run predates privacy records: its endpoints' locality was not recorded; it stores {stored}.",
            "",
        ]
        return out
    out += [
        "**Outputs stored:** "
        + ("a sha256 of each output, not its text (redacted)" if pv.outputs == "sha256" else "the output text")
        + ". This tool wrote: "
        + esc_md("; ".join(pv.stored))
        + ".",
        "",
    ]
    logs = {True: "yes", False: "no", None: "cannot tell"}
    rows = [
        [e.model_id, e.endpoint or "in-process", e.locality, e.reason, logs[e.logs_prompts], e.logging_note]
        for e in pv.endpoints
    ]
    out += [
        plan.table(
            page,
            "privacy",
            ["Model", "Endpoint", "Locality", "Why", "Logs prompts", "What is known"],
            rows,
            sortable=False,
        ),
        "",
    ]
    return out


def _env_rows(m: Manifest) -> list[list[object]]:
    env = m.environment or {}
    rows: list[list[object]] = [
        ["OS", env.get("os", "—")],
        ["CPU", env.get("cpu_model", "—")],
        ["Cores", env.get("cpu_cores", "—")],
        ["Memory (GB)", env.get("memory_gb", "—")],
        ["GPUs", ", ".join(env.get("gpus") or []) or "none"],
        ["Python", env.get("python", "—")],
    ]
    rows += [[f"package {k}", v or "—"] for k, v in sorted((env.get("packages") or {}).items())]
    return rows


# What a run report's findings read: the gates' columns (no output texts: a report quotes none).
REPORT_COLUMNS = [*GATE_COLUMNS, "failure_summary"]


def run_rows(data: SiteData, run_id: str) -> pd.DataFrame | None:
    """This run's rows of the frame (None: it has none). The frame is split by run once per
    build, so each run page and report reads its own rows instead of filtering every run's."""
    where = data.once(
        "run_rows",
        lambda: {} if data.df.empty else data.df.groupby("run_id", sort=False, observed=True).indices,
    )
    idx = where.get(run_id)
    return None if idx is None else data.df.iloc[idx]


def _case_rows(plan: SitePlan, page: str, per: pd.DataFrame, several: bool) -> list[list[object]]:
    """The per-case table's rows: each column read out once (no row objects, no Arrow scalars)."""
    links = {c: plan.case_link(page, c) for c in per["case_id"].unique()}
    levels = [fmt_num(v, 0) for v in per[LEVEL].tolist()] if several else None
    cols = [per[k].tolist() for k in ("model_id", "case_id", "n", "accepted", "n_hard", "pain", "latency_p50_s", "why")]
    rows = []
    for i, (model, case, n, acc, hard, pain, lat, why) in enumerate(zip(*cols, strict=True)):
        rows.append(
            [
                model,
                links[case],
                *([levels[i]] if levels is not None else []),
                n,
                num_cell(acc, text=fmt_num(acc, pct=True)),
                hard,
                num_cell(pain, 1),
                num_cell(lat),
                why,
            ]
        )
    return rows


def run_page(data: SiteData, plan: SitePlan, m: Manifest) -> str:
    page = f"runs/{m.run_id}.md"
    out = [f"# Run {esc_md(m.run_id)}", ""]
    if m.origin == "ingested":
        src = m.source or {}
        out += [
            f'<p class="opsbench-note">Ingested from <b>{esc(src.get("format", "?"))}</b> file '
            f"<code>{esc(src.get('file_name', '?'))}</code> (sha256 {esc(str(src.get('sha256', ''))[:16])}…): "
            "it shows only the metrics that file really has.</p>",
            "",
        ]
    files = plan.run_downloads.get(m.run_id)
    if files:
        out += [
            '<p class="opsbench-download">Download this run: '
            f'<a href="{esc(rel(page, files + "/manifest.json"))}">manifest.json</a> · '
            f'<a href="{esc(rel(page, files + "/results.jsonl.gz"))}">results.jsonl</a> (gzip; every '
            "request, repeat and whole output, one JSON object a line)</p>",
            "",
        ]
    out += [
        "## Settings",
        "",
        plan.table(page, "settings", ["Setting", "Value"], _settings_rows(m), sortable=False),
        "",
    ]
    out += _privacy_rows(data, plan, page, m)
    out += [
        "## Environment",
        "",
        plan.table(page, "environment", ["Item", "Value"], _env_rows(m), sortable=False),
        "",
    ]
    out += [
        "## Models",
        "",
        plan.table(
            page,
            "models",
            ["Model", "Runtime", "Version", "Endpoint", "File", "Size (bytes)", "sha256", "Load (s)"],
            [
                [
                    x.id,
                    x.runtime or x.provider,
                    x.runtime_version or "—",
                    x.endpoint or "in-process",
                    x.file_name or "—",
                    x.file_size_bytes or "—",
                    x.file_sha256 or "—",
                    fmt_num(x.load_s),
                ]
                for x in m.models
            ],
        ),
        "",
    ]
    for x in m.models:
        if x.served_models:
            served = ", ".join(f"<code>{esc(name)}</code>" for name in x.served_models)
            out += [f'<p class="opsbench-note">{esc(x.endpoint or "")} said it serves: {served}.</p>', ""]
    out += ["## Per-case results", ""]
    rows_of_run = run_rows(data, m.run_id)
    if rows_of_run is None:
        out += ["No per-case results in this run.", ""]
        return "\n".join(out)
    per = run_cells(rows_of_run)[m.run_id].sort_values(["accepted", "model_id", "case_id", LEVEL], kind="mergesort")
    several = per[LEVEL].nunique() > 1
    rows = _case_rows(plan, page, per, several)
    out += [
        plan.table(
            page,
            "cases",
            [
                "Model",
                "Case",
                *(["In flight"] if several else []),
                "Results",
                "Accepted",
                "Hard failures",
                "Review pain",
                "E2E p50 (s)",
                "What failed",
            ],
            rows,
            max_rows=MAX_ROWS,
        ),
        "",
    ]
    return "\n".join(out)


def run_report(data: SiteData, m: Manifest) -> str:
    """A plain Markdown report of one run (reports/local-model-benchmark-YYYY-MM-DD.md)."""
    lines = [
        f"# Local model benchmark {m.created_at[:10]}",
        "",
        f"Run `{m.run_id}` ({m.origin}, {m.status}); suite `{m.settings.suite}`; "
        f"models: {', '.join(m.settings.models)}.",
        "",
    ]
    env = m.environment or {}
    if env:
        lines += [
            f"Environment: {esc_md(env.get('cpu_model'))}, {env.get('cpu_cores')} cores, "
            f"{env.get('memory_gb')} GB RAM; {esc_md(env.get('os'))}; Python {env.get('python')}.",
            "",
        ]
    rows_of_run = run_rows(data, m.run_id)
    if rows_of_run is None:
        return "\n".join([*lines, "No per-case results.", ""])
    rdf = rows_of_run[[c for c in REPORT_COLUMNS if c in rows_of_run.columns]]
    # One reading of the run's cells for its leaderboard and every workload's decisions (the gates'
    # columns are all the evidence cells read): the same numbers as the archive's board by run.
    q = evidence_cells(rdf)
    board = leaderboard(rows_of_run, stats=data.reg.policy.statistics, q=q)
    lines += [
        "| Rank | Model | Cases | Acceptance [95 % CI] | Weighted score | Review pain | Hard failures "
        "| Latency p50 (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in board.itertuples():
        lines.append(
            f"| {r.rank} | {esc_md(r.model_id)} | {r.cases} | {r.acceptance_rate:.0%} [{r.acceptance_low:.0%}, "
            f"{r.acceptance_high:.0%}] | {r.weighted_score:g}/{r.weighted_total:g} | {r.review_pain:.2f} | "
            f"{r.hard_failure_rate:.0%} | {fmt_num(r.latency_p50_s)} |"
        )
    levels = m.settings.concurrency_levels
    if len(levels) > 1:
        lines += [
            "",
            f"Latency is at {min(levels)} request(s) in flight, the lowest of this run's load levels "
            f"({', '.join(str(x) for x in levels)}); each model's page on the site shows every level.",
        ]
    lines += [
        "",
        "Acceptance is the mean of per-case means (repeats averaged, each case at its lowest load level) "
        "with a 95 % Wilson interval over cases. Rank: one plus the number of models significantly better "
        "on the cases both ran (paired test), so tied models share a rank.",
    ]
    lines += [
        "",
        "## Workload findings",
        "",
        "From this run's results alone (the site's workload pages weigh every run).",
        "",
    ]
    reg = data.reg
    for w in reg.workloads_file.workloads:
        if not rdf["workload"].eq(w.id).any():
            continue
        roi = data.roi[w.id].net_per_month if w.id in data.roi else None
        postures = data.once("postures", lambda: localities(reg.models, reg.policy.privacy))
        pol = reg.policy
        for d in decide(rdf, w, pol.decisions, [], pol.statistics, 0, roi, q=q, privacy=pol.privacy, postures=postures):
            flip = f" What would flip it: {esc_md(d.fragility_text)}." if d.fragility is not None else ""
            lines.append(
                f"- **{esc_md(w.title)}**, {esc_md(d.model_id)} ({d.cases} cases): {d.finding}, route {d.route}. "
                f"{esc_md(d.reason)}.{flip}"
            )
    return "\n".join([*lines, ""])
