"""``opsbench export-routing --format litellm``: the decisions and escalation chains as a LiteLLM
router configuration (the proxy's ``config.yaml`` shape: ``model_list`` + ``router_settings``).

* ``model_list``: every registry model that has an endpoint, as an OpenAI-compatible
  (``openai/``) or Ollama (``ollama_chat/``) deployment with its ``api_base``; a key is only
  ever ``os.environ/NAME`` (the registry's ``api_key_env``), never a value. Embedded models run
  inside the bench, with no endpoint: they are listed in the header, not in the list.
* ``fallbacks``: from each role's chain, every rung falls back to the rungs after it.
  LiteLLM falls back on errors and timeouts; the chain's ``check_failed`` and judge triggers
  need the bench's own checks (``opsbench run --escalate``) or application code, and the
  header says so.
* ``model_group_alias``: one alias per workload, pointing at the model its finding routes to:
  the kept local candidate, else the hosted baseline; a workload with neither gets no alias.
* A header of comments names the runs, the registry hash and the policy file's hash the
  config was derived from, and each workload's finding and its basis (after or before rails).

Pure apart from :func:`write_config`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.analysis.routing import WorkloadRouting
from generator.registry.loader import Registry
from generator.registry.schema import ModelEntry
from generator.runs.records import Manifest


@dataclass
class LiteLLMConfig:
    config: dict[str, Any]
    header: list[str]
    skipped: list[str] = field(default_factory=list)

    def text(self) -> str:
        body = yaml.safe_dump(self.config, sort_keys=False, default_flow_style=False, allow_unicode=True)
        return "".join(f"# {line}\n" if line else "#\n" for line in self.header) + body


def deployment(model: ModelEntry) -> dict[str, Any] | None:
    """One ``model_list`` entry, or None for a model with no endpoint (embedded)."""
    if model.provider == "embedded" or not model.base_url:
        return None
    prefix = "ollama_chat" if model.provider == "ollama" else "openai"
    params: dict[str, Any] = {"model": f"{prefix}/{model.request_name}", "api_base": model.base_url}
    if model.api_key_env:
        params["api_key"] = f"os.environ/{model.api_key_env}"
    return {"model_name": model.id, "litellm_params": params}


def _alias_target(r: WorkloadRouting, baseline: str | None, exported: set[str]) -> tuple[str | None, str]:
    kept = [d for d in r.decisions if d.finding == "keep" and d.model_id in exported]
    if kept:
        return kept[0].model_id, f"kept: {kept[0].model_id} ({kept[0].basis})"
    if baseline in exported:
        return baseline, "no candidate kept: hosted baseline"
    return None, "no candidate kept and no exported baseline: no alias"


def litellm_config(reg: Registry, routing: dict[str, WorkloadRouting], manifests: list[Manifest]) -> LiteLLMConfig:
    from generator import __version__

    model_list = []
    skipped = []
    for m in reg.models_file.models:
        dep = deployment(m)
        if dep is None:
            skipped.append(m.id)
        else:
            model_list.append(dep)
    exported = {d["model_name"] for d in model_list}
    fallbacks: list[dict[str, list[str]]] = []
    seen: dict[str, list[str]] = {}
    notes: list[str] = []
    for role in reg.roles_file.roles:
        chain = role.escalation
        if chain is None:
            continue
        rungs = [x for x in chain.rungs if x in exported]
        dropped = [x for x in chain.rungs if x not in exported]
        if dropped:
            notes.append(f"chain {role.id}: {', '.join(dropped)} left out (no endpoint)")
        for k, rung in enumerate(rungs[:-1]):
            rest = rungs[k + 1 :]
            if rung in seen:
                if seen[rung] != rest:
                    notes.append(f"chain {role.id}: {rung} already falls back to {', '.join(seen[rung])}; kept that")
                continue
            seen[rung] = rest
            fallbacks.append({rung: rest})
    aliases: dict[str, str] = {}
    lines = []
    for w in reg.workloads_file.workloads:
        r = routing.get(w.id)
        if r is None:
            continue
        target, why = _alias_target(r, w.baseline, exported)
        if target is not None:
            aliases[w.id] = target
        lines.append(f"workload {w.id} -> {target or '(none)'}: {why}")
    ex = reg.policy.execution
    policy_hash = hashlib.sha256((reg.root / "policy.yaml").read_bytes()).hexdigest()
    runs = [m.run_id for m in manifests] or ["(none: every finding is no-runs)"]
    header = [
        f"LiteLLM router configuration written by opsbench export-routing {__version__}.",
        f"Derived from registry {reg.content_hash[:16]} (policy.yaml sha256 {policy_hash[:16]})",
        "and runs: " + ", ".join(runs) + ".",
        "Regenerate it after every benchmark; do not edit by hand.",
        "",
        *lines,
        "",
        "fallbacks come from the escalation chains (roles.yaml). LiteLLM falls back on errors and",
        "timeouts only; the chains' check and judge triggers need the bench's checks (opsbench run",
        "--escalate) or application code. Guard rules (workloads.yaml rules) run before the call.",
        *(["Not exported (no endpoint, embedded): " + ", ".join(skipped)] if skipped else []),
        *notes,
        "",
    ]
    settings: dict[str, Any] = {
        "fallbacks": fallbacks,
        "model_group_alias": aliases,
        "timeout": ex.request_timeout_s,
        "num_retries": ex.max_retries,
    }
    return LiteLLMConfig({"model_list": model_list, "router_settings": settings}, header, skipped)


def write_config(path: Path, cfg: LiteLLMConfig) -> None:
    """Write atomically: a reader never sees half a config."""
    from generator.runs.writer import atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, cfg.text())
