"""Measured efficiency against the bandwidth ceiling, fitted per runtime × quantization × backend.

One efficiency constant cannot describe every runtime and machine (llama.cpp discussion
#4167 runs from about 45 % to 84 % of peak bandwidth on Apple Silicon alone), so the
capacity tables apply an efficiency fitted from measurements of the same runtime,
quantization family and backend, and show how well that fit predicts a measurement it
did not see (leave-one-out).

* A **measurement** is one model's decode speed on one registry machine:
  - our own runs: 1 ÷ the median TPOT (vLLM's definition: (E2EL − TTFT) ÷ (output
    tokens − 1)) over the warm requests at the lowest load level, as the evidence
    table selects them (:func:`generator.analysis.evidence.latency_samples`), one per
    run × model on a run that names its machine (``opsbench run --machine``);
  - ingested llama-bench results: each generation test's ``avg_ts`` (tok/s over
    ``n_gen`` generated tokens), on the machine its device name maps to
    (``hardware.yaml`` ``device_aliases``; never guessed).
* Its **ceiling** is the capacity module's, at the context the measurement decoded at
  (the KV read): our runs' mean prompt tokens plus half the mean output tokens;
  llama-bench's ``n_depth`` plus half ``n_gen``.
* **Efficiency** = measured ÷ ceiling. A group's fitted efficiency is the mean of its
  measurements' efficiencies; its range is their minimum and maximum.
* **Leave-one-out**: each measurement is predicted from the others of its group
  (predicted tok/s = its ceiling × their mean efficiency); error = predicted ÷ measured
  − 1. A group with one measurement has no others, so its prediction comes from the
  next coarser pool, named beside the error: the quantization family × backend
  (runtimes pooled), then the quantization family (backends pooled).
* A capacity row is calibrated from its exact group when the model's runtime is known
  (an embedded model runs on llama-cpp-python) and measured, else from its quantization
  family × backend with runtimes pooled; never across backends.

Pure: frames, manifests and perf records in, records out.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from generator.analysis.capacity import CalibratedCeiling, decode_ceiling_tps, gb_read_per_token, is_local
from generator.analysis.evidence import latency_samples
from generator.registry.schema import HardwareFile, Machine, ModelEntry
from generator.runs.records import Manifest, PerfRecord

# The runtime of a provider whose runtime the bench knows without a run: the embedded
# provider is llama-cpp-python in-process (generator/execute/providers/embedded.py).
KNOWN_RUNTIME = {"embedded": "llama-cpp-python"}
_FAMILY_RE = re.compile(r"^(?:I?Q|BF|F|MXFP)\d+", re.IGNORECASE)


def quant_family(quantization: str | None) -> str:
    """The bit-width family of a quantization type: Q4_K_M and Q4_1 are "Q4", F16 is "F16",
    MXFP4 is "MXFP4"; the block layout after the width does not change what a token reads
    nearly as much as the width does."""
    if not quantization:
        return "unknown"
    m = _FAMILY_RE.match(quantization)
    return m.group(0).upper() if m else quantization.upper()


@dataclass(frozen=True)
class Measurement:
    source: str  # what it was read from, for the pages: run id or file, test
    origin: str  # "own run" or "llama-bench"
    model_id: str
    machine_id: str
    runtime: str
    family: str
    backend: str
    context_tokens: float
    measured_tps: float
    ceiling_tps: float
    n: int  # requests (own runs) or tests (llama-bench) behind the figure

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.runtime, self.family, self.backend)

    @property
    def efficiency(self) -> float:
        return self.measured_tps / self.ceiling_tps


@dataclass
class Group:
    key: tuple[str, str, str]
    measurements: list[Measurement]

    @property
    def label(self) -> str:
        return " × ".join(self.key)

    @property
    def efficiencies(self) -> list[float]:
        return [m.efficiency for m in self.measurements]

    @property
    def efficiency(self) -> float:
        return sum(self.efficiencies) / len(self.measurements)


@dataclass
class LooRow:
    measurement: Measurement
    predicted_efficiency: float | None
    predicted_tps: float | None
    error: float | None  # predicted ÷ measured − 1
    basis: str  # the pool the prediction came from, or why there is none
    basis_n: int


@dataclass
class LooSummary:
    origin: str
    n: int  # measurements with a prediction
    mean_abs_error: float | None
    max_abs_error: float | None
    within_group_n: int  # of them, predicted from their own runtime × quantization × backend


@dataclass
class Calibration:
    groups: dict[tuple[str, str, str], Group]
    loo: list[LooRow]
    unjoined: list[str] = field(default_factory=list)  # measurements that could not be placed, and why

    def summary(self, origin: str | None = None) -> LooSummary:
        rows = [r for r in self.loo if (origin is None or r.measurement.origin == origin) and r.error is not None]
        errs = [abs(r.error) for r in rows if r.error is not None]
        return LooSummary(
            origin=origin or "all",
            n=len(errs),
            mean_abs_error=sum(errs) / len(errs) if errs else None,
            max_abs_error=max(errs) if errs else None,
            within_group_n=sum(r.basis.endswith("(own group)") for r in rows),
        )

    def pool_for(self, runtime: str | None, family: str, backend: str) -> tuple[str, list[Measurement]] | None:
        """The measurements a capacity row is calibrated from, and their label; None: none apply."""
        if runtime is not None and (runtime, family, backend) in self.groups:
            g = self.groups[(runtime, family, backend)]
            return g.label, g.measurements
        pooled = [m for g in self.groups.values() if g.key[1:] == (family, backend) for m in g.measurements]
        if pooled:
            return f"{family} × {backend} (runtimes pooled)", pooled
        return None

    def calibrate(self, machine: Machine, model: ModelEntry, ceiling_tps: float) -> CalibratedCeiling | None:
        """``ceiling_tps`` × the efficiency fitted for this model's runtime × quantization ×
        the machine's backend; None when nothing was measured there."""
        runtime = KNOWN_RUNTIME.get(model.provider)
        pool = self.pool_for(runtime, quant_family(model.quantization), machine.run_backend)
        if pool is None:
            return None
        label, ms = pool
        effs = [m.efficiency for m in ms]
        eff = sum(effs) / len(effs)
        ids = {id(m) for m in ms}
        errs = [abs(r.error) for r in self.loo if id(r.measurement) in ids and r.error is not None]
        return CalibratedCeiling(
            efficiency=eff,
            efficiency_low=min(effs),
            efficiency_high=max(effs),
            tps=ceiling_tps * eff,
            tps_low=ceiling_tps * min(effs),
            tps_high=ceiling_tps * max(effs),
            basis=label,
            sources=[f"{m.source} ({m.model_id} on {m.machine_id}, {m.efficiency:.0%})" for m in ms],
            loo_mean_abs_error=sum(errs) / len(errs) if errs else None,
        )


# --------------------------------------------------------------------------- measurements


def _ceiling(machine: Machine, model: ModelEntry, context: float, bytes_per_element: float) -> float:
    per_token, _ = gb_read_per_token(model, context, bytes_per_element)
    return decode_ceiling_tps(machine.bandwidth_gbs, per_token)


def own_measurements(
    df: pd.DataFrame, manifests: Sequence[Manifest], hardware: HardwareFile, models: dict[str, ModelEntry]
) -> tuple[list[Measurement], list[str]]:
    """One measurement per run × local model on a run that names a registry machine."""
    machines = {m.id: m for m in hardware.machines}
    out: list[Measurement] = []
    skipped: list[str] = []
    if df.empty or "tpot_s" not in df.columns:
        return out, skipped
    bpe = hardware.capacity.kv_bytes_per_element
    for man in manifests:
        if man.origin != "executed":
            continue
        mid = man.settings.machine
        if mid is None or mid not in machines:
            skipped.append(f"run {man.run_id}: names no registry machine (opsbench run --machine)")
            continue
        rows = df[df["run_id"] == man.run_id]
        for mr in man.models:
            model = models.get(mr.id)
            if model is None or not is_local(model):
                continue
            mrows = rows[rows["model_id"] == mr.id]
            samples = latency_samples(mrows, ["model_id"])
            warm = samples[~samples["cold"]]
            tpot = pd.to_numeric(warm["tpot_s"], errors="coerce")
            tpot = tpot[(tpot > 0) & tpot.map(math.isfinite)]
            if tpot.empty:
                skipped.append(f"run {man.run_id}: {mr.id} has no warm request with a TPOT")
                continue
            level = warm["level"].dropna()
            at = mrows[mrows["status"].eq("ok") & ~mrows["cold_start"].fillna(False).astype(bool)]
            if len(level) and "concurrency" in at:
                at = at[pd.to_numeric(at["concurrency"], errors="coerce").eq(int(level.min()))]
            prompt = pd.to_numeric(at.get("prompt_tokens"), errors="coerce").mean()
            output = pd.to_numeric(at.get("completion_tokens"), errors="coerce").mean()
            context = (0.0 if pd.isna(prompt) else float(prompt)) + (0.0 if pd.isna(output) else float(output) / 2)
            machine = machines[mid]
            out.append(
                Measurement(
                    source=f"run {man.run_id}",
                    origin="own run",
                    model_id=mr.id,
                    machine_id=mid,
                    runtime=mr.runtime or "unknown",
                    family=quant_family(model.quantization),
                    backend=machine.run_backend,
                    context_tokens=context,
                    measured_tps=1.0 / float(tpot.median()),
                    ceiling_tps=_ceiling(machine, model, context, bpe),
                    n=len(tpot),
                )
            )
    return out, skipped


def llamabench_measurements(
    perf: dict[str, list[PerfRecord]],
    manifests: Sequence[Manifest],
    hardware: HardwareFile,
    models: dict[str, ModelEntry],
) -> tuple[list[Measurement], list[str]]:
    """One measurement per llama-bench generation test of a registry model on an aliased device."""
    machines = {m.id: m for m in hardware.machines}
    by_id = {m.run_id: m for m in manifests}
    out: list[Measurement] = []
    skipped: list[str] = []
    bpe = hardware.capacity.kv_bytes_per_element
    for run_id, records in perf.items():
        man = by_id.get(run_id)
        if man is None or (man.source or {}).get("format") != "llama-bench":
            continue
        env = man.environment or {}
        runtime = next((m.runtime for m in man.models if m.runtime), None) or "llama.cpp"
        file_name = (man.source or {}).get("file_name", run_id)
        for p in records:
            if p.strategy != "tg" or p.generation_tps is None:
                continue
            where = f"llama-bench {file_name} test {p.key}"
            model = models.get(p.model_id)
            if p.external or model is None or not is_local(model):
                skipped.append(f"{where}: {p.source_model or p.model_id} is not a local registry model")
                continue
            x = p.extra
            backends = str(x.get("backends") or env.get("backends") or "")
            cpu_only = x.get("n_gpu_layers") == 0 or backends.upper() == "CPU"
            device = str((x.get("cpu_info") if cpu_only else x.get("gpu_info")) or "") or str(
                env.get("cpu_info" if cpu_only else "gpu_info") or ""
            )
            mid = hardware.device_aliases.get(device)
            if mid is None or mid not in machines:
                skipped.append(f"{where}: device {device!r} has no hardware.yaml device_aliases entry")
                continue
            backend = "CPU" if cpu_only else (backends.split(",")[0].strip() or machines[mid].run_backend)
            context = float(x.get("n_depth") or 0) + float(x.get("n_gen") or 0) / 2
            out.append(
                Measurement(
                    source=where,
                    origin="llama-bench",
                    model_id=model.id,
                    machine_id=mid,
                    runtime=runtime,
                    family=quant_family(model.quantization),
                    backend=backend,
                    context_tokens=context,
                    measured_tps=float(p.generation_tps),
                    ceiling_tps=_ceiling(machines[mid], model, context, bpe),
                    n=1,
                )
            )
    return out, skipped


# --------------------------------------------------------------------------- fit


def fit_calibration(measurements: Iterable[Measurement], unjoined: Sequence[str] = ()) -> Calibration:
    """Group the measurements, fit each group's efficiency and run leave-one-out."""
    ms = list(measurements)
    groups: dict[tuple[str, str, str], Group] = {}
    for m in ms:
        groups.setdefault(m.key, Group(m.key, [])).measurements.append(m)
    pools: list[tuple[str, object]] = [
        ("own group", lambda a, b: a.key == b.key),
        ("runtimes pooled", lambda a, b: (a.family, a.backend) == (b.family, b.backend)),
        ("backends pooled", lambda a, b: a.family == b.family),
    ]
    loo: list[LooRow] = []
    for m in ms:
        row = LooRow(m, None, None, None, "no other measurement of this quantization family", 0)
        for name, same in pools:
            others = [o for o in ms if o is not m and same(o, m)]  # type: ignore[operator]
            if others:
                eff = sum(o.efficiency for o in others) / len(others)
                pred = m.ceiling_tps * eff
                label = {
                    "own group": f"{' × '.join(m.key)} (own group)",
                    "runtimes pooled": f"{m.family} × {m.backend} (runtimes pooled)",
                    "backends pooled": f"{m.family} (backends pooled)",
                }[name]
                row = LooRow(m, eff, pred, pred / m.measured_tps - 1, label, len(others))
                break
        loo.append(row)
    return Calibration(groups, loo, list(unjoined))


def calibrate_from(
    df: pd.DataFrame,
    manifests: Sequence[Manifest],
    perf: dict[str, list[PerfRecord]],
    hardware: HardwareFile,
    models: dict[str, ModelEntry],
) -> Calibration:
    """Every measurement our runs and the ingested llama-bench results give, fitted."""
    own, skipped_own = own_measurements(df, manifests, hardware, models)
    lb, skipped_lb = llamabench_measurements(perf, manifests, hardware, models)
    return fit_calibration([*own, *lb], [*skipped_own, *skipped_lb])


def measured_vs_ceiling(cal: Calibration | None) -> pd.DataFrame:
    """Per machine × model: the median measured decode speed of its measurements (1 ÷ TPOT of
    warm requests at the lowest load level, or llama-bench's tg) beside the ceiling at the
    context those requests really had, and the efficiency between them. One definition for the
    hardware page's table and chart and for the calibration (same measurements)."""
    cols = ["machine_id", "model_id", "measured_tps", "ceiling_tps", "efficiency", "label", "measurements"]
    if cal is None or not cal.loo:
        return pd.DataFrame(columns=cols)
    rows = [
        {
            "machine_id": r.measurement.machine_id,
            "model_id": r.measurement.model_id,
            "measured_tps": r.measurement.measured_tps,
            "ceiling_tps": r.measurement.ceiling_tps,
        }
        for r in cal.loo
    ]
    df = pd.DataFrame(rows)
    g = df.groupby(["machine_id", "model_id"], sort=True)
    out = pd.DataFrame(
        {
            "measured_tps": g["measured_tps"].median(),
            "ceiling_tps": g["ceiling_tps"].median(),
            "measurements": g.size(),
        }
    ).reset_index()
    out["efficiency"] = out["measured_tps"] / out["ceiling_tps"]
    out["label"] = out["model_id"] + " on " + out["machine_id"]
    return out.reindex(columns=cols)
