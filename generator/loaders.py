"""Read every run folder into one frame (the I/O edge in front of the analysis).

Result lines are parsed by Arrow's JSON reader straight into columns (only the fields
the frame needs) and flattened batch by batch, so a million results cost seconds and
a few hundred MB rather than a Python dict each (Arrow's reader already parses on every
core, so runs are read one after another). A run that Arrow cannot read exactly as
``load_run`` does (a damaged line, a value of another type) is read the slow way instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from generator.analysis.frames import (
    OUTPUT_KEEP_CHARS,
    RESULT_FIELDS,
    flat_batch,
    frame_from_flat,
    rows_to_flat,
)
from generator.execute.records import Manifest
from generator.execute.runstore import list_run_folders, load_run, load_run_table


def _read_run(folder: Path, output_chars: int | None) -> tuple[Manifest, Any]:
    import pyarrow as pa

    try:
        manifest, table = load_run_table(
            folder, RESULT_FIELDS, transform=lambda batch, m: flat_batch(batch, m.origin, output_chars)
        )
        return manifest, table.drop_columns(["key"])
    except pa.ArrowException:
        manifest, rows = load_run(folder)
        return manifest, rows_to_flat(rows, manifest.origin, output_chars)


def load_results(
    runs_dir: Path, output_chars: int | None = OUTPUT_KEEP_CHARS
) -> tuple[pd.DataFrame, list[Manifest]]:
    """All results of all runs, and the manifests, oldest run first.

    ``output_chars`` caps the output text kept per result (None keeps it whole); the site
    needs ``policy.scoring.output_excerpt_chars`` + 1 (the extra character shows the cut).
    """
    manifests: list[Manifest] = []
    parts: list[Any] = []
    for folder in list_run_folders(runs_dir):
        manifest, part = _read_run(folder, output_chars)
        manifests.append(manifest)
        parts.append(part)
    manifests.sort(key=lambda m: (m.created_at, m.run_id))
    return frame_from_flat(parts), manifests
