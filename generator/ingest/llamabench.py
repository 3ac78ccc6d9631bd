"""llama.cpp ``llama-bench -o json`` / ``-o jsonl`` -> ``perf.jsonl``.

Each test (one object of the JSON array, or one JSONL line) becomes one
:class:`PerfRecord`. A prompt-processing test (``n_prompt > 0``, ``n_gen == 0``)
maps ``avg_ts`` to ``prompt_tps`` (strategy ``pp``); a generation test
(``n_gen > 0``, ``n_prompt == 0``) maps it to ``generation_tps`` (strategy
``tg``). A combined ``-pg`` test measures both at once, so its ``avg_ts`` is
neither figure: it is kept in ``extra`` only (strategy ``pg``). ``stddev_ts``,
``n_depth``, batch sizes, thread count, GPU layers and KV cache types are kept in
``extra``; ``backends`` / ``gpu_info`` / ``cpu_info`` / ``n_threads`` form
``hardware``. llama-bench reports no latencies (TTFT, ITL) and no concurrency.

The model is ``model_filename`` (the alias table is tried with the full path,
then the file name). Required per test: ``model_filename``, ``n_prompt``,
``n_gen``, ``avg_ts``. Log lines captured with the output (``2>&1``) are skipped and
counted in the manifest's notes.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from generator.ingest.common import (
    Extracted,
    FiniteNumber,
    ForeignRecord,
    ModelFacts,
    ParseContext,
    Problems,
    Row,
    SourceFile,
    fail,
    iter_jsonl,
    json_error,
    parse_datetime,
    parse_foreign,
    path_of,
    too_deep,
)

EXTRA_KEYS = (
    "stddev_ts",
    "avg_ns",
    "stddev_ns",
    "n_prompt",
    "n_gen",
    "n_depth",
    "n_batch",
    "n_ubatch",
    "n_threads",
    "n_gpu_layers",
    "type_k",
    "type_v",
    "flash_attn",
    "split_mode",
    "use_mmap",
    "no_kv_offload",
    "model_type",
    "model_n_params",
    "test_time",
    # Which device a test ran on, per test: the calibration joins a test to a machine by it.
    "backends",
    "gpu_info",
    "cpu_info",
)


class LlamaBenchTest(ForeignRecord):
    """One llama-bench test (``-o json`` / ``-o jsonl``) as the bench reads it."""

    model_filename: str
    n_prompt: int
    n_gen: int
    avg_ts: FiniteNumber


def _scan_array(shown: str, text: str, start: int) -> tuple[list[Any], int]:
    """The objects of a JSON array that has log lines between its elements, and how many.

    ``--progress`` writes ``llama-bench: benchmark 2/4: starting`` (and warmup / run
    lines) to stderr between the tests it prints; captured together, they sit between
    the array's elements. Each element is decoded where it starts; text between
    elements that is not a comma or the closing bracket is a log line, skipped to its
    end. A broken element is still an error, with its line.
    """
    decoder = json.JSONDecoder()
    objs: list[Any] = []
    skipped = 0
    i, n = text.index("[", start) + 1, len(text)
    while True:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n:
            line = text.count("\n", 0, len(text.rstrip())) + 1
            raise fail(shown, "invalid JSON: the array has no closing ']' (the file looks truncated)", line)
        if text[i] == "]":
            return objs, skipped
        if text[i] in "{[":
            try:
                obj, i = decoder.raw_decode(text, i)
            except json.JSONDecodeError as exc:
                raise json_error(shown, text, exc) from None
            objs.append(obj)
            continue
        end = text.find("\n", i)
        i = n if end < 0 else end + 1
        skipped += 1


def _entries(src: SourceFile, probs: Problems) -> tuple[list[tuple[str, int | None, dict[str, Any]]], int]:
    """(JSON path or line label, line, object) for every test in the file, and the log lines skipped.

    ggml's backend set-up (``ggml_cuda_init: found 1 CUDA devices:``, ``load_backend:
    loaded CUDA backend from ...``) and ``--progress`` print to stderr; captured with
    stdout (``2>&1``, ``| tee``) they land before and between the JSON. Those lines are
    skipped and counted, never parsed; a line that starts like JSON and does not parse
    is still an error, with its line number.
    """
    lines = src.text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip().startswith(("[", "{"))), None)
    if first is None:
        raise fail(src.shown, f"no llama-bench tests in the file: none of its {len(lines)} lines is JSON", 1)
    offset = sum(len(line) + 1 for line in lines[:first])
    skipped = sum(1 for line in lines[:first] if line.strip())
    body = src.text[offset:]
    if body.lstrip().startswith("["):
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            data, between = _scan_array(src.shown, src.text, offset)
            skipped += between
        except RecursionError:
            raise too_deep(src.shown, body, first) from None
        if not isinstance(data, list):
            raise fail(src.shown, "expected llama-bench -o json (an array)", first + 1)
        out = []
        for i, obj in enumerate(data):
            if not isinstance(obj, dict):
                probs.add(f"$[{i}]: expected an object, got {type(obj).__name__}")
                continue
            out.append((path_of("$", i), None, obj))
        return out, skipped
    if body.lstrip().splitlines()[0].strip() == "{":
        raise fail(src.shown, "expected llama-bench -o json (an array) or -o jsonl (one object per line)", first + 1)
    # JSONL: every record is one line, so a line that does not start with "{" is a log line.
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("{") and i >= first:
            lines[i] = ""
            skipped += 1
    for i in range(first):
        lines[i] = ""
    cleaned = SourceFile(path=src.path, shown=src.shown, data=src.data, sha256=src.sha256, text="\n".join(lines))
    return [("", line, obj) for line, obj in iter_jsonl(cleaned, probs)], skipped


def _hardware(obj: dict[str, Any]) -> str | None:
    parts = [str(obj[k]) for k in ("backends", "gpu_info", "cpu_info") if isinstance(obj.get(k), str) and obj[k]]
    if isinstance(obj.get("n_threads"), int):
        parts.append(f"{obj['n_threads']} threads")
    if isinstance(obj.get("n_gpu_layers"), int):
        parts.append(f"ngl {obj['n_gpu_layers']}")
    return "; ".join(parts) or None


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    probs = Problems(src.shown)
    entries, skipped = _entries(src, probs)
    ex = Extracted()
    if skipped:
        ex.notes.append(
            f"{skipped} log line(s) in the file (backend set-up messages captured with the output) "
            "were skipped: they are not results"
        )
    for i, (where, line, obj) in enumerate(entries):
        rec = parse_foreign(LlamaBenchTest, probs, obj, where, line)
        if rec is None:
            continue
        model, n_prompt, n_gen, avg = rec.model_filename, rec.n_prompt, rec.n_gen, rec.avg_ts
        if n_prompt > 0 and n_gen == 0:
            strategy, fields = "pp", {"prompt_tps": float(avg)}
        elif n_gen > 0 and n_prompt == 0:
            strategy, fields = "tg", {"generation_tps": float(avg)}
        else:
            strategy, fields = "pg", {}
        extra = {k: obj[k] for k in EXTRA_KEYS if obj.get(k) is not None}
        if strategy == "pg":
            extra["avg_ts_prompt_and_generation"] = avg
        depth = obj.get("n_depth") or 0
        label = f"pp{n_prompt}" if strategy == "pp" else f"tg{n_gen}" if strategy == "tg" else f"pp{n_prompt}+tg{n_gen}"
        ex.perf.append(
            Row(
                model,
                {
                    "key": f"{i}|{label}" + (f"@d{depth}" if depth else ""),
                    "strategy": strategy,
                    "hardware": _hardware(obj),
                    "extra": extra,
                    **fields,
                },
                names=(PurePath(model).name,),
            )
        )
        if model not in ex.model_facts:
            size = obj.get("model_size")
            commit = obj.get("build_commit")
            ex.model_facts[model] = ModelFacts(
                file_name=PurePath(model).name,
                file_size_bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
                runtime="llama.cpp",
                runtime_version=commit if isinstance(commit, str) else None,
            )
        if ex.date is None:
            ex.date = parse_datetime(obj.get("test_time"))
        if ex.tool_version is None and isinstance(obj.get("build_commit"), str):
            number = obj.get("build_number")
            ex.tool_version = f"{obj['build_commit']}" + (f" (build {number})" if number is not None else "")
        if not ex.environment:
            ex.environment = {k: obj[k] for k in ("backends", "gpu_info", "cpu_info") if obj.get(k)}
    probs.raise_if_any()
    if not entries:
        raise fail(src.shown, "no llama-bench tests in the file", 1)
    if any("samples_ts" in obj for _, _, obj in entries):
        ex.unmapped.append("samples_ts / samples_ns: per-repetition figures, summarised by avg and stddev")
    ex.unmapped.append("latencies (TTFT, ITL, E2EL) and concurrency: llama-bench does not measure them")
    return ex
