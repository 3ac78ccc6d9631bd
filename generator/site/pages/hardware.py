"""Hardware & capacity: the machine matrix, fit and ceiling tables, measured vs ceiling."""

from __future__ import annotations

import pandas as pd

from generator.analysis.calibration import measured_vs_ceiling as measured_table
from generator.site.charts import measured_vs_ceiling
from generator.site.html import Cell, esc, esc_md, fmt_num
from generator.site.pages.common import ingested_perf
from generator.site.pages.context import SiteData
from generator.site.plan import SitePlan

PAGE = "hardware.md"


def _tokens(n: float) -> str:
    return f"{n / 1e9:.2f}B" if n >= 1e9 else f"{n / 1e6:.1f}M"


def measured_rows(data: SiteData) -> pd.DataFrame:
    """Measured decode speed against the ceiling at the measured context (analysis.calibration)."""
    return measured_table(data.calibration)


def _interval(est: float, low: float, high: float, digits: int) -> str:
    """A median and its interval; a side too few requests cannot bound reads as ∞."""

    def num(v: float) -> str:
        return ("−∞" if v < 0 else "∞") if v in (float("inf"), float("-inf")) else fmt_num(v, digits)

    if est != est:
        return "—"
    return f"{num(est)} [{num(low)}, {num(high)}]"


def _fit_matrix(data: SiteData, plan: SitePlan) -> list[str]:
    """Models × machines: does it fit, and at what decode ceiling (the long table below has the parts)."""
    machines = list(dict.fromkeys(r.machine_id for r in data.capacity))
    models = list(dict.fromkeys(r.model_id for r in data.capacity))
    if not machines:
        return []
    by = {(r.model_id, r.machine_id): r for r in data.capacity}
    rows = []
    for model in models:
        row: list[object] = [model]
        for machine in machines:
            r = by.get((model, machine))
            if r is None:
                row.append("—")
                continue
            f, t = r.fit, r.throughput
            tps = t.calibrated.tps if t.calibrated is not None else t.ceiling_tps
            if f.fits:
                label = f"fits · {fmt_num(tps, 0)} tok/s" + ("" if t.calibrated is not None else " ceiling")
                row.append(Cell(esc(label), sort=tps, cls="opsbench-pass", plain=label))
            else:
                label = f"no · needs {fmt_num(f.total_gb, 1)} of {f.memory_gb:g} GB"
                row.append(Cell(esc(label), sort=-1, cls="opsbench-fail", plain=label))
        rows.append(row)
    return [
        "## Which model fits which machine",
        "",
        "Each cell: whether the model fits the machine's memory at the context and concurrency below, and "
        "its decode speed (calibrated where a similar run measured it, else the bandwidth ceiling). The "
        "table after it gives every figure behind a cell.",
        "",
        plan.table(PAGE, "fit-matrix", ["Model", *machines], rows),
        "",
    ]


def _reference_block(data: SiteData, plan: SitePlan) -> list[str]:
    """Measured speed per machine on the reference work, and the submissions per machine."""
    from generator.analysis.reference import reference_speeds, submissions_by_machine

    ref = data.reg.hardware.reference
    out: list[str] = []
    if ref is not None:
        tiers = "; ".join(
            f"{esc_md(t.id)} ({'≤ ' + format(t.max_params_b, 'g') + 'B' if t.max_params_b else 'any size'}): "
            + ", ".join(esc_md(m) for m in t.models)
            for t in ref.tiers
        )
        out += [
            "## Reference work, by machine",
            "",
            f"Every machine runs suite <code>{esc(ref.suite)}</code> on the reference models of the tiers it "
            f"can hold ({tiers}; `registry/hardware.yaml` `reference`), so machines are compared on the same "
            "work: `opsbench run --suite " + esc_md(ref.suite) + " --models MODEL --machine ID`. Speed is output "
            "tokens/s per warm request, latency the end-to-end seconds, both medians over the warm requests at "
            "the lowest load level (a timeout counts as slower than any answer) with a distribution-free 95 % "
            "interval.",
            "",
        ]
        speeds = reference_speeds(data.reg, data.df, data.manifests)
        if speeds.empty:
            out += ["No run of the reference suite names its machine yet.", ""]
        else:
            rows = [
                [
                    r.tier,
                    r.model_id,
                    r.machine_id,
                    r.runs,
                    r.cases,
                    r.requests,
                    "—" if r.level is None or r.level != r.level else r.level,
                    _interval(r.tps_p50, r.tps_low, r.tps_high, 1),
                    _interval(r.latency_p50_s, r.latency_low_s, r.latency_high_s, 2),
                    fmt_num(r.ceiling_tps, 1) if r.ceiling_tps == r.ceiling_tps else "—",
                ]
                for r in speeds.itertuples()
            ]
            out += [
                plan.table(
                    PAGE,
                    "reference",
                    [
                        "Tier",
                        "Model",
                        "Machine",
                        "Runs",
                        "Cases",
                        "Requests",
                        "In flight",
                        "tok/s median [95 % CI]",
                        "Latency s median [95 % CI]",
                        "Ceiling tok/s",
                    ],
                    rows,
                ),
                "",
            ]
    subs = submissions_by_machine(data.reg, data.manifests)
    if not subs.empty:
        out += [
            "## Runs by machine",
            "",
            "Every executed run, by the machine profile it names (`opsbench check-run` refuses a contributed "
            "run that names none, or whose decode speed is above that machine's bandwidth ceiling). A stale run "
            "was made with other registry or task files than this site's.",
            "",
            plan.table(
                PAGE,
                "submissions",
                ["Machine", "Runs", "Suites", "Models", "Latest (UTC)", "Stale"],
                [[r.machine_id, r.runs, r.suites, r.models, r.latest, r.stale] for r in subs.itertuples()],
            ),
            "",
        ]
    return out


def hardware_page(data: SiteData, plan: SitePlan) -> str:
    reg = data.reg
    d = reg.hardware.capacity
    out = [
        "# Hardware & capacity",
        "",
        "Token generation is bounded by memory bandwidth: decode ceiling ≈ bandwidth ÷ bytes read per "
        "token, with bytes per token = the weights read (active parameters × bits per weight ÷ 8, summed "
        "per component where a model states them, e.g. experts at MXFP4 plus attention at BF16; "
        "mixture-of-experts models read only their active experts) plus the KV cache read at the stated "
        "context. It is an upper bound; the **calibrated** figure multiplies it by the efficiency measured "
        "for the same runtime × quantization family × backend (below), with the range of those "
        "measurements. Memory fit = weights + KV cache + runtime overhead + OS reserve.",
        "",
    ]
    out += [
        "## Machines",
        "",
        plan.table(
            PAGE,
            "machines",
            [
                "Machine",
                "Kind",
                "Memory (GB)",
                "Bandwidth (GB/s)",
                "Power (W)",
                "Price",
                "OS reserve (GB)",
                "Noise",
                "Bandwidth source",
                "Notes",
            ],
            [
                [
                    m.name,
                    m.kind,
                    "not stated" if m.memory_gb is None else f"{m.memory_gb:g}",
                    f"{m.bandwidth_gbs:,.1f}".removesuffix(".0"),
                    f"{m.power_w:g}",
                    "no price" if m.price is None else f"{m.price:,.0f} {m.currency}",
                    f"{m.os_overhead_gb:g}",
                    m.noise or "—",
                    m.bandwidth_source or "not stated",
                    ("estimated specs. " if m.estimated else "") + (m.notes or ""),
                ]
                for m in reg.hardware.machines
            ],
        ),
        "",
    ]
    out += _fit_matrix(data, plan)
    out += [
        "## Fit, ceiling and tokens per month",
        "",
        f"At {d.context_tokens:,} tokens of context × {d.concurrency} sequence(s), {d.runtime_overhead_gb:g} GB "
        f"runtime overhead, a {d.days_per_month:g}-day month at 24/7, and users at {d.target_user_tps:g} tok/s "
        "each (they slice one bandwidth pie), counted on the calibrated figure where there is one; the "
        "fit is checked with that many sequences' KV cache held at once. *KV not stated* marks models "
        "whose layer shape the registry does not give: their fit and ceiling leave the KV cache out.",
        "",
    ]
    rows = []
    for r in data.capacity:
        f, t = r.fit, r.throughput
        rows.append(
            [
                r.machine_id,
                r.model_id,
                fmt_num(f.weights_gb, 1),
                "KV not stated" if f.kv_gb is None else fmt_num(f.kv_gb, 2),
                fmt_num(f.total_gb, 1),
                f"{f.memory_gb:g}",
                "yes" if f.fits else "NO",
                fmt_num(t.gb_per_token, 2),
                fmt_num(t.ceiling_tps, 1),
                "—"
                if t.calibrated is None
                else f"{fmt_num(t.calibrated.tps, 1)} ({fmt_num(t.calibrated.tps_low, 1)}–"
                f"{fmt_num(t.calibrated.tps_high, 1)})",
                "not calibrated" if t.calibrated is None else t.calibrated.basis,
                _tokens(t.tokens_per_month),
                f"{t.concurrent_users}" + ("" if t.users_fit in (None, True) else f" (KV fits {t.users_fit_max})"),
            ]
        )
    out += [
        plan.table(
            PAGE,
            "capacity",
            [
                "Machine",
                "Model",
                "Weights (GB)",
                "KV (GB)",
                "Total (GB)",
                "Memory (GB)",
                "Fits",
                "GB per token",
                "Ceiling tok/s",
                "Calibrated tok/s (range)",
                "Calibrated from",
                "Tokens/month 24/7 (ceiling)",
                f"Users @ {d.target_user_tps:g} tok/s",
            ],
            rows,
            max_rows=400,
        ),
        "",
    ]
    meas = measured_rows(data)
    out += ["## Measured against the ceiling", ""]
    if meas.empty:
        out += [
            "No run names its machine profile yet (`opsbench run --machine ID`), so nothing is measured "
            "against a ceiling.",
            "",
        ]
    else:
        out += [
            plan.table(
                PAGE,
                "measured",
                [
                    "Machine",
                    "Model",
                    "Measured tok/s (median, 1 ÷ TPOT)",
                    "Ceiling at the measured context",
                    "Efficiency",
                ],
                [
                    [
                        r.machine_id,
                        r.model_id,
                        fmt_num(r.measured_tps, 1),
                        fmt_num(r.ceiling_tps, 1),
                        fmt_num(r.efficiency, pct=True) if r.efficiency is not None else "—",
                    ]
                    for r in meas.itertuples()
                ],
            ),
            "",
            plan.chart(PAGE, measured_vs_ceiling(meas)),
            "",
        ]
        out += [
            "Measured decode speed is 1 ÷ TPOT of the warm requests at each model's lowest load level on "
            "that machine (one request in flight, as a rule); the ceiling is taken at the context those "
            "requests really had (prompt plus half the output), the same measurements the calibration "
            "below is fitted on.",
            "",
        ]
        machines = {m.id: m for m in data.reg.hardware.machines}
        weights = {(c.machine_id, c.model_id): c.throughput.weights_gb_per_token for c in data.capacity}
        for r in meas.itertuples():
            if r.efficiency is None or pd.isna(r.efficiency) or r.efficiency <= 1 or r.machine_id not in machines:
                continue
            bw = machines[r.machine_id].bandwidth_gbs
            # The weights alone: a lower bound on what each token read.
            w_gb = weights.get((r.machine_id, r.model_id), bw / r.ceiling_tps)
            implied = r.measured_tps * w_gb  # tok/s × GB of weights per token
            out += [
                f'<p class="opsbench-note"><b>{esc(r.model_id)} on {esc(r.machine_id)} ran above its '
                f"ceiling.</b> {fmt_num(r.measured_tps, 1)} tok/s × {fmt_num(w_gb, 4)} GB of weights per "
                f"token means the weights were read at {fmt_num(implied, 1)} GB/s or more, above the "
                f"{bw:g} GB/s that <code>hardware.yaml</code> states for this machine: its bandwidth "
                "figure is too low (measure it with <code>benchmarks/memory_bandwidth.py</code>), or part "
                "of the weights stayed in cache.</p>",
                "",
            ]
    out += _calibration_section(data, plan)
    out += _reference_block(data, plan)
    out += ingested_perf(data, plan, PAGE)
    if data.capacity_checks:
        out += [
            "## The seed site's figures, recomputed",
            "",
            "Each claim set against what its own stated inputs give with the formulas above. A mismatch "
            "is reported, never fitted.",
            "",
        ]
        out += [
            plan.table(
                PAGE,
                "seed-checks",
                ["Subject", "Seed says", "Formula gives", "Verdict", "Why"],
                [[c.subject, c.claim, fmt_num(c.derived), c.verdict, c.explanation] for c in data.capacity_checks],
            ),
            "",
        ]
    return "\n".join(out)


def _calibration_section(data: SiteData, plan: SitePlan) -> list[str]:
    """Each measurement's efficiency and how well the others predict it (leave-one-out)."""
    cal = data.calibration
    out = ["## Calibration: measured efficiency and its error", ""]
    if cal is None or not cal.loo:
        out += [
            "No measurement joins a registry machine yet: a run needs `opsbench run --machine ID`, an "
            "ingested llama-bench result a `device_aliases` entry in `hardware.yaml`. Until then every "
            "figure above is the theoretical ceiling.",
            "",
        ]
        return out
    out += [
        "Efficiency = measured decode tok/s ÷ the ceiling at the context it decoded at. Our runs: 1 ÷ "
        "median TPOT over warm requests at the lowest load level; llama-bench: each generation test. "
        "Leave-one-out predicts each measurement from the others of its runtime × quantization × backend "
        "(or, with no other, the coarser pool named); error = predicted ÷ measured − 1.",
        "",
    ]
    rows = [
        [
            r.measurement.source,
            r.measurement.origin,
            r.measurement.model_id,
            r.measurement.machine_id,
            " × ".join(r.measurement.key),
            fmt_num(r.measurement.context_tokens, 0),
            fmt_num(r.measurement.measured_tps, 1),
            fmt_num(r.measurement.ceiling_tps, 1),
            fmt_num(r.measurement.efficiency, pct=True),
            "—" if r.predicted_tps is None else fmt_num(r.predicted_tps, 1),
            "—" if r.error is None else f"{r.error:+.1%}",
            r.basis,
        ]
        for r in cal.loo
    ]
    out += [
        plan.table(
            PAGE,
            "calibration",
            [
                "Measurement",
                "Origin",
                "Model",
                "Machine",
                "Runtime × quantization × backend",
                "Context (tokens)",
                "Measured tok/s",
                "Ceiling tok/s",
                "Efficiency",
                "Predicted tok/s",
                "Leave-one-out error",
                "Predicted from",
            ],
            rows,
        ),
        "",
    ]
    for origin in sorted({r.measurement.origin for r in cal.loo}):
        sm = cal.summary(origin)
        if sm.mean_abs_error is None:
            out.append(f"- {esc(origin)}: no measurement has another to be predicted from.")
        else:
            out.append(
                f"- {esc(origin)}: mean |error| {sm.mean_abs_error:.1%}, max {sm.max_abs_error:.1%} over {sm.n} "
                f"measurement(s), {sm.within_group_n} of them predicted within their own group."
            )
    out.append("")
    if cal.unjoined:
        out += ["Measurements left out:", ""] + [f"- {esc(u)}" for u in cal.unjoined] + [""]
    return out
