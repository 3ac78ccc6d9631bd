"""Foreign files as users have them: other releases and capture habits of the same tools."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import cli
from generator.runs.reader import load_perf, load_run, load_summaries
from generator.runs.scan import list_run_folders

FIX = Path(__file__).parent / "fixtures" / "ingest"
OUT = Path("out")


def ingest(registry: Path, fmt: str, path: Path) -> Result:
    result = CliRunner().invoke(
        cli, ["ingest", fmt, str(path), "--registry", str(registry), "--out", str(OUT)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result


def only_run() -> Path:
    [folder] = list_run_folders(OUT)
    return folder


# --------------------------------------------------------------------------- inspect .eval


def test_inspect_eval_archive_reads_as_the_json_log_does(registry_copy: Path) -> None:
    ingest(registry_copy, "inspect", FIX / "inspect" / "log_read_sample.eval")
    manifest, [row] = load_run(only_run())
    assert (row["model_id"], row["case_id"], row["repeat"], row["output"]) == (
        "ollama/gemma3",
        "popularity/1",
        1,
        "Yes\n",
    )
    assert row["timing"]["e2e_s"] == 1.9324548337608576
    assert (row["usage"]["prompt_tokens"], row["usage"]["completion_tokens"]) == (66, 3)
    [acc] = load_summaries(only_run())
    assert (acc.metric, acc.value, acc.trials, acc.successes) == ("match/accuracy", 1.0, 1, 1)
    assert manifest.source["tool_version"] == "0.3.95.dev16+g6527d0861"
    assert manifest.source["unmapped"][0] == (
        "reductions.json: per-sample scores reduced across epochs (match); each epoch is kept as a repeat "
        "and the bench reduces per case itself"
    )


def test_inspect_eval_and_json_give_the_same_rows(registry_copy: Path, tmp_path: Path) -> None:
    ingest(registry_copy, "inspect", FIX / "inspect" / "log_read_sample.eval")
    _, [from_zip] = load_run(only_run())
    for folder in list_run_folders(OUT):
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    ingest(registry_copy, "inspect", FIX / "inspect" / "log_read_sample.json")
    _, [from_json] = load_run(only_run())
    drop = {"run_id"}
    assert {k: v for k, v in from_zip.items() if k not in drop} == {k: v for k, v in from_json.items() if k not in drop}


def test_inspect_eval_sample_known_only_from_summaries(registry_copy: Path, tmp_path: Path) -> None:
    """A log whose sample file is missing (cut short): the summary's score values still count."""
    src = tmp_path / "cut.eval"
    with zipfile.ZipFile(FIX / "inspect" / "log_read_sample.eval") as full, zipfile.ZipFile(src, "w") as cut:
        for info in full.infolist():
            if not info.filename.startswith("samples/"):
                cut.writestr(info, full.read(info.filename))
    ingest(registry_copy, "inspect", src)
    manifest, [row] = load_run(only_run())
    assert (row["case_id"], row["score"]["accepted"], row["output"]) == ("popularity/1", True, None)
    assert (row["usage"]["prompt_tokens"], row["usage"]["completion_tokens"]) == (None, None)
    assert any("1 sample(s) known only from summaries.json" in u for u in manifest.source["unmapped"])


def test_inspect_eval_unfinished_has_only_the_journal_start(registry_copy: Path, tmp_path: Path) -> None:
    src = tmp_path / "running.eval"
    with zipfile.ZipFile(FIX / "inspect" / "log_read_sample.eval") as full, zipfile.ZipFile(src, "w") as cut:
        for name in ("_journal/start.json", "samples/1_epoch_1.json"):
            cut.writestr(name, full.read(name))
    ingest(registry_copy, "inspect", src)
    manifest, [row] = load_run(only_run())
    assert row["score"]["accepted"] is True and load_summaries(only_run()) == []
    assert "the archive has no header.json (the eval never finished): read from _journal/start.json" in manifest.notes
    assert "inspect log status is 'started', not 'success': the eval did not finish cleanly" in manifest.notes


# --------------------------------------------------------------------------- vLLM --append-result


def test_vllm_append_result_lines_are_separate_run_points(registry_copy: Path) -> None:
    src = FIX / "vllm" / "vllm-append-result.json"
    assert not src.read_text(encoding="utf-8").endswith("\n")  # vLLM writes no final newline
    ingest(registry_copy, "vllm", src)
    run = only_run()
    manifest, _ = load_run(run)
    perf = load_perf(run)
    assert run.name.startswith("20250312-140102-ingest-vllm-")  # the earliest line's date
    assert [(p.concurrency, p.extra["source_line"], p.extra["date"]) for p in perf] == [
        (1, 1, "20250312-140102"),
        (4, 2, "20250312-140644"),
        (16, 3, "20250312-141503"),
    ]
    lines = [json.loads(x) for x in src.read_text(encoding="utf-8").splitlines()]
    # Quirky keys kept as vLLM wrote them: the colon in "request_goodput:", --metadata strings.
    assert [p.extra["request_goodput:"] for p in perf] == [x["request_goodput:"] for x in lines]
    assert [p.request_goodput for p in perf] == [None, lines[1]["request_goodput:"], lines[2]["request_goodput:"]]
    assert perf[0].extra["gpu"] == "1xL40S" and perf[0].extra["tensor_parallel_size"] == "1"
    assert perf[2].duration_s == lines[2]["duration"] and perf[2].request_throughput == pytest.approx(
        200 / lines[2]["duration"]
    )
    assert perf[1].ttft_ms["p99"] == lines[1]["p99_ttft_ms"]
    assert manifest.notes[0].startswith("vLLM --append-result file: 3 results, one per line")


def test_vllm_append_result_bad_line_is_located(registry_copy: Path, tmp_path: Path) -> None:
    lines = (FIX / "vllm" / "vllm-append-result.json").read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[1])
    broken["completed"] = "200"
    src = tmp_path / "v.json"
    src.write_text("\n".join([lines[0], json.dumps(broken), lines[2]]), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["ingest", "vllm", str(src), "--registry", str(registry_copy), "--out", str(OUT)], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "v.json:2: $.completed: expected integer, got string" in result.stderr


# --------------------------------------------------------------------------- llama-bench with logs


@pytest.mark.parametrize(("name", "plain", "skipped"), [("json", "json", 20), ("jsonl", "jsonl", 27)])
def test_llama_bench_log_lines_are_skipped_and_counted(
    registry_copy: Path, name: str, plain: str, skipped: int
) -> None:
    ingest(registry_copy, "llama-bench", FIX / "llama-bench" / f"llama-bench-with-logs.{name}")
    manifest, _ = load_run(only_run())
    with_logs = [p.model_dump(exclude={"run_id"}) for p in load_perf(only_run())]
    assert manifest.notes[0] == (
        f"{skipped} log line(s) in the file (backend set-up messages captured with the output) were skipped: "
        "they are not results"
    )
    for folder in list_run_folders(OUT):
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    ingest(registry_copy, "llama-bench", FIX / "llama-bench" / f"llama-bench.{plain}")
    assert [p.model_dump(exclude={"run_id"}) for p in load_perf(only_run())] == with_logs


def test_llama_bench_broken_json_after_logs_keeps_its_line(registry_copy: Path, tmp_path: Path) -> None:
    text = (FIX / "llama-bench" / "llama-bench-with-logs.jsonl").read_text(encoding="utf-8").splitlines()
    last = max(i for i, line in enumerate(text) if line.startswith("{"))
    text[last] = text[last][:60]
    src = tmp_path / "b.jsonl"
    src.write_text("\n".join(text) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["ingest", "llama-bench", str(src), "--registry", str(registry_copy), "--out", str(OUT)],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert f"b.jsonl:{last + 1}: invalid JSON line" in result.stderr


# --------------------------------------------------------------------------- promptfoo releases


def test_promptfoo_results_version_2_reads_the_table(registry_copy: Path) -> None:
    src = FIX / "promptfoo" / "results-v2.json"
    ingest(registry_copy, "promptfoo", src)
    manifest, rows = load_run(only_run())
    table = json.loads(src.read_text(encoding="utf-8"))["results"]["table"]
    got = {(r["model_id"], r["case_id"]): r for r in rows}
    assert len(rows) == 6
    for i, body in enumerate(table["body"]):
        for j, cell in enumerate(body["outputs"]):
            row = got[(table["head"]["prompts"][j]["provider"], f"test-{i}")]
            assert row["score"]["accepted"] is cell["pass"]
            assert row["output"] == cell["text"]
            assert row["timing"]["e2e_s"] == cell["latencyMs"] / 1000
            assert row["usage"]["prompt_tokens"] == cell["tokenUsage"]["prompt"]
            assert row["score"]["checks"][0]["kind"] == "promptfoo:contains"
    assert got[("openai:gpt-3.5-turbo", "test-2")]["score"]["accepted"] is False
    assert manifest.source["unmapped"][0] == (
        "$.results.results: 6 entries without testIdx, in completion order; the table holds the same cells by position"
    )


@pytest.mark.parametrize("name", ["results-v3.json", "results-current.json"])
def test_promptfoo_version_3_and_current_give_the_rows_of_the_reference_file(registry_copy: Path, name: str) -> None:
    ingest(registry_copy, "promptfoo", FIX / "promptfoo" / "results.json")
    _, reference = load_run(only_run())
    for folder in list_run_folders(OUT):
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    ingest(registry_copy, "promptfoo", FIX / "promptfoo" / name)
    manifest, rows = load_run(only_run())
    keep = ("model_id", "case_id", "status", "failure_kind", "error", "output", "timing", "usage", "score")
    assert [{k: r[k] for k in keep} for r in rows] == [{k: r[k] for k in keep} for r in reference]
    if name == "results-current.json":
        assert "$.traces: request spans, not results" in manifest.source["unmapped"]
        assert "$.runtimeOptions: how promptfoo ran, not a measurement" in manifest.source["unmapped"]


# --------------------------------------------------------------------------- GuideLLM 0.7


def test_guidellm_07_objectives_attainment_goodput_and_intervals(registry_copy: Path) -> None:
    src = FIX / "guidellm" / "benchmarks-v0.7.json"
    ingest(registry_copy, "guidellm", src)
    manifest, _ = load_run(only_run())
    report = json.loads(src.read_text(encoding="utf-8"))
    one, eight = load_perf(only_run())
    m = report["benchmarks"][1]["metrics"]
    duration = report["benchmarks"][1]["duration"]
    assert eight.slo_ms == {"ttft_ms": 120.0, "e2el_ms": 4500.0}
    assert (eight.slo_attainment, eight.slo_requests) == (71 / 98, 98)
    assert eight.slo_attainment_by_metric == {"ttft_ms": 80 / 98, "e2el_ms": 75 / 98}
    assert eight.request_goodput == pytest.approx(71 / duration)  # conforming requests / duration
    assert eight.request_goodput < eight.request_throughput
    assert eight.extra["guidellm_request_goodput_mean"] == m["request_goodput"]["successful"]["mean"]
    assert eight.extra["slo_conforming_requests_by_metric"] == {"ttft_ms": 80, "e2el_ms": 75}
    ttft = m["time_to_first_token_ms"]["successful"]
    assert eight.intervals["ttft_ms"]["mean"] == [ttft["mean_ci"]["lower"], ttft["mean_ci"]["upper"]]
    assert eight.intervals["ttft_ms"]["p95"] == [
        ttft["percentile_cis"]["p95"]["lower"],
        ttft["percentile_cis"]["p95"]["upper"],
    ]
    latency = m["request_latency"]["successful"]["mean_ci"]
    assert eight.intervals["e2el_ms"]["mean"] == pytest.approx([latency["lower"] * 1000, latency["upper"] * 1000])
    assert eight.interval_level is None
    assert (one.slo_attainment, one.request_goodput) == (1.0, pytest.approx(24 / report["benchmarks"][0]["duration"]))
    assert manifest.source["tool_version"] == "0.7.4"
    assert (
        "confidence level of the intervals: not recorded with them (interval_level left empty)"
        in (manifest.source["unmapped"])
    )


def test_guidellm_interval_of_another_shape_is_listed_not_guessed(registry_copy: Path, tmp_path: Path) -> None:
    report = json.loads((FIX / "guidellm" / "benchmarks-v0.7.json").read_text(encoding="utf-8"))
    report["benchmarks"][0]["metrics"]["time_to_first_token_ms"]["successful"]["mean_ci"] = {"lo": 1, "hi": 2}
    src = tmp_path / "g.json"
    src.write_text(json.dumps(report), encoding="utf-8")
    ingest(registry_copy, "guidellm", src)
    manifest, _ = load_run(only_run())
    first, _ = load_perf(only_run())
    assert "mean" not in first.intervals["ttft_ms"] and "p95" in first.intervals["ttft_ms"]
    assert (
        "confidence intervals not given as numeric lower / upper: metrics.time_to_first_token_ms.successful.mean_ci"
        in manifest.source["unmapped"]
    )
