"""Load levels: which rows a latency figure may pool.

A request's latency depends on how many others were in flight with it, so a
median over a run swept at 1 and 4 requests in flight describes neither level.
Single-figure latencies (leaderboards, measured decode speed, latency gates by
default) are therefore taken at each group's *lowest* measured load level: one
request in flight, as a rule. The model pages show every level separately.
"""

from __future__ import annotations

import pandas as pd


def at_lowest_level(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows at each ``keys`` group's lowest load level (``concurrency``).

    Rows whose level is unknown (some ingested formats) count only in a group where
    no level is known at all. A frame without the column is returned whole.
    """
    if df.empty or "concurrency" not in df.columns:
        return df
    level = df["concurrency"]
    lowest = level.groupby([df[k] for k in keys], observed=True, dropna=False).transform("min")
    return df[level.eq(lowest).fillna(False).astype(bool) | lowest.isna()]


def lowest_level(df: pd.DataFrame) -> int | None:
    """The lowest load level in ``df``, or None when it records none."""
    if df.empty or "concurrency" not in df.columns or not df["concurrency"].notna().any():
        return None
    return int(df["concurrency"].min())
