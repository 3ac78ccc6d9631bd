"""Multi-model memory plans: which registry models fit together on one machine, and what each set gives.

Pure: registry records and measured figures in, typed results out; nothing is read or written.
Every memory and speed figure comes from ``generator.analysis.capacity`` (its ``fit`` and
``throughput``), so a plan and the capacity page can never disagree:

* **Fit of a set** = Σ over its models (weights + KV cache for N users at context C +
  runtime overhead) + the machine's OS reserve, against its memory. The runtime overhead is
  counted per loaded model (each holds its own compute buffers); the OS reserve once. A model
  whose layer shape the registry does not state has no KV term: the set says so.
* **Speed** per model at N users: a calibrated figure where the caller passes one (``speed``),
  else the bandwidth **ceiling** ÷ N, labelled "ceiling". Models of one set that decode at the
  same moment share the same bandwidth; the ceiling of each is for it decoding alone.
* **Roles** a set covers: the roles (roles.yaml) that name one of its models as incumbent or
  challenger. Quality per role is the measured acceptance on that role's cases, or "unmeasured".
* **Cold start**: a role the set does not cover must load its incumbent, swapping; its cost is
  the load time measured in runs, or "unmeasured".
* **Seed options** (``hardware.yaml`` ``seed_claims.plans``): each option's stated figures set
  against the registry's, with ``seedcheck``; a model that could still be added is named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from generator.analysis.capacity import concurrent_users, fit, is_local, throughput
from generator.analysis.capacity_claims import check_memory_claim
from generator.analysis.seedcheck import SeedCheck, check_seed_claim, fmt_num
from generator.registry.schema import (
    CapacityDefaults,
    Machine,
    MemoryClaim,
    ModelEntry,
    PlanClaim,
    Role,
)

CEILING = "ceiling"
#: What a calibrated speed function returns: (tok/s per user at N users, label naming the calibration).
SpeedFn = Callable[[Machine, ModelEntry, int], tuple[float, str] | None]


@dataclass(frozen=True)
class RoleQuality:
    """Measured acceptance of a model on one role's cases (mean of per-case means, Wilson interval)."""

    acceptance: float
    low: float
    high: float
    cases: int


@dataclass
class ModelTerms:
    """One model's share of a set: every memory term, its speed, its roles."""

    model_id: str
    weights_gb: float
    kv_gb: float | None
    kv_source: str
    runtime_overhead_gb: float
    subtotal_gb: float
    ceiling_tps: float  # decoding alone, one stream
    speed_per_user_tps: float
    speed_label: str  # "ceiling" or the calibration's label
    users_at_target: int  # users at the target per-user speed, from the speed figure
    roles: list[str]
    quality: dict[str, RoleQuality | None]  # role -> measured, or None: unmeasured
    load_s: float | None  # measured load time, None: unmeasured


@dataclass
class ColdStart:
    role: str
    model_id: str  # the role's incumbent, which would be loaded
    load_s: float | None


@dataclass
class PlanSet:
    machine_id: str
    users: int
    context_tokens: int
    models: list[ModelTerms]
    os_reserve_gb: float
    total_gb: float
    memory_gb: float
    headroom_gb: float
    fits: bool
    roles_covered: list[str]
    cold_starts: list[ColdStart]
    notes: list[str] = field(default_factory=list)

    @property
    def model_ids(self) -> list[str]:
        return [m.model_id for m in self.models]


@dataclass
class SeedPlanCheck:
    """A source's deployment option recomputed from the registry."""

    id: str
    label: str
    machine_id: str
    claim: str
    plan: PlanSet | None  # None: a model or the machine is not in the registry
    missing: list[str]
    checks: list[SeedCheck]
    could_add: list[str]  # models that still fit beside the option's, at these users and context
    note: str | None = None


@dataclass
class PlanReport:
    machine_id: str
    users: int
    context_tokens: int
    candidates: list[str]
    excluded: dict[str, str]  # model -> why it is not a candidate
    sets: list[PlanSet]  # maximal fitting sets, best first
    sets_total: int
    seed: list[SeedPlanCheck]


def model_roles(roles: Sequence[Role]) -> dict[str, list[str]]:
    """model id -> the roles that name it as incumbent or challenger."""
    out: dict[str, list[str]] = {}
    for r in roles:
        for m in [r.incumbent, *r.challengers]:
            out.setdefault(m, []).append(r.id)
    return out


def _model_terms(
    machine: Machine,
    m: ModelEntry,
    defaults: CapacityDefaults,
    users: int,
    context: int,
    by_model: dict[str, list[str]],
    quality: dict[tuple[str, str], RoleQuality],
    load_s: dict[str, float],
    speed: SpeedFn | None,
) -> tuple[ModelTerms, list[str]]:
    """One model's terms and notes at ``users`` and ``context``: the same in every set it joins,
    so ``plan_machine`` computes them once per model, not once per set (10⁵ sets at 37 candidates)."""
    f = fit(machine, m, defaults, context_tokens=context, concurrency=users)
    t = throughput(machine, m, defaults)
    calibrated = speed(machine, m, users) if speed is not None else None
    per_user, label = calibrated if calibrated is not None else (t.ceiling_tps / users, CEILING)
    notes: list[str] = []
    if f.kv_gb is None:
        notes.append(f"{m.id}: KV cache not stated (no layer shape in the registry); the total leaves it out")
    if f.context_exceeds_window:
        notes.append(f"{m.id}: context {context:,} exceeds its window of {m.context_window:,} tokens")
    model_roles_ = by_model.get(m.id, [])
    term = ModelTerms(
        model_id=m.id,
        weights_gb=f.weights_gb,
        kv_gb=f.kv_gb,
        kv_source=f.kv_source,
        runtime_overhead_gb=f.runtime_overhead_gb,
        subtotal_gb=f.weights_gb + (f.kv_gb or 0.0) + f.runtime_overhead_gb,
        ceiling_tps=t.ceiling_tps,
        speed_per_user_tps=per_user,
        speed_label=label,
        users_at_target=concurrent_users(per_user * users, defaults.target_user_tps),
        roles=model_roles_,
        quality={r: quality.get((m.id, r)) for r in model_roles_},
        load_s=load_s.get(m.id),
    )
    return term, notes


def _cold_starts(roles: Sequence[Role], load_s: dict[str, float]) -> list[ColdStart]:
    """Each role's cold start (its incumbent loaded): the same record in every set that lacks the role,
    so the 10⁵ sets of a machine share them instead of building half a million."""
    return [ColdStart(r.id, r.incumbent, load_s.get(r.incumbent)) for r in roles]


def _set_total(machine: Machine, terms: Iterable[ModelTerms]) -> float:
    """Σ subtotals + the OS reserve once: the one sum both ``plan_set`` and the fit test use."""
    return sum(x.subtotal_gb for x in terms) + machine.os_overhead_gb


def _assemble(
    machine: Machine,
    models: Sequence[ModelEntry],
    terms: list[ModelTerms],
    notes: list[str],
    users: int,
    context: int,
    colds: Sequence[ColdStart],
) -> PlanSet:
    """A set from its models' terms (``_model_terms``): totals, fit, roles covered, and the cold
    starts (``_cold_starts``: one per role) of the roles it does not cover."""
    notes = list(notes)
    if len(models) > 1:
        notes.append(
            "each speed is for that model decoding alone: models decoding at the same moment share the bandwidth"
        )
    total = _set_total(machine, terms)
    roles_in = {r for x in terms for r in x.roles}
    covered = sorted(roles_in)
    ids = {m.id for m in models}
    cold = [c for c in colds if c.role not in roles_in and c.model_id not in ids]
    return PlanSet(
        machine_id=machine.id,
        users=users,
        context_tokens=context,
        models=list(terms),
        os_reserve_gb=machine.os_overhead_gb,
        total_gb=total,
        memory_gb=machine.memory_gb,
        headroom_gb=machine.memory_gb - total,
        fits=total <= machine.memory_gb and not any(m.context_window < context for m in models),
        roles_covered=covered,
        cold_starts=cold,
        notes=notes,
    )


def plan_set(
    machine: Machine,
    models: Sequence[ModelEntry],
    defaults: CapacityDefaults,
    users: int,
    context: int,
    roles: Sequence[Role],
    *,
    quality: dict[tuple[str, str], RoleQuality] | None = None,
    load_s: dict[str, float] | None = None,
    speed: SpeedFn | None = None,
) -> PlanSet:
    """Every term of one set of models loaded together on ``machine``."""
    quality = quality or {}
    load_s = load_s or {}
    by_model = model_roles(roles)
    terms: list[ModelTerms] = []
    notes: list[str] = []
    for m in models:
        term, term_notes = _model_terms(machine, m, defaults, users, context, by_model, quality, load_s, speed)
        terms.append(term)
        notes.extend(term_notes)
    return _assemble(machine, models, terms, notes, users, context, _cold_starts(roles, load_s))


def candidates(models: Iterable[ModelEntry], context: int) -> tuple[list[ModelEntry], dict[str, str]]:
    """Local models that can be planned, and why each other one cannot."""
    models = list(models)
    local_ids = {m.id for m in models if is_local(m)}
    keep: list[ModelEntry] = []
    excluded: dict[str, str] = {}
    for m in models:
        if not is_local(m):
            excluded[m.id] = "hosted: no weights to place"
        elif m.same_weights_as in local_ids:
            excluded[m.id] = f"the same weights as {m.same_weights_as} (loading both gains nothing)"
        elif m.context_window < context:
            excluded[m.id] = f"context window {m.context_window:,} < {context:,}"
        else:
            keep.append(m)
    return keep, excluded


def plan_machine(
    machine: Machine,
    models: Iterable[ModelEntry],
    defaults: CapacityDefaults,
    roles: Sequence[Role],
    *,
    users: int | None = None,
    context: int | None = None,
    max_models: int,
    quality: dict[tuple[str, str], RoleQuality] | None = None,
    load_s: dict[str, float] | None = None,
    speed: SpeedFn | None = None,
    seed_plans: Sequence[PlanClaim] = (),
    all_models: dict[str, ModelEntry] | None = None,
    machines: dict[str, Machine] | None = None,
    rel_tol: float = 0.02,
    keep: int | None = None,
) -> PlanReport:
    """The maximal sets of up to ``max_models`` models that fit together, best first, and the
    seed's options for this machine recomputed. ``keep``: build only the first ``keep`` sets
    (``sets_total`` still counts them all): a page that shows a dozen of 10⁵ sets needs no more."""
    users = users or defaults.concurrency
    context = context or defaults.context_tokens
    models = list(models)
    pool, excluded = candidates(models, context)
    kw = {"quality": quality, "load_s": load_s, "speed": speed}
    # Each candidate's terms once; a combination is only summed (in its order, as plan_set sums it),
    # and only the maximal fitting ones are built in full (what plan_set would build for them).
    by_model = model_roles(roles)
    per_model = [
        _model_terms(machine, m, defaults, users, context, by_model, quality or {}, load_s or {}, speed) for m in pool
    ]
    context_ok = [m.context_window >= context for m in pool]
    fitting: list[tuple[int, ...]] = []
    for k in range(1, max_models + 1):
        for combo in combinations(range(len(pool)), k):
            total = _set_total(machine, (per_model[i][0] for i in combo))
            if total <= machine.memory_gb and all(context_ok[i] for i in combo):
                fitting.append(combo)
    # A set is maximal when no fitting set strictly contains it. Marking every proper subset of each
    # fitting set costs F * 2^max_models, not the F^2 of comparing all pairs (9e9 comparisons at 10k rows).
    # Index tuples in pool order: a combination's subsets come out of combinations() in that order too.
    covered: set[tuple[int, ...]] = set()
    for combo in fitting:
        for r in range(1, len(combo)):
            covered.update(combinations(combo, r))
    colds = _cold_starts(roles, load_s or {})
    # Best first: most roles covered, then most measured roles, then the most weights, then ids; read
    # from the index tuples (each model's roles, measured roles and weights, summed in set order), so
    # only the sets kept are built.
    roles_of = [set(t.roles) for t, _ in per_model]
    measured_of = [sum(1 for q in t.quality.values() if q is not None) for t, _ in per_model]

    def order(combo: tuple[int, ...]) -> tuple[int, int, float, list[str]]:
        return (
            -len(set().union(*(roles_of[i] for i in combo))),
            -sum(measured_of[i] for i in combo),
            -sum(per_model[i][0].weights_gb for i in combo),
            [per_model[i][0].model_id for i in combo],
        )

    ranked = sorted((combo for combo in fitting if combo not in covered), key=order)
    maximal = [
        _assemble(
            machine,
            [pool[i] for i in combo],
            [per_model[i][0] for i in combo],
            [n for i in combo for n in per_model[i][1]],
            users,
            context,
            colds,
        )
        for combo in (ranked if keep is None else ranked[:keep])
    ]
    registry = all_models or {m.id: m for m in models}
    seed = [
        seed_plan_check(
            p,
            (machines or {machine.id: machine}).get(p.machine),
            registry,
            defaults,
            roles,
            users=users,
            context=context,
            max_models=max_models,
            rel_tol=rel_tol,
            **kw,
        )
        for p in seed_plans
        if p.machine == machine.id
    ]
    return PlanReport(
        machine_id=machine.id,
        users=users,
        context_tokens=context,
        candidates=[m.id for m in pool],
        excluded=excluded,
        sets=maximal,
        sets_total=len(ranked),
        seed=seed,
    )


# --------------------------------------------------------------------------- the seed's options


def _speed_check(subject: str, claim: str, claimed: float, ceiling: float, source: str, rel_tol: float) -> SeedCheck:
    """A stated speed can be anything up to the ceiling: above it, it cannot follow."""
    ok = claimed <= ceiling * (1 + rel_tol)
    share = claimed / ceiling
    return SeedCheck(
        subject=subject,
        source=source,
        claim=claim,
        claimed=claimed,
        derived=ceiling,
        unit="tok/s",
        consistent=ok,
        tolerance=None,
        rel_tol=rel_tol,
        formula="bandwidth ÷ (active parameters × bits per weight ÷ 8)",
        inputs={"claimed_tps": claimed, "ceiling_tps": ceiling, "share_of_ceiling": share},
        explanation=(
            f"the seed's {fmt_num(claimed)} tok/s is {share:.0%} of the {fmt_num(ceiling, 1)} tok/s ceiling"
            + (
                " (below it, so it can follow; llama.cpp reaches about 42-62 % of the ceiling at 4-bit)."
                if ok
                else ": above the ceiling, so it cannot follow from the registry's figures."
            )
        ),
    )


def seed_plan_check(
    claim: PlanClaim,
    machine: Machine | None,
    models: dict[str, ModelEntry],
    defaults: CapacityDefaults,
    roles: Sequence[Role],
    *,
    users: int,
    context: int,
    max_models: int,
    rel_tol: float,
    source: str = "seed site, The Setup",
    quality: dict[tuple[str, str], RoleQuality] | None = None,
    load_s: dict[str, float] | None = None,
    speed: SpeedFn | None = None,
) -> SeedPlanCheck:
    """One option of the seed recomputed: its memory, speed, users and totals against the registry."""
    missing = [mc.model for mc in claim.models if mc.model not in models or not is_local(models[mc.model])]
    if machine is None:
        missing.append(claim.machine)
    present = [models[mc.model] for mc in claim.models if mc.model in models and is_local(models[mc.model])]
    checks: list[SeedCheck] = []
    plan = (
        plan_set(machine, present, defaults, users, context, roles, quality=quality, load_s=load_s, speed=speed)
        if machine is not None and present
        else None
    )
    for mc in claim.models:
        model = models.get(mc.model)
        if model is None or not is_local(model):
            continue
        if mc.claimed_gb is not None:
            checks.append(
                check_memory_claim(
                    MemoryClaim(model=mc.model, claim=mc.claim, claimed_gb=mc.claimed_gb),
                    model,
                    rel_tol=rel_tol,
                    source=source,
                )
            )
        if machine is not None and mc.claimed_tps is not None:
            ceiling = throughput(machine, model, defaults).ceiling_tps
            checks.append(
                _speed_check(f"speed, {mc.model} on {machine.id}", mc.claim, mc.claimed_tps, ceiling, source, rel_tol)
            )
        if mc.claimed_users is not None and mc.claimed_tps is not None:
            derived = concurrent_users(mc.claimed_tps, defaults.target_user_tps)
            checks.append(
                check_seed_claim(
                    f"users, {mc.model} (from the seed's own speed)",
                    mc.claim,
                    derived,
                    unit="users",
                    formula=(
                        f"floor({fmt_num(mc.claimed_tps)} tok/s ÷ {fmt_num(defaults.target_user_tps)} tok/s per user)"
                    ),
                    inputs={"claimed_tps": mc.claimed_tps, "target_user_tps": defaults.target_user_tps},
                    rel_tol=0.0,
                    source=source,
                    claimed=_exact(mc.claimed_users),
                )
            )
    stated = [mc.claimed_gb for mc in claim.models if mc.claimed_gb is not None]
    if plan is not None and machine is not None and not missing:
        weights = sum(m.weights_gb for m in plan.models)
        own = sum(stated) if len(stated) == len(claim.models) else None
        own_note = f"The seed's own per-model figures add up to {fmt_num(own)} GB." if own is not None else ""
        if claim.claimed_total_gb is not None:
            checks.append(
                check_seed_claim(
                    f"total loaded, {claim.id}",
                    claim.claim,
                    weights,
                    unit="GB",
                    formula=" + ".join(f"{fmt_num(m.weights_gb, 1)}" for m in plan.models) + " GB of weights",
                    inputs={"weights_gb": weights, "seed_sum_gb": own},
                    rel_tol=rel_tol,
                    source=source,
                    claimed=_approx(claim.claimed_total_gb),
                    note=own_note,
                )
            )
        if claim.claimed_free_gb is not None:
            free = machine.memory_gb - machine.os_overhead_gb - weights
            checks.append(
                check_seed_claim(
                    f"free after OS, {claim.id}",
                    claim.claim,
                    free,
                    unit="GB",
                    formula=(
                        f"{fmt_num(machine.memory_gb)} GB − {fmt_num(machine.os_overhead_gb)} GB OS − "
                        f"{fmt_num(weights, 1)} GB weights"
                    ),
                    inputs={"memory_gb": machine.memory_gb, "os_gb": machine.os_overhead_gb, "weights_gb": weights},
                    rel_tol=rel_tol,
                    source=source,
                    claimed=_approx(claim.claimed_free_gb),
                    note=" ".join(
                        x
                        for x in (
                            f"From the seed's own figures: {fmt_num(machine.memory_gb)} − "
                            f"{fmt_num(machine.os_overhead_gb)} − "
                            f"{fmt_num(own)} = {fmt_num(machine.memory_gb - machine.os_overhead_gb - own)} GB."
                            if own is not None
                            else "",
                            f"With KV cache for {users} user(s) at {context:,} tokens and runtime overhead, "
                            f"the plan leaves {fmt_num(plan.headroom_gb, 1)} GB.",
                        )
                        if x
                    ),
                )
            )
    could_add: list[str] = []
    if plan is not None and machine is not None and len(present) < max_models:
        pool, _ = candidates(models.values(), context)
        for m in pool:
            if m.id in plan.model_ids:
                continue
            bigger = plan_set(machine, [*present, m], defaults, users, context, roles)
            if bigger.fits:
                could_add.append(m.id)
    return SeedPlanCheck(
        id=claim.id,
        label=claim.label,
        machine_id=claim.machine,
        claim=claim.claim,
        plan=plan,
        missing=missing,
        checks=checks,
        could_add=could_add,
        note=claim.note,
    )


def _approx(x: float):
    from generator.analysis.seedcheck import ParsedNumber

    return ParsedNumber(x, 1.0, f"~{fmt_num(x)}")


def _exact(x: int):
    from generator.analysis.seedcheck import ParsedNumber

    return ParsedNumber(float(x), 1.0, str(x))


# --------------------------------------------------------------------------- measured inputs


def role_quality(board_by_role) -> dict[tuple[str, str], RoleQuality]:  # a leaderboard frame by role
    """(model, role) -> measured acceptance, from ``leaderboard(df, ["role"])``'s rows."""
    out: dict[tuple[str, str], RoleQuality] = {}
    if board_by_role is None or board_by_role.empty:
        return out
    for r in board_by_role.itertuples():
        out[(r.model_id, r.role)] = RoleQuality(
            float(r.acceptance_rate), float(r.acceptance_low), float(r.acceptance_high), int(r.cases)
        )
    return out


def measured_load_s(manifests: Iterable) -> dict[str, float]:
    """Model id -> the median load time that runs recorded for it (runs that measured none add nothing)."""
    import statistics

    seen: dict[str, list[float]] = {}
    for m in manifests:
        for mr in m.models:
            if mr.load_s is not None:
                seen.setdefault(mr.id, []).append(mr.load_s)
    return {k: statistics.median(v) for k, v in seen.items()}


def plan_for(
    reg,  # generator.registry.loader.Registry
    machine_id: str,
    users: int | None,
    context: int | None,
    quality: dict[tuple[str, str], RoleQuality],
    load_s: dict[str, float],
    speed: SpeedFn | None = None,
    keep: int | None = None,
) -> PlanReport:
    """``plan_machine`` with the registry's policy (hardware.yaml ``plans``) and the seed's options
    (``keep``: as there; None builds every set, as ``opsbench plan --json`` lists them)."""
    from generator.errors import InputError, Problem

    machines = {m.id: m for m in reg.hardware.machines}
    if reg.hardware.plans is None:
        raise InputError(
            [Problem(str(reg.root / "hardware.yaml"), None, "no plans: section (max_models, max_sets_shown)")]
        )
    claims = reg.hardware.seed_claims
    return plan_machine(
        machines[machine_id],
        reg.models_file.models,
        reg.hardware.capacity,
        reg.roles_file.roles,
        users=users,
        context=context,
        max_models=reg.hardware.plans.max_models,
        quality=quality,
        load_s=load_s,
        speed=speed,
        seed_plans=claims.plans if claims else [],
        all_models=reg.models,
        machines=machines,
        rel_tol=reg.policy.claims.rel_tolerance,
        keep=keep,
    )


def site_plans(reg, quality: dict[tuple[str, str], RoleQuality], load_s: dict[str, float]) -> list[PlanReport]:
    """One plan per machine that a seed option names, at the registry's default users and context."""
    claims = reg.hardware.seed_claims
    wanted = list(dict.fromkeys(p.machine for p in (claims.plans if claims else [])))
    known = {m.id for m in reg.hardware.machines}
    if reg.hardware.plans is None:
        return []
    shown = reg.hardware.plans.max_sets_shown  # the deployment page shows these; it counts the rest
    return [plan_for(reg, mid, None, None, quality, load_s, keep=shown) for mid in wanted if mid in known]
