"""UK AISI inspect_ai eval logs (JSON log format) -> ``results.jsonl`` + ``summaries.jsonl``.

Per sample (``samples[]``): one :class:`ResultRecord`, case ``<task>/<id>``, repeat
``epoch``. Each scorer in ``scores`` becomes a check that passes when its value is
``"C"`` (correct), ``true`` or ``1``; ``"I"``, ``"P"``, ``"N"``, 0 and other numbers
fail, and the detail shows the value. The sample is accepted when every check
passes; a sample with an ``error`` is a hard failure. Output text, and the final
generation's ``usage`` and ``time`` (as ``timing.e2e_s``), are mapped only when the
sample made exactly one generation; ``total_time`` / ``working_time`` cover the
whole sample (tools, scoring), not one request, and are not mapped.

Aggregates (``results.scores[]``): one :class:`SummaryRecord` per scorer metric
(``match/accuracy`` with ``stderr``); ``trials`` = ``completed_samples`` when there
is one epoch.

Both of inspect's log formats are read. The JSON log is one object. The ``.eval``
log (inspect's default since 0.3.46) is a zip written by its ``EvalRecorder``:
``header.json`` (the log without samples; an unfinished eval has only
``_journal/start.json``, its ``version``, ``eval`` and ``plan``), one
``samples/<id>_epoch_<epoch>.json`` per sample, ``summaries.json`` (each sample's
id, epoch and score values) and ``reductions.json``. Samples map as above; a
sample listed in ``summaries.json`` without its own file (a log cut short, or
written with samples pruned) becomes a row from its score values and error alone,
with no output, usage or time. ``reductions.json`` and a JSON log's
``reductions`` (each scorer's per-sample value reduced across epochs) are not
mapped: every epoch is kept as a repeat and the bench reduces per case itself.
Members are read within ``policy.yaml`` ``input_limits.foreign`` (member count,
and all members together no larger than ``max_file_bytes`` unpacked).

Required: ``eval.model``, ``eval.task``.
"""

from __future__ import annotations

import re
from typing import Any, cast

from generator.errors import InputError
from generator.ingest.common import (
    Extracted,
    ForeignRecord,
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
    load_json,
    load_json_text,
    number_or_none,
    parse_datetime,
    parse_foreign,
    path_of,
    truncate,
)

CORRECT = "C"
ERROR_METRICS = ("stderr", "std", "var")
# Members of a .eval archive (inspect_ai log/_recorders/eval.py).
HEADER = "header.json"
START = "_journal/start.json"
SUMMARIES = "summaries.json"
REDUCTIONS = "reductions.json"
SAMPLE_MEMBER = re.compile(r"samples/[^/]+_epoch_\d+\.json")


class InspectEvalSpec(ForeignRecord):
    """``eval`` of an inspect log: what ran (the rest, packages and settings, stays extra)."""

    model: str
    task: str


class InspectLog(ForeignRecord):
    """The header of an inspect log (``EvalLog``) as the bench reads it."""

    eval: InspectEvalSpec
    samples: list[Any] | None = None
    results: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None


class InspectSample(ForeignRecord):
    """One sample of an inspect log as the bench reads it (``id`` is checked above: a string or
    an integer; input, messages and metadata stay extra)."""

    epoch: int | None = None
    scores: dict[str, Any] | None = None
    output: dict[str, Any] | None = None


def _passed(value: Any) -> bool | None:
    if isinstance(value, str):
        return value == CORRECT
    if isinstance(value, bool | int | float):
        return bool(binary(value))
    return None  # dicts / lists: multi-value scores


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [c.get("text") for c in content if isinstance(c, dict) and isinstance(c.get("text"), str)]
        return "".join(parts) if parts else None
    return None


def _member(zf: Any, name: str, shown: str) -> Any:
    """One archive member as JSON (members are bounded by the archive check before this)."""
    from generator.inputguard import Refused, decode_utf8

    where = f"{shown}/{name}"
    with zf.open(name) as fh:
        raw = fh.read()
    try:
        text = decode_utf8(raw, where)
    except Refused as exc:
        raise InputError([exc.problem]) from None
    return load_json_text(where, text)


def _read_eval(src: SourceFile) -> tuple[dict[str, Any], list[tuple[str, Any]], list[Any], Any, list[str]]:
    """(header, [(member, sample)], summaries, reductions, notes) from a ``.eval`` zip."""
    import io
    import zipfile
    import zlib

    limits = src.limits
    fp = io.BytesIO(src.data)
    # The count from the end-of-archive record, before zipfile builds one object per member.
    end = zipfile._EndRecData(fp)  # the stdlib reader of that record (private, stable)
    if end is None:
        raise fail(src.shown, "not a readable .eval archive: no end-of-archive record (truncated?)")
    members = end[zipfile._ECD_ENTRIES_TOTAL]
    if limits is not None and members > limits.max_archive_members:
        raise fail(
            src.shown,
            f"archive has {members} members, over the limit of {limits.max_archive_members} "
            "(policy.yaml input_limits.foreign.max_archive_members)",
        )
    try:
        zf = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, ValueError) as exc:
        raise fail(src.shown, f"not a readable .eval archive: {exc}") from None
    infos = zf.infolist()
    unpacked = sum(i.file_size for i in infos)
    if limits is not None and unpacked > limits.max_file_bytes:
        raise fail(
            src.shown,
            f"archive unpacks to {unpacked} bytes, over the limit of {limits.max_file_bytes} "
            "(policy.yaml input_limits.foreign.max_file_bytes)",
        )
    names = [i.filename for i in infos]
    notes: list[str] = []
    try:
        if HEADER in names:
            header = _member(zf, HEADER, src.shown)
        elif START in names:
            header = _member(zf, START, src.shown)
            if isinstance(header, dict):
                header.setdefault("status", "started")
            notes.append(f"the archive has no {HEADER} (the eval never finished): read from {START}")
        else:
            raise fail(src.shown, f"not an inspect .eval log: neither {HEADER} nor {START} in the archive")
        samples = [(n, _member(zf, n, src.shown)) for n in names if SAMPLE_MEMBER.fullmatch(n)]
        summaries = _member(zf, SUMMARIES, src.shown) if SUMMARIES in names else []
        reductions = _member(zf, REDUCTIONS, src.shown) if REDUCTIONS in names else None
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise fail(src.shown, f"not a readable .eval archive: {exc}") from None
    if not isinstance(header, dict):
        raise fail(f"{src.shown}/{HEADER}", "$: expected an object (an inspect_ai eval log header)")
    if not isinstance(summaries, list):
        raise fail(f"{src.shown}/{SUMMARIES}", "$: expected an array of sample summaries")
    return header, samples, summaries, reductions, notes


def _sample_key(sample: Any) -> tuple[str, int] | None:
    if not isinstance(sample, dict):
        return None
    epoch = sample.get("epoch")
    return str(sample.get("id")), epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 1


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    notes: list[str] = []
    summaries: list[Any] = []
    reductions: Any = None
    if src.is_zip:
        data, items, summaries, reductions, notes = _read_eval(src)
        seen = {_sample_key(sample) for _, sample in items}
        # A sample known only from summaries.json: its scores and error, nothing more.
        only_summary = [
            (f"{SUMMARIES} $[{j}]", summary) for j, summary in enumerate(summaries) if _sample_key(summary) not in seen
        ]
        items = [(f"{name} $", sample) for name, sample in items] + only_summary
    else:
        if src.data[:2] == b"PK":
            raise fail(src.shown, "this looks like a damaged .eval archive (it is not JSON)")
        data = load_json(src)
        if not isinstance(data, dict):
            raise fail(src.shown, "$: expected an object (an inspect_ai JSON eval log)", 1)
        raw_samples = data.get("samples")
        items = (
            [(path_of("$.samples", i), sample) for i, sample in enumerate(raw_samples)]
            if isinstance(raw_samples, list)
            else []
        )
        only_summary = []
        reductions = data.get("reductions")
    probs = Problems(src.shown)
    # An .eval archive keeps its samples in members of their own: only a JSON log has the array.
    header = {k: v for k, v in data.items() if k != "samples"} if src.is_zip else data
    log = parse_foreign(InspectLog, probs, header, "$")
    probs.raise_if_any()
    log = cast(InspectLog, log)  # no problems: it parsed
    ev: dict[str, Any] = data["eval"]
    model, task = log.eval.model, log.eval.task
    results = log.results or {}
    stats = log.stats or {}

    ex = Extracted()
    ex.notes.extend(notes)
    ex.date = parse_datetime(ev.get("created")) or parse_datetime(stats.get("started_at"))
    packages = ev.get("packages") if isinstance(ev.get("packages"), dict) else {}
    version = packages.get("inspect_ai")
    ex.tool_version = version if isinstance(version, str) else None
    for key in ("model_base_url", "sandbox"):
        if ev.get(key) is not None:
            ex.environment[key] = ev[key]
    status = data.get("status")
    if status != "success":
        ex.notes.append(f"inspect log status is {status!r}, not 'success': the eval did not finish cleanly")
    started = iso(ex.date) if ex.date else None

    scoreless = 0
    multi_gen = 0
    finer: set[str] = set()
    for where, sample in items:
        if not isinstance(sample, dict):
            probs.add(f"{where}: expected an object, got {type(sample).__name__}")
            continue
        sid = sample.get("id")
        if sid is None:
            probs.add(f"{where}: missing required field 'id'")
            continue
        if isinstance(sid, bool) or not isinstance(sid, int | str):
            probs.add(f"{where}.id: expected string or integer, got {type(sid).__name__}")
            continue
        parsed = parse_foreign(InspectSample, probs, sample, where)
        if parsed is None:
            continue
        epoch, scores, output = parsed.epoch or 1, parsed.scores or {}, parsed.output or {}
        error = sample.get("error")
        checks = []
        for name, score in scores.items():
            value = score.get("value") if isinstance(score, dict) else None
            passed = _passed(value)
            if passed is None:
                finer.add(name)
                continue
            explanation = score.get("explanation") if isinstance(score.get("explanation"), str) else ""
            checks.append(check_outcome(name, f"inspect:{name}", passed, f"value={value!r} {explanation}".strip()))
        if not checks and not error:
            scoreless += 1
            continue
        messages = sample.get("messages") if isinstance(sample.get("messages"), list) else []
        generations = sum(1 for msg in messages if isinstance(msg, dict) and msg.get("role") == "assistant")
        single = generations == 1
        multi_gen += generations > 1
        text = None
        usage: dict[str, Any] = {}
        timing: dict[str, Any] = {}
        if single:
            choices = output.get("choices") if isinstance(output.get("choices"), list) else []
            if choices and isinstance(choices[0], dict) and isinstance(choices[0].get("message"), dict):
                text = _text(choices[0]["message"].get("content"))
            u = output.get("usage") if isinstance(output.get("usage"), dict) else {}
            usage = {
                "prompt_tokens": u.get("input_tokens") if isinstance(u.get("input_tokens"), int) else None,
                "completion_tokens": u.get("output_tokens") if isinstance(u.get("output_tokens"), int) else None,
            }
            timing = {"e2e_s": number_or_none(output.get("time"))}
        out, cut = truncate(text, ctx.max_output_chars)
        message = error.get("message") if isinstance(error, dict) else (error if isinstance(error, str) else None)
        fields: dict[str, Any] = {
            "case_id": f"{task}/{sid}",
            "repeat": epoch,
            "status": "failed" if error else "ok",
            "failure_kind": "runtime_error" if error else None,
            "error": (message or "error") if error else None,
            "timing": timing,
            "usage": usage,
            "output": out,
            "output_truncated": cut,
            "score": case_score(not error and all(c.passed for c in checks), checks),
        }
        if started:
            fields["started_at"] = started
        ex.results.append(Row(model, fields))

    config = ev.get("config") if isinstance(ev.get("config"), dict) else {}
    epochs = config.get("epochs")
    completed = results.get("completed_samples")
    trials = completed if isinstance(completed, int) and epochs in (None, 1) else None
    for j, score in enumerate(results.get("scores") or []):
        where = path_of("$.results.scores", j)
        if not isinstance(score, dict):
            probs.add(f"{where}: expected an object, got {type(score).__name__}")
            continue
        name = score.get("name") or score.get("scorer")
        metrics = score.get("metrics") if isinstance(score.get("metrics"), dict) else {}
        if not isinstance(name, str):
            probs.add(f"{where}: missing required field 'name'")
            continue
        err = number_or_none(metrics["stderr"].get("value")) if isinstance(metrics.get("stderr"), dict) else None
        for metric, body in metrics.items():
            if metric in ERROR_METRICS or not isinstance(body, dict):
                continue
            value = number_or_none(body.get("value"))
            if value is None:
                ex.unmapped.append(f"{where}.metrics.{metric}: value is not a number")
                continue
            counted = metric == "accuracy"
            ex.summaries.append(
                Row(
                    model,
                    {
                        "key": f"{task}|{name}/{metric}",
                        "task": task,
                        "metric": f"{name}/{metric}",
                        "value": value,
                        "stderr": err if metric in ("accuracy", "mean") else None,
                        "trials": trials,
                        "successes": derived_successes(value, trials) if counted else None,
                        "extra": {
                            k: v
                            for k, v in {
                                "scorer": score.get("scorer"),
                                "total_samples": results.get("total_samples"),
                                "completed_samples": completed,
                                "epochs": epochs,
                            }.items()
                            if v is not None
                        },
                    },
                )
            )
    probs.raise_if_any()
    if scoreless:
        ex.unmapped.append(f"{scoreless} sample(s) without scores: acceptance cannot be decided")
    if finer:
        ex.unmapped.append(f"scorers with multi-value scores ({', '.join(sorted(finer))}): not a pass/fail check")
    if multi_gen:
        ex.unmapped.append(
            f"output, usage and time of {multi_gen} sample(s) with several generations: not one request's figures"
        )
    if only_summary:
        ex.unmapped.append(
            f"output, usage and time of {len(only_summary)} sample(s) known only from {SUMMARIES}: "
            "a summary holds score values and the error, nothing else"
        )
    if reductions:
        scorers = sorted(
            {
                f"{r.get('scorer')}" + (f" ({r['reducer']})" if r.get("reducer") else "")
                for r in reductions
                if isinstance(r, dict)
            }
        )
        where = REDUCTIONS if src.is_zip else "$.reductions"
        ex.unmapped.append(
            f"{where}: per-sample scores reduced across epochs ({', '.join(scorers)}); each epoch is "
            "kept as a repeat and the bench reduces per case itself"
        )
    ex.unmapped.append("sample total_time / working_time: whole-sample times, not request latency")
    if "model_usage" in stats:
        ex.unmapped.append("$.stats.model_usage: totals over all calls, scorer calls included")
    return ex
