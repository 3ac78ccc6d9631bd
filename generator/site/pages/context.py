"""Everything the pages are made from, computed once per build (pure analysis results)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from generator.analysis.calibration import Calibration, calibrate_from
from generator.analysis.capacity import CapacityRow, capacity_matrix
from generator.analysis.capacity_claims import seed_capacity_checks
from generator.analysis.cost import CostReport, cost_report
from generator.analysis.decisions import Decision
from generator.analysis.economics import WorkloadEconomics
from generator.analysis.evidence import distinct
from generator.analysis.leaderboard import cost_column, evidence_cells, leaderboard, priced_rows
from generator.analysis.promotion import PromotionOutcome, promotion_outcomes
from generator.analysis.review import ReviewReport
from generator.analysis.roi import RoiResult, roi_report
from generator.analysis.seedcheck import SeedCheck
from generator.analysis.verdicts import assemble
from generator.registry.loader import Registry
from generator.runs.records import Manifest, PerfRecord
from generator.runs.scan import PERF_COLUMNS, SUMMARY_COLUMNS

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
    review: ReviewReport | None = None
    economics: dict[str, WorkloadEconomics] = field(default_factory=dict)
    calibration: Calibration | None = None
    routing: dict[str, Any] = field(default_factory=dict)  # workload -> routing.WorkloadRouting
    routing_claims: list[Any] = field(default_factory=list)  # rails.RoutingClaimResult
    # Whole output texts of the results pages show, (run id, result key) -> text: read from the
    # run store at the edge (site/build.py read_case_outputs), never kept for every row.
    outputs: dict[tuple[str, str], str] = field(default_factory=dict)
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
        return self.once(
            ("measured", column), lambda: distinct(self.df[column].dropna()) if not self.df.empty else set()
        )


def gather(
    reg: Registry,
    df: pd.DataFrame,
    manifests: list[Manifest],
    summaries: pd.DataFrame | None = None,
    perf: pd.DataFrame | None = None,
    review: ReviewReport | None = None,
    perf_records: dict[str, list[PerfRecord]] | None = None,
) -> SiteData:
    pricing = reg.pricing
    machines = {m.id: m for m in reg.hardware.machines}
    df = priced_rows(reg, df, manifests)
    rel_tol = reg.policy.claims.rel_tolerance
    roi = {r.workload_id: r for r in roi_report(reg.workloads_file.workloads, rel_tol=rel_tol)}
    stats = reg.policy.statistics
    q = evidence_cells(df)
    # Rails, then economics on the after-rails share, then decisions (analysis.verdicts).
    verdicts = assemble(reg, df, manifests, q)
    econ, routing, routing_claims = verdicts.economics, verdicts.routing, verdicts.claims
    decisions = verdicts.decisions
    promotions = promotion_outcomes(q, reg.roles_file.roles, reg.models, reg.policy.promotion, stats)
    calibration = calibrate_from(df, manifests, perf_records or {}, reg.hardware, reg.models)
    capacity = capacity_matrix(
        reg.hardware.machines, reg.models_file.models, reg.hardware.capacity, calibration=calibration
    )
    checks = seed_capacity_checks(
        machines, reg.models, reg.hardware.capacity, reg.hardware.seed_claims, rel_tol=rel_tol
    )
    cost = cost_report(pricing, reg.hardware, reg.models, rel_tol=rel_tol, calibration=calibration)
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
        review,
        econ,
        calibration,
    )
    data._cache[("quality",)] = q
    data.routing = routing
    data.routing_claims = routing_claims
    return data
