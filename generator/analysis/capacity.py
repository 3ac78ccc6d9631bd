"""Capacity arithmetic for a machine and a local model: does it fit, how fast can it go.

Pure: registry records in, typed results out; nothing is read, written or printed.
Every result carries its inputs and intermediate figures so a page can show its
working. Units: GB = 10⁹ bytes throughout, the unit the registry states memory,
bandwidth and footprints in.

* Fit: weights (params_total_b × bits_per_weight ÷ 8) + KV cache (context ×
  concurrency) + runtime overhead + OS overhead ≤ memory. The registry does not
  state layers, KV heads or head dim, so the KV term is "not stated" unless a
  caller passes ``kv_gb`` or ``kv_bytes_per_token``; the fit then ignores it and
  says so.
* Decode ceiling: bandwidth ÷ bytes read per token, where bytes per token = the
  weights read (params_active_b × bits_per_weight ÷ 8, or the sum over the model's
  stated ``weights`` components, e.g. experts at MXFP4 plus attention at BF16) plus
  the KV cache read at the stated context (KV bytes per token × context), when the
  model states its layer shape. An upper bound: compute and runtime efficiency lower it.
* Calibrated ceiling: ceiling × the efficiency fitted from measurements
  (:mod:`generator.analysis.calibration`) for the runtime × quantization family ×
  backend, with the range of the measurements it came from.
* Users at the target speed: floor(calibrated (else theoretical) ceiling ÷ target),
  then checked for fit with that many sequences' KV cache held at once.
* Tokens per month at 24/7 = tok/s × 3600 × 24 × days_per_month.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from generator.registry.schema import (
    CapacityDefaults,
    Machine,
    ModelEntry,
)

SECONDS_PER_DAY = 3600 * 24

KV_NOT_STATED = "KV cache not stated (the registry gives no layers, KV heads or head dim): the fit ignores it"
CEILING_NOTE = (
    "ceiling = bandwidth ÷ (weights read per token + KV read at the stated context): an upper bound; "
    "compute limits and runtime efficiency lower it (the calibrated figure applies the measured efficiency)"
)


# --------------------------------------------------------------------------- formulas


def weights_gb(params_b: float, bits_per_weight: float) -> float:
    """GB of weights: billions of parameters × bits per weight ÷ 8."""
    return params_b * bits_per_weight / 8


def kv_bytes_per_token(n_layers: int, n_kv_heads: int, head_dim: int, bytes_per_element: float) -> float:
    """KV cache bytes per token: 2 (K and V) × layers × KV heads × head dim × bytes per element."""
    return 2 * n_layers * n_kv_heads * head_dim * bytes_per_element


_kv_formula = kv_bytes_per_token  # the parameters below shadow the name


def kv_cache_gb(bytes_per_token: float, context_tokens: int, concurrency: int) -> float:
    """GB of KV cache for ``concurrency`` sequences of ``context_tokens`` each."""
    return bytes_per_token * context_tokens * concurrency / 1e9


def weights_read_gb(model: ModelEntry) -> tuple[float, list[tuple[str, float, float, float]]]:
    """GB of weights read per generated token, and the components it sums.

    A model that states ``weights`` components reads each at its own precision (active
    parameters × bits ÷ 8); otherwise all active parameters are read at ``bits_per_weight``.
    """
    _, active_b, bits = _local_figures(model)
    if model.weights:
        parts = [
            (w.name, w.params_active_b, w.bits_per_weight, weights_gb(w.params_active_b, w.bits_per_weight))
            for w in model.weights
        ]
    else:
        parts = [("active weights", active_b, bits, weights_gb(active_b, bits))]
    return sum(p[3] for p in parts), parts


def model_kv_bytes_per_token(model: ModelEntry, bytes_per_element: float) -> float | None:
    """KV bytes per token from the model's layer shape, None when it states none."""
    if model.n_layers and model.n_kv_heads and model.head_dim:
        return _kv_formula(model.n_layers, model.n_kv_heads, model.head_dim, bytes_per_element)
    return None


def gb_read_per_token(model: ModelEntry, context_tokens: float, bytes_per_element: float) -> tuple[float, float | None]:
    """(GB read per generated token, of which the KV read) at ``context_tokens`` of context.

    The KV term is the cache of the context so far read once per token; None when the
    model states no layer shape (then the figure is weights only).
    """
    w, _ = weights_read_gb(model)
    kv_b = model_kv_bytes_per_token(model, bytes_per_element)
    kv = None if kv_b is None else kv_b * context_tokens / 1e9
    return w + (kv or 0.0), kv


def decode_ceiling_tps(bandwidth_gbs: float, gb_per_token: float) -> float:
    """Bandwidth-bound decode ceiling: GB/s ÷ GB read per generated token."""
    return bandwidth_gbs / gb_per_token


def tokens_per_month(tps: float, days_per_month: float) -> float:
    """Tokens generated running 24/7: tok/s × 3600 × 24 × days."""
    return tps * SECONDS_PER_DAY * days_per_month


def concurrent_users(ceiling_tps: float, target_user_tps: float) -> int:
    """Users served at the target per-user speed: floor(ceiling ÷ target). They slice one pie."""
    return math.floor(ceiling_tps / target_user_tps + 1e-9)


def efficiency(measured_tps: float, ceiling_tps: float) -> float:
    """Share of the bandwidth ceiling a measured decode speed reaches."""
    return measured_tps / ceiling_tps


# --------------------------------------------------------------------------- records


@dataclass
class FitResult:
    """Memory budget of one model on one machine, every term stated."""

    memory_gb: float
    params_total_b: float
    bits_per_weight: float
    weights_gb: float
    published_memory_gb: float | None
    context_tokens: int
    concurrency: int
    kv_bytes_per_token: float | None
    kv_gb: float | None
    kv_source: str  # "not stated" | "kv_gb given" | "kv_bytes_per_token × context × concurrency"
    runtime_overhead_gb: float
    os_overhead_gb: float
    total_gb: float
    headroom_gb: float
    fits: bool
    context_exceeds_window: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class CalibratedCeiling:
    """The ceiling × a fitted efficiency, with the range of the measurements behind it."""

    efficiency: float
    efficiency_low: float
    efficiency_high: float
    tps: float
    tps_low: float
    tps_high: float
    basis: str  # which group: "llama-cpp-python × Q4 × CPU", or "Q4 × CPU (runtimes pooled)"
    sources: list[str]
    loo_mean_abs_error: float | None  # the group's leave-one-out error, None with one measurement


@dataclass
class ThroughputResult:
    """Bandwidth-bound decode ceiling and what it means per month and per user."""

    bandwidth_gbs: float
    params_active_b: float
    bits_per_weight: float
    gb_per_token: float  # weights + KV read at context_tokens
    ceiling_tps: float
    days_per_month: float
    tokens_per_month: float
    target_user_tps: float
    concurrent_users: int  # at the calibrated figure when there is one, else at the ceiling
    measured_tps: float | None = None
    efficiency: float | None = None
    notes: list[str] = field(default_factory=list)
    weights_gb_per_token: float = 0.0
    kv_read_gb_per_token: float | None = None
    context_tokens: int = 0
    components: list[tuple[str, float, float, float]] = field(default_factory=list)
    bandwidth_source: str | None = None
    calibrated: CalibratedCeiling | None = None
    calibrated_tokens_per_month: float | None = None
    users_basis: str = "ceiling"  # "calibrated" or "ceiling"
    users_fit: bool | None = None  # the fit with concurrent_users sequences held at once
    users_fit_max: int | None = None  # most sequences that fit, when the KV term is known


@dataclass
class CapacityRow:
    machine_id: str
    machine_name: str
    machine_estimated: bool
    model_id: str
    model_name: str
    architecture: str
    quantization: str | None
    fit: FitResult
    throughput: ThroughputResult


def is_local(model: ModelEntry) -> bool:
    return model.provider != "hosted"


def _local_figures(model: ModelEntry) -> tuple[float, float, float]:
    if not is_local(model) or None in (model.params_total_b, model.params_active_b, model.bits_per_weight):
        raise ValueError(f"{model.id} is not a local model with parameter counts and bits per weight")
    assert model.params_total_b and model.params_active_b and model.bits_per_weight
    return model.params_total_b, model.params_active_b, model.bits_per_weight


def fit(
    machine: Machine,
    model: ModelEntry,
    defaults: CapacityDefaults,
    *,
    context_tokens: int | None = None,
    concurrency: int | None = None,
    kv_gb: float | None = None,
    kv_bytes_per_token: float | None = None,
) -> FitResult:
    """Weights + KV cache + runtime overhead + OS overhead against the machine's memory."""
    if kv_gb is not None and kv_bytes_per_token is not None:
        raise ValueError("give kv_gb or kv_bytes_per_token, not both")
    total_b, _, bits = _local_figures(model)
    if machine.memory_gb is None:
        raise ValueError(f"{machine.id} states no memory_gb: it is a measurement host, with no fit")
    context = context_tokens or defaults.context_tokens
    conc = concurrency or defaults.concurrency
    w = weights_gb(total_b, bits)
    notes: list[str] = []
    if kv_gb is not None:
        kv, source = kv_gb, "kv_gb given"
    elif kv_bytes_per_token is not None:
        kv, source = (
            kv_cache_gb(kv_bytes_per_token, context, conc),
            "kv_bytes_per_token × context × concurrency",
        )
    elif model.n_layers and model.n_kv_heads and model.head_dim:
        kv_bytes_per_token = _kv_formula(
            model.n_layers, model.n_kv_heads, model.head_dim, defaults.kv_bytes_per_element
        )
        kv, source = (
            kv_cache_gb(kv_bytes_per_token, context, conc),
            f"2 × {model.n_layers} layers × {model.n_kv_heads} KV heads × {model.head_dim} head dim × "
            f"{defaults.kv_bytes_per_element:g} bytes × context × concurrency",
        )
    else:
        kv, source = None, "not stated"
        notes.append(KV_NOT_STATED)
    total = w + (kv or 0.0) + defaults.runtime_overhead_gb + machine.os_overhead_gb
    exceeds = context > model.context_window
    if exceeds:
        notes.append(f"context {context:,} exceeds the model's window of {model.context_window:,} tokens")
    return FitResult(
        memory_gb=machine.memory_gb,
        params_total_b=total_b,
        bits_per_weight=bits,
        weights_gb=w,
        published_memory_gb=model.memory_gb,
        context_tokens=context,
        concurrency=conc,
        kv_bytes_per_token=kv_bytes_per_token,
        kv_gb=kv,
        kv_source=source,
        runtime_overhead_gb=defaults.runtime_overhead_gb,
        os_overhead_gb=machine.os_overhead_gb,
        total_gb=total,
        headroom_gb=machine.memory_gb - total,
        fits=total <= machine.memory_gb,
        context_exceeds_window=exceeds,
        notes=notes,
    )


def throughput(
    machine: Machine,
    model: ModelEntry,
    defaults: CapacityDefaults,
    *,
    measured_tps: float | None = None,
    context_tokens: int | None = None,
    calibration: Any = None,
) -> ThroughputResult:
    """Decode ceiling at the stated context, the calibrated figure when ``calibration`` (a
    :class:`generator.analysis.calibration.Calibration`) covers this runtime × quantization ×
    backend, tokens per month at 24/7, users at the target speed with their fit checked."""
    _, active_b, bits = _local_figures(model)
    context = context_tokens or defaults.context_tokens
    w_gb, parts = weights_read_gb(model)
    per_token, kv_read = gb_read_per_token(model, context, defaults.kv_bytes_per_element)
    ceiling = decode_ceiling_tps(machine.bandwidth_gbs, per_token)
    notes = [CEILING_NOTE]
    if kv_read is None:
        notes.append(f"{model.id}: no layer shape stated, so the ceiling leaves the KV read out")
    if machine.notes:
        notes.append(machine.notes)
    cal = calibration.calibrate(machine, model, ceiling) if calibration is not None else None
    basis_tps = cal.tps if cal is not None else ceiling
    users = concurrent_users(basis_tps, defaults.target_user_tps)
    users_fit = users_max = None
    if machine.memory_gb is not None and users >= 1:
        f = fit(machine, model, defaults, context_tokens=context, concurrency=users)
        users_fit = f.fits
        kv_seq = None if f.kv_gb is None else f.kv_gb / users
        if kv_seq:
            room = machine.memory_gb - f.weights_gb - f.runtime_overhead_gb - f.os_overhead_gb
            users_max = max(0, math.floor(room / kv_seq + 1e-9))
    return ThroughputResult(
        bandwidth_gbs=machine.bandwidth_gbs,
        params_active_b=active_b,
        bits_per_weight=bits,
        gb_per_token=per_token,
        ceiling_tps=ceiling,
        days_per_month=defaults.days_per_month,
        tokens_per_month=tokens_per_month(ceiling, defaults.days_per_month),
        target_user_tps=defaults.target_user_tps,
        concurrent_users=users,
        measured_tps=measured_tps,
        efficiency=None if measured_tps is None else efficiency(measured_tps, ceiling),
        notes=notes,
        weights_gb_per_token=w_gb,
        kv_read_gb_per_token=kv_read,
        context_tokens=context,
        components=parts,
        bandwidth_source=machine.bandwidth_source,
        calibrated=cal,
        calibrated_tokens_per_month=None if cal is None else tokens_per_month(cal.tps, defaults.days_per_month),
        users_basis="calibrated" if cal is not None else "ceiling",
        users_fit=users_fit,
        users_fit_max=users_max,
    )


def capacity_for(
    machine: Machine,
    model: ModelEntry,
    defaults: CapacityDefaults,
    *,
    context_tokens: int | None = None,
    concurrency: int | None = None,
    kv_gb: float | None = None,
    kv_bytes_per_token: float | None = None,
    measured_tps: float | None = None,
    calibration: Any = None,
) -> CapacityRow:
    """Fit and throughput of one local model on one machine."""
    return CapacityRow(
        machine_id=machine.id,
        machine_name=machine.name,
        machine_estimated=machine.estimated,
        model_id=model.id,
        model_name=model.display_name,
        architecture=model.architecture,
        quantization=model.quantization,
        fit=fit(
            machine,
            model,
            defaults,
            context_tokens=context_tokens,
            concurrency=concurrency,
            kv_gb=kv_gb,
            kv_bytes_per_token=kv_bytes_per_token,
        ),
        throughput=throughput(
            machine,
            model,
            defaults,
            measured_tps=measured_tps,
            context_tokens=context_tokens,
            calibration=calibration,
        ),
    )


def capacity_matrix(
    machines: Iterable[Machine],
    models: Iterable[ModelEntry],
    defaults: CapacityDefaults,
    *,
    context_tokens: int | None = None,
    concurrency: int | None = None,
    kv_gb: float | None = None,
    kv_bytes_per_token: float | None = None,
    calibration: Any = None,
) -> list[CapacityRow]:
    """Every machine that states its memory × every local model (hosted models have no
    weights to place; a measurement host without memory_gb has no fit)."""
    local = [m for m in models if is_local(m)]
    return [
        capacity_for(
            machine,
            model,
            defaults,
            context_tokens=context_tokens,
            concurrency=concurrency,
            kv_gb=kv_gb,
            kv_bytes_per_token=kv_bytes_per_token,
            calibration=calibration,
        )
        for machine in machines
        if machine.memory_gb is not None
        for model in local
    ]
