"""Records as strict JSON, for ``--json`` output and the site's data files alike.

A library function (not a CLI helper) because analysis (``routing_text``) and the
commands both print the same records.
"""

from __future__ import annotations

from typing import Any


def json_safe(value: Any) -> Any:
    """Records as strict JSON: dataclasses and pydantic models as objects, non-finite floats as
    null (an interval without a bound, a p95 over timed-out requests), the rest by ``str``."""
    import dataclasses
    import math

    from pydantic import BaseModel

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return json_safe(value.model_dump())
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return json_safe(value.item())
    return str(value)
