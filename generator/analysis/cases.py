"""Per-case drill-down and two-model comparison: which result a case page shows, and what
two models' shared cases say. Pure: frames and policy records in, frames and records out.

A case page shows, per model, one result: the latest run's (run order is the manifests'
order, oldest first), at the lowest load level, last repeat. Older runs and repeats stay in
each run's ``results.jsonl`` download, so the page size does not grow with the archive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from generator.analysis import stats as st
from generator.analysis.compare import Paired, paired
from generator.analysis.evidence import LEVEL, binary_cells, case_means, cell_latency, level_of, shared
from generator.registry.schema import StatisticsPolicy

_UNSAFE = re.compile(r"[^a-z0-9]+")


def safe_slug(text: str, taken: set[str], fallback: str = "case") -> str:
    """A path segment from contributor text: lower-case ASCII letters, digits and dashes only,
    never empty, never ``.``/``..``, and unique within ``taken`` (a suffix ``-2``, ``-3`` … when
    two texts slug alike). The raw text is never used as a path."""
    base = _UNSAFE.sub("-", str(text).lower()).strip("-")[:80].strip("-") or fallback
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    taken.add(slug)
    return slug


def case_paths(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(suite, case id) → docs path ``cases/<suite>/<case>.md``, both segments safe slugs."""
    suites: dict[str, str] = {}
    taken_suites: set[str] = {"models", "index"}  # cases/models/ and cases/index.md are other pages
    taken_cases: dict[str, set[str]] = {}
    out: dict[tuple[str, str], str] = {}
    for suite, case_id in sorted(set(keys)):
        if suite not in suites:
            suites[suite] = safe_slug(suite, taken_suites, "suite")
        seg = suites[suite]
        out[(suite, case_id)] = f"cases/{seg}/{safe_slug(case_id, taken_cases.setdefault(seg, set()))}.md"
    return out


def model_slugs(model_ids: Iterable[str]) -> dict[str, str]:
    """Model id → a safe, unique path segment (ingested results may carry any model name)."""
    taken: set[str] = set()
    return {m: safe_slug(m, taken, "model") for m in sorted(set(model_ids))}


SHOWN_COLUMNS = [
    "run_id",
    "model_id",
    "suite",
    "case_id",
    "repeat",
    "concurrency",
    "status",
    "failure_kind",
    "accepted",
    "failure_summary",
    "ttft_s",
    "e2e_s",
    "output_tps",
    "prompt_tokens",
    "completion_tokens",
]


def latest_results(df: pd.DataFrame, run_order: Sequence[str]) -> pd.DataFrame:
    """The one result per model × suite × case that a case page shows: latest run, lowest load
    level, last repeat. ``run_order`` lists run ids oldest first (the manifests' order)."""
    if df.empty:
        return pd.DataFrame(columns=[*SHOWN_COLUMNS, "runs_with_case"])
    rank = {r: i for i, r in enumerate(run_order)}
    d = df[[c for c in SHOWN_COLUMNS if c in df.columns]].copy()
    d["_run"] = d["run_id"].map(rank).fillna(-1)
    d["_level"] = level_of(df)
    keys = ["model_id", "suite", "case_id"]
    runs = d.groupby(keys, observed=True)["run_id"].nunique().rename("runs_with_case")
    d = d.sort_values(["_run", "_level", "repeat"], ascending=[True, False, True], kind="mergesort")
    d = d.drop_duplicates(keys, keep="last").merge(runs.reset_index(), on=keys, how="left")
    return d.drop(columns=["_run", "_level"]).sort_values(keys, kind="mergesort").reset_index(drop=True)


def cut(text: str, limit: int) -> tuple[str, int]:
    """``text`` cut at a word boundary at or before ``limit`` characters: (shown, characters left
    out). A single word longer than the limit is cut inside it rather than shown whole."""
    if len(text) <= limit:
        return text, 0
    head = text[:limit]
    space = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if space > limit // 2:
        head = head[:space]
    head = head.rstrip()
    return head, len(text) - len(head)


# --------------------------------------------------------------------------- two models


@dataclass
class PairComparison:
    """Model B against model A on the cases both have (quality at each cell's lowest level)."""

    a: str
    b: str
    paired: Paired
    both: list[str] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    neither: list[str] = field(default_factory=list)
    latency_a: float | None = None  # median over shared cases of each case's warm p50 (s)
    latency_b: float | None = None
    tokens_a: float | None = None  # mean completion tokens over shared cases
    tokens_b: float | None = None


def shared_pairs(q: pd.DataFrame, model_ids: Sequence[str]) -> list[tuple[str, str, int]]:
    """Pairs (a, b, shared cases) of the given models, in the given order, that share a measured case."""
    sets = {m: set(q.loc[q["model_id"] == m, "case_id"]) for m in model_ids}
    out = []
    for i, a in enumerate(model_ids):
        for b in model_ids[i + 1 :]:
            n = len(sets[a] & sets[b])
            if n:
                out.append((a, b, n))
    return out


@dataclass
class PairInputs:
    """Per-model series every comparison reads, computed once for all pairs (a board of
    40 models has 780 pairs; filtering the whole frame per pair would dominate the build)."""

    means: dict[str, pd.Series]  # case -> acceptance mean of the cell
    single: dict[str, bool]  # every cell of the model holds one request
    latency: dict[str, pd.Series]  # case -> warm median latency at the case's lowest level (s)
    tokens: dict[str, pd.Series]  # case -> mean completion tokens


def pair_inputs(df: pd.DataFrame, q: pd.DataFrame, model_ids: Sequence[str]) -> PairInputs:
    present = set(q["model_id"].unique())
    models = [m for m in model_ids if m in present]
    out = PairInputs({}, {}, {}, {})
    for m in models:
        out.means[m] = case_means(q, m)
        out.single[m] = binary_cells(q, [m])
    d = df[df["model_id"].isin(models)]
    lat = cell_latency(d) if len(d) else pd.DataFrame(columns=["model_id", "case_id", LEVEL, "latency_p50_s"])
    if len(lat):
        lat = lat[lat[LEVEL] == lat.groupby(["model_id", "case_id"])[LEVEL].transform("min")]
    tok = pd.to_numeric(d["completion_tokens"], errors="coerce") if len(d) else pd.Series(dtype=float)
    tok_means = tok.groupby([d["model_id"], d["case_id"]]).mean() if len(d) else pd.Series(dtype=float)
    for m in models:
        rows = lat[lat["model_id"] == m]
        out.latency[m] = pd.Series(
            pd.to_numeric(rows["latency_p50_s"], errors="coerce").to_numpy(float), index=rows["case_id"].to_numpy()
        )
        out.tokens[m] = tok_means.xs(m, level=0) if m in tok_means.index.get_level_values(0) else pd.Series(dtype=float)
    return out


def _median(values: pd.Series) -> float | None:
    v = pd.to_numeric(values, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
    return float(v.median()) if len(v) else None


def _mean(values: pd.Series) -> float | None:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return float(v.mean()) if len(v) else None


def compare_pairs(
    inputs: PairInputs, pairs: Sequence[tuple[str, str]], policy: StatisticsPolicy
) -> list[PairComparison]:
    """:func:`compare_pair` of every pair, their bootstrap intervals resampled together (one matrix
    product for the pairs of one shared-case count instead of one per pair: 780 pairs of a 40-model
    board cost about what one does). The same comparisons, bit for bit."""
    diffs = []
    for a, b in pairs:
        va, vb, _ = shared(inputs.means[a], inputs.means[b])
        diffs.append(vb - va)
    st.bootstrap_mean_cis(diffs, n_resamples=policy.bootstrap_resamples, seed=policy.seed)
    return [compare_pair(inputs, a, b, policy) for a, b in pairs]


def compare_pair(inputs: PairInputs, a: str, b: str, policy: StatisticsPolicy) -> PairComparison:
    """Paired difference (B − A) with its interval, the agreement grid and latency side by side.

    A case counts as passed by a model when every request of its cell was accepted (the cell
    mean is 1); the paired figure itself uses the cell means, repeats averaged. Latency is the
    median over shared cases of each case's warm median; tokens the mean over shared cases."""
    ma, mb = inputs.means[a], inputs.means[b]
    p = paired(ma, mb, policy, binary=inputs.single[a] and inputs.single[b], names=(a, b))
    out = PairComparison(a, b, p)
    va, vb, _ = shared(ma, mb)  # the values on p.cases, in that order
    for case, pa, pb in zip(p.cases, (va >= 1.0).tolist(), (vb >= 1.0).tolist(), strict=True):
        (out.both if pa and pb else out.only_a if pa else out.only_b if pb else out.neither).append(case)
    shared_cases = pd.Index(p.cases)
    out.latency_a = _median(inputs.latency[a].reindex(shared_cases))
    out.latency_b = _median(inputs.latency[b].reindex(shared_cases))
    out.tokens_a = _mean(inputs.tokens[a].reindex(shared_cases))
    out.tokens_b = _mean(inputs.tokens[b].reindex(shared_cases))
    return out
