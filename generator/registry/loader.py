"""Load ``registry/`` into typed records and cross-check it.

Every problem in every file is collected before anything is reported, so a
contributor fixes a broken pull request in one pass. Nothing here writes files.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import InputError, Problem
from generator.inputguard import read_input_limits, tree_problems
from generator.registry.compound import Compound, compound_problems, load_compound
from generator.registry.schema import (
    SLUG_RE,
    FileLimits,
    HardwareFile,
    ModelEntry,
    ModelsFile,
    PolicyFile,
    PricingFile,
    Role,
    RolesFile,
    SuiteMeta,
    TaskCase,
    Workload,
    WorkloadsFile,
)
from generator.registry.yamlio import Doc, display_path, read_doc, validate_doc

REGISTRY_FILES: dict[str, type] = {
    "models.yaml": ModelsFile,
    "roles.yaml": RolesFile,
    "policy.yaml": PolicyFile,
    "hardware.yaml": HardwareFile,
    "pricing.yaml": PricingFile,
    "workloads.yaml": WorkloadsFile,
}
SUITE_META = "_suite.yaml"


@dataclass
class Suite:
    id: str
    meta: SuiteMeta | None
    cases: list[TaskCase]
    files: dict[str, Path] = field(default_factory=dict)  # case id -> file


@dataclass
class Registry:
    """Everything under ``registry/``, validated and cross-checked."""

    root: Path
    models_file: ModelsFile
    roles_file: RolesFile
    policy: PolicyFile
    hardware: HardwareFile
    pricing: PricingFile
    workloads_file: WorkloadsFile
    suites: dict[str, Suite]
    content_hash: str
    suite_hashes: dict[str, str]
    compound: Compound = field(default_factory=Compound)  # registry/compound/ (orchestration)

    @property
    def models(self) -> dict[str, ModelEntry]:
        return {m.id: m for m in self.models_file.models}

    @property
    def roles(self) -> dict[str, Role]:
        return {r.id: r for r in self.roles_file.roles}

    @property
    def workloads(self) -> dict[str, Workload]:
        return {w.id: w for w in self.workloads_file.workloads}

    def all_cases(self) -> list[tuple[str, TaskCase]]:
        return [(s, c) for s, suite in sorted(self.suites.items()) for c in suite.cases]

    def default_model(self) -> ModelEntry:
        """The first embedded model: runs anywhere with no server (what `probe` checks by default)."""
        return self.default_models()[0]

    def default_models(self) -> list[ModelEntry]:
        """Every embedded model, in registry order: what `opsbench run` runs when not told, so the
        main job compares two families on the same cases."""
        found = [m for m in self.models_file.models if m.provider == "embedded"]
        if not found:
            raise InputError([Problem(str(self.root / "models.yaml"), None, "no embedded model")])
        return found


def _hash_files(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(paths, key=lambda q: q.relative_to(root).as_posix()):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


class _Locator:
    """Remembers the raw YAML of each file so cross-reference errors get line numbers."""

    def __init__(self) -> None:
        self.raw: dict[str, Doc] = {}

    def add(self, name: str, doc: Doc) -> None:
        self.raw[name] = doc

    def problem(self, name: str, loc: list[Any], message: str) -> Problem:
        doc = self.raw[name]
        return Problem(display_path(doc.path), doc.line(loc), message)


def _load_suites(tasks_dir: Path, problems: list[Problem], loc: _Locator, limits: FileLimits) -> dict[str, Suite]:
    suites: dict[str, Suite] = {}
    if not tasks_dir.is_dir():
        problems.append(Problem(display_path(tasks_dir), None, "task folder is missing"))
        return suites
    for suite_dir in sorted(p for p in tasks_dir.iterdir() if p.is_dir()):
        name = suite_dir.name
        if not SLUG_RE.fullmatch(name):
            problems.append(Problem(display_path(suite_dir), None, f"unsafe suite name {name!r}"))
            continue
        meta = None
        cases: list[TaskCase] = []
        files: dict[str, Path] = {}
        for path in sorted(suite_dir.iterdir()):
            if path.is_dir():
                problems.append(Problem(display_path(path), None, "nested folders are not allowed"))
                continue
            if path.suffix != ".yaml":
                hint = " (use the .yaml extension)" if path.suffix == ".yml" else ""
                problems.append(Problem(display_path(path), None, f"not a task file{hint}"))
                continue
            doc = read_doc(path, problems, limits)
            if doc is None:
                continue
            if path.name == SUITE_META:
                meta = validate_doc(SuiteMeta, doc, problems)
                continue
            case = validate_doc(TaskCase, doc, problems)
            if case is None:
                continue
            assert isinstance(case, TaskCase)
            if case.id != path.stem:
                problems.append(
                    Problem(
                        display_path(path),
                        doc.line(["id"]),
                        f"case id {case.id!r} must match the file name {path.stem!r}",
                    )
                )
            loc.add(f"case:{name}:{case.id}", doc)
            cases.append(case)
            files[case.id] = path
        if not cases and meta is None:
            continue
        if not cases:
            problems.append(Problem(display_path(suite_dir), None, "suite has no cases"))
        suites[name] = Suite(id=name, meta=meta, cases=cases, files=files)  # type: ignore[arg-type]
    return suites


def load_registry(root: Path | str = "registry") -> Registry:
    """Load and cross-check the registry; raise :class:`InputError` with every problem."""
    root = Path(root)
    problems: list[Problem] = []
    if not root.is_dir():
        raise InputError([Problem(display_path(root), None, "registry folder not found")])
    # Untrusted input first: no link is followed and no file is read past policy.yaml's limits.
    unsafe = tree_problems(root)
    if unsafe:
        raise InputError(unsafe)
    limits = read_input_limits(root).registry
    loc = _Locator()
    parsed: dict[str, Any] = {}
    for name, model in REGISTRY_FILES.items():
        path = root / name
        if not path.is_file():
            problems.append(Problem(display_path(path), None, "required registry file is missing"))
            continue
        doc = read_doc(path, problems, limits)
        if doc is None:
            continue
        loc.add(name, doc)
        parsed[name] = validate_doc(model, doc, problems)
    suites = _load_suites(root / "tasks", problems, loc, limits)
    if any(v is None for v in parsed.values()) or len(parsed) < len(REGISTRY_FILES):
        # Cross-references need every file; report what we have.
        raise InputError(problems)
    reg = Registry(
        root=root,
        models_file=parsed["models.yaml"],
        roles_file=parsed["roles.yaml"],
        policy=parsed["policy.yaml"],
        hardware=parsed["hardware.yaml"],
        pricing=parsed["pricing.yaml"],
        workloads_file=parsed["workloads.yaml"],
        suites=suites,
        content_hash="",
        suite_hashes={},
        compound=load_compound(root, problems, limits),
    )
    problems.extend(cross_check(reg, loc))
    if problems:
        raise InputError(problems)
    all_files = [p for p in root.rglob("*.yaml") if p.is_file()]
    reg.content_hash = _hash_files(all_files, root)
    reg.suite_hashes = {s: _hash_files([p for p in (root / "tasks" / s).glob("*.yaml")], root) for s in suites}
    return reg


def _dupes(items: list[Any], attr: str = "id") -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        seen.setdefault(getattr(item, attr), []).append(i)
    return {k: v for k, v in seen.items() if len(v) > 1}


def cross_check(reg: Registry, loc: _Locator) -> list[Problem]:
    """References between files: every id named must exist, every id must be unique."""
    out: list[Problem] = []
    models = reg.models_file.models
    model_ids = {m.id for m in models}
    for key, idx in _dupes(models).items():
        for i in idx[1:]:
            out.append(loc.problem("models.yaml", ["models", i, "id"], f"duplicate model id {key!r}"))
    for alias, target in reg.models_file.aliases.items():
        if target not in model_ids:
            out.append(
                loc.problem("models.yaml", ["aliases", alias], f"alias {alias!r} names unknown model {target!r}")
            )

    for i, m in enumerate(models):
        if m.same_weights_as is not None and m.same_weights_as not in model_ids:
            out.append(
                loc.problem("models.yaml", ["models", i, "same_weights_as"], f"unknown model {m.same_weights_as!r}")
            )
    mining = reg.policy.mining
    if mining is not None and mining.classifier is not None and mining.classifier not in model_ids:
        out.append(loc.problem("policy.yaml", ["mining", "classifier"], f"unknown model {mining.classifier!r}"))

    roles = reg.roles_file.roles
    role_ids = {r.id for r in roles}
    for key, idx in _dupes(roles).items():
        for i in idx[1:]:
            out.append(loc.problem("roles.yaml", ["roles", i, "id"], f"duplicate role id {key!r}"))
    for i, role in enumerate(roles):
        if role.incumbent not in model_ids:
            out.append(loc.problem("roles.yaml", ["roles", i, "incumbent"], f"unknown model {role.incumbent!r}"))
        for j, ch in enumerate(role.challengers):
            if ch not in model_ids:
                out.append(loc.problem("roles.yaml", ["roles", i, "challengers", j], f"unknown model {ch!r}"))
            if ch == role.incumbent:
                out.append(
                    loc.problem("roles.yaml", ["roles", i, "challengers", j], f"{ch!r} is already the incumbent")
                )
        if len(set(role.challengers)) != len(role.challengers):
            out.append(loc.problem("roles.yaml", ["roles", i, "challengers"], "a challenger is listed twice"))

    pol = reg.policy
    for j, judge in enumerate(pol.judge.judges):
        if judge not in model_ids:
            out.append(loc.problem("policy.yaml", ["judge", "judges", j], f"unknown model {judge!r}"))
    judge_families = [reg.models[j].family for j in pol.judge.judges if j in model_ids]
    if len(set(judge_families)) < len(judge_families):
        out.append(loc.problem("policy.yaml", ["judge", "judges"], "the judges must come from different families"))
    if len(pol.judge.judges) > pol.judge.max_judges:
        out.append(
            loc.problem(
                "policy.yaml",
                ["judge", "judges"],
                f"{len(pol.judge.judges)} judges; policy allows at most {pol.judge.max_judges} (judge.max_judges)",
            )
        )
    if pol.review.judge_acceptable_score > pol.judge.scale_max:
        out.append(
            loc.problem(
                "policy.yaml",
                ["review", "judge_acceptable_score"],
                f"judge_acceptable_score {pol.review.judge_acceptable_score} is above judge.scale_max "
                f"{pol.judge.scale_max}: no judge could ever accept",
            )
        )
    for i, w in enumerate(reg.workloads_file.workloads):
        for j, dim in enumerate(w.review_rubric):
            if not dim.scale_min <= pol.review.acceptable_score <= dim.scale_max:
                out.append(
                    loc.problem(
                        "workloads.yaml",
                        ["workloads", i, "review_rubric", j, "id"],
                        f"policy.yaml review.acceptable_score {pol.review.acceptable_score} is outside "
                        f"dimension {dim.id!r}'s scale {dim.scale_min}..{dim.scale_max}",
                    )
                )
    missing_sev = {"low", "medium", "high", "critical"} - set(pol.scoring.severity_weights)
    if missing_sev:
        out.append(
            loc.problem(
                "policy.yaml",
                ["scoring", "severity_weights"],
                f"severity_weights lacks {sorted(missing_sev)}",
            )
        )

    machines = reg.hardware.machines
    machine_ids = {m.id for m in machines}
    for key, idx in _dupes(machines).items():
        for i in idx[1:]:
            out.append(loc.problem("hardware.yaml", ["machines", i, "id"], f"duplicate machine id {key!r}"))

    claims = reg.hardware.seed_claims
    if claims is not None:
        elec_ids = {c.id for c in claims.electricity}
        for key, idx in _dupes(claims.electricity).items():
            for i in idx[1:]:
                out.append(
                    loc.problem("hardware.yaml", ["seed_claims", "electricity", i, "id"], f"duplicate claim id {key!r}")
                )
        for i, sv in enumerate(claims.electricity_saving):
            for side in ("cheaper", "dearer"):
                ref = getattr(sv, side)
                if ref not in elec_ids:
                    out.append(
                        loc.problem(
                            "hardware.yaml",
                            ["seed_claims", "electricity_saving", i, side],
                            f"unknown electricity claim {ref!r} (known: {', '.join(sorted(elec_ids)) or 'none'})",
                        )
                    )

    pr = reg.pricing
    currencies = set(pr.fx_to_currency) | {pr.currency}
    api_ids = {a.id for a in pr.api_prices}
    tier_ids = {t.id for t in pr.subscriptions}
    for name, items in (("api_prices", pr.api_prices), ("subscriptions", pr.subscriptions)):
        for key, idx in _dupes(items).items():
            for i in idx[1:]:
                out.append(loc.problem("pricing.yaml", [name, i, "id"], f"duplicate id {key!r}"))
        for i, item in enumerate(items):
            if item.currency not in currencies:
                out.append(
                    loc.problem("pricing.yaml", [name, i, "currency"], f"no fx rate for currency {item.currency!r}")
                )
    for i, m in enumerate(machines):
        if m.currency is not None and m.currency not in currencies:
            out.append(
                loc.problem(
                    "hardware.yaml",
                    ["machines", i, "currency"],
                    f"no fx rate in pricing.yaml for {m.currency!r}",
                )
            )
    for i, sa in enumerate(pr.scenario_a):
        if sa.api not in api_ids:
            out.append(loc.problem("pricing.yaml", ["scenario_a", i, "api"], f"unknown api price {sa.api!r}"))
        if sa.machine not in machine_ids:
            out.append(loc.problem("pricing.yaml", ["scenario_a", i, "machine"], f"unknown machine {sa.machine!r}"))
        if sa.model is not None and sa.model not in model_ids:
            out.append(loc.problem("pricing.yaml", ["scenario_a", i, "model"], f"unknown model {sa.model!r}"))
    for i, sb in enumerate(pr.scenario_b):
        for key in ("from_tier", "to_tier"):
            if getattr(sb, key) not in tier_ids:
                out.append(
                    loc.problem("pricing.yaml", ["scenario_b", i, key], f"unknown subscription {getattr(sb, key)!r}")
                )
        if sb.machine not in machine_ids:
            out.append(loc.problem("pricing.yaml", ["scenario_b", i, "machine"], f"unknown machine {sb.machine!r}"))

    workloads = reg.workloads_file.workloads
    workload_ids = {w.id for w in workloads}
    for key, idx in _dupes(workloads).items():
        for i in idx[1:]:
            out.append(loc.problem("workloads.yaml", ["workloads", i, "id"], f"duplicate workload id {key!r}"))
    for i, w in enumerate(workloads):
        for j, r in enumerate(w.roles):
            if r not in role_ids:
                out.append(loc.problem("workloads.yaml", ["workloads", i, "roles", j], f"unknown role {r!r}"))
        for j, c in enumerate(w.candidates):
            if c not in model_ids:
                out.append(loc.problem("workloads.yaml", ["workloads", i, "candidates", j], f"unknown model {c!r}"))
        if w.baseline is not None and w.baseline not in model_ids:
            out.append(loc.problem("workloads.yaml", ["workloads", i, "baseline"], f"unknown model {w.baseline!r}"))
        if w.roi is not None and w.roi.currency not in currencies:
            out.append(
                loc.problem(
                    "workloads.yaml",
                    ["workloads", i, "roi", "currency"],
                    f"no fx rate for {w.roi.currency!r}",
                )
            )

    out += _economics_problems(reg, loc)

    # Task cases: unique ids across every suite, known role and workload.
    seen: dict[str, str] = {}
    used_workloads: set[str] = set()
    used_roles: set[str] = set()
    for suite_id, suite in sorted(reg.suites.items()):
        for case in suite.cases:
            key = f"case:{suite_id}:{case.id}"
            if case.id in seen:
                out.append(loc.problem(key, ["id"], f"duplicate case id {case.id!r} (also in suite {seen[case.id]!r})"))
            else:
                seen[case.id] = suite_id
            if case.role not in role_ids:
                out.append(loc.problem(key, ["role"], f"unknown role {case.role!r}"))
            used_roles.add(case.role)
            if case.workload is not None:
                if case.workload not in workload_ids:
                    out.append(loc.problem(key, ["workload"], f"unknown workload {case.workload!r}"))
                used_workloads.add(case.workload)
            for j, check in enumerate(case.checks):
                if check.kind == "evidence":
                    for k, line in enumerate(check.required):
                        if line.strip() not in case.input:
                            out.append(
                                loc.problem(
                                    key,
                                    ["checks", j, "required", k],
                                    "required evidence line does not occur in the case input",
                                )
                            )
            texts = [case.prompt] if case.prompt is not None else [m.content for m in case.messages or []]
            if case.input and not any("{{input}}" in t for t in texts):
                where = "prompt" if case.prompt is not None else "messages"
                out.append(loc.problem(key, [where], f"{where} never uses {{{{input}}}}, so the input is unused"))
            if case.workload in reg.workloads and case.role not in reg.workloads[case.workload].roles:
                out.append(
                    loc.problem(
                        key,
                        ["role"],
                        f"role {case.role!r} is not one of workload {case.workload!r}'s roles "
                        f"{reg.workloads[case.workload].roles}",
                    )
                )
    for i, w in enumerate(workloads):
        if w.id not in used_workloads:
            out.append(loc.problem("workloads.yaml", ["workloads", i, "id"], f"workload {w.id!r} has no cases"))
    for i, r in enumerate(roles):
        if r.id not in used_roles:
            out.append(loc.problem("roles.yaml", ["roles", i, "id"], f"role {r.id!r} has no cases"))
    from generator.registry.routing_checks import check_routing

    out.extend(check_routing(reg, loc))
    out.extend(compound_problems(reg))
    out.extend(_check_reference_and_privacy(reg, loc, workload_ids))
    return out


def _check_reference_and_privacy(reg: Registry, loc: _Locator, workload_ids: set[str]) -> list[Problem]:
    """hardware.yaml ``reference`` (known suite, known local models within their tier) and
    policy.yaml ``privacy.findings`` (known workloads)."""
    out: list[Problem] = []
    ref = reg.hardware.reference
    if ref is not None:
        if ref.suite not in reg.suites:
            out.append(loc.problem("hardware.yaml", ["reference", "suite"], f"unknown suite {ref.suite!r}"))
        for i, tier in enumerate(ref.tiers):
            for j, mid in enumerate(tier.models):
                where = ["reference", "tiers", i, "models", j]
                model = reg.models.get(mid)
                if model is None:
                    out.append(loc.problem("hardware.yaml", where, f"unknown model {mid!r}"))
                elif model.provider == "hosted":
                    out.append(loc.problem("hardware.yaml", where, f"{mid!r} is hosted: it measures no machine"))
                elif tier.max_params_b is not None and (model.params_total_b or 0) > tier.max_params_b:
                    out.append(
                        loc.problem(
                            "hardware.yaml",
                            where,
                            f"{mid!r} has {model.params_total_b:g}B parameters, above tier {tier.id!r}'s "
                            f"{tier.max_params_b:g}B",
                        )
                    )
        for key, idx in _dupes(ref.tiers).items():
            for i in idx[1:]:
                out.append(loc.problem("hardware.yaml", ["reference", "tiers", i, "id"], f"duplicate tier {key!r}"))
    for i, finding in enumerate(reg.policy.privacy.findings):
        for j, w in enumerate(finding.workloads):
            if w not in workload_ids:
                out.append(
                    loc.problem("policy.yaml", ["privacy", "findings", i, "workloads", j], f"unknown workload {w!r}")
                )
    return out


def _economics_problems(reg: Registry, loc: _Locator) -> list[Problem]:
    """Machines a cost is computed for must exist and have a price; flat electricity and
    ingested-device aliases must name machines; API prices must name known models."""
    out: list[Problem] = []
    machines = {m.id: m for m in reg.hardware.machines}
    model_ids = {m.id for m in reg.models_file.models}

    def priced(file: str, where: list[Any], mid: str, what: str) -> None:
        if mid not in machines:
            return  # reported as an unknown machine elsewhere, or here below
        if machines[mid].price is None:
            out.append(loc.problem(file, where, f"machine {mid!r} has no price: {what} needs one (hardware.yaml)"))

    pr = reg.pricing
    for key, items in (("scenario_a", pr.scenario_a), ("scenario_b", pr.scenario_b)):
        for i, sc in enumerate(items):
            priced("pricing.yaml", [key, i, "machine"], sc.machine, f"scenario {sc.id!r}")
    if pr.electricity_flat_machine is not None and pr.electricity_flat_machine not in machines:
        out.append(
            loc.problem(
                "pricing.yaml",
                ["electricity_flat_machine"],
                f"unknown machine {pr.electricity_flat_machine!r}",
            )
        )
    if pr.electricity_monthly_flat is not None and pr.electricity_flat_machine is None:
        out.append(
            loc.problem(
                "pricing.yaml",
                ["electricity_monthly_flat"],
                "a flat electricity figure needs electricity_flat_machine (the machine it was stated for)",
            )
        )
    for i, api in enumerate(pr.api_prices):
        if api.model is not None and api.model not in model_ids:
            out.append(loc.problem("pricing.yaml", ["api_prices", i, "model"], f"unknown model {api.model!r}"))
        if api.cached_input_share is not None and api.cached_input_per_mtok is None:
            out.append(
                loc.problem(
                    "pricing.yaml",
                    ["api_prices", i, "cached_input_share"],
                    "cached_input_share needs cached_input_per_mtok",
                )
            )
    for i, w in enumerate(reg.workloads_file.workloads):
        if w.roi is None or w.roi.machine is None:
            continue
        where = ["workloads", i, "roi", "machine"]
        if w.roi.machine not in machines:
            out.append(loc.problem("workloads.yaml", where, f"unknown machine {w.roi.machine!r}"))
        else:
            priced("workloads.yaml", where, w.roi.machine, f"workload {w.id!r}'s local running cost")
    for device, mid in reg.hardware.device_aliases.items():
        if mid not in machines:
            out.append(
                loc.problem("hardware.yaml", ["device_aliases", device], f"device alias names unknown machine {mid!r}")
            )
    return out
