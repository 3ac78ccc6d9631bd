"""What every registry file shares: the strict base model, safe slugs, bounded numbers,
the schema version and the one regex check."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

# A safe slug: lower-case letters, digits, dot, dash, underscore; starts with a
# letter or digit. It can never contain a path separator or "..", so ids are safe
# to use as file and page names.
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9_-]+)*$")


def _check_slug(value: str) -> str:
    if not SLUG_RE.fullmatch(value) or len(value) > 80:
        raise ValueError(
            f"unsafe id {value!r}: use lower-case letters, digits, '-', '_' or single dots, "
            "starting with a letter or digit (at most 80 characters)"
        )
    return value


Slug = Annotated[str, Field(min_length=1, max_length=80)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Strict(BaseModel):
    """Base for registry records: unknown keys are errors, values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=False, frozen=False)


def _check_regex(value: str) -> str:
    """A contributor's regex must compile (one rule for every pattern field)."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"regex does not compile: {exc}") from None
    return value
