"""`opsbench plan`: sets of models that fit together, every term by hand, and the seed's options A/B/C."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.analysis.plans import CEILING, candidates, plan_machine, plan_set
from generator.cli import cli
from generator.registry.loader import load_registry
from tests.conftest import REPO


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def reg():
    return load_registry(REPO / "registry")


def test_every_term_of_a_set(reg) -> None:
    machines = {m.id: m for m in reg.hardware.machines}
    m5 = machines["mac-studio-m5-max-128"]
    s = plan_set(
        m5,
        [reg.models["llama3.1-8b"], reg.models["glm-4.7-flash"]],
        reg.hardware.capacity,
        2,
        8192,
        reg.roles_file.roles,
    )
    llama, glm = s.models
    # 8.03B × 4.85 bits ÷ 8 = 4.868 GB; KV 2 × 32 × 8 × 128 × 2 B = 131,072 B per token × 8192 × 2 users.
    assert llama.weights_gb == pytest.approx(4.8682, abs=1e-4)
    assert llama.kv_gb == pytest.approx(131072 * 8192 * 2 / 1e9)
    assert llama.runtime_overhead_gb == 1.0
    # GLM states no layer shape: no KV term, and the set says so.
    assert glm.weights_gb == pytest.approx(30 * 4.85 / 8) and glm.kv_gb is None
    assert any("glm-4.7-flash: KV cache not stated" in n for n in s.notes)
    assert s.total_gb == pytest.approx(4.8682 + 2.1475 + 1 + 18.1875 + 1 + 20, abs=1e-3)
    assert s.fits and s.headroom_gb == pytest.approx(128 - s.total_gb)
    # Speed: the ceiling ÷ users, labelled. Each token reads the weights and the KV cache at the
    # stated context: 614 GB/s ÷ (4.8682 GB + 131,072 B × 8192) = 103.3 tok/s.
    assert llama.speed_label == CEILING
    assert llama.ceiling_tps == pytest.approx(614 / (4.8682 + 131072 * 8192 / 1e9), rel=1e-4)
    assert llama.speed_per_user_tps == pytest.approx(llama.ceiling_tps / 2)
    assert llama.users_at_target == 10  # floor(103.3 ÷ 10)
    # Roles: llama3.1-8b is a challenger for draft, extract and classify; GLM names none.
    assert s.roles_covered == ["classify", "draft", "extract"]
    assert [c.role for c in s.cold_starts] == ["reason", "review", "coder"]
    assert all(c.load_s is None for c in s.cold_starts)  # unmeasured, never zero


def test_calibrated_speed_replaces_the_ceiling_label(reg) -> None:
    m5 = next(m for m in reg.hardware.machines if m.id == "mac-studio-m5-max-128")
    s = plan_set(
        m5,
        [reg.models["llama3.1-8b"]],
        reg.hardware.capacity,
        3,
        4096,
        reg.roles_file.roles,
        speed=lambda machine, model, users: (20.0, "calibrated (test)"),
        load_s={"llama3.1-8b": 4.5},
    )
    (t,) = s.models
    assert (t.speed_per_user_tps, t.speed_label, t.users_at_target, t.load_s) == (20.0, "calibrated (test)", 6, 4.5)


def test_plan_machine_sets_are_plan_set_of_their_models(reg) -> None:
    # plan_machine computes each candidate's terms once and sums combinations; every set it keeps must be
    # what plan_set builds for those models, and it must keep exactly the maximal fitting ones.
    m5 = next(m for m in reg.hardware.machines if m.id == "mac-studio-m5-max-128")
    d, roles = reg.hardware.capacity, reg.roles_file.roles
    speed = lambda machine, model, users: (7.5, "calibrated (test)") if model.id == "llama3.1-8b" else None  # noqa: E731
    kw = {"quality": {}, "load_s": {"llama3.1-8b": 4.5}, "speed": speed}
    report = plan_machine(m5, reg.models_file.models, d, roles, users=2, context=8192, max_models=3, **kw)
    pool, _ = candidates(reg.models_file.models, 8192)
    fitting = [
        frozenset(m.id for m in c)
        for k in (1, 2, 3)
        for c in combinations(pool, k)
        if plan_set(m5, c, d, 2, 8192, roles, **kw).fits
    ]
    maximal = {s for s in fitting if not any(s < t for t in fitting)}
    assert maximal and {frozenset(s.model_ids) for s in report.sets} == maximal
    by_id = {m.id: m for m in pool}
    for s in report.sets:
        assert s == plan_set(m5, [by_id[i] for i in s.model_ids], d, 2, 8192, roles, **kw)


def test_seed_options_recomputed(reg) -> None:
    r = invoke("plan", "mac-studio-m5-max-128", "--registry", str(REPO / "registry"), "--runs", "none", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    seeds = {s["id"]: s for s in out["seed"]}
    assert set(seeds) == {"option-a", "option-b"}  # option C is on the 256 GB machine
    checks = {c["subject"]: c for c in seeds["option-b"]["checks"]}
    # The seed's "~4 GB" for a 30B model: flagged, with the bits it would take.
    glm = checks["weights memory, glm-4.7-flash"]
    assert glm["verdict"] == "INCONSISTENT" and glm["derived"] == pytest.approx(18.1875)
    assert "1.07 bits per weight" in glm["explanation"]
    total = checks["total loaded, option-b"]
    assert total["verdict"] == "INCONSISTENT" and total["derived"] == pytest.approx(48.5 + 18.1875)
    assert "own per-model figures add up to 50 GB" in total["explanation"]
    assert checks["users, glm-4.7-flash (from the seed's own speed)"]["verdict"] == "consistent"
    assert checks["speed, glm-4.7-flash on mac-studio-m5-max-128"]["verdict"] == "consistent"
    # Option A says "no room for a second model"; the registry says GLM-4.7-Flash still fits beside it.
    assert "glm-4.7-flash" in seeds["option-a"]["could_add"]
    free = {c["subject"]: c for c in seeds["option-a"]["checks"]}["free after OS, option-a"]
    assert free["derived"] == pytest.approx(128 - 20 - 116.8 * 4.25 / 8)
    assert "From the seed's own figures: 128 − 20 − 80 = 28 GB." in free["explanation"]
    # Every listed set fits, and none is a subset of another.
    sets = [frozenset(m["model_id"] for m in s["models"]) for s in out["sets"]]
    assert all(s["fits"] for s in out["sets"])
    assert not any(a < b for a in sets for b in sets)
    assert "gemma3-270m-server" in out["excluded"]


def test_option_c_names_the_missing_and_the_256gb_machine(reg) -> None:
    r = invoke("plan", "mac-studio-m3-ultra-256", "--registry", str(REPO / "registry"), "--runs", "none")
    assert r.exit_code == 0, r.output
    assert "== Option C: The 256 GB Beast (seed) on mac-studio-m3-ultra-256" in r.output
    assert "[INCONSISTENT] weights memory, minimax-m2.5" in r.output
    r = invoke("plan", "no-such-box", "--registry", str(REPO / "registry"), "--runs", "none")
    assert r.exit_code == 2 and "unknown machine 'no-such-box'" in r.output


def test_same_weights_as_must_name_a_model(registry_copy: Path) -> None:
    path = registry_copy / "models.yaml"
    text = path.read_text().replace("same_weights_as: gemma3-270m", "same_weights_as: gemma3-999m")
    path.write_text(text)
    line = next(i for i, x in enumerate(text.splitlines(), start=1) if "gemma3-999m" in x)
    r = invoke("validate", "--registry", str(registry_copy))
    assert r.exit_code == 2
    assert f"registry/models.yaml:{line}: unknown model 'gemma3-999m'" in r.output


def test_plan_machine_keep_builds_the_first_sets_and_counts_all(reg) -> None:
    # The site builds only the sets its deployment page shows; they must be the full report's first ones.
    m5 = next(m for m in reg.hardware.machines if m.id == "mac-studio-m5-max-128")
    d, roles = reg.hardware.capacity, reg.roles_file.roles
    kw = {"users": 2, "context": 8192, "max_models": 3, "load_s": {"llama3.1-8b": 4.5}}
    full = plan_machine(m5, reg.models_file.models, d, roles, **kw)
    kept = plan_machine(m5, reg.models_file.models, d, roles, keep=3, **kw)
    assert full.sets_total > 3 and kept.sets_total == full.sets_total
    assert kept.sets == full.sets[:3]
