"""`opsbench proxy`: same weights on another host, compared on shared cases; cloud scores as upper bounds."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from generator.analysis.proxy import proxy_report
from generator.cli import cli
from generator.registry.loader import load_registry
from generator.registry.schema import ModelEntry
from tests.conftest import REPO


def _q(rows: dict[str, list[float]]) -> pd.DataFrame:
    """Quality cells: one request per (model, case), accepted 0/1."""
    out = []
    for model, values in rows.items():
        for i, v in enumerate(values):
            out.append({"model_id": model, "case_id": f"c{i:02d}", "accepted": float(v), "pain": 3.0 * (1 - v), "n": 1})
    return pd.DataFrame(out)


def _models(reg) -> dict[str, ModelEntry]:
    models = dict(reg.models)
    local = models["llama3.1-8b"]
    models["llama3.1-8b-q8"] = local.model_copy(
        update={
            "id": "llama3.1-8b-q8",
            "quantization": "Q8_0",
            "bits_per_weight": 8.5,
            "same_weights_as": "llama3.1-8b",
        }
    )
    # A cloud entry of another Llama whose local quantization was never measured.
    models["llama3.3-70b-cloud"] = ModelEntry(
        id="llama3.3-70b-cloud",
        display_name="Llama 3.3 70B (cloud)",
        family="meta-llama",
        provider="hosted",
        base_url="https://example.invalid/v1",
        api_key_env="X_KEY",
        context_window=131072,
        cost_tier="paid",
        price_input_per_mtok=0.1,
        price_output_per_mtok=0.3,
        quantization="BF16",
        host="cloud, BF16",
    )
    models["llama3.3-70b"] = models["llama3.1-8b"].model_copy(
        update={
            "id": "llama3.3-70b",
            "same_weights_as": "llama3.3-70b-cloud",
            "params_total_b": 70.6,
            "params_active_b": 70.6,
        }
    )
    return models


def test_gap_and_upper_bound_by_hand() -> None:
    reg = load_registry(REPO / "registry")
    # 16 shared cases: Q8 passes all, Q4 fails 8 of them (b = 8 discordant, c = 0): exact McNemar
    # p = 2 · ½⁸ = 0.0078125; review pain (3 per failed case) the same by the exact sign-flip test.
    # Holm over the two metrics: 2 × 0.0078125 = 0.015625 < 0.05. Gap Q8 − Q4 = +8/16.
    q = _q({"llama3.1-8b": [1] * 8 + [0] * 8, "llama3.1-8b-q8": [1] * 16, "llama3.3-70b-cloud": [1] * 16})
    rep = proxy_report(q, _models(reg), reg.policy.statistics)
    pair = next(p for p in rep.pairs if p.proxy == "llama3.1-8b-q8")
    assert pair.comparison.n == 16 and pair.comparison.diff == pytest.approx(0.5)
    assert pair.comparison.p_value == pytest.approx(0.0078125)
    assert pair.pain.diff == pytest.approx(-1.5) and pair.pain.p_value == pytest.approx(0.0078125)
    assert pair.p_adjusted == {"acceptance": pytest.approx(0.015625), "review pain": pytest.approx(0.015625)}
    assert pair.significant and pair.verdict == "significant gap"
    (bound,) = rep.upper_bounds
    assert (bound.hosted, bound.local, bound.family) == ("llama3.3-70b-cloud", "llama3.3-70b", "meta-llama")
    assert bound.because == "llama3.1-8b-q8 vs llama3.1-8b: acceptance +50.0%, review pain -1.50 (Holm p = 0.0156)"


def test_no_gap_no_upper_bound() -> None:
    reg = load_registry(REPO / "registry")
    # 1 discordant case of 12: p = 1, no gap beyond noise; so the cloud score is not marked.
    q = _q({"llama3.1-8b": [1] * 11 + [0], "llama3.1-8b-q8": [1] * 12, "llama3.3-70b-cloud": [1] * 12})
    rep = proxy_report(q, _models(reg), reg.policy.statistics)
    pair = next(p for p in rep.pairs if p.proxy == "llama3.1-8b-q8")
    assert pair.comparison.p_value == pytest.approx(1.0) and pair.verdict == "no gap beyond noise"
    assert rep.upper_bounds == []
    unmeasured = next(p for p in rep.pairs if p.proxy == "llama3.3-70b")
    assert unmeasured.comparison.n == 0 and unmeasured.verdict == "no shared cases" and unmeasured.significant is None


def test_real_null_check_embedded_vs_server() -> None:
    """The committed runs: the same Gemma 3 270M file in-process and behind llama_cpp.server."""
    r = CliRunner().invoke(
        cli,
        ["proxy", "--registry", str(REPO / "registry"), "--runs", str(REPO / "runs"), "--json"],
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    (pair,) = out["pairs"]
    assert (pair["reference"], pair["proxy"]) == ("gemma3-270m", "gemma3-270m-server")
    c = pair["comparison"]
    assert c["n"] == 24  # smoke (6) + claims_ops (18): the suites both ran
    assert c["ci_low"] <= 0 <= c["ci_high"]
    # Both fail every case on acceptance, so review pain carries the null check: within noise too.
    pain = pair["pain"]
    assert pain["n"] == 24 and pain["ci_low"] <= 0 <= pain["ci_high"]
    assert pair["significant"] is False
    assert [s["model"] for s in out["seed_claims"]] == ["Qwen3-14B", "GLM-4.7-Flash"]
