"""Bad or truncated input: file:line (or JSON path) problems, exit 2, and no run folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli

FIX = Path(__file__).parent / "fixtures" / "ingest"


def _cut(path: Path, keep: float = 0.5) -> str:
    text = path.read_text(encoding="utf-8")
    return text[: int(len(text) * keep)]


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


PROMPTFOO = FIX / "promptfoo" / "results.json"
VLLM = next((FIX / "vllm").glob("*.json"))
GUIDELLM = FIX / "guidellm" / "benchmarks.json"
INSPECT = FIX / "inspect" / "log_read_sample.json"
LMEVAL = FIX / "lm-eval" / "results_2025-01-21T00-40-03.356274.json"
SAMPLES = FIX / "lm-eval" / "samples_mmlu_abstract_algebra_2025-01-21T00-40-03.356274.jsonl"
LLAMA_JSONL = FIX / "llama-bench" / "llama-bench.jsonl"
CSV = FIX / "generic" / "results.csv"


def _promptfoo(mutate) -> str:  # type: ignore[no-untyped-def]
    data = _json(PROMPTFOO)
    mutate(data["results"]["results"][0])
    return json.dumps(data, indent=2)


def _vllm(**changes: object) -> str:
    data = _json(VLLM)
    for k, v in changes.items():
        if v is None:
            data.pop(k)
        else:
            data[k] = v
    return json.dumps(data)


def _samples_truncated() -> str:
    lines = SAMPLES.read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(lines[:4]) + lines[4][:100]


def _llama_lines(mutate_index: int, key: str, value: object) -> str:
    lines = [json.loads(x) for x in LLAMA_JSONL.read_text().splitlines()]
    if value is None:
        lines[mutate_index].pop(key)
    else:
        lines[mutate_index][key] = value
    return "".join(json.dumps(x) + "\n" for x in lines)


def _csv_row(index: int, column: int, value: str) -> str:
    lines = CSV.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[index].rstrip("\n").split(",")
    cells[column] = value
    lines[index] = ",".join(cells) + "\n"
    return "".join(lines)


AIDER_OK = "- dirname: run-a\n  test_cases: 10\n  model: m\n  pass_rate_2: 50.0\n  date: 2025-01-02\n"

# (format, file name, content, expected text in stderr: "<file>:<line>: <message>" or the message)
CASES = [
    # Aider YAML: lines
    ("aider", "a.yml", AIDER_OK + "- dirname: run-b\n  model: 'unclosed\n", "a.yml:7: invalid YAML"),
    (
        "aider",
        "a.yml",
        AIDER_OK.replace("test_cases: 10", "test_cases: many"),
        "a.yml:2: [0].test_cases: expected a number",
    ),
    ("aider", "a.yml", AIDER_OK.replace("  model: m\n", ""), "a.yml:1: [0]: missing required field 'model'"),
    ("aider", "a.yml", AIDER_OK.replace("pass_rate_2", "pass_rat"), "a.yml:1: [0]: no pass_rate_N field"),
    ("aider", "a.yml", "dirname: x\n", "a.yml:1: top level must be a list of runs"),
    ("aider", "a.yml", "", "a.yml:1: file is empty"),
    # lm-eval results JSON: JSON paths, parser lines
    ("lm-eval", "results_x.json", _cut(LMEVAL), "invalid JSON"),
    (
        "lm-eval",
        "results_x.json",
        json.dumps({**_json(LMEVAL), "results": []}),
        "$.results: expected object, got array",
    ),
    ("lm-eval", "results_x.json", json.dumps({"config": {}}), "$: missing required field 'results'"),
    (
        "lm-eval",
        "results_x.json",
        json.dumps({**_json(LMEVAL), "n-samples": []}),
        "$.n-samples: expected object, got array",
    ),
    ("lm-eval", "results_x.json", "  \n", "results_x.json:1: file is empty"),
    # lm-eval samples JSONL: lines
    ("lm-eval", SAMPLES.name, _samples_truncated(), f"{SAMPLES.name}:5: invalid JSON line"),
    (
        "lm-eval",
        SAMPLES.name,
        '{"doc": {}, "acc": 1.0}\n',
        f"{SAMPLES.name}:1: missing required field 'doc_id'",
    ),
    (
        "lm-eval",
        SAMPLES.name,
        '{"doc_id": 1.5, "acc": 1.0}\n',
        f"{SAMPLES.name}:1: doc_id: expected integer or string, got number",
    ),
    (
        "lm-eval",
        SAMPLES.name,
        '{"doc_id": true, "acc": 1.0}\n',
        f"{SAMPLES.name}:1: doc_id: expected integer or string, got boolean",
    ),
    (
        "lm-eval",
        SAMPLES.name,
        '{"doc_id": 3, "metrics": "acc", "acc": 1.0}\n',
        f"{SAMPLES.name}:1: metrics: expected array, got string",
    ),
    # promptfoo JSON
    ("promptfoo", "p.json", _cut(PROMPTFOO, 0.9), "p.json:"),
    (
        "promptfoo",
        "p.json",
        _promptfoo(lambda r: r.pop("success")),
        "$.results.results[0]: missing required field 'success'",
    ),
    (
        "promptfoo",
        "p.json",
        _promptfoo(lambda r: r.update(testIdx="0")),
        "$.results.results[0].testIdx: expected integer, got string",
    ),
    (
        "promptfoo",
        "p.json",
        _promptfoo(lambda r: r.update(success=1, latencyMs="12")),
        "$.results.results[0].success: expected boolean, got integer",
    ),
    (
        "promptfoo",
        "p.json",
        json.dumps({"results": {"results": {}}}),
        "$.results.results: expected array, got object",
    ),
    ("promptfoo", "p.json", "", "p.json:1: file is empty"),
    ("promptfoo", "p.json", json.dumps({"version": 3}), "$: missing required field 'results'"),
    ("promptfoo", "p.json", json.dumps({"results": "x"}), "$.results: expected object, got string"),
    (
        "promptfoo",
        "p.json",
        _promptfoo(lambda r: r.update(provider=7)),
        "$.results.results[0].provider: expected string or object, got integer",
    ),
    (
        "promptfoo",
        "p.json",
        _promptfoo(lambda r: r.update(provider=None)),
        "$.results.results[0]: missing required field 'provider'",
    ),
    (
        "promptfoo",
        "p.json",
        _promptfoo(lambda r: r.update(provider={"config": {}})),
        "$.results.results[0].provider: has neither 'id' nor 'label'",
    ),
    ("promptfoo", "p.json", _promptfoo(lambda r: r.update(provider="")), "$.results.results[0].provider: is empty"),
    # inspect JSON log
    ("inspect", "i.json", _cut(INSPECT), "invalid JSON"),
    (
        "inspect",
        "i.json",
        json.dumps({**_json(INSPECT), "eval": {"task": "t"}}),
        "$.eval: missing required field 'model'",
    ),
    (
        "inspect",
        "i.json",
        json.dumps({**_json(INSPECT), "samples": {}}),
        "$.samples: expected array, got object",
    ),
    (
        "inspect",
        "i.json",
        json.dumps({**_json(INSPECT), "samples": [{**_json(INSPECT)["samples"][0], "epoch": "1"}]}),
        "$.samples[0].epoch: expected integer, got string",
    ),
    (
        "inspect",
        "i.json",
        json.dumps({**_json(INSPECT), "eval": {**_json(INSPECT)["eval"], "model": None, "task": 7}}),
        "$.eval.task: expected string, got integer",
    ),
    (
        "inspect",
        "i.json",
        json.dumps({**_json(INSPECT), "eval": {**_json(INSPECT)["eval"], "model": None}}),
        "$.eval: missing required field 'model'",
    ),
    ("inspect", "i.eval", "PK\x03\x04binary", "i.eval: not a readable .eval archive: no end-of-archive record"),
    # llama-bench JSON / JSONL
    ("llama-bench", "b.jsonl", LLAMA_JSONL.read_text()[:-40], "b.jsonl:3: invalid JSON line"),
    ("llama-bench", "b.jsonl", _llama_lines(1, "avg_ts", None), "b.jsonl:2: missing required field 'avg_ts'"),
    ("llama-bench", "b.jsonl", _llama_lines(1, "n_gen", "128"), "b.jsonl:2: n_gen: expected integer, got string"),
    (
        "llama-bench",
        "b.json",
        json.dumps([json.loads(LLAMA_JSONL.read_text().splitlines()[0]) | {"n_gen": "128"}]),
        "$[0].n_gen: expected integer, got string",
    ),
    ("llama-bench", "b.json", "[\n", "b.json:1: invalid JSON"),
    # vLLM JSON
    ("vllm", "v.json", _vllm(model_id=None), "$: missing required field 'model_id'"),
    ("vllm", "v.json", _vllm(completed="200"), "$.completed: expected integer, got string"),
    ("vllm", "v.json", _vllm(completed=True), "$.completed: expected integer, got boolean"),
    ("vllm", "v.json", _vllm(max_concurrency=1.5), "$.max_concurrency: expected integer, got number"),
    ("vllm", "v.json", _cut(VLLM), "v.json:1: invalid JSON"),
    ("vllm", "v.json", "\n", "v.json:1: file is empty"),
    # GuideLLM JSON
    ("guidellm", "g.json", json.dumps({"benchmarks": {}}), "$.benchmarks: expected array, got object"),
    (
        "guidellm",
        "g.json",
        json.dumps({"benchmarks": [{"config": {}}]}),
        "$.benchmarks[0]: missing required field 'metrics'",
    ),
    ("guidellm", "g.json", _cut(GUIDELLM), "invalid JSON"),
    # generic CSV / JSONL
    ("csv", "r.csv", _csv_row(2, 2, "maybe"), "r.csv:3: accepted: expected true or false, got 'maybe'"),
    (
        "csv",
        "r.csv",
        CSV.read_text().replace("case_id,", "case,", 1),
        "r.csv:1: header lacks required column(s): case_id",
    ),
    (
        "csv",
        "r.csv",
        CSV.read_text() + "gpt-4o-mini,claim-009,true\n",
        "r.csv:6: fewer cells than header columns",
    ),
    (
        "csv",
        "r.csv",
        CSV.read_text() + CSV.read_text().splitlines(keepends=True)[1],
        "r.csv:6: duplicate row",
    ),
    ("csv", "r.csv", _csv_row(1, 6, "fast"), "r.csv:2: ttft_s: expected a number, got 'fast'"),
    (
        "jsonl",
        "r.jsonl",
        '{"model": "m", "case_id": "c", "accepted": "yes"}\n',
        "r.jsonl:1: accepted: expected true or false",
    ),
    (
        "jsonl",
        "r.jsonl",
        '{"model": "m", "accepted": true}\n',
        "r.jsonl:1: missing required column 'case_id'",
    ),
    (
        "jsonl",
        "r.jsonl",
        '{"model": "m", "case_id": "c", "accepted": true}\n{"model": "m", "ca',
        "r.jsonl:2: invalid JSON line",
    ),
]


@pytest.mark.parametrize(
    ("fmt", "name", "content", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_bad_input_is_located_and_writes_nothing(
    registry_copy: Path, tmp_path: Path, fmt: str, name: str, content: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8"))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["ingest", fmt, str(path), "--registry", str(registry_copy), "--out", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 2, result.output
    assert expected in result.stderr, result.stderr
    assert "nothing was written" in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_unknown_model_override_is_refused(registry_copy: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["ingest", "vllm", str(VLLM), "--model", "no-such-model", "--registry", str(registry_copy)],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert "--model 'no-such-model' is not a model id" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_unsafe_suite_is_a_usage_error(registry_copy: Path) -> None:
    result = CliRunner().invoke(cli, ["ingest", "vllm", str(VLLM), "--suite", "../x", "--registry", str(registry_copy)])
    assert result.exit_code == 2
    assert "Invalid value for '--suite'" in result.output
