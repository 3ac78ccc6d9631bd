"""Aider leaderboard YAML (``aider/website/_data/*.yml``) -> ``summaries.jsonl``.

The file is a list of runs; each run is one model at one edit format with
aggregates only: ``pass_rate_N`` (percent of ``test_cases`` solved within N
tries), ``percent_cases_well_formed``, malformed-response counts,
``seconds_per_case`` and ``total_cost`` (USD). Each ``pass_rate_N`` and the
well-formed percentage becomes one :class:`SummaryRecord` with
``trials = test_cases`` and ``successes = rate x test_cases / 100``; every other
field of the run is kept in ``extra`` as given. There are no per-case rows to
map, and none are invented.

Required per run: ``dirname``, ``model``, ``test_cases`` and at least one
``pass_rate_N``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from generator.errors import InputError
from generator.ingest.common import (
    Extracted,
    ParseContext,
    Problems,
    Row,
    SourceFile,
    fail,
    number_or_none,
    plain,
)
from generator.registry.yamlio import line_of

PASS_RATE = re.compile(r"^pass_rate_(\d+)$")


def _load(src: SourceFile, ctx: ParseContext) -> Any:
    if ctx.limits is not None:  # a billion-laughs file is refused before ruamel builds it
        from generator.inputguard import Refused, check_yaml_aliases

        try:
            check_yaml_aliases(src.text, src.shown, ctx.limits, "foreign")
        except Refused as exc:
            raise InputError([exc.problem]) from None
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(src.text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        last = max(1, len(src.text.splitlines()))
        line = min(mark.line + 1, last) if mark is not None else None
        what = (exc.problem or exc.context or "").strip()
        hint = " (the file looks truncated)" if "end of stream" in what else ""
        raise fail(src.shown, f"invalid YAML: {what}{hint}", line) from None
    except Exception as exc:  # ruamel raises a few unmarked errors
        raise fail(src.shown, f"invalid YAML: {exc}") from None


def _successes(rate: float, trials: int) -> float:
    return round(rate * trials / 100, 6)


def parse(src: SourceFile, ctx: ParseContext) -> Extracted:
    data = _load(src, ctx)
    if data is None:
        raise fail(src.shown, "file is empty", 1)
    if not isinstance(data, CommentedSeq):
        raise fail(src.shown, "top level must be a list of runs ('- dirname: ...' per run)", 1)
    probs = Problems(src.shown)
    ex = Extracted()
    task = src.path.stem
    dates: list[datetime] = []
    dirnames: dict[str, int] = {}
    mismatched: list[str] = []
    for i, entry in enumerate(data):
        line = line_of(data, [i])
        if not isinstance(entry, CommentedMap):
            probs.add(f"[{i}]: expected a mapping (one run), got {type(entry).__name__}", line)
            continue
        n_before = len(probs.items)

        def get(key: str, kind: type | tuple[type, ...], entry: CommentedMap = entry, i: int = i) -> Any:
            if key not in entry or entry[key] is None:
                probs.add(f"[{i}]: missing required field {key!r}", line_of(data, [i]))
                return None
            value = entry[key]
            if not isinstance(value, kind) or isinstance(value, bool):
                want = "a number" if kind is not str else "a string"
                probs.add(f"[{i}].{key}: expected {want}, got {value!r}", line_of(data, [i, key]))
                return None
            return value

        dirname = get("dirname", str)
        model = get("model", str)
        cases = get("test_cases", int)
        rates: dict[int, float] = {}
        for key in entry:
            m = PASS_RATE.match(str(key))
            if m:
                value = number_or_none(entry[key])
                if value is None:
                    probs.add(f"[{i}].{key}: expected a number, got {entry[key]!r}", line_of(data, [i, key]))
                else:
                    rates[int(m.group(1))] = value
        if not rates and not any(PASS_RATE.match(str(k)) for k in entry):
            probs.add(f"[{i}]: no pass_rate_N field (pass_rate_1, pass_rate_2, ...)", line)
        if isinstance(cases, int) and cases <= 0:
            probs.add(f"[{i}].test_cases: must be positive, got {cases}", line_of(data, [i, "test_cases"]))
        well = entry.get("percent_cases_well_formed")
        if well is not None and number_or_none(well) is None:
            probs.add(
                f"[{i}].percent_cases_well_formed: expected a number, got {well!r}",
                line_of(data, [i, "percent_cases_well_formed"]),
            )
        if len(probs.items) > n_before or dirname is None or model is None or cases is None:
            continue

        when = entry.get("date")
        if isinstance(when, datetime):
            dates.append(when)
        elif isinstance(when, date):
            dates.append(datetime(when.year, when.month, when.day))  # noqa: DTZ001 - Aider dates carry no zone
        extra = {
            str(k): plain(v)
            for k, v in entry.items()
            if not PASS_RATE.match(str(k))
            and k not in ("model", "percent_cases_well_formed", "seconds_per_case", "total_cost")
        }
        seconds = number_or_none(entry.get("seconds_per_case"))
        cost = number_or_none(entry.get("total_cost"))
        run_key = dirname if dirname not in dirnames else f"{dirname}#{dirnames[dirname] + 1}"
        dirnames[dirname] = dirnames.get(dirname, 0) + 1
        common_fields: dict[str, Any] = {
            "task": task,
            "trials": cases,
            "seconds_per_case": seconds,
            "total_cost": cost,
            "cost_currency": "USD" if cost is not None else None,
            "extra": extra,
        }
        for n, rate in sorted(rates.items()):
            count = entry.get(f"pass_num_{n}")
            if isinstance(count, int) and not isinstance(count, bool) and round(rate * cases / 100) != count:
                mismatched.append(f"{dirname} (pass_num_{n} {count}, pass_rate_{n} {rate} of {cases})")
            ex.summaries.append(
                Row(
                    model,
                    {
                        **common_fields,
                        "key": f"{run_key}|pass_rate_{n}",
                        "metric": f"pass_rate_{n}",
                        "value": rate,
                        "successes": _successes(rate, cases),
                    },
                )
            )
        if well is not None:
            well_f = float(well)
            ex.summaries.append(
                Row(
                    model,
                    {
                        **common_fields,
                        "key": f"{run_key}|percent_cases_well_formed",
                        "metric": "percent_cases_well_formed",
                        "value": well_f,
                        "successes": _successes(well_f, cases),
                    },
                )
            )
    probs.raise_if_any()
    if not ex.summaries:
        raise fail(src.shown, "no runs in the file", 1)
    ex.date = max(dates) if dates else None
    ex.unmapped.append("per-case results: an Aider leaderboard keeps only per-run aggregates")
    ex.notes.append(
        "Aider: successes = pass_rate x test_cases / 100 (may be fractional: the rate is rounded to "
        "0.1 %); pass_num_N, malformed-response counts and the other run fields are kept in extra"
    )
    if mismatched:
        ex.notes.append(
            "Aider: pass_num_N disagrees with pass_rate_N x test_cases in "
            f"{len(mismatched)} run(s): " + "; ".join(mismatched[:10])
        )
    return ex
