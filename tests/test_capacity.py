"""Capacity arithmetic pinned to hand-worked values, the seed's figures, and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.analysis.capacity import (
    capacity_matrix,
    concurrent_users,
    decode_ceiling_tps,
    efficiency,
    fit,
    is_local,
    kv_bytes_per_token,
    kv_cache_gb,
    throughput,
    tokens_per_month,
    weights_gb,
)
from generator.analysis.seedcheck import (
    ParsedNumber,
    agrees,
    check_seed_claim,
    fmt_num,
    parse_number,
)
from generator.cli.planning import capacity
from generator.registry.loader import Registry, load_registry
from generator.registry.schema import Machine
from tests.conftest import REPO


@pytest.fixture(scope="module")
def reg() -> Registry:
    """The shipped registry, read once; tests that write use ``registry_copy``."""
    return load_registry(REPO / "registry")


def machine(reg: Registry, mid: str) -> Machine:
    return next(m for m in reg.hardware.machines if m.id == mid)


# --------------------------------------------------------------------------- formulas


def test_weights_and_bytes_per_token() -> None:
    # gpt-oss-120b: 116.8B total at MXFP4 4.25 bits; 5.1B active
    assert weights_gb(116.8, 4.25) == pytest.approx(62.05)
    assert weights_gb(5.1, 4.25) == pytest.approx(2.709375)
    # 10 GB per token is what 5.1B active parameters read at ~16 bits, not MXFP4
    assert weights_gb(5.1, 16) == pytest.approx(10.2)


def test_kv_cache_reference_example() -> None:
    # REFERENCE.md: Llama-3.1-8B fp16: 2 × 32 × 8 × 128 × 2 = 128 KiB per token; 8K context ≈ 1 GiB
    per_token = kv_bytes_per_token(32, 8, 128, 2)
    assert per_token == 131072
    assert kv_cache_gb(per_token, 8192, 1) == pytest.approx(1.073741824)  # = 1 GiB in GB
    assert kv_cache_gb(per_token, 8192, 4) == pytest.approx(4.294967296)


def test_decode_ceiling_gpt_oss_at_546() -> None:
    # 546 ÷ (5.1 × 4.25 ÷ 8) = 546 ÷ 2.709375 = 201.52 tok/s, not the seed's ~55
    assert decode_ceiling_tps(546, 2.709375) == pytest.approx(201.5225, abs=1e-4)
    # the seed's own "~10 GB of weights per token": 546 ÷ 10 = 54.6 ≈ 55
    assert decode_ceiling_tps(546, 10) == pytest.approx(54.6)


@pytest.mark.parametrize(
    ("tps", "expected", "claim"),
    [
        (150, 388_800_000, "~389M"),
        (120, 311_040_000, "~311M"),
        (100, 259_200_000, "~259M"),
        (90, 233_280_000, "~233M"),
        (60, 155_520_000, "~155M"),
    ],
)
def test_tokens_per_month_seed_table(tps: float, expected: float, claim: str) -> None:
    assert tokens_per_month(tps, 30) == pytest.approx(expected)
    parsed = parse_number(claim)
    assert parsed is not None
    assert agrees(parsed, expected, 0.02)


def test_rounding_tolerance_is_stated() -> None:
    # "~155M" is stated to the million: 155.52M is 0.52M away, more than half a unit,
    # so only the relative tolerance accepts it.
    parsed = parse_number("~155M")
    assert parsed == ParsedNumber(155e6, 1e6, "155M")
    assert not agrees(parsed, 155.52e6, 0.0)
    assert agrees(parsed, 155.52e6, 0.02)
    assert agrees(parse_number("~389M"), 388.8e6, 0.0)  # type: ignore[arg-type]


def test_fit_without_kv_facts_says_so(reg: Registry) -> None:
    f = fit(machine(reg, "mac-studio-m4-max-128"), reg.models["gemma4-26b"], reg.hardware.capacity)
    assert f.kv_gb is None and f.kv_source == "not stated"
    assert any("KV cache not stated" in n for n in f.notes)


def test_kv_llama_reference_example(reg: Registry) -> None:
    # REFERENCE: Llama-3.1-8B at fp16 is 128 KiB per token, so 8K context ~ 1 GiB per sequence.
    f = fit(machine(reg, "rtx-4090-pc-used"), reg.models["llama3.1-8b"], reg.hardware.capacity)
    assert f.kv_bytes_per_token == 128 * 1024
    assert f.kv_gb == pytest.approx(2**30 / 1e9)


def test_concurrent_users_and_efficiency() -> None:
    assert concurrent_users(201.5225, 10) == 20
    # the seed site's "Concurrent users" rows at 10 tok/s per user: ~55 tok/s -> 5, ~90 tok/s -> 9
    assert concurrent_users(55, 10) == 5
    assert concurrent_users(90, 10) == 9
    assert concurrent_users(20.0, 10) == 2  # exact boundary is not lost to float error
    assert efficiency(55, 201.5225) == pytest.approx(0.2729, abs=1e-4)


# --------------------------------------------------------------------------- registry records


def test_fit_gpt_oss_on_m4_max_states_every_term(reg: Registry) -> None:
    f = fit(machine(reg, "mac-studio-m4-max-128"), reg.models["gpt-oss-120b"], reg.hardware.capacity)
    assert f.weights_gb == pytest.approx(62.05)
    # KV: 2 x 36 layers x 8 KV heads x 64 head dim x 2 bytes = 73,728 B/token; x 8,192 tokens x 1
    assert f.kv_bytes_per_token == 73_728
    assert f.kv_gb == pytest.approx(73_728 * 8192 / 1e9)
    assert f.kv_source.startswith("2 × 36 layers × 8 KV heads × 64 head dim")
    assert f.runtime_overhead_gb == 1.0
    assert f.os_overhead_gb == 20
    assert f.total_gb == pytest.approx(62.05 + 0.603979776 + 1 + 20)
    assert f.headroom_gb == pytest.approx(128 - 83.653979776)
    assert f.fits
    assert f.published_memory_gb == 65
    assert (f.context_tokens, f.concurrency) == (8192, 1)


def test_fit_with_kv_terms(reg: Registry) -> None:
    m, model, d = machine(reg, "mac-studio-m4-max-128"), reg.models["llama3.1-8b"], reg.hardware.capacity
    given = fit(m, model, d, kv_gb=10)
    assert given.kv_gb == 10 and given.kv_source == "kv_gb given"
    assert given.total_gb == pytest.approx(8.03 * 4.85 / 8 + 10 + 1 + 20)
    derived = fit(m, model, d, context_tokens=8192, concurrency=4, kv_bytes_per_token=131072)
    assert derived.kv_gb == pytest.approx(4.294967296)
    assert derived.kv_source == "kv_bytes_per_token × context × concurrency"
    assert not derived.notes
    with pytest.raises(ValueError, match="not both"):
        fit(m, model, d, kv_gb=1, kv_bytes_per_token=1)


def test_fit_failures(reg: Registry) -> None:
    d = reg.hardware.capacity
    # 62.05 weights + 0.604 KV + 1 runtime + 1 OS = 64.654 GB on a 32 GB card
    f = fit(machine(reg, "rtx-5090-pc"), reg.models["gpt-oss-120b"], d)
    assert not f.fits
    assert f.headroom_gb == pytest.approx(32 - 64.653979776)
    long = fit(machine(reg, "mac-studio-m4-max-128"), reg.models["qwen2.5-coder-14b"], d, context_tokens=65536)
    assert long.context_exceeds_window
    with pytest.raises(ValueError, match="not a local model"):
        fit(machine(reg, "mac-studio-m4-max-128"), reg.models["claude-sonnet"], d)


def test_throughput_row(reg: Registry) -> None:
    t = throughput(
        machine(reg, "mac-studio-m4-max-128"),
        reg.models["gpt-oss-120b"],
        reg.hardware.capacity,
        measured_tps=55,
    )
    # per component: 3.58B × 4.25 ÷ 8 + 1.55B × 16 ÷ 8 = 5.001875 GB, + KV 73,728 B × 8,192 = 0.604 GB
    assert t.gb_per_token == pytest.approx(5.605854776)
    assert t.ceiling_tps == pytest.approx(97.398, abs=1e-3)
    assert t.tokens_per_month == pytest.approx(97.398 * 86400 * 30, rel=1e-5)
    assert t.concurrent_users == 9  # no calibration passed: counted on the ceiling
    assert t.users_basis == "ceiling" and t.users_fit is True
    assert t.efficiency == pytest.approx(55 / 97.39817, rel=1e-6)
    # M5 Max (614 GB/s): the cap cost.py uses for the Scenario A rows
    m5 = throughput(machine(reg, "mac-studio-m5-max-128"), reg.models["gpt-oss-120b"], reg.hardware.capacity)
    assert m5.tokens_per_month == pytest.approx(614 / 5.605854776 * 2_592_000)
    assert m5.tokens_per_month == pytest.approx(283.9e6, rel=1e-3)


def test_matrix_covers_local_models_only(reg: Registry) -> None:
    rows = capacity_matrix(reg.hardware.machines, reg.models.values(), reg.hardware.capacity)
    local = [m for m in reg.models.values() if is_local(m)]
    sized = [m for m in reg.hardware.machines if m.memory_gb is not None]  # not the measurement host
    assert len(sized) == len(reg.hardware.machines) - 1
    assert len(rows) == len(sized) * len(local)
    assert "claude-sonnet" not in {r.model_id for r in rows}


# --------------------------------------------------------------------------- seed claims


def test_parse_number_forms() -> None:
    assert parse_number("about $16,176") == ParsedNumber(16176, 1, "$16,176")
    assert parse_number("-13k SEK over 3 years").value == -13000  # type: ignore[union-attr]
    assert parse_number("-13k SEK over 3 years").unit == 1000  # type: ignore[union-attr]
    assert parse_number("+17k SEK").value == 17000  # type: ignore[union-attr]
    assert parse_number("API cost SEK 9,765/mo").value == 9765  # type: ignore[union-attr]
    assert parse_number("break-even 5 months").value == 5  # type: ignore[union-attr]
    assert parse_number("roughly 17,600 dollars").value == 17600  # type: ignore[union-attr]
    assert parse_number("1.5k").unit == pytest.approx(100)  # type: ignore[union-attr]
    assert parse_number("never breaks even") is None


def test_check_without_number_is_not_checked() -> None:
    c = check_seed_claim("x", "never", 3.0, unit="", formula="", inputs={}, rel_tol=0.02, source="s")
    assert c.consistent is None and c.verdict == "not checked"


def test_fmt_num() -> None:
    assert fmt_num(388_800_000) == "388.8M"
    assert fmt_num(1e9) == "1B"
    assert fmt_num(40000) == "40,000"
    assert fmt_num(25.316) == "25.32"
    assert fmt_num(None) == "-"


# --------------------------------------------------------------------------- CLI


def test_cli_capacity_one_pair(registry_copy: Path) -> None:
    args = ["--registry", str(registry_copy), "--machine", "mac-studio-m4-max-128", "--model", "gpt-oss-120b"]
    result = CliRunner().invoke(capacity, [*args, "--measured-tps", "55"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("context 8,192 tokens × concurrency 1")
    row = next(line for line in lines if line.startswith("mac-studio-m4-max-128"))
    assert row.split() == [
        "mac-studio-m4-max-128",
        "gpt-oss-120b",
        "62.0",  # weights GB (62.05 printed to one decimal)
        "0.6",  # KV: 73,728 B/token x 8,192 tokens
        "21",
        "83.7",
        "128",
        "yes",
        "5.61",  # 5.0019 GB of weights (per component) + 0.604 GB of KV at 8,192 tokens
        "97.4",
        "-",  # no run calibrates MXFP4 on Metal
        "252.5M",
        "9",
        "55",
        "56%",
    ]
    assert "note: KV cache not stated" not in result.output
    assert "Seed claims: 10 checked, 5 inconsistent" in result.output
    assert "[INCONSISTENT] decode speed, gpt-oss-120b on mac-studio-m4-max-128" in result.output


def test_cli_capacity_json(registry_copy: Path) -> None:
    result = CliRunner().invoke(
        capacity,
        ["--registry", str(registry_copy), "--model", "glm-4.7-flash", "--kv-gb", "2", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    reg = load_registry(registry_copy)
    assert len(data["rows"]) == len([m for m in reg.hardware.machines if m.memory_gb is not None])
    first = data["rows"][0]
    assert first["fit"]["kv_gb"] == 2
    assert first["fit"]["total_gb"] == pytest.approx(18.1875 + 2 + 1 + first["fit"]["os_overhead_gb"])
    assert data["defaults"]["days_per_month"] == 30
    assert {c["verdict"] for c in data["seed_checks"]} == {"consistent", "INCONSISTENT"}
    assert all(math.isfinite(r["throughput"]["ceiling_tps"]) for r in data["rows"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--machine", "nope"], "unknown machine"),
        (["--model", "claude-sonnet"], "is hosted"),
        (["--measured-tps", "10"], "exactly one --machine and one --model"),
        (["--kv-gb", "1", "--kv-bytes-per-token", "2"], "not both"),
    ],
)
def test_cli_capacity_bad_options(registry_copy: Path, extra: list[str], message: str) -> None:
    result = CliRunner().invoke(capacity, ["--registry", str(registry_copy), *extra])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_capacity_registered_on_main_cli(registry_copy: Path) -> None:
    from generator.cli import cli

    result = CliRunner().invoke(
        cli,
        ["capacity", "--registry", str(registry_copy), "--machine", "bench-2core", "--model", "gemma3-270m"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    # 36 GB/s ÷ (0.268 × 7.55 ÷ 8 = 0.2529 GB + KV 2 × 18 × 1 × 256 × 2 B × 8,192 = 0.1510 GB) = 89.1 tok/s
    assert "89.1" in result.output
