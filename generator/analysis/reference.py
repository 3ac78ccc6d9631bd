"""Hardware-normalised comparison: measured speed per machine on the same reference work.

Runs from different machines compare only when they did the same work, so the registry
names a reference suite and reference models per size tier (``hardware.yaml``
``reference``; LocalScore's idea). For each machine × reference model this reads the
reference suite's results with the evidence table's latency definitions
(``evidence.latency_samples``: warm requests at the lowest load level, a timeout as an
infinitely slow answer) and puts a distribution-free interval on the medians
(``stats.quantile_ci``). Pure: frames and registry records in, a frame out.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from generator.analysis import stats as st
from generator.analysis.capacity import is_local, throughput
from generator.analysis.evidence import latency_samples
from generator.registry.loader import Registry
from generator.runs.records import Manifest

COLUMNS = [
    "tier",
    "model_id",
    "machine_id",
    "runs",
    "cases",
    "requests",
    "level",
    "tps_p50",
    "tps_low",
    "tps_high",
    "latency_p50_s",
    "latency_low_s",
    "latency_high_s",
    "ceiling_tps",
]


def _machine_of(manifests: list[Manifest]) -> dict[str, str]:
    return {m.run_id: m.settings.machine for m in manifests if m.settings.machine and m.origin == "executed"}


def reference_speeds(reg: Registry, df: pd.DataFrame, manifests: list[Manifest]) -> pd.DataFrame:
    """One row per tier × reference model × machine that ran the reference suite on it."""
    ref = reg.hardware.reference
    if ref is None or df.empty:
        return pd.DataFrame(columns=COLUMNS)
    tier_of = {mid: t.id for t in ref.tiers for mid in t.models}
    machine_of = _machine_of(manifests)
    sub = df[df["suite"].eq(ref.suite) & df["model_id"].isin(list(tier_of)) & df["run_id"].isin(list(machine_of))]
    if sub.empty:
        return pd.DataFrame(columns=COLUMNS)
    sub = sub.assign(machine_id=sub["run_id"].map(machine_of).astype(object))
    keys = ["machine_id", "model_id"]
    samples = latency_samples(sub, [*keys, "run_id", "case_id"])
    level = 1 - reg.policy.statistics.alpha
    machines = {m.id: m for m in reg.hardware.machines}
    rows = []
    for (machine_id, model_id), g in samples.groupby(keys, sort=True):
        warm = g[~g["cold"].astype(bool)]
        lowest = warm["level"].min() if warm["level"].notna().any() else None
        if lowest is not None:
            warm = warm[warm["level"].eq(lowest).fillna(False).astype(bool)]
        if warm.empty:
            continue
        tps = warm["output_tps"].dropna().to_numpy(float)
        e2e = warm["e2e_s"].dropna().to_numpy(float)
        t_ci = st.quantile_ci(tps, 0.5, level) if len(tps) else st.Interval(math.nan, math.nan, math.nan)
        l_ci = st.quantile_ci(e2e, 0.5, level) if len(e2e) else st.Interval(math.nan, math.nan, math.nan)
        model, machine = reg.models.get(model_id), machines.get(machine_id)
        ceiling = (
            throughput(machine, model, reg.hardware.capacity).ceiling_tps
            if model is not None and machine is not None and is_local(model)
            else np.nan
        )
        rows.append(
            {
                "tier": tier_of[model_id],
                "model_id": model_id,
                "machine_id": machine_id,
                "runs": int(warm["run_id"].nunique()),
                "cases": int(warm["case_id"].nunique()),
                "requests": len(warm),
                "level": None if lowest is None else int(lowest),
                "tps_p50": t_ci.estimate,
                "tps_low": t_ci.low,
                "tps_high": t_ci.high,
                "latency_p50_s": l_ci.estimate,
                "latency_low_s": l_ci.low,
                "latency_high_s": l_ci.high,
                "ceiling_tps": ceiling,
            }
        )
    order = {t.id: i for i, t in enumerate(ref.tiers)}
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out.sort_values(["tier", "model_id", "machine_id"], key=lambda c: c.map(order) if c.name == "tier" else c)


def submissions_by_machine(reg: Registry, manifests: list[Manifest]) -> pd.DataFrame:
    """Executed runs per named machine: how many, which suites and models, the latest, how many stale."""
    cols = ["machine_id", "runs", "suites", "models", "latest", "stale"]
    rows = []
    by: dict[str, list[Manifest]] = {}
    for m in manifests:
        if m.origin == "executed":
            by.setdefault(m.settings.machine or "not stated", []).append(m)
    for machine_id, ms in sorted(by.items()):
        stale = sum(
            m.registry_hash != reg.content_hash or m.suite_hash != reg.suite_hashes.get(m.settings.suite) for m in ms
        )
        rows.append(
            {
                "machine_id": machine_id,
                "runs": len(ms),
                "suites": ", ".join(sorted({m.settings.suite for m in ms})),
                "models": ", ".join(sorted({x for m in ms for x in m.settings.models})),
                "latest": max(m.created_at for m in ms),
                "stale": stale,
            }
        )
    return pd.DataFrame(rows, columns=cols)
