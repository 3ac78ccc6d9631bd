"""Records as strict JSON (generator/analysis/serialize.py), for --json output and data files."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from generator.analysis.serialize import json_safe


@dataclass
class Interval:
    low: float
    high: float


class Row(BaseModel):
    model_id: str
    p95_s: float


def test_json_safe_records_and_non_finite() -> None:
    value = {
        "interval": Interval(0.25, math.inf),  # an interval without an upper bound
        "row": Row(model_id="m", p95_s=math.nan),  # a p95 over timed-out requests
        "pair": (np.int64(3), np.float64(0.5)),
        1: None,
        "other": {1, 2} - {1, 2},  # anything else by str
    }
    got = json_safe(value)
    assert got == {
        "interval": {"low": 0.25, "high": None},
        "row": {"model_id": "m", "p95_s": None},
        "pair": [3, 0.5],
        "1": None,
        "other": "set()",
    }
    json.dumps(got, allow_nan=False)  # strict JSON: would raise on NaN or Infinity
