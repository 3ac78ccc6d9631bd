"""Economics from evidence and calibrated capacity, pinned to hand-worked values and exact CLI output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.analysis.calibration import (
    Measurement,
    calibrate_from,
    fit_calibration,
    quant_family,
)
from generator.analysis.capacity import gb_read_per_token, throughput, weights_read_gb
from generator.analysis.cost import cost_report, hardware_cost
from generator.cli.ingest import ingest
from generator.cli.planning import capacity, roi
from generator.errors import InputError
from generator.registry.loader import Registry, load_registry
from generator.runs.scan import load_perf_records, load_results
from tests.conftest import REPO
from tests.synth import write_run

FIX = REPO / "tests" / "fixtures" / "ingest" / "llama-bench"


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry(REPO / "registry")


def machine(reg: Registry, mid: str):  # type: ignore[no-untyped-def]
    return next(m for m in reg.hardware.machines if m.id == mid)


# --------------------------------------------------------------------------- capacity


def test_gpt_oss_reads_per_component(reg: Registry) -> None:
    model = reg.models["gpt-oss-120b"]
    w, parts = weights_read_gb(model)
    # 3.58B × 4.25 ÷ 8 = 1.901875 GB of experts + 1.55B × 16 ÷ 8 = 3.1 GB at BF16 = 5.001875 GB
    assert [p[3] for p in parts] == pytest.approx([1.901875, 3.1])
    assert w == pytest.approx(5.001875)
    # KV read at 8,192 tokens: 2 × 36 × 8 × 64 × 2 = 73,728 B/token × 8,192 = 0.604 GB
    per_token, kv = gb_read_per_token(model, 8192, 2)
    assert per_token == pytest.approx(5.001875 + kv)
    assert kv == pytest.approx(0.603979776)
    t = throughput(machine(reg, "mac-studio-m4-max-128"), model, reg.hardware.capacity)
    assert t.gb_per_token == pytest.approx(5.605854776)
    assert t.ceiling_tps == pytest.approx(546 / 5.605854776)  # 97.4 tok/s, not 201
    assert 546 / w == pytest.approx(109.16, abs=0.01)  # the reference's "about 110 tok/s", weights only


def test_machine_facts_sourced(reg: Registry) -> None:
    assert machine(reg, "raspberry-pi-5-8").bandwidth_gbs == 17
    assert machine(reg, "dual-rtx-5090").bandwidth_gbs == machine(reg, "rtx-5090-pc").bandwidth_gbs == 1792
    assert all(m.bandwidth_source for m in reg.hardware.machines)


def test_quant_families() -> None:
    assert [quant_family(q) for q in ("Q4_K_M", "Q4_1", "Q5_K_M", "MXFP4", "F16", "BF16")] == [
        "Q4",
        "Q4",
        "Q5",
        "MXFP4",
        "F16",
        "BF16",
    ]


def _m(source: str, backend: str, measured: float, runtime: str = "rt") -> Measurement:
    return Measurement(source, "own run", "m", "x", runtime, "Q4", backend, 0, measured, 100.0, 1)


def test_leave_one_out_by_hand() -> None:
    cal = fit_calibration([_m("a", "CPU", 60), _m("b", "CPU", 70), _m("c", "CPU", 80), _m("d", "CUDA", 50)])
    assert cal.groups[("rt", "Q4", "CPU")].efficiency == pytest.approx(0.7)
    errs = {r.measurement.source: (r.error, r.basis) for r in cal.loo}
    # a: the others' mean efficiency 0.75 -> 75 predicted for 60 measured: +25 %
    assert errs["a"] == (pytest.approx(0.25), "rt × Q4 × CPU (own group)")
    assert errs["b"][0] == pytest.approx(0.0)
    assert errs["c"][0] == pytest.approx(65 / 80 - 1)
    # d is alone on CUDA: predicted from every other Q4 measurement (0.7) -> 70 for 50: +40 %
    assert errs["d"] == (pytest.approx(0.4), "Q4 (backends pooled)")
    s = cal.summary()
    assert s.mean_abs_error == pytest.approx((0.25 + 0 + 0.1875 + 0.4) / 4)
    assert (s.n, s.within_group_n) == (4, 3)


def _ingest_fixtures(registry: Path, out: Path) -> None:
    for f in ("llama-bench.json", "llama-bench.jsonl"):
        args = ["llama-bench", str(FIX / f), "--model", "llama3.1-8b", "--out", str(out), "--registry", str(registry)]
        assert CliRunner().invoke(ingest, args, catch_exceptions=False).exit_code == 0


def test_llama_bench_fixtures_calibrate(registry_copy: Path, tmp_path: Path) -> None:
    _ingest_fixtures(registry_copy, tmp_path / "lb")
    reg = load_registry(registry_copy)
    df, manifests = load_results(tmp_path / "lb")
    cal = calibrate_from(df, manifests, load_perf_records(tmp_path / "lb", manifests), reg.hardware, reg.models)
    by = {r.measurement.machine_id: r for r in cal.loo}
    # tg128 at depth 0 decodes at 64 tokens of context on average: 8.03 × 4.85 ÷ 8 = 4.8681875 GB
    # + 131,072 B × 64 = 0.0083886 GB -> 4.8765761 GB per token
    gpu, cpu = by["rtx-4090-pc-used"], by["ryzen-9-7950x"]
    assert gpu.measurement.ceiling_tps == pytest.approx(1008 / 4.876576108)  # 206.70
    assert gpu.measurement.efficiency == pytest.approx(141.374788 / 206.7021, rel=1e-5)  # 68.4 %
    assert cpu.measurement.ceiling_tps == pytest.approx(83.2 / 4.876576108)  # 17.06
    assert cpu.measurement.efficiency == pytest.approx(12.759427 / 17.06115, rel=1e-5)  # 74.8 %
    assert gpu.measurement.key == ("llama.cpp", "Q4", "CUDA") and cpu.measurement.key[2] == "CPU"
    # one test per backend: each is predicted from the other (backends pooled)
    assert gpu.error == pytest.approx(cpu.measurement.efficiency / gpu.measurement.efficiency - 1)  # +9.3 %
    assert cpu.error == pytest.approx(gpu.measurement.efficiency / cpu.measurement.efficiency - 1)  # -8.5 %
    assert gpu.basis == cpu.basis == "Q4 (backends pooled)"
    # the pg (prompt + generation) test and the pp tests are not decode measurements
    assert len(cal.loo) == 2


# --------------------------------------------------------------------------- cost


def test_flat_electricity_only_for_its_machine(reg: Registry) -> None:
    m5 = hardware_cost(machine(reg, "mac-studio-m5-max-128"), reg.pricing, 30)
    m4 = hardware_cost(machine(reg, "mac-studio-m4-max-128"), reg.pricing, 30)
    assert (m5.electricity.method, m5.electricity.monthly) == ("flat", 100)
    # 120 W × 8 h × 30 d × 2 SEK/kWh ÷ 1000 = 57.6 SEK: the M4's own power, not the M5's flat figure
    assert (m4.electricity.method, m4.electricity.monthly) == ("computed", pytest.approx(57.6))


def test_scenario_a_caps_output_tokens(reg: Registry) -> None:
    rep = cost_report(reg.pricing, reg.hardware, reg.models, rel_tol=0.02)
    by = {s.id: s for s in rep.scenario_a}
    # M5 Max 614 GB/s ÷ 5.605854776 GB = 109.53 tok/s × 2,592,000 s = 283.9M output tokens/month
    cap = 614 / 5.605854776 * 2_592_000
    assert by["heavy"].output_tokens_per_month == pytest.approx(700e6)
    assert by["heavy"].capacity_tokens_per_month == pytest.approx(cap)
    assert by["heavy"].exceeds_capacity and by["heavy"].monthly_saving is None
    assert by["moderate"].exceeds_capacity is False  # 70M output tokens
    assert by["heavy"].capacity_basis.startswith("theoretical ceiling")


# --------------------------------------------------------------------------- bad input


def test_machine_without_price_is_file_line_exit_2(registry_copy: Path) -> None:
    path = registry_copy / "workloads.yaml"
    text = path.read_text()
    path.write_text(text.replace("machine: mac-studio-m4-max-128", "machine: ryzen-9-7950x", 1))
    line = 1 + path.read_text().splitlines().index(
        next(ln for ln in path.read_text().splitlines() if "machine: ryzen-9-7950x" in ln)
    )
    with pytest.raises(InputError):
        load_registry(registry_copy)
    res = CliRunner().invoke(roi, ["--registry", str(registry_copy)])
    assert res.exit_code == 2
    assert re.search(
        rf"workloads\.yaml:{line}: machine 'ryzen-9-7950x' has no price: workload 'claim-summarization'",
        res.output,
    )
    assert not Path("runs").exists()  # nothing written


# --------------------------------------------------------------------------- CLI, exact output


def _escalation_run(registry_copy: Path, runs: Path, machine_id: str | None) -> None:
    reg = load_registry(registry_copy)
    cases = [c.id for c in reg.suites["claims_ops"].cases if c.workload == "escalation-classification"]
    assert len(cases) == 10
    outputs = {("gemma3-270m", c): "???" for c in cases}  # every answer fails: acceptance 0 of 10
    write_run(reg, runs, "20260101-000000-claims_ops-aaaaaa", "claims_ops", outputs, machine=machine_id, tpot=0.01)


def test_cli_roi_measured_exact(registry_copy: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    _escalation_run(registry_copy, runs, "mac-studio-m4-max-128")
    args = ["--registry", str(registry_copy), "--runs", str(runs), "--workload", "escalation-classification"]
    res = CliRunner().invoke(roi, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "Measured return per month, SEK (ranges from the acceptance 95 % interval)"
    # Wilson upper bound of 0 of 10: 1.96² ÷ (10 + 1.96²) = 0.27754.
    # items 40,000 × 0.55 × 0.27754 = 6,105.9; hours × 0.58333 ÷ 60 = 59.36; value × 48 USD × 10.5 = 29,918 SEK;
    # hosted per item (10 × 3 + 20 × 15) USD/M × 10.5 = 0.003465 SEK -> 21 SEK; local cost 40,000 ÷ 36
    # + 120 W × 8 h × 30 d × 2 SEK = 1,111.11 + 57.6 = 1,168.71; potential net -1,169 .. 28,770.
    row = lines[3].split("  ")
    assert [c.strip() for c in row if c.strip()] == [
        "escalation-classification",
        "gemma3-270m",
        "not passed",
        "10",
        "0.00 (0.00..0.28)",
        "0.55 stated",
        "0 (0..59)",
        "0 (0..29,918)",
        "0 (0..21)",
        "1,169",
        "potential: -1,169 (-1,169..28,770)",
        "enough",
    ]
    assert lines[4] == (
        "- escalation-classification × gemma3-270m: potential, if a candidate passes; local share: "
        "stated share_automated in workloads.yaml (guard rails not yet measured)"
    )
    assert lines[5] == (
        "  local cost: mac-studio-m4-max-128: 40,000 SEK ÷ 36 months = 1,111.11 + electricity "
        "120 W × 8 h × 30 d × 2 SEK/kWh = 57.6"
    )
    assert lines[6] == "  hosted per item: (10 prompt tokens × 3 + 20 output tokens × 15) USD/M × 10.5 = 0.0035 SEK"
    # 1 in flight × 3600 ÷ 1 s = 3,600 items/h against 22,000 items ÷ (8 h × 30 d) = 91.67 items/h
    assert lines[7] == (
        "  capacity: 1 × 3600 ÷ 1 s (p50) = 3,600 items/h (3,600 at p95 1 s) against 22,000 items ÷ 240 h "
        "= 91.7 items/h: enough"
    )
    data = json.loads(CliRunner().invoke(roi, [*args, "--json"], catch_exceptions=False).output)
    [m] = data["measured"]
    assert m["status"] == "potential, if a candidate passes" and m["net"] is None


def test_failing_candidate_net_never_enters_decision(registry_copy: Path, tmp_path: Path) -> None:
    from generator.analysis.economics import economics
    from generator.analysis.leaderboard import evidence_cells

    runs = tmp_path / "runs"
    _escalation_run(registry_copy, runs, None)
    reg = load_registry(registry_copy)
    df, manifests = load_results(runs)
    econ = economics(reg, df, manifests, evidence_cells(df))["escalation-classification"]
    [m] = econ.measured
    assert m.passes_gates is False and m.net is None and m.net_if_passing is not None
    assert m.capacity is not None and m.capacity.enough is None  # not run on the named machine
    d = next(d for d in econ.decisions if d.model_id == "gemma3-270m")
    assert d.finding != "defer"


def test_cli_capacity_calibrated_exact(registry_copy: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    reg = load_registry(registry_copy)
    first, second = (c.id for c in reg.suites["smoke"].cases[:2])
    # two requests per run (the first is the cold start), at 100 and 80 tok/s: two measurements
    outputs = {("gemma3-270m", first): "x", ("gemma3-270m", second): "y"}
    for i, tpot in enumerate((0.01, 0.0125)):
        rid = f"2026010{i + 1}-000000-smoke-aaaaa{i}"
        write_run(reg, runs, rid, "smoke", outputs, machine="bench-2core", tpot=tpot, runtime="llama-cpp-python")
    args = ["--registry", str(registry_copy), "--runs", str(runs), "--machine", "bench-2core", "--model", "gemma3-270m"]
    res = CliRunner().invoke(capacity, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if line.startswith("bench-2core"))
    # ceiling at 8,192 tokens: 0.268 × 7.55 ÷ 8 = 0.252925 GB + 18,432 B × 8,192 = 0.150995 GB -> 0.40392 GB;
    # 36 ÷ 0.40392 = 89.1 tok/s. Measured contexts are 10 + 20 ÷ 2 = 20 tokens: ceiling 36 ÷ (0.252925
    # + 0.000369) = 142.13; efficiencies 100 ÷ 142.13 = 70.4 % and 80 ÷ 142.13 = 56.3 %.
    assert row.split("  ")[0] == "bench-2core"
    cols = [c.strip() for c in row.split("  ") if c.strip()]
    assert cols[8:11] == ["0.40", "89.1", "56.4 (50.2..62.7)"]
    assert cols[12] == "5"
    assert (
        "calibration llama-cpp-python × Q4 × CPU: efficiency 63% (range 56%..70%), leave-one-out mean |error| 22.5%"
        in res.output
    )
    assert "bandwidth: bench-2core: measured, benchmarks/memory_bandwidth.py on 2026-11-24" in res.output
