"""Claimed versus derived: what a seed document says, and what its own stated inputs give.

Pure. A check never bends a formula to meet a claim: it records the claim's text,
the number parsed from it, the figure the one general formula derives from the
stated inputs, every input, the tolerance used, and whether the two agree.

Agreement: ``|derived − claimed| ≤ max(rel_tol × |claimed|, half the claim's last
stated unit)``. "~389M" is stated to the million, so anything that rounds to it
agrees; "$16,176" is stated to the dollar, so only ``rel_tol`` can absorb a
difference. The relative tolerance is a parameter (the CLI's ``--tolerance``).

The seed claims that the registry has no field for yet (the throughput table,
decode speed, memory footprints and electricity figures of the seed site "Local
Inference Machine") are quoted below as data, each with the words it came from.
They are claims to be checked, never inputs to a formula.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

SEED_SITE = "seed site 'Local Inference Machine' (seeds/004)"

# The comparison tolerance the CLI offers by default (``--tolerance``): a reading
# aid for quoted figures, not a gate of the bench.
DEFAULT_REL_TOL = 0.02

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
    return ParsedNumber(
        value=sign * float(digits) * mult, unit=10.0**-decimals * mult, text=m.group(0).strip()
    )


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


# --------------------------------------------------------------------------- quoted seed claims


@dataclass(frozen=True)
class ThroughputClaim:
    """A row of the seed's "Throughput ceiling" table: stated tok/s and the month it implies."""

    machine: str
    model: str
    stated_tps: float
    claim: str


@dataclass(frozen=True)
class DecodeClaim:
    """A stated decode speed for a model on a machine, with the bytes per token the seed gives."""

    machine: str
    model: str
    claim: str
    claimed_tps: float
    stated_gb_per_token: float | None = None


@dataclass(frozen=True)
class MemoryClaim:
    """A stated memory footprint for a model's weights."""

    model: str
    claim: str
    claimed_gb: float


@dataclass(frozen=True)
class ElectricityClaim:
    """A stated monthly electricity cost for a machine at a stated daily duty."""

    machine: str
    hours_per_day: float
    claim: str
    claimed_monthly: float


@dataclass(frozen=True)
class ElectricitySavingClaim:
    """A stated saving of one machine's electricity over another's across a window."""

    cheaper: ElectricityClaim
    dearer: ElectricityClaim
    months: int
    claim: str


# "A 128 GB Mac Studio (546 GB/s) running one model 24/7 has a hard cap:"
SEED_THROUGHPUT_TABLE: tuple[ThroughputClaim, ...] = (
    ThroughputClaim("mac-studio-m4-max-128", "gemma4-e2b", 150, "~389M"),
    ThroughputClaim("mac-studio-m4-max-128", "glm-4.7-flash", 120, "~311M"),
    ThroughputClaim("mac-studio-m4-max-128", "qwen3-coder-next", 100, "~259M"),
    ThroughputClaim("mac-studio-m4-max-128", "gemma4-26b", 90, "~233M"),
    ThroughputClaim("mac-studio-m4-max-128", "gpt-oss-120b", 60, "~155M"),
)

SEED_DECODE_CLAIMS: tuple[DecodeClaim, ...] = (
    DecodeClaim(
        "mac-studio-m4-max-128",
        "gpt-oss-120b",
        "reads only ~10 GB of weights per token ... (546 GB/s bandwidth), that translates to ~55 tok/s",
        55,
        10.0,
    ),
)

SEED_MEMORY_CLAIMS: tuple[MemoryClaim, ...] = (
    MemoryClaim("glm-4.7-flash", "GLM-4.7-Flash RAM: ~4 GB", 4),
    MemoryClaim("gpt-oss-120b", "Native format MXFP4 (~80 GB on disk)", 80),
)

_MAC_150 = ElectricityClaim("mac-studio-m4-max-128", 8, "Mac Studio (8h/day): ~150 SEK/month", 150)
_RTX_450 = ElectricityClaim("rtx-5090-pc", 8, "RTX 5090 PC (8h/day): ~450 SEK/month", 450)
SEED_ELECTRICITY_CLAIMS: tuple[ElectricityClaim, ...] = (_MAC_150, _RTX_450)
SEED_ELECTRICITY_SAVING = ElectricitySavingClaim(_MAC_150, _RTX_450, 36, "~10,800 SEK saved over 36 months")
