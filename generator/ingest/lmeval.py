"""EleutherAI lm-evaluation-harness output.

``results_<date>.json`` -> ``summaries.jsonl``: one :class:`SummaryRecord` per task
and metric (``"acc,none": 0.34`` with ``"acc_stderr,none"`` as its stderr).
``trials`` is the task's ``n-samples.effective``; ``successes`` is set only for
metrics that are means of 0/1 outcomes (``acc``, ``acc_norm``, ``exact_match``
aggregated by ``mean``) and only when value x trials is a whole number. The model
name is the file's ``model_name``, else ``pretrained=`` in ``config.model_args``,
else ``config.model``.

``samples_<task>_<date>.jsonl`` -> ``results.jsonl``: one :class:`ResultRecord`
per document and filter, with one check per 0/1 metric of that document
(``acc``, ``exact_match``, ...); the document is accepted when every such check
passes. Metrics graded finer than 0/1 are listed as unmapped. A samples file does
not name the model: it is taken from ``--model`` or from the
``results_<date>.json`` of the same run beside it. lm-eval records no timings or
token counts per document; those fields stay empty.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from pydantic import Field

from generator.errors import InputError
from generator.ingest.common import (
    Extracted,
    ForeignRecord,
    IntOrString,
    ParseContext,
    Problems,
    Row,
    SourceFile,
    binary,
    case_score,
    check_outcome,
    derived_successes,
    fail,
    iso,
    iter_jsonl,
    load_json,
    number_or_none,
    parse_datetime,
    parse_foreign,
    path_of,
    read_source,
    truncate,
)

SAMPLES_NAME = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?)\.jsonl$")
#: Per-document metrics that are 0/1 outcomes, so a mean of them counts successes.
BINARY_METRICS = {"acc", "acc_norm", "exact_match", "acc_mutual_info"}
#: Keys of a samples line that are bookkeeping, not metrics.
SAMPLE_KEYS = {
    "doc_id",
    "doc",
    "target",
    "arguments",
    "resps",
    "filtered_resps",
    "filter",
    "metrics",
    "doc_hash",
    "prompt_hash",
    "target_hash",
}
ENV_KEYS = ("device", "batch_size", "model_dtype", "model_revision", "model_sha", "limit")


class LmEvalResults(ForeignRecord):
    """The top of an lm-eval ``results_*.json`` as the bench reads it (per-task metrics are
    read key by key below: their names vary with the task's filters)."""

    results: dict[str, Any]
    n_samples: dict[str, Any] | None = Field(default=None, alias="n-samples")
    configs: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


class LmEvalSample(ForeignRecord):
    """One line of an lm-eval ``samples_*.jsonl`` as the bench reads it (metric values are read
    by name below: which keys are metrics depends on the task)."""

    doc_id: IntOrString
    metrics: list[Any] | None = Field(default=None, description="The metric names, when lm-eval lists them.")


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    if src.path.name.startswith("samples_") or src.path.suffix == ".jsonl":
        return parse_samples(src, ctx)
    return parse_results(src, ctx)


def model_name(data: dict[str, Any]) -> str | None:
    """The model as lm-eval names it: ``model_name``, else ``pretrained=`` in model_args."""
    name = data.get("model_name")
    if isinstance(name, str) and name.strip():
        return name
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    args = config.get("model_args")
    if isinstance(args, str) and args.strip():
        for part in args.split(","):
            key, _, value = part.partition("=")
            if key.strip() == "pretrained" and value.strip():
                return value.strip()
        return args.strip()
    model = config.get("model")
    return model if isinstance(model, str) and model.strip() else None


def parse_results(src: SourceFile, ctx: ParseContext) -> Extracted:
    data = load_json(src)
    probs = Problems(src.shown)
    if not isinstance(data, dict):
        raise fail(src.shown, "$: expected an object (lm-eval results_*.json)", 1)
    head = parse_foreign(LmEvalResults, probs, data, "$")
    probs.raise_if_any()
    head = cast(LmEvalResults, head)  # no problems: it parsed
    results, config = head.results, head.config or {}
    n_samples, configs = head.n_samples or {}, head.configs or {}
    name = model_name(data)
    if name is None and ctx.model_override is None:
        raise fail(src.shown, "$: no model name (model_name / config.model_args / config.model); pass --model")
    name = name or "(unnamed in source)"

    ex = Extracted()
    ex.date = parse_datetime(data.get("date"))
    version = data.get("lm_eval_version")
    ex.tool_version = version if isinstance(version, str) else None
    ex.environment = {k: config[k] for k in ENV_KEYS if config.get(k) is not None}
    for key in ("transformers_version", "git_hash"):
        if isinstance(data.get(key), str):
            ex.environment[key] = data[key]
    for task, metrics in results.items():
        where = path_of("$.results", task)
        if not isinstance(metrics, dict):
            probs.add(f"{where}: expected an object, got {type(metrics).__name__}")
            continue
        counts = n_samples.get(task) if isinstance(n_samples.get(task), dict) else {}
        trials = counts.get("effective", counts.get("original"))
        trials = trials if isinstance(trials, int) and not isinstance(trials, bool) else None
        task_config = configs.get(task) if isinstance(configs.get(task), dict) else {}
        aggregation = {
            m.get("metric"): m.get("aggregation") for m in task_config.get("metric_list") or [] if isinstance(m, dict)
        }
        repeats = task_config.get("repeats", 1)
        alias = metrics.get("alias")
        for key, value in metrics.items():
            if key == "alias" or "_stderr" in key.split(",", 1)[0]:
                continue
            metric, _, filt = key.partition(",")
            filt = filt or "none"
            number = number_or_none(value)
            if number is None:
                ex.unmapped.append(f"{path_of(where, key)}: {value!r} is not a number")
                continue
            err = number_or_none(metrics.get(f"{metric}_stderr,{filt}", metrics.get(f"{metric}_stderr")))
            counted = metric in BINARY_METRICS and aggregation.get(metric, "mean") == "mean" and repeats in (1, None)
            ex.summaries.append(
                Row(
                    name,
                    {
                        "key": f"{task}|{metric},{filt}",
                        "task": task,
                        "metric": metric if filt == "none" else f"{metric},{filt}",
                        "value": number,
                        "stderr": err,
                        "trials": trials,
                        "successes": derived_successes(number, trials) if counted else None,
                        "extra": {
                            k: v
                            for k, v in {
                                "alias": alias,
                                "filter": filt,
                                "n_shot": (data.get("n-shot") or {}).get(task),
                                "version": (data.get("versions") or {}).get(task),
                                "higher_is_better": ((data.get("higher_is_better") or {}).get(task) or {}).get(metric),
                                "n_samples": counts or None,
                            }.items()
                            if v is not None
                        },
                    },
                )
            )
    probs.raise_if_any()
    for key in ("pretty_env_info", "group_subtasks", "configs", "task_hashes"):
        if key in data:
            ex.unmapped.append(f"$.{key}: task configuration / environment text, not a measurement")
    ex.unmapped.append("per-document results: in the samples_*.jsonl files, ingest those separately")
    return ex


def _sibling_model(src: SourceFile, date_text: str) -> str | None:
    sibling = src.path.with_name(f"results_{date_text}.json")
    if not sibling.is_file():
        return None
    try:
        data = json.loads(read_source(sibling, src.limits).text)
    except (InputError, ValueError, RecursionError):
        return None  # the model name is then asked for with --model
    return model_name(data) if isinstance(data, dict) else None


def parse_samples(src: SourceFile, ctx: ParseContext) -> Extracted:
    m = SAMPLES_NAME.match(src.path.name)
    task = m.group("task") if m else Path(src.path.name).stem.removeprefix("samples_")
    date_text = m.group("date") if m else None
    ex = Extracted()
    if date_text:
        day, _, clock = date_text.partition("T")
        ex.date = datetime.fromisoformat(f"{day}T{clock.split('.')[0].replace('-', ':')}")
    started = iso(ex.date) if ex.date else None
    rows: list[dict[str, Any]] = []

    probs = Problems(src.shown)
    finer: set[str] = set()
    no_binary = 0
    for lineno, obj in iter_jsonl(src, probs):
        sample = parse_foreign(LmEvalSample, probs, obj, "", lineno)
        if sample is None:
            continue
        doc_id, listed = sample.doc_id, sample.metrics
        filt = obj.get("filter") if isinstance(obj.get("filter"), str) else "none"
        names = (
            [str(x) for x in listed]
            if listed
            else [k for k, v in obj.items() if k not in SAMPLE_KEYS and number_or_none(v) is not None]
        )
        checks = []
        for metric in names:
            if metric not in obj:
                probs.add(f"line {lineno}: metric {metric!r} is listed but has no value", lineno)
                continue
            passed = binary(obj[metric])
            if passed is None:
                finer.add(metric)
                continue
            checks.append(check_outcome(metric, f"lm-eval:{metric}", passed, f"{metric}={obj[metric]}"))
        if not checks:
            no_binary += 1
            continue
        resp = obj.get("filtered_resps")
        text = resp[0] if isinstance(resp, list) and resp and isinstance(resp[0], str) else None
        output, cut = truncate(text, ctx.max_output_chars)
        case_id = f"{task}/{doc_id}" if filt == "none" else f"{task}/{filt}/{doc_id}"
        accepted = all(c.passed for c in checks)
        fields: dict[str, Any] = {
            "case_id": case_id,
            "status": "ok",
            "timing": {},
            "usage": {},
            "output": output,
            "output_truncated": cut,
            "score": case_score(accepted, checks),
        }
        if started:
            fields["started_at"] = started
        rows.append(fields)
    probs.raise_if_any()
    name = _sibling_model(src, date_text) if date_text else None
    if name is None and ctx.model_override is None:
        raise fail(
            src.shown,
            "a samples file does not name its model: pass --model ID, "
            f"or keep results_{date_text or '<date>'}.json of the same run beside it",
        )
    ex.results = [Row(name or "(unnamed in source)", fields) for fields in rows]
    if finer:
        ex.unmapped.append(f"metrics graded finer than 0/1 ({', '.join(sorted(finer))}): not a pass/fail check")
    if no_binary:
        ex.unmapped.append(f"{no_binary} document(s) with no 0/1 metric: acceptance cannot be decided")
    ex.unmapped.append("timings and token counts: lm-eval does not record them per document")
    return ex
