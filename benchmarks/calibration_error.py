"""Leave-one-out error of the capacity calibration, on the ingested llama-bench results and our runs.

Usage (from the repository root):

    python benchmarks/calibration_error.py [--runs runs] [--registry registry] [LLAMA_BENCH_FILE ...]

Each llama-bench file (default: the checked-in fixtures under
``tests/fixtures/ingest/llama-bench/``) is ingested with ``opsbench ingest llama-bench``
into a temporary folder (``--model`` names the registry model, default llama3.1-8b, the
model of the fixtures), so the figures come from ingested results exactly as the site
reads them; the runs folder is read as it is and never written. Prints one line per
measurement (efficiency, leave-one-out prediction and error, and the pool it was
predicted from) and the mean and largest absolute error per origin.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from generator.analysis.calibration import calibrate_from, fit_calibration  # noqa: E402
from generator.cli.ingest import ingest  # noqa: E402
from generator.registry.loader import load_registry  # noqa: E402
from generator.runs.scan import load_perf_records, load_results  # noqa: E402

FIXTURES = sorted((ROOT / "tests" / "fixtures" / "ingest" / "llama-bench").glob("llama-bench.*"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, default=FIXTURES)
    ap.add_argument("--runs", type=Path, default=ROOT / "runs")
    ap.add_argument("--registry", type=Path, default=ROOT / "registry")
    ap.add_argument("--model", default="llama3.1-8b", help="registry model of the llama-bench files")
    args = ap.parse_args()

    reg = load_registry(args.registry)
    own_df, own_manifests = load_results(args.runs)
    own = calibrate_from(own_df, own_manifests, load_perf_records(args.runs, own_manifests), reg.hardware, reg.models)

    tmp = Path(tempfile.mkdtemp(prefix="opsbench-calibration-"))
    try:
        for f in args.files:
            res = CliRunner().invoke(
                ingest,
                ["llama-bench", str(f), "--model", args.model, "--out", str(tmp), "--registry", str(args.registry)],
            )
            if res.exit_code != 0:
                print(res.output, file=sys.stderr)
                return res.exit_code
        lb_df, lb_manifests = load_results(tmp)
        lb = calibrate_from(lb_df, lb_manifests, load_perf_records(tmp, lb_manifests), reg.hardware, reg.models)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def show(title: str, cal: object) -> None:
        print(f"\n{title}")
        for r in cal.loo:  # type: ignore[attr-defined]
            m = r.measurement
            err = "n/a" if r.error is None else f"{r.error:+.1%}"
            pred = "n/a" if r.predicted_tps is None else f"{r.predicted_tps:.1f}"
            print(
                f"  {m.source}: {m.model_id} on {m.machine_id} [{' × '.join(m.key)}] "
                f"measured {m.measured_tps:.1f} tok/s of {m.ceiling_tps:.1f} ({m.efficiency:.1%}); "
                f"predicted {pred}: error {err} from {r.basis}"
            )
        for u in cal.unjoined:  # type: ignore[attr-defined]
            print(f"  left out: {u}")
        sm = cal.summary()  # type: ignore[attr-defined]
        if sm.mean_abs_error is None:
            print("  leave-one-out: no measurement has another to be predicted from")
        else:
            print(
                f"  leave-one-out: mean |error| {sm.mean_abs_error:.1%}, max {sm.max_abs_error:.1%} over "
                f"{sm.n} measurements ({sm.within_group_n} within their own runtime × quantization × backend)"
            )

    show("ingested llama-bench results", lb)
    show(f"our own runs ({args.runs})", own)
    show("both together", fit_calibration([r.measurement for r in (*lb.loo, *own.loo)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
