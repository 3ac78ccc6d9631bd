"""Input length as evidence: acceptance and hard failures per input-length stratum, and the
length above which a candidate stops meeting its gates.

The seed's rule "packets above 7,500 words go to the hosted baseline" is a typed number.
Here the number is measured: the cases of a workload are put in strata by input length
(words, as the seeds state lengths, and prompt tokens as the model's own tokenizer counted
them; edges in ``policy.yaml`` ``routing``), and each stratum's per-case acceptance and
hard-failure rate is judged against the workload's gates with the same interval rule as
every other gate (``stats.proportion_gate``).

The *limit* is the lower edge of the first stratum whose estimate misses a gate; inputs
longer than the longest measured case are untested, so the limit is never above that
length. Its interval comes from the same stratum verdicts: the limit is at least the lower
edge of the first stratum not settled as passing (everything shorter is shown to pass), and
at most the lower edge of the first stratum settled as failing (``None``: no stratum is shown
to fail). A guard rule cites it as ``input_words_above: measured``.

Pure: quality cells and registry records in, records out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from generator.analysis import stats as st
from generator.analysis.evidence import split_by_model
from generator.registry.schema import RoutingPolicy, TaskCase, Workload

# The gates input length is judged against: the rates a long input degrades.
LENGTH_GATES = {"acceptance_rate": "accepted", "hard_failure_rate": "hard"}


def input_words(case: TaskCase) -> int:
    """Words of the case's input, as a reader counts them (whitespace-separated)."""
    return len(case.input.split())


@dataclass
class Stratum:
    low: int  # exclusive lower edge (0 for the first)
    high: int | None  # inclusive upper edge; None: open
    cases: int
    acceptance: float | None
    acceptance_ci: tuple[float, float] | None
    hard_failure_rate: float | None
    hard_ci: tuple[float, float] | None
    state: str  # pass / fail / insufficient / empty

    @property
    def label(self) -> str:
        return f"> {self.low:,}" if self.high is None else f"{self.low + 1 if self.low else 0:,}–{self.high:,}"


@dataclass
class LengthEvidence:
    model_id: str
    unit: str  # words / tokens
    strata: list[Stratum]
    limit: int | None  # route inputs longer than this; None: no measured case to judge by
    limit_low: int | None
    limit_high: int | None  # None: no stratum shown to fail
    longest: int | None  # the longest measured input
    basis: str = ""
    gates: list[str] = field(default_factory=list)

    @property
    def interval_text(self) -> str:
        if self.limit is None:
            return "no measured cases"
        high = "not shown" if self.limit_high is None else f"{self.limit_high:,}"
        return f"{self.limit:,} {self.unit} [{self.limit_low or 0:,}, {high}]"


def _strata_edges(edges: list[int]) -> list[tuple[int, int | None]]:
    out: list[tuple[int, int | None]] = []
    low = 0
    for e in edges:
        out.append((low, e))
        low = e
    out.append((low, None))
    return out


def _stratum_state(rows: dict[str, np.ndarray], gates: list[tuple[str, str, float]]) -> tuple[str, bool]:
    """(interval state, whether the point estimates miss a gate) of one stratum's cases (each
    column's values over them)."""
    if not len(rows["accepted"]):
        return "empty", False
    states = []
    miss = False
    for col, op, value in gates:
        vals = _present(rows[col])
        if not len(vals):
            states.append("insufficient")
            continue
        states.append(st.proportion_gate(float(vals.sum()), len(vals), op, value))
        mean = float(vals.mean())
        miss = miss or (mean < value if op == ">=" else mean > value)
    if "fail" in states:
        return "fail", True
    if all(s == "pass" for s in states):
        return "pass", miss
    return "insufficient", miss


def _present(values: np.ndarray) -> np.ndarray:
    return values[~np.isnan(values)]


def length_evidence(
    q: pd.DataFrame,
    lengths: pd.Series,
    model_id: str,
    workload: Workload,
    edges: list[int],
    unit: str,
) -> LengthEvidence:
    """Strata and limit for one model's quality cells ``q`` on one workload; ``lengths`` maps
    case id to the input length in ``unit``."""
    gates = [(LENGTH_GATES[g.metric], g.op, g.value) for g in workload.gates if g.metric in LENGTH_GATES]
    # Only the columns the strata read: each stratum is a filter of these rows.
    cols = ["case_id", *dict.fromkeys(["accepted", "hard", *LENGTH_GATES.values()])]
    mine = q.loc[(q["model_id"] == model_id) & (q["workload"] == workload.id), cols]
    length = mine["case_id"].map(lengths).to_numpy(float)
    known = ~np.isnan(length)
    length = length[known]
    # Each column as numpy values once; a stratum is a boolean mask over them.
    values = {c: mine[c].to_numpy(float)[known] for c in cols[1:]}
    strata: list[Stratum] = []
    first_miss: int | None = None
    first_unsettled: int | None = None
    first_fail: int | None = None
    for low, high in _strata_edges(edges):
        mask = (length > low) & (length <= high) if high is not None else length > low
        inside = {c: v[mask] for c, v in values.items()}
        state, miss = _stratum_state(inside, gates)
        n = int(mask.sum())
        acc = _present(inside["accepted"])
        hard = _present(inside["hard"])
        acc_ci = st.wilson(float(acc.sum()), len(acc)) if len(acc) else None
        hard_ci = st.wilson(float(hard.sum()), len(hard)) if len(hard) else None
        strata.append(
            Stratum(
                low,
                high,
                n,
                float(acc.mean()) if len(acc) else None,
                (acc_ci.low, acc_ci.high) if acc_ci else None,
                float(hard.mean()) if len(hard) else None,
                (hard_ci.low, hard_ci.high) if hard_ci else None,
                state,
            )
        )
        if state == "empty":
            continue
        if miss and first_miss is None:
            first_miss = low
        if state != "pass" and first_unsettled is None:
            first_unsettled = low
        if state == "fail" and first_fail is None:
            first_fail = low
    if not len(length):
        return LengthEvidence(model_id, unit, strata, None, None, None, None, "no measured cases", [])
    longest = int(np.nanmax(length))
    limit = longest if first_miss is None else min(first_miss, longest)
    low_bound = longest if first_unsettled is None else min(first_unsettled, longest)
    if first_miss is None:
        basis = f"every measured stratum meets its gates; inputs above {longest:,} {unit} are untested"
    else:
        stratum = next(x for x in strata if x.low == first_miss)
        basis = f"the stratum {stratum.label} {unit} misses a gate"
    return LengthEvidence(
        model_id,
        unit,
        strata,
        limit,
        min(low_bound, limit),
        first_fail,
        longest,
        basis,
        [g.metric for g in workload.gates if g.metric in LENGTH_GATES],
    )


def case_words(cases: dict[str, TaskCase]) -> pd.Series:
    """Each case's input length in words, by case id."""
    return pd.Series({cid: float(input_words(c)) for cid, c in cases.items()}, dtype=float)


def case_lengths(
    cases: dict[str, TaskCase], df: pd.DataFrame, model_id: str, words: pd.Series | None = None
) -> dict[str, pd.Series]:
    """Input length per case id: words from the case input, tokens from the model's own prompt
    counts (the same on every repeat of a case: the largest recorded is taken). ``words``:
    :func:`case_words` of ``cases``, when a caller already has it (it is the same for every model)."""
    words = case_words(cases) if words is None else words
    rows = df[df["model_id"] == model_id] if len(df) else df
    if len(rows) and "prompt_tokens" in rows:
        tokens = pd.to_numeric(rows["prompt_tokens"], errors="coerce").groupby(rows["case_id"].astype(object)).max()
    else:
        tokens = pd.Series(dtype=float)
    return {"words": words, "tokens": tokens.dropna().astype(float)}


def workload_length_evidence(
    q: pd.DataFrame,
    df: pd.DataFrame,
    cases: dict[str, TaskCase],
    workload: Workload,
    model_ids: list[str],
    policy: RoutingPolicy,
) -> dict[str, dict[str, LengthEvidence]]:
    """model → unit → evidence, for every measured model among ``model_ids``."""
    out: dict[str, dict[str, LengthEvidence]] = {}
    wq = q[q["workload"] == workload.id] if len(q) else q
    # Each model's cells and rows, split once (not a filter of the whole frames per model).
    q_by, rows_by = split_by_model(wq), split_by_model(df)
    words = case_words(cases)
    for m in model_ids:
        if m not in q_by:
            continue
        mq = q_by[m]
        lengths = case_lengths(cases, rows_by.get(m, df.iloc[:0]), m, words)
        out[m] = {
            "words": length_evidence(mq, lengths["words"], m, workload, policy.length_strata_words, "words"),
            "tokens": length_evidence(mq, lengths["tokens"], m, workload, policy.length_strata_tokens, "tokens"),
        }
    return out
