"""``opsbench mine``: read a prompt history, label every prompt, write the aggregates.

The pipeline: read (``history``), check the human audit file if one is given (before
any model is loaded, so a bad file costs nothing), label (``classify``: rules first,
then the classifier model), aggregate (``mix``), write one mining folder (``store``).
Prompt text stays in memory: the folder holds ids, labels and counts only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from generator import __version__
from generator.errors import InputError, Problem
from generator.mine.audit import read_audit
from generator.mine.classify import ModelClassifier, Rules, classify
from generator.mine.history import HistoryFormat, read_history
from generator.mine.mix import PromptMix, audit_agreement, prompt_mix
from generator.mine.store import AuditLine, MiningManifest, write_mining_folder
from generator.registry.loader import Registry
from generator.registry.schema import MiningPolicy, ModelEntry
from generator.runs.writer import iso, new_run_id, utcnow


@dataclass
class MineOutcome:
    path: Path
    manifest: MiningManifest
    mix: PromptMix
    problems: list[Problem] = field(default_factory=list)  # lines skipped, to print as warnings


def mining_policy(reg: Registry) -> MiningPolicy:
    if reg.policy.mining is None:
        raise InputError(
            [Problem(str(reg.root / "policy.yaml"), None, "no mining: section (tiers, rules, classifier)")]
        )
    return reg.policy.mining


def classifier_model(reg: Registry, policy: MiningPolicy, named: str | None) -> ModelEntry:
    """The model that labels what no rule matched: --classifier, else policy, else the embedded default."""
    ident = named or policy.classifier
    if ident is None:
        return reg.default_model()
    if ident not in reg.models:
        raise InputError([Problem(str(reg.root / "models.yaml"), None, f"unknown classifier model {ident!r}")])
    return reg.models[ident]


def mine(
    reg: Registry,
    path: Path,
    fmt: HistoryFormat,
    out_dir: Path,
    *,
    column: str = "prompt",
    id_column: str | None = None,
    classifier: str | None = None,
    audit_path: Path | None = None,
    cli_args: list[str] | None = None,
    on_done: Callable[[], None] | None = None,
) -> MineOutcome:
    policy = mining_policy(reg)
    history = read_history(path, fmt, column=column, id_column=id_column)
    ids = [p.id for p in history.prompts]
    human = read_audit(audit_path, policy.tiers, set(ids)) if audit_path is not None else None
    rules = Rules(policy.rules)
    texts = [p.text for p in history.prompts]
    needs_model = any(rules.match(t) is None for t in texts)
    model = classifier_model(reg, policy, classifier) if needs_model else None
    sha = load_s = None
    if model is not None:
        clf = ModelClassifier(model, policy, reg.policy.execution)
        try:
            labels = classify(texts, rules, clf, on_done)
            described = clf.provider.describe()
            sha, load_s = described.file_sha256, clf.load_s
        finally:
            clf.close()
    else:
        labels = classify(texts, rules, None, on_done)
    alpha = reg.policy.statistics.alpha
    mix = prompt_mix(ids, labels, policy, alpha)
    if human is not None:
        mix.agreement = audit_agreement({i: lab.tier for i, lab in zip(ids, labels, strict=True)}, human, policy, alpha)
    by_id = dict(zip(ids, labels, strict=True))
    audit = [
        AuditLine(
            id=i,
            category=by_id[i].category,
            complexity=by_id[i].complexity,
            tier=by_id[i].tier,
            decided_by=by_id[i].decided_by,
        )
        for i in mix.audit_ids
    ]
    now = utcnow()
    manifest = MiningManifest(
        run_id=new_run_id("mine", now),
        created_at=iso(now),
        tool_version=__version__,
        format=fmt,
        files=history.files,
        prompts=len(history.prompts),
        projects=history.projects,
        sessions=history.sessions,
        skipped=dict(sorted(history.skipped.items())),
        problems=len(history.problems),
        classifier=model.id if model is not None else None,
        classifier_file_sha256=sha,
        classifier_load_s=load_s,
        rules=[r.id for r in policy.rules],
        registry_hash=reg.content_hash,
        audit_file=audit_path.name if audit_path is not None else None,
        audit_rows=len(human or {}),
        cli_args=cli_args or [],
    )
    folder = write_mining_folder(out_dir, manifest, mix, audit)
    return MineOutcome(folder, manifest, mix, history.problems)
