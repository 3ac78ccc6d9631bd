"""The evidence table: the one definition of a model × case × load-level cell.

Every verdict in the tool reads its numbers from here: the leaderboard, promotion,
workload decisions, run diffs, run pages and reports. The rules, written once:

* **The case is the unit.** Repeats of one case are averaged inside its cell (never a
  majority vote); a rate over a model is the mean of its per-case means.
* **Load levels stay apart.** A cell is one load level (requests in flight). Quality is
  read at each model × case's *lowest* measured level (``quality_cells``); the other
  levels are degradation under load, shown beside it and never averaged into quality.
* **Runs pool as repeats.** Cells keep sums, not means, so cells of several runs pool by
  adding (``cells(base, by=["run_id"])`` keeps runs apart for run pages and diffs).
* **A miss is a miss.** A hard failure counts as not accepted; for class recall a timed
  out or unparseable answer to a case of that class is a miss, not a case to drop.
* **Warm latency at a level** is taken over the warm (not cold-start) requests at that
  level; a timed-out request counts as slower than any answer (``inf``), so a p95 over
  requests that timed out is not flattered by dropping them.

Pure: frames in, frames out; no file I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.typing import DataFrameGroupBy

LEVEL = "level"
CELL_KEYS = ["model_id", "case_id", LEVEL]
# Attributes of the case (the same on every row of a case), carried into its cell.
CASE_ATTRS = ["suite", "role", "workload", "severity", "weight", "expected_label"]
# Sums kept per cell, so cells pool across runs by addition.
SUMS = [
    "n",
    "n_accepted",
    "n_hard",
    "n_timeout",
    "sum_pain",
    "sum_score",
    "n_ok",
    "n_violation",
    "n_unsupported",
    "n_json",
    "n_json_valid",
    "n_label",
    "n_label_hit",
    "n_judge",
    "sum_judge",
    "n_cold",
]
# The frame columns the evidence table reads.
USED = [
    "run_id",
    "model_id",
    "case_id",
    "concurrency",
    "suite",
    "role",
    "workload",
    "severity",
    "weight",
    "status",
    "failure_kind",
    "cold_start",
    "accepted",
    "score",
    "review_pain",
    "policy_violation",
    "unsupported_claim",
    "json_checked",
    "json_valid",
    "expected_label",
    "predicted_label",
    "judge_mean",
]


def level_of(df: pd.DataFrame) -> pd.Series:
    """Each row's load level (requests in flight) as nullable integers; unknown is <NA>."""
    if "concurrency" not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    return pd.to_numeric(df["concurrency"], errors="coerce").astype("Int64")


def _num(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df:
        return pd.Series(0.0, index=df.index)
    return pd.to_numeric(df[col], errors="coerce").fillna(0.0)


def base_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Cells of (model, case, level, run) with sums: the finest grain every other view pools from."""
    keys = [*CELL_KEYS, "run_id"]
    if df.empty:
        return pd.DataFrame(columns=[*keys, *CASE_ATTRS, *SUMS])
    hard = df["status"].eq("failed")
    ok = df["status"].eq("ok")
    expected = df["expected_label"] if "expected_label" in df else pd.Series(None, index=df.index, dtype=object)
    predicted = df["predicted_label"] if "predicted_label" in df else pd.Series(None, index=df.index, dtype=object)
    has_label = expected.notna() & expected.astype(object).ne("")
    judge = pd.to_numeric(df["judge_mean"], errors="coerce") if "judge_mean" in df else pd.Series(np.nan, df.index)
    json_checked = df["json_checked"].fillna(False).astype(bool) & ok if "json_checked" in df else ok & False
    work = pd.DataFrame(
        {
            "model_id": df["model_id"].astype(object),
            "case_id": df["case_id"].astype(object),
            LEVEL: level_of(df),
            "run_id": df["run_id"].astype(object) if "run_id" in df else "",
            # Case attributes stay in the frame's own (Arrow) strings through the groupby: turned into
            # Python objects afterwards, per cell, not per row (at 1M rows that is most of the time).
            **{a: df.get(a) for a in CASE_ATTRS if a != "weight"},
            "weight": pd.to_numeric(df["weight"], errors="coerce") if "weight" in df else np.nan,
            "n": 1,
            "n_accepted": (df["accepted"].fillna(False).astype(bool) & ~hard).astype(int),
            "n_hard": hard.astype(int),
            "n_timeout": (hard & df["failure_kind"].eq("timeout")).astype(int) if "failure_kind" in df else 0,
            "sum_pain": _num(df, "review_pain"),
            "sum_score": _num(df, "score"),
            "n_ok": ok.astype(int),
            "n_violation": (ok & df["policy_violation"].fillna(False).astype(bool)).astype(int)
            if "policy_violation" in df
            else 0,
            "n_unsupported": (ok & df["unsupported_claim"].fillna(False).astype(bool)).astype(int)
            if "unsupported_claim" in df
            else 0,
            "n_json": json_checked.astype(int),
            "n_json_valid": (json_checked & df["json_valid"].fillna(False).astype(bool)).astype(int)
            if "json_valid" in df
            else 0,
            "n_label": has_label.astype(int),
            # A failed request has no predicted label: it is a miss, never a dropped case.
            "n_label_hit": (has_label & ok & predicted.astype(object).eq(expected.astype(object))).astype(int),
            "n_judge": judge.notna().astype(int),
            "sum_judge": judge.fillna(0.0),
            "n_cold": df["cold_start"].fillna(False).astype(bool).astype(int) if "cold_start" in df else 0,
        }
    )
    attrs = [a for a in CASE_ATTRS if a != "expected_label"]
    g = work.groupby(keys, sort=True, dropna=False, observed=True)
    sums = g[SUMS].sum()
    firsts = g[attrs].first()
    for a in attrs:
        if a != "weight" and a in df and df[a].dtype != object:  # as .astype(object) on rows: None if missing
            firsts[a] = firsts[a].astype(object).where(firsts[a].notna(), None)
    # The expected label of a case: the first one any of its rows recorded.
    labels = work.assign(expected_label=expected.where(has_label).astype(object))
    firsts["expected_label"] = labels.groupby(keys, sort=True, dropna=False, observed=True)["expected_label"].first()
    out = pd.concat([firsts, sums], axis=1).reset_index()
    out[LEVEL] = out[LEVEL].astype("Int64")  # an all-unknown level comes back as object
    return out


def cells(base: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Cells of (model, case, level, *by) with their per-case means, runs pooled as repeats.

    Means: ``accepted`` (acceptance over the cell's requests, a hard failure counting as not
    accepted), ``hard``, ``timeout``, ``pain``, ``score``; over the cell's answered requests
    only (a hard failure is its own metric there): ``violation``, ``unsupported``,
    ``json_valid`` (NaN where nothing answered or nothing was checked); ``label_hit`` over
    requests of a labelled case (a failure is a miss); ``judge`` over judged requests.
    """
    keys = [*CELL_KEYS, *by]
    if base.empty:
        return pd.DataFrame(columns=[*keys, *CASE_ATTRS, *SUMS, "runs", *_MEANS])
    g = base.groupby(keys, sort=True, dropna=False, observed=True)
    out = g[SUMS].sum()
    out = pd.concat([g[[a for a in CASE_ATTRS if a not in keys]].first(), out], axis=1)
    out["runs"] = g["run_id"].nunique()
    out = out.reset_index()
    return _with_means(out)


_MEANS = [
    "accepted",
    "hard",
    "timeout",
    "pain",
    "score",
    "violation",
    "unsupported",
    "json_valid",
    "label_hit",
    "judge",
]


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return num.astype(float) / den.where(den > 0)


def _with_means(c: pd.DataFrame) -> pd.DataFrame:
    c = c.copy()
    c["accepted"] = _ratio(c["n_accepted"], c["n"])
    c["hard"] = _ratio(c["n_hard"], c["n"])
    c["timeout"] = _ratio(c["n_timeout"], c["n"])
    c["pain"] = _ratio(c["sum_pain"], c["n"])
    c["score"] = _ratio(c["sum_score"], c["n"])
    c["violation"] = _ratio(c["n_violation"], c["n_ok"])
    c["unsupported"] = _ratio(c["n_unsupported"], c["n_ok"])
    c["json_valid"] = _ratio(c["n_json_valid"], c["n_json"])
    c["label_hit"] = _ratio(c["n_label_hit"], c["n_label"])
    c["judge"] = _ratio(c["sum_judge"], c["n_judge"])
    for k in ("n", "n_ok", "n_hard"):
        c[k] = c[k].astype(int)
    c[LEVEL] = c[LEVEL].astype("Int64")
    return c


def quality_cells(c: pd.DataFrame, by: Sequence[str] = (), level: int | None = None) -> pd.DataFrame:
    """One cell per (model, case, *by): the quality reading.

    With ``level`` None (policy ``statistics.quality_level: lowest``), each model × case
    is read at the lowest load level it was measured at; a cell of unknown level (some
    ingested formats) counts only where no level is known. With a named level, only cells
    measured at exactly that level.
    """
    if c.empty:
        return c
    if level is not None:
        return c[c[LEVEL].eq(level).fillna(False).astype(bool)].reset_index(drop=True)
    keys = ["model_id", "case_id", *by]
    lowest = c.groupby(keys, sort=False, dropna=False, observed=True)[LEVEL].transform("min")
    keep = c[LEVEL].eq(lowest).fillna(False).astype(bool) | lowest.isna()
    return c[keep].reset_index(drop=True)


def flag_cells(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Per (model, case) at the quality level: the mean over the cell's requests of each of
    ``columns`` (booleans as 0/1, numbers as they are; NaN values left out of the mean), and
    ``n``, the requests in the cell. Runs pool as repeats, as in :func:`cells`.

    For per-request facts the fixed sums above do not hold (a guard rule's route, an
    escalation trigger, a cost): the same cell, the same lowest-level reading, one rule.
    """
    cols = list(columns)
    if df.empty:
        return pd.DataFrame(columns=[*CELL_KEYS, "n", *cols])
    work = pd.DataFrame({"model_id": df["model_id"].astype(object), "case_id": df["case_id"].astype(object)})
    work[LEVEL] = level_of(df)
    for col in cols:
        vals = df[col]
        work[col] = vals.astype(float) if vals.dtype == bool else pd.to_numeric(vals, errors="coerce")
    g = work.groupby(CELL_KEYS, sort=True, dropna=False, observed=True)
    out = g[cols].mean()
    out.insert(0, "n", g.size())
    out = out.reset_index()
    out[LEVEL] = out[LEVEL].astype("Int64")
    return quality_cells(out)


def degradation(c: pd.DataFrame) -> pd.DataFrame:
    """Per model × level: acceptance and hard failures on the cases measured at that level,
    beside the same cases' quality reading (so a drop under load is read on shared cases)."""
    cols = ["model_id", LEVEL, "cases", "acceptance", "hard_failure_rate", "quality_acceptance"]
    if c.empty or c[LEVEL].isna().all():
        return pd.DataFrame(columns=cols)
    q = quality_cells(c)[["model_id", "case_id", "accepted"]].rename(columns={"accepted": "q"})
    m = c.dropna(subset=[LEVEL]).merge(q, on=["model_id", "case_id"], how="left")
    g = m.groupby(["model_id", LEVEL], sort=True, observed=True)
    out = pd.DataFrame({"cases": g.size(), "acceptance": g["accepted"].mean(), "hard_failure_rate": g["hard"].mean()})
    out["quality_acceptance"] = g["q"].mean()
    return out.reset_index().reindex(columns=cols)


def case_means(q: pd.DataFrame, model_id: str, column: str = "accepted") -> pd.Series:
    """One model's per-case values of ``column`` from quality cells, indexed by case id."""
    rows = q[q["model_id"] == model_id]
    return pd.Series(rows[column].to_numpy(dtype=float), index=rows["case_id"].to_numpy(), name=model_id)


@dataclass(frozen=True)
class CaseValues:
    """One model's non-NaN per-case values, read once for the many pairs it takes part in (a board of
    M models compares M(M−1)/2 pairs): case ids as a Python list, not iterated from the (Arrow-backed)
    index one by one, and their positions when each case appears once."""

    series: pd.Series
    labels: list
    values: np.ndarray
    pos: dict | None  # label -> position; None when a label repeats (then .loc decides)


def case_values(s: pd.Series) -> CaseValues:
    s = s.dropna()
    labels = s.index.tolist()
    pos = {k: i for i, k in enumerate(labels)}
    return CaseValues(s, labels, s.to_numpy(float), pos if len(pos) == len(labels) else None)


def _values_at(c: CaseValues, labels: list[str]) -> np.ndarray:
    """``c.series.loc[labels]`` as floats; by position when each case appears once."""
    if c.pos is not None:
        return c.values[np.fromiter((c.pos[k] for k in labels), dtype=np.intp, count=len(labels))]
    return c.series.loc[labels].to_numpy(float)


def shared_values(a: CaseValues, b: CaseValues) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`shared` on values read once with :func:`case_values`."""
    common = sorted(set(a.labels) & set(b.labels))
    return _values_at(a, common), _values_at(b, common), common


@dataclass(frozen=True)
class CodedValues:
    """Several models' per-case values on one codebook of case ids (codes in case-id order), each
    model's sorted by code: the cases two models share are then an intersection of sorted integer
    arrays, in the same case order as :func:`shared_values` (for a board's M(M−1)/2 pairs)."""

    codes: dict[str, np.ndarray]
    values: dict[str, np.ndarray]


def coded_values(series: dict[str, CaseValues]) -> CodedValues | None:
    """:class:`CodedValues` of models read with :func:`case_values`; None when a model has a case
    twice (then :func:`shared_values` decides)."""
    if any(c.pos is None for c in series.values()):
        return None
    book = {k: i for i, k in enumerate(sorted(set().union(*(c.labels for c in series.values()))))}
    codes, values = {}, {}
    for m, c in series.items():
        raw = np.fromiter((book[k] for k in c.labels), dtype=np.intp, count=len(c.labels))
        order = np.argsort(raw, kind="stable")
        codes[m], values[m] = raw[order], c.values[order]
    return CodedValues(codes, values)


def shared_coded(c: CodedValues, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """The values of models ``a`` and ``b`` on the cases both have, in case order."""
    _, ia, ib = np.intersect1d(c.codes[a], c.codes[b], assume_unique=True, return_indices=True)
    return c.values[a][ia], c.values[b][ib]


def shared(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The values of two models on the cases both have (non-NaN in both), in case order."""
    return shared_values(case_values(a), case_values(b))


def distinct(values: pd.Series) -> set:
    """The distinct values of a column, as ``set(values)`` gives them, from its unique values (a
    Python loop over an Arrow-backed column of a million rows converts every element)."""
    return set(values.unique().tolist())


def split_by_model(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Each model's rows of ``frame``, in the frame's order: one pass over the frame for a loop
    over its models (a boolean filter per model and gate read the whole frame each time)."""
    return split_by(frame, "model_id")


def split_by(frame: pd.DataFrame, column: str) -> dict[str, pd.DataFrame]:
    """Each value's rows of ``frame`` (``frame[frame[column] == value]``, in the frame's order and
    with its index), from one pass over the frame; rows where ``column`` is missing belong to none."""
    if not len(frame):
        return {}
    return dict(iter(frame.groupby(frame[column].astype(object), sort=False, observed=True)))


def binary_cells(q: pd.DataFrame, model_ids: Sequence[str]) -> bool:
    """True when every cell of these models holds one request (exact McNemar applies)."""
    rows = q[q["model_id"].isin(list(model_ids))]
    return bool(len(rows)) and bool((rows["n"] == 1).all())


# --- Latency -------------------------------------------------------------------------------

LATENCY_COLUMNS = ["e2e_s", "ttft_s", "output_tps", "tpot_s"]


def latency_samples(df: pd.DataFrame, keys: Sequence[str], level: int | None = None) -> pd.DataFrame:
    """The warm requests that latency figures at one level are taken over, per ``keys`` group.

    The level is ``level`` when given, else each group's lowest measured level. A timed-out
    request counts with ``e2e_s = inf`` (it took longer than any answer); other hard
    failures carry no latency. Columns: keys, level, e2e_s, ttft_s, output_tps, tpot_s, cold.
    """
    keys = list(keys)
    cols = [*keys, LEVEL, *LATENCY_COLUMNS, "cold"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    timeout = df["status"].eq("failed") & (df["failure_kind"].eq("timeout") if "failure_kind" in df else False)
    ok = df["status"].eq("ok")
    use = ok | timeout
    sub = df.loc[use, [k for k in dict.fromkeys([*keys, *LATENCY_COLUMNS, "cold_start", "concurrency"]) if k in df]]
    out = pd.DataFrame({k: sub[k] for k in keys})
    out[LEVEL] = level_of(sub)
    t = timeout[use]
    for col in LATENCY_COLUMNS:
        vals = pd.to_numeric(sub[col], errors="coerce") if col in sub else pd.Series(np.nan, index=sub.index)
        out[col] = vals.where(~t, np.inf if col == "e2e_s" else np.nan)
    out["cold"] = sub["cold_start"].fillna(False).astype(bool) if "cold_start" in sub else False
    if level is not None:
        out = out[out[LEVEL].eq(level).fillna(False).astype(bool)]
    elif len(out):
        lowest = out.groupby(keys, sort=False, dropna=False, observed=True)[LEVEL].transform("min")
        out = out[out[LEVEL].eq(lowest).fillna(False).astype(bool) | lowest.isna()]
    return out.reindex(columns=cols).reset_index(drop=True)


def latency_summary(samples: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Warm p50/p95 end-to-end, p50 TTFT and p50 decode speed per group, and the cold start
    (median end-to-end of the cold requests at the same level). Timeouts are ``inf`` in the
    end-to-end quantiles and absent from TTFT and speed."""
    keys = list(keys)
    cols = [*keys, LEVEL, "requests", "timeouts", "ttft_p50_s", "latency_p50_s", "latency_p95_s", "output_tps_p50"]
    cols += ["cold_start_s"]
    if samples.empty:
        return pd.DataFrame(columns=cols)
    warm = samples[~samples["cold"]]
    g = warm.groupby(keys, sort=True, dropna=False, observed=True)
    out = pd.DataFrame(
        {
            LEVEL: g[LEVEL].first(),
            "requests": g.size(),
            "timeouts": g["e2e_s"].agg(lambda s: int(np.isinf(s).sum())),
            "ttft_p50_s": g["ttft_s"].median(),
            "latency_p50_s": _group_quantile(g, warm["e2e_s"], 0.5),
            "latency_p95_s": _group_quantile(g, warm["e2e_s"], 0.95),
            "output_tps_p50": g["output_tps"].median(),
        }
    )
    cold = samples[samples["cold"] & np.isfinite(samples["e2e_s"].astype(float))]
    out = out.join(
        cold.groupby(keys, sort=True, dropna=False, observed=True)["e2e_s"].median().rename("cold_start_s"), how="outer"
    )
    return out.reset_index().reindex(columns=cols)


def _group_quantile(g: DataFrameGroupBy, values: pd.Series, q: float) -> pd.Series:
    """The sample quantile (linear interpolation, NaN left out) of ``values`` in every group of
    ``g``, with ``inf`` allowed: interpolating between a finite value and ``inf`` gives ``inf``,
    as a censored request should. One sort for all groups, not a Python call per group (at
    10^5 cells the per-group calls dominated the latency figures)."""
    codes = g.ngroup().to_numpy()
    vals = values.to_numpy(dtype=float)
    keep = ~np.isnan(vals)
    codes, vals = codes[keep], vals[keep]
    order = np.lexsort((vals, codes))
    codes, vals = codes[order], vals[order]
    counts = np.bincount(codes, minlength=g.ngroups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    out = np.full(g.ngroups, np.nan)
    has = counts > 0
    pos = (counts[has] - 1) * q
    lo, hi = np.floor(pos).astype(np.intp), np.ceil(pos).astype(np.intp)
    a, b = vals[starts[has] + lo], vals[starts[has] + hi]
    with np.errstate(invalid="ignore"):
        between = np.where(np.isinf(b), np.inf, a + (b - a) * (pos - lo))
    out[has] = np.where((lo == hi) | (a == b), a, between)
    return pd.Series(out, index=g.size().index)


def cell_latency(df: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Median warm end-to-end latency per (model, case, level, *by) cell (timeouts as ``inf``)."""
    keys = ["model_id", "case_id", *by]
    s = latency_samples(df, [*keys, "concurrency"] if "concurrency" in df else keys)
    s = s[~s["cold"]]
    if s.empty:
        return pd.DataFrame(columns=[*CELL_KEYS, *by, "latency_p50_s"])
    g = s.groupby([*keys, LEVEL], sort=True, dropna=False, observed=True)
    return _group_quantile(g, s["e2e_s"], 0.5).rename("latency_p50_s").reset_index()


def run_cells(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per run: one row per model × case × load level of that run, the evidence cells with runs
    kept apart, the cell's warm median latency and the first reason a request of it failed
    (the run pages' per-case table). Computed once for the archive and split by run, so a run
    page reads its own rows instead of filtering every run's.

    The base cells are already one row per (model, case, level, run), the grain of
    ``cells(base, by=["run_id"])``; their means are taken on them directly (``runs`` is 1).
    """
    base = base_cells(df)
    if base.empty:
        return {}
    c = base.copy()
    c["runs"] = c["run_id"].notna().astype(int)
    c = _with_means(c)
    keys = ["run_id", "model_id", "case_id", LEVEL]
    lat = cell_latency(df, by=["run_id"])
    c = c.merge(lat, on=keys, how="left") if len(lat) else c.assign(latency_p50_s=float("nan"))
    reason = df["failure_summary"] if "failure_summary" in df else pd.Series(None, index=df.index, dtype=object)
    has = reason.fillna("").astype(str).str.len() > 0
    why = pd.DataFrame({k: df[k] for k in keys[:3]})
    why[LEVEL] = level_of(df)
    why["why"] = reason
    first = why[has].groupby(keys, sort=True, dropna=False, observed=True)["why"].first().reset_index()
    c = c.merge(first, on=keys, how="left")
    c["why"] = c["why"].fillna("")
    return {str(k): part for k, part in c.groupby("run_id", sort=False, dropna=True, observed=True)}
