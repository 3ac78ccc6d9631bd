"""Methodology, generated from policy.yaml and the check definitions so it cannot drift from the code.

The prose is the template ``templates/methodology.md.j2`` (autoescaped); this module gathers what
it states: the check table, the findings table, and every policy section's values with what each
means (the schema's field descriptions, else :data:`MEANINGS`). No policy number is written here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from generator.analysis.promotion import PROMOTION_TEST_NOTE
from generator.execute.checks import CHECK_DESCRIPTIONS
from generator.registry.schema import CHECK_CATEGORY, Check, PolicyFile
from generator.site.html import Cell, esc
from generator.site.pages.common import inline_md
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan
from generator.site.templates import Markup, render

PAGE = "methodology.md"

# What a policy section governs, shown above its table (presentation text: no numbers).
SECTION_INTROS: dict[str, str] = {
    "input_limits": "How much of a file nobody here wrote is read before it is refused (read first, before "
    "any other file).",
    "scoring": "How check outcomes become acceptance, weighted score and review pain.",
    "promotion": "When a challenger replaces a role's incumbent (roles page).",
    "statistics": "How every comparison, interval and gate treats uncertainty.",
    "decisions": "How failing gates become keep / fix / defer / reject and a route.",
    "judge": "Optional model judges.",
    "execution": "How requests are sent, retried and sampled.",
    "readiness": "The probe a model must pass before it takes traffic.",
    "claims": "How closely a quoted figure must match what its own inputs give.",
    "review": "Human review as evidence.",
    "routing": "Guard rules and input-length evidence on the workload pages.",
    "privacy": "Where prompts and outputs may go.",
    "submissions": "What `opsbench check-run` accepts from a contributed run.",
    "mining": "Prompt-history mining (prompt-mix page).",
    "orchestration": "The orchestration verdict (orchestration page).",
}

# Meanings of the settings whose schema field carries no description (``section.field``).
MEANINGS: dict[str, str] = {
    "scoring.severity_weights": "Weight of one case, and of one failed check, by severity: what weighted "
    "score and review pain add up.",
    "scoring.output_excerpt_chars": "Characters of an output quoted on workload pages and kept in memory per "
    "result when the site is built.",
    "scoring.max_output_chars": "Characters of an output a run stores and scores; the rest is cut.",
    "promotion.min_families_per_role": "Incumbent and challengers of a role must keep at least this many model "
    "families (diversity guard).",
    "promotion.min_shared_cases": "No promotion or retirement on fewer shared cases than this: the verdict is "
    "insufficient evidence.",
    "decisions.gate_kinds": "Which metrics each kind of gate covers and the finding its failure leads to (the "
    "findings table above).",
    "judge.scale_max": "Top of the judge scale: 0 fail, 1 acceptable, this value good.",
    "judge.disagreement_threshold": "A spread between two judges above this flags the case for human review.",
    "judge.judges": "The judge models a run uses (none: judging is off).",
    "execution.request_timeout_s": "Client timeout of one request, seconds.",
    "execution.max_retries": "Retries of a connection error, HTTP 429 or 5xx before the request is a hard failure.",
    "execution.backoff_base_s": "First wait of the exponential backoff between retries, seconds.",
    "execution.backoff_max_s": "Longest wait between retries, seconds.",
    "execution.default_max_tokens": "Output token limit of a case that sets none.",
    "execution.temperature": "Sampling temperature of every request.",
    "execution.seed": "Sampling seed sent with every request.",
    "readiness.probe_prompt": "The prompt of the one-token readiness probe (`opsbench probe`).",
    "readiness.probe_max_s": "The probe must return a valid completion within this many seconds.",
    "statistics.power": "Planned power for the minimum effect of interest (cases-needed figures).",
    "statistics.bootstrap_resamples": "Resamples of every bootstrap interval over cases.",
    "statistics.permutation_resamples": "Monte Carlo resamples of the sign-flip test between its exact and "
    "normal ranges.",
    "statistics.seed": "Seed of every resampling, so a verdict is reproducible.",
    "claims.rel_tolerance": "Share by which a quoted figure may differ from what its inputs give and still "
    "count as consistent.",
    "privacy.findings": "Privacy findings quoted from the source deliverable (shown on the workload pages they name).",
    "mining.categories": "Labels a mined prompt can get.",
    "mining.complexities": "Complexity grades a mined prompt can get.",
    "mining.rules": "Deterministic rules tried first, in order (by id); the first match labels the prompt.",
    "mining.classifier_max_tokens": "Output token limit of one classifier request.",
    "mining.audit_sample_size": "Prompt ids drawn for a human audit of the labels.",
    "mining.sample_seed": "Seed of that audit sample.",
    "mining.seed_source": "Where the quoted prompt-mix shares come from.",
}


def _fmt(value: Any) -> str:
    """A setting's value as policy.yaml would state it, on one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, BaseModel):
        return "; ".join(f"{k}: {_fmt(v)}" for k, v in value)
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        return ", ".join(str(k) for k in value)  # their settings have their own table or page
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, BaseModel) and hasattr(v, "id") for v in value):
            return ", ".join(str(v.id) for v in value)
        if value and all(isinstance(v, BaseModel) for v in value):
            return f"{len(value)} entries"
        return ", ".join(_fmt(v) for v in value) or "none"
    return " ".join(str(value).split())


def _policy_rows(section: str, model: BaseModel, prefix: str = "") -> list[list[Any]]:
    """One row per setting of a policy section; a nested block's settings get dotted names."""
    rows: list[list[Any]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            rows += _policy_rows(section, value, f"{key}.")
            continue
        meaning = inline_md(info.description or MEANINGS.get(f"{section}.{key}"))
        rows.append([Cell(f"<code>{esc(key)}</code>", plain=key), _fmt(value), meaning])
    return rows


def policy_sections(policy: PolicyFile) -> list[tuple[str, list[list[Any]]]]:
    """Every section of policy.yaml that is set, with its rows (the order of the file's schema)."""
    out = []
    for name in type(policy).model_fields:
        block = getattr(policy, name)
        if isinstance(block, BaseModel):
            out.append((name, _policy_rows(name, block)))
    return out


def _check_docs() -> list[list[str]]:
    rows = []
    for cls in Check.__args__[0].__args__:  # type: ignore[attr-defined]
        kind = cls.model_fields["kind"].annotation.__args__[0]
        fields = [f for f in cls.model_fields if f not in ("kind", "id", "severity", "note")]
        rows.append([kind, CHECK_CATEGORY[kind], ", ".join(fields) or "—", CHECK_DESCRIPTIONS[kind]])
    rows.append(["prompt_echo (built in)", CHECK_CATEGORY["prompt_echo"], "—", CHECK_DESCRIPTIONS["prompt_echo"]])
    return rows


def methodology_page(data: SiteData, plan: SitePlan) -> str:
    pol = data.reg.policy
    weights = ", ".join(f"{k} {v:g}" for k, v in pol.scoring.severity_weights.items())
    checks = plan.table(PAGE, "checks", ["Check", "Counts as", "Fields", "What it does"], _check_docs(), sortable=False)
    rows = [[k, v.metric, v.finding_on_fail, v.explanation] for k, v in pol.decisions.gate_kinds.items()]
    findings = plan.table(
        PAGE, "findings", ["Gate kind", "Metrics", "Finding when it fails", "Meaning"], rows, sortable=False
    )
    sections = [
        {
            "name": name,
            "intro": Markup(inline_md(SECTION_INTROS[name]).html) if name in SECTION_INTROS else "",
            "table": Markup(
                plan.table(PAGE, f"policy-{name}", ["Setting", "Value", "What it does"], srows, sortable=False)
            ),
        }
        for name, srows in policy_sections(pol)
    ]
    return render(
        "methodology.md.j2",
        pol=pol,
        sc=pol.scoring,
        ex=pol.execution,
        pr=pol.promotion,
        j=pol.judge,
        rv=pol.review,
        st=pol.statistics,
        weights=weights,
        checks=Markup(checks),
        findings=Markup(findings),
        promotion_note=PROMOTION_TEST_NOTE,
        sections=sections,
    )
