"""Claimed versus derived: what a seed document says, and what its own stated inputs give.

Pure. A check never bends a formula to meet a claim: it records the claim's text,
the number parsed from it, the figure the one general formula derives from the
stated inputs, every input, the tolerance used, and whether the two agree.

Agreement: ``|derived − claimed| ≤ max(rel_tol × |claimed|, half the claim's last
stated unit)``. "~389M" is stated to the million, so anything that rounds to it
agrees; "$16,176" is stated to the dollar, so only ``rel_tol`` can absorb a
difference. The relative tolerance is a parameter: ``policy.yaml`` ``claims.rel_tolerance``,
which the CLI's ``--tolerance`` overrides.

The claims themselves are registry data, each with the words it came from:
``seed_claims`` of a workload (ROI) or a pricing scenario, and ``hardware.yaml``'s
``seed_claims`` block (throughput table, decode speed, memory footprints,
electricity). They are claims to be checked, never inputs to a formula.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

_SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9}
_NUMBER_RE = re.compile(
    r"(?P<sign>[+\-−])?(?:SEK\s*|\$\s*)?(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<suffix>[kKMB](?![A-Za-z]))?"
)


@dataclass(frozen=True)
class ParsedNumber:
    """A number read from a claim, with the unit of its last stated digit."""

    value: float
    unit: float  # "13k" -> 1000, "16,176" -> 1, "2.5" -> 0.1
    text: str


def parse_number(text: str) -> ParsedNumber | None:
    """The first number in ``text``.

    ``"about $16,176"`` -> 16176, ``"-13k SEK"`` -> -13000, ``"~389M"`` -> 3.89e8.
    """
    m = _NUMBER_RE.search(text)
    if m is None:
        return None
    digits = m.group("num").rstrip(",").replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    mult = _SUFFIX.get(m.group("suffix") or "", 1.0)
    sign = -1.0 if m.group("sign") in ("-", "−") else 1.0
    return ParsedNumber(value=sign * float(digits) * mult, unit=10.0**-decimals * mult, text=m.group(0).strip())


def tolerance_for(claimed: ParsedNumber, rel_tol: float) -> float:
    """Absolute tolerance: the larger of ``rel_tol`` of the claim and half its last stated unit."""
    return max(rel_tol * abs(claimed.value), claimed.unit / 2)


def agrees(claimed: ParsedNumber, derived: float, rel_tol: float) -> bool:
    tol = tolerance_for(claimed, rel_tol)
    return abs(derived - claimed.value) <= tol * (1 + 1e-9) + 1e-12


def fmt_num(x: float | None, digits: int = 2) -> str:
    """A readable figure: ``388800000`` -> ``388.8M``, ``40000`` -> ``40,000``, ``25.316`` -> ``25.32``."""
    if x is None:
        return "-"
    if math.isinf(x) or math.isnan(x):
        return str(x)
    for scale, suffix, places in ((1e9, "B", 2), (1e6, "M", 1)):
        if abs(x) >= scale:
            scaled = f"{x / scale:,.{places}f}".rstrip("0").rstrip(".")
            return f"{scaled}{suffix}"
    if abs(x - round(x)) < 1e-9:
        return f"{round(x):,}"
    text = f"{x:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass
class SeedCheck:
    """One seed claim set against the figure its own stated inputs give."""

    subject: str
    source: str
    claim: str
    claimed: float | None
    derived: float | None
    unit: str
    consistent: bool | None  # None: nothing comparable (the explanation says why)
    tolerance: float | None  # absolute, in ``unit``
    rel_tol: float
    formula: str
    inputs: dict[str, Any] = field(default_factory=dict)
    explanation: str = ""

    @property
    def verdict(self) -> str:
        return {True: "consistent", False: "INCONSISTENT", None: "not checked"}[self.consistent]


def check_seed_claim(
    subject: str,
    claim: str,
    derived: float | None,
    *,
    unit: str,
    formula: str,
    inputs: dict[str, Any],
    rel_tol: float,
    source: str,
    claimed: ParsedNumber | None = None,
    note: str = "",
) -> SeedCheck:
    """Compare the number in ``claim`` (or ``claimed``) with ``derived`` and explain the result."""
    parsed = claimed if claimed is not None else parse_number(claim)
    if parsed is None or derived is None:
        why = "no number in the claim" if parsed is None else "no derived figure to compare"
        return SeedCheck(
            subject=subject,
            source=source,
            claim=claim,
            claimed=None if parsed is None else parsed.value,
            derived=derived,
            unit=unit,
            consistent=None,
            tolerance=None,
            rel_tol=rel_tol,
            formula=formula,
            inputs=inputs,
            explanation=" ".join(x for x in (f"not checked: {why}.", note) if x),
        )
    tol = tolerance_for(parsed, rel_tol)
    ok = agrees(parsed, derived, rel_tol)
    diff = derived - parsed.value
    rel = abs(diff) / abs(parsed.value) if parsed.value else math.inf
    head = f"{formula} = {fmt_num(derived)} {unit}; the seed says {claim!r}"
    if ok:
        body = f"consistent within ±{fmt_num(tol)} {unit} (rounding or {rel_tol:.0%})."
    else:
        body = (
            f"INCONSISTENT: off by {fmt_num(diff)} {unit} ({rel * 100:.3g}%), "
            f"more than ±{fmt_num(tol)} {unit} (rounding or {rel_tol:.0%})."
        )
    return SeedCheck(
        subject=subject,
        source=source,
        claim=claim,
        claimed=parsed.value,
        derived=derived,
        unit=unit,
        consistent=ok,
        tolerance=tol,
        rel_tol=rel_tol,
        formula=formula,
        inputs=inputs,
        explanation=" ".join(x for x in (f"{head}: {body}", note) if x),
    )
