"""Everything the pages are made from, computed once per build (pure analysis results)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from generator.aggregates import PERF_COLUMNS, SUMMARY_COLUMNS
from generator.analysis.capacity import CapacityRow, capacity_matrix, seed_capacity_checks
from generator.analysis.cost import CostReport, cost_report, fx_rate
from generator.analysis.decisions import Decision, decide
from generator.analysis.leaderboard import cost_column, evidence_cells, leaderboard, with_cost_per_task
from generator.analysis.promotion import PromotionOutcome, promotion_outcomes
from generator.analysis.roi import RoiResult, roi_report
from generator.analysis.seedcheck import SeedCheck
from generator.execute.records import Manifest
from generator.privacy import localities
from generator.registry.loader import Registry

T = TypeVar("T")


@dataclass
class SiteData:
    reg: Registry
    df: pd.DataFrame
    manifests: list[Manifest]
    decisions: dict[str, list[Decision]]
    promotions: list[PromotionOutcome]
    roi: dict[str, RoiResult]
    capacity: list[CapacityRow]
    capacity_checks: list[SeedCheck]
    cost: CostReport
    summaries: pd.DataFrame
    perf: pd.DataFrame
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def once(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` the first time ``key`` is asked for in this build, the stored value after.

        Pages share whole-frame analyses this way: a model page reads its rows of the one
        leaderboard over every model instead of filtering a million rows and grouping again.
        """
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def board(self, by: list[str] | None = None) -> pd.DataFrame:
        """The leaderboard (with its cost column) over every result, per ``by`` group."""
        by = list(by or [])
        stats = self.reg.policy.statistics
        return self.once(
            ("board", *by),
            lambda: cost_column(leaderboard(self.df, by or None, stats=stats, q=self.quality(by)), self.df, by or None),
        )

    def quality(self, by: list[str] | None = None) -> pd.DataFrame:
        """The evidence table's quality cells (runs apart when ``by`` names run_id), computed once."""
        extra = [k for k in (by or []) if k == "run_id"]
        return self.once(("quality", *extra), lambda: evidence_cells(self.df, extra))

    def board_of(self, column: str, value: str, by: list[str] | None = None) -> pd.DataFrame:
        """The rows of :meth:`board` over ``[column, *by]`` whose ``column`` is ``value``: the
        same numbers ``leaderboard`` gives on that value's results alone, in the same order."""
        keys = [column, *(by or [])] if column != "model_id" else list(by or [])
        board = self.board(keys)
        rows = board[board[column] == value]
        if column != "model_id":
            rows = rows.drop(columns=column)
        return rows.reset_index(drop=True)

    def measured(self, column: str) -> set[str]:
        """The values of ``column`` that have at least one result."""
        return self.once(("measured", column), lambda: set(self.df[column].dropna()) if not self.df.empty else set())


def gather(
    reg: Registry,
    df: pd.DataFrame,
    manifests: list[Manifest],
    summaries: pd.DataFrame | None = None,
    perf: pd.DataFrame | None = None,
) -> SiteData:
    pricing = reg.pricing
    prices = {
        m.id: (m.price_input_per_mtok or 0.0, m.price_output_per_mtok or 0.0, fx_rate(pricing, m.currency))
        for m in reg.models_file.models
        if m.cost_tier == "paid"
    }
    machines = {m.id: m for m in reg.hardware.machines}
    run_energy = {
        m.run_id: (machines[m.settings.machine].power_w, pricing.electricity_price_per_kwh)
        for m in manifests
        if m.settings.machine in machines
    }
    if not df.empty:
        df = with_cost_per_task(df, prices, run_energy)
    rel_tol = reg.policy.claims.rel_tolerance
    roi = {r.workload_id: r for r in roi_report(reg.workloads_file.workloads, rel_tol=rel_tol)}
    excerpt = reg.policy.scoring.output_excerpt_chars
    stats = reg.policy.statistics
    q = evidence_cells(df)
    postures = localities(reg.models, reg.policy.privacy)
    decisions = {
        w.id: decide(
            df,
            w,
            reg.policy.decisions,
            w.candidates,
            stats,
            excerpt,
            roi[w.id].net_per_month if w.id in roi else None,
            q=q,
            privacy=reg.policy.privacy,
            postures=postures,
        )
        for w in reg.workloads_file.workloads
    }
    promotions = promotion_outcomes(q, reg.roles_file.roles, reg.models, reg.policy.promotion, stats)
    capacity = capacity_matrix(reg.hardware.machines, reg.models_file.models, reg.hardware.capacity)
    checks = seed_capacity_checks(
        machines, reg.models, reg.hardware.capacity, reg.hardware.seed_claims, rel_tol=rel_tol
    )
    cost = cost_report(pricing, reg.hardware, reg.models, rel_tol=rel_tol)
    data = SiteData(
        reg,
        df,
        manifests,
        decisions,
        promotions,
        roi,
        capacity,
        checks,
        cost,
        summaries if summaries is not None else pd.DataFrame(columns=SUMMARY_COLUMNS),
        perf if perf is not None else pd.DataFrame(columns=PERF_COLUMNS),
    )
    data._cache[("quality",)] = q
    return data
