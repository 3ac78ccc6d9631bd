"""`opsbench ingest`: each format's fixture lands as a run folder with the real numbers mapped."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.runs.reader import load_perf, load_run, load_summaries
from generator.runs.scan import list_run_folders

FIX = Path(__file__).parent / "fixtures" / "ingest"
OUT = Path("out")


def ingest(registry: Path, *args: str) -> Result:
    return CliRunner().invoke(
        cli, ["ingest", *args, "--registry", str(registry), "--out", str(OUT)], catch_exceptions=False
    )


def only_run() -> Path:
    folders = list_run_folders(OUT)
    assert len(folders) == 1, folders
    return folders[0]


def add_aliases(registry: Path, aliases: dict[str, str]) -> None:
    path = registry / "models.yaml"
    lines = "".join(f"  {json.dumps(k)}: {v}\n" for k, v in aliases.items())
    path.write_text(path.read_text(encoding="utf-8").replace("\naliases:\n", "\naliases:\n" + lines))


# --------------------------------------------------------------------------- aggregates


def test_aider_leaderboard_maps_rates_to_successes_of_trials(registry_copy: Path) -> None:
    src = FIX / "aider" / "polyglot_leaderboard.yml"
    result = ingest(registry_copy, "aider", str(src))
    assert result.exit_code == 0, result.output
    run = only_run()
    manifest, rows = load_run(run)
    assert rows == []
    assert manifest.origin == "ingested" and manifest.status == "complete"
    assert manifest.source["format"] == "aider"
    assert manifest.source["file_name"] == "polyglot_leaderboard.yml"
    assert manifest.source["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert run.name == f"20251003-000000-ingest-aider-{manifest.source['sha256'][:6]}"
    summaries = {(s.extra["dirname"], s.metric): s for s in load_summaries(run)}
    assert len(summaries) == 69 * 3  # pass_rate_1, pass_rate_2, percent_cases_well_formed per run
    first = summaries[("2025-02-25-20-23-07--gemini-pro", "pass_rate_2")]
    assert (first.value, first.trials) == (35.6, 225)
    assert first.successes == pytest.approx(35.6 * 225 / 100)  # 80.1 of 225
    assert (first.seconds_per_case, first.total_cost, first.cost_currency) == (34.8, 0.0, "USD")
    assert first.external and first.source_model == first.model_id == "Gemini 2.0 Pro exp-02-05"
    assert first.extra["pass_num_2"] == 80 and first.extra["edit_format"] == "whole"
    sonnet = summaries[("2025-01-17-19-44-33--sonnet-baseline-jan-17", "percent_cases_well_formed")]
    assert sonnet.value == 99.6 and sonnet.successes == pytest.approx(224.1)
    assert any("pass_num_N disagrees" in n for n in manifest.notes)
    # The source records no sampling settings: unknown stays null, never an invented 0.
    s = manifest.settings
    assert (s.temperature, s.seed, s.request_timeout_s, s.max_retries) == (None, None, None, None)
    raw = json.loads((run / "manifest.json").read_text())["settings"]
    assert raw["temperature"] is None and raw["seed"] is None


def test_aider_quant_file(registry_copy: Path) -> None:
    assert ingest(registry_copy, "aider", str(FIX / "aider" / "quant.yml")).exit_code == 0
    summaries = load_summaries(only_run())
    fp16 = [s for s in summaries if s.source_model == "Ollama: fp16" and s.metric == "pass_rate_2"]
    assert [(s.value, s.trials) for s in fp16] == [(71.4, 132)]
    assert fp16[0].successes == pytest.approx(71.4 * 132 / 100)


def test_lm_eval_results_acc_and_stderr(registry_copy: Path) -> None:
    result = ingest(registry_copy, "lm-eval", str(FIX / "lm-eval" / "results_2025-01-21T00-40-03.356274.json"))
    assert result.exit_code == 0, result.output
    run = only_run()
    manifest, rows = load_run(run)
    assert rows == [] and run.name.startswith("20250121-003859-ingest-lm-eval-")  # `date` 1737419939.49 UTC
    [acc] = load_summaries(run)
    assert (acc.task, acc.metric, acc.value) == ("mmlu_abstract_algebra", "acc", 0.34)
    assert acc.stderr == 0.047609522856952344
    assert (acc.successes, acc.trials) == (34, 100)
    assert acc.source_model == "/home/cs29824/matthew/lm-evaluation-harness/examples/dog_steer.csv"
    assert acc.external
    assert manifest.environment["device"] == "cuda:0"


def test_lm_eval_samples_take_the_model_from_the_results_file_beside_them(registry_copy: Path) -> None:
    src = FIX / "lm-eval" / "samples_mmlu_abstract_algebra_2025-01-21T00-40-03.356274.jsonl"
    assert ingest(registry_copy, "lm-eval", str(src)).exit_code == 0
    manifest, rows = load_run(only_run())
    assert [r["case_id"] for r in rows] == [f"mmlu_abstract_algebra/{i}" for i in range(5)]
    assert [r["score"]["accepted"] for r in rows] == [True, True, False, True, True]
    assert rows[2]["score"]["checks"] == [
        {
            "id": "acc",
            "kind": "lm-eval:acc",
            "category": "accuracy",
            "severity": "unrated",
            "passed": False,
            "detail": "acc=0.0",
        }
    ]
    assert {r["model_id"] for r in rows} == {"/home/cs29824/matthew/lm-evaluation-harness/examples/dog_steer.csv"}
    assert rows[0]["timing"]["e2e_s"] is None and rows[0]["usage"]["prompt_tokens"] is None
    assert rows[0]["role"] == "ingested" and rows[0]["severity"] == "unrated"
    assert manifest.expected_results == 5


def test_lm_eval_samples_alone_need_model(registry_copy: Path, tmp_path: Path) -> None:
    src = tmp_path / "samples_mmlu_abstract_algebra_2025-01-21T00-40-03.356274.jsonl"
    shutil.copy(FIX / "lm-eval" / src.name, src)
    result = ingest(registry_copy, "lm-eval", str(src))
    assert result.exit_code == 2
    assert "pass --model ID" in result.stderr
    result = ingest(registry_copy, "lm-eval", str(src), "--model", "llama3.1-8b")
    assert result.exit_code == 0, result.output
    _, rows = load_run(only_run())
    assert {(r["model_id"]) for r in rows} == {"llama3.1-8b"}


def test_inspect_log_samples_and_scores(registry_copy: Path) -> None:
    result = ingest(registry_copy, "inspect", str(FIX / "inspect" / "log_read_sample.json"))
    assert result.exit_code == 0, result.output
    run = only_run()
    manifest, [row] = load_run(run)
    assert run.name.startswith("20250705-135940-ingest-inspect-")  # 09:59:40-04:00
    assert manifest.source["tool_version"] == "0.3.95.dev16+g6527d0861"
    assert (row["model_id"], row["case_id"], row["repeat"]) == ("ollama/gemma3", "popularity/1", 1)
    assert row["score"]["accepted"] is True
    assert row["score"]["checks"][0]["id"] == "match" and row["score"]["checks"][0]["passed"]
    assert row["timing"]["e2e_s"] == 1.9324548337608576  # output.time of the single generation
    assert (row["usage"]["prompt_tokens"], row["usage"]["completion_tokens"]) == (66, 3)
    assert row["output"] == "Yes\n"
    [acc] = load_summaries(run)
    assert (acc.metric, acc.value, acc.stderr, acc.trials, acc.successes) == (
        "match/accuracy",
        1.0,
        0.0,
        1,
        1,
    )


def test_inspect_log_without_sample_scores_keeps_the_aggregates(registry_copy: Path) -> None:
    assert ingest(registry_copy, "inspect", str(FIX / "inspect" / "log_tool_call_error.json")).exit_code == 0
    run = only_run()
    manifest, rows = load_run(run)
    assert rows == []
    assert [(s.metric, s.value) for s in load_summaries(run)] == [("includes/accuracy", 1.0)]
    assert any("without scores" in u for u in manifest.source["unmapped"])


def test_inspect_model_graded_log(registry_copy: Path) -> None:
    name = "2024-11-05T13-31-45-05-00_input-task_8zXjbRzCWrL9GXiXo2vus9.json"
    assert ingest(registry_copy, "inspect", str(FIX / "inspect" / name)).exit_code == 0
    run = only_run()
    assert run.name.startswith("20241105-183145-")  # 13:31:45-05:00 in UTC
    _, [row] = load_run(run)
    assert row["score"]["checks"][0]["kind"] == "inspect:model_graded_fact"
    assert (row["usage"]["prompt_tokens"], row["usage"]["completion_tokens"]) == (53, 46)  # not the grader's
    assert row["timing"]["e2e_s"] is None  # this log version records no output.time


# --------------------------------------------------------------------------- per-sample


def test_promptfoo_rows_checks_timing_and_failures(registry_copy: Path) -> None:
    result = ingest(registry_copy, "promptfoo", str(FIX / "promptfoo" / "results.json"))
    assert result.exit_code == 0, result.output
    manifest, rows = load_run(only_run())
    assert manifest.source["tool_version"] == "0.107.5"
    by = {(r["model_id"], r["case_id"]): r for r in rows}
    ok = by[("ollama:chat:llama3.1:8b", "test-0")]
    assert ok["status"] == "ok" and ok["score"]["accepted"]
    assert ok["timing"]["e2e_s"] == 2.314
    assert (ok["usage"]["prompt_tokens"], ok["usage"]["completion_tokens"]) == (71, 24)
    assert [(c["kind"], c["category"], c["passed"]) for c in ok["score"]["checks"]] == [
        ("promptfoo:contains", "accuracy", True),
        ("json_valid", "format", True),
    ]
    graded = by[("ollama:chat:llama3.1:8b", "test-1")]
    assert graded["status"] == "ok" and not graded["score"]["accepted"]  # an assertion failed: not an error
    assert graded["score"]["checks"][1]["detail"] == "Expected output to be valid JSON"
    hard = by[("openai:gpt-4o-mini", "test-1")]
    assert (hard["status"], hard["failure_kind"]) == ("failed", "runtime_error")
    assert hard["error"].startswith("API error: 429")
    assert any("cost" in u for u in manifest.source["unmapped"])


def test_generic_csv_and_jsonl_give_the_same_rows(registry_copy: Path) -> None:
    for fmt, name in (("csv", "results.csv"), ("jsonl", "results.jsonl")):
        result = ingest(registry_copy, fmt, str(FIX / "generic" / name))
        assert result.exit_code == 0, result.output
    runs = list_run_folders(OUT)
    assert len(runs) == 2
    loaded = [load_run(r) for r in runs]
    strip = [[{k: v for k, v in row.items() if k not in ("run_id", "suite")} for row in rows] for _, rows in loaded]
    assert strip[0] == strip[1]
    manifest, rows = loaded[0]
    by = {(r["model_id"], r["case_id"]): r for r in rows}
    first = by[("llama3.1-8b", "claim-001")]  # the shipped alias "ollama/llama3.1:8b"
    assert (first["timing"]["ttft_s"], first["timing"]["e2e_s"]) == (0.41, 3.92)
    assert first["started_at"] == "2025-04-02T09:00:01Z"
    bad_json = by[("llama3.1-8b", "claim-002")]
    assert [(c["kind"], c["passed"]) for c in bad_json["score"]["checks"]] == [
        ("json_valid", False),
        ("generic:mentions_claim_id", True),
    ]
    assert by[("llama3.1-8b", "claim-003")]["failure_kind"] == "runtime_error"
    assert by[("gpt-4o-mini", "claim-001")]["score"]["accepted"]
    assert manifest.source["external_models"] == ["gpt-4o-mini"]
    assert manifest.source["unmapped"] == ["columns with no field in the run format: reviewer"]
    assert runs[0].name.startswith("20250402-090001-ingest-")


# --------------------------------------------------------------------------- serving benchmarks


def test_llama_bench_json_pp_and_tg(registry_copy: Path) -> None:
    src = FIX / "llama-bench" / "llama-bench.json"
    assert ingest(registry_copy, "llama-bench", str(src)).exit_code == 0
    run = only_run()
    manifest, _ = load_run(run)
    tests = json.loads(src.read_text())
    pp, tg = load_perf(run)
    assert (pp.strategy, pp.prompt_tps, pp.generation_tps) == ("pp", tests[0]["avg_ts"], None)
    assert (tg.strategy, tg.generation_tps, tg.prompt_tps) == ("tg", tests[1]["avg_ts"], None)
    assert pp.extra["stddev_ts"] == tests[0]["stddev_ts"]
    assert "NVIDIA GeForce RTX 4090" in pp.hardware and "16 threads" in pp.hardware
    assert pp.ttft_ms == {} and pp.concurrency is None
    [model] = manifest.models
    assert (model.file_name, model.file_size_bytes, model.runtime) == (
        "Llama-3.1-8B-Instruct-Q4_K_M.gguf",
        4920734720,
        "llama.cpp",
    )
    assert run.name.startswith("20250520-081402-ingest-llama-bench-")


def test_llama_bench_jsonl_and_file_name_alias(registry_copy: Path) -> None:
    add_aliases(registry_copy, {"Llama-3.1-8B-Instruct-Q4_K_M.gguf": "llama3.1-8b"})
    assert ingest(registry_copy, "llama-bench", str(FIX / "llama-bench" / "llama-bench.jsonl")).exit_code == 0
    perf = load_perf(only_run())
    assert [p.strategy for p in perf] == ["pp", "tg", "pg"]
    assert {p.model_id for p in perf} == {"llama3.1-8b"} and not any(p.external for p in perf)
    pg = perf[2]
    assert pg.prompt_tps is None and pg.generation_tps is None  # a combined test is neither figure
    assert pg.extra["avg_ts_prompt_and_generation"] > 0


def test_vllm_result_maps_latency_statistics(registry_copy: Path) -> None:
    src = FIX / "vllm" / "vllm-infqps-concurrency16-Llama-3.1-8B-Instruct-20250312-141503.json"
    assert ingest(registry_copy, "vllm", str(src)).exit_code == 0
    run = only_run()
    [p] = load_perf(run)
    assert run.name.startswith("20250312-141503-ingest-vllm-")
    assert (p.strategy, p.concurrency, p.request_rate, p.completed, p.duration_s) == (
        "concurrent",
        16,
        None,
        200,
        41.83,
    )
    assert p.extra["request_rate"] == "inf"
    assert p.request_throughput == pytest.approx(200 / 41.83)
    assert p.ttft_ms == {"mean": 88.41, "median": 71.2, "std": 40.33, "p95": 167.9, "p99": 231.7}
    assert p.tpot_ms["p99"] == 21.03 and p.itl_ms["mean"] == 15.55 and p.e2el_ms["median"] == 3120.4
    assert p.external and p.source_model == "meta-llama/Llama-3.1-8B-Instruct"


def test_guidellm_maps_by_definition(registry_copy: Path) -> None:
    src = FIX / "guidellm" / "benchmarks.json"
    assert ingest(registry_copy, "guidellm", str(src)).exit_code == 0
    run = only_run()
    manifest, _ = load_run(run)
    report = json.loads(src.read_text())
    one, eight = load_perf(run)
    m = report["benchmarks"][1]["metrics"]
    duration = report["benchmarks"][1]["duration"]
    assert (eight.strategy, eight.concurrency, eight.completed, eight.failed) == ("concurrent", 8, 96, 2)
    assert eight.duration_s == duration
    assert eight.request_throughput == pytest.approx(96 / duration)
    assert eight.output_throughput == pytest.approx(m["output_token_count"]["successful"]["total_sum"] / duration)
    assert eight.ttft_ms["p99"] == m["time_to_first_token_ms"]["successful"]["percentiles"]["p99"]
    # GuideLLM's inter_token_latency_ms is (last - first) / (tokens - 1): vLLM's TPOT
    assert eight.tpot_ms["mean"] == m["inter_token_latency_ms"]["successful"]["mean"]
    assert eight.itl_ms == {}
    assert eight.e2el_ms["median"] == pytest.approx(m["request_latency"]["successful"]["median"] * 1000)
    assert "guidellm_time_per_output_token_ms" in eight.extra
    assert one.concurrency == 1
    assert manifest.source["tool_version"] == "0.4.0"
    assert run.name.startswith("20250520-100000-ingest-guidellm-")


def test_guidellm_old_layout(registry_copy: Path) -> None:
    assert ingest(registry_copy, "guidellm", str(FIX / "guidellm" / "benchmarks-v0.2.json")).exit_code == 0
    sync, constant = load_perf(only_run())
    assert (sync.strategy, sync.concurrency, sync.completed) == ("synchronous", 1, 20)
    assert (constant.strategy, constant.request_rate, constant.concurrency) == ("constant", 2.5, None)
    assert sync.source_model == "Qwen/Qwen2.5-7B-Instruct"


def test_foreign_error_text_is_cut_to_the_policy_length(registry_copy: Path) -> None:
    """Another tool's recorded error has no length limit: it is kept on one line, cut to the
    policy's execution.error_text_chars (here lowered to 60), as a run's own errors are."""
    policy = registry_copy / "policy.yaml"
    text = policy.read_text(encoding="utf-8")
    assert "  error_text_chars: 300\n" in text
    policy.write_text(text.replace("  error_text_chars: 300\n", "  error_text_chars: 60\n"), encoding="utf-8")
    error = "Traceback (most recent call last):\n" + "  frame\n" * 500 + "RuntimeError: out of memory"
    row = {"model": "ollama/llama3.1:8b", "case_id": "c1", "accepted": False, "status": "failed", "error": error}
    src = Path("long-error.jsonl")
    src.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert ingest(registry_copy, "jsonl", str(src)).exit_code == 0
    _, [stored] = load_run(only_run())
    assert stored["error"].startswith("Traceback (most recent call last): frame frame ")
    assert stored["error"].endswith("…") and len(stored["error"]) == 60 and "\n" not in stored["error"]
