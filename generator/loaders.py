"""Read every run folder into one frame (the I/O edge in front of the analysis)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from generator.analysis.frames import results_frame
from generator.execute.records import Manifest
from generator.execute.runstore import list_run_folders, load_run


def load_results(runs_dir: Path) -> tuple[pd.DataFrame, list[Manifest]]:
    """All results of all runs, and the manifests, oldest run first."""
    manifests: list[Manifest] = []
    runs = []
    for folder in list_run_folders(runs_dir):
        manifest, rows = load_run(folder)
        manifests.append(manifest)
        runs.append((manifest.origin, rows))
    manifests.sort(key=lambda m: (m.created_at, m.run_id))
    return results_frame(runs), manifests
