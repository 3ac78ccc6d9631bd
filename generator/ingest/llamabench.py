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
``n_gen``, ``avg_ts``.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from generator.ingest.common import (
    Extracted,
    ModelFacts,
    ParseContext,
    Problems,
    Row,
    SourceFile,
    fail,
    iter_jsonl,
    load_json,
    need,
    parse_datetime,
    path_of,
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


def _entries(src: SourceFile, probs: Problems) -> list[tuple[str, int | None, dict[str, Any]]]:
    """(JSON path or line label, line, object) for every test in the file."""
    if src.text.lstrip().startswith("["):
        data = load_json(src)
        out = []
        for i, obj in enumerate(data):
            if not isinstance(obj, dict):
                probs.add(f"$[{i}]: expected an object, got {type(obj).__name__}")
                continue
            out.append((path_of("$", i), None, obj))
        return out
    if src.text.lstrip().splitlines()[0].strip() == "{":
        raise fail(src.shown, "expected llama-bench -o json (an array) or -o jsonl (one object per line)", 1)
    return [("", line, obj) for line, obj in iter_jsonl(src, probs)]


def _hardware(obj: dict[str, Any]) -> str | None:
    parts = [
        str(obj[k]) for k in ("backends", "gpu_info", "cpu_info") if isinstance(obj.get(k), str) and obj[k]
    ]
    if isinstance(obj.get("n_threads"), int):
        parts.append(f"{obj['n_threads']} threads")
    if isinstance(obj.get("n_gpu_layers"), int):
        parts.append(f"ngl {obj['n_gpu_layers']}")
    return "; ".join(parts) or None


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    probs = Problems(src.shown)
    entries = _entries(src, probs)
    ex = Extracted()
    for i, (where, line, obj) in enumerate(entries):
        model = need(probs, obj, "model_filename", where, "string", line)
        n_prompt = need(probs, obj, "n_prompt", where, "int", line)
        n_gen = need(probs, obj, "n_gen", where, "int", line)
        avg = need(probs, obj, "avg_ts", where, "number", line)
        if model is None or n_prompt is None or n_gen is None or avg is None:
            continue
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
        label = (
            f"pp{n_prompt}"
            if strategy == "pp"
            else f"tg{n_gen}"
            if strategy == "tg"
            else f"pp{n_prompt}+tg{n_gen}"
        )
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
