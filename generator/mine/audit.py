"""Read a person's audit of mined prompts: a CSV with columns ``id`` and ``tier``.

The ids are the ones ``opsbench mine`` printed for the audit sample (a Claude Code line's
``uuid``): the person finds each prompt in their own history (``grep ID``), decides the
smallest tier that can handle it, and writes one row per id. Other columns (notes) are
allowed and never read, so nothing a person writes there is stored.

Every problem is collected and reported as ``file:line: message``; nothing is used unless
the whole file is good.
"""

from __future__ import annotations

import csv
from pathlib import Path

from generator.errors import InputError, Problem
from generator.registry.yamlio import display_path


def read_audit(path: Path, tiers: list[str], known_ids: set[str]) -> dict[str, str]:
    """id -> the person's tier. Unknown tiers, ids not in the history and repeats are problems."""
    shown = display_path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(shown, None, f"cannot read the audit file: {exc}")]) from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in ("id", "tier") if c not in header]
    if missing:
        raise InputError(
            [Problem(shown, 1, f"the audit file needs columns id and tier (missing: {', '.join(missing)})")]
        )
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for row in reader:
        n = reader.line_num
        ident = (row.get("id") or "").strip()
        tier = (row.get("tier") or "").strip()
        if not ident:
            problems.append(Problem(shown, n, "empty id"))
            continue
        if not tier:
            continue  # not audited yet: a blank tier is no verdict
        if tier not in tiers:
            problems.append(Problem(shown, n, f"unknown tier {tier!r} (one of: {', '.join(tiers)})"))
        elif ident in out:
            problems.append(Problem(shown, n, f"id {ident!r} is audited twice"))
        elif ident not in known_ids:
            problems.append(Problem(shown, n, f"id {ident!r} is not a prompt of this history"))
        else:
            out[ident] = tier
    if problems:
        raise InputError(problems)
    return out
