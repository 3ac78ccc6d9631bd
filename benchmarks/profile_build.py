"""Profile one `opsbench build` in-process: where the build's time and memory go.

Called by ``benchmarks/build_scale.py --profile`` as ``python profile_build.py MODE WORK BUILD_ARGS...``
(a module of its own, not a string written to disk, so ruff and a reader see it). ``timers``
wraps the build's stages in wall-clock timers with the process's peak RSS; ``cprofile`` runs
the same build under cProfile, and its mkdocs subprocess too (mkdocs is part of the build time).
"""

from __future__ import annotations

import cProfile
import functools
import io
import pstats
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

timings: dict[str, list[float]] = {}
high: dict[str, float] = {}  # the process's peak RSS (MB) when the stage last returned


def timed(module: Any, name: str, label: str | None = None) -> None:
    """Replace ``module.name`` by a wrapper that records its wall time and the peak RSS after it."""
    fn = getattr(module, name)
    key = label or name

    @functools.wraps(fn)
    def wrapper(*a: Any, **k: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            timings.setdefault(key, []).append(time.perf_counter() - t)
            high[key] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    setattr(module, name, wrapper)


def _wrap_mkdocs(mode: str, work: Path) -> None:
    """Time the mkdocs subprocess (and profile it under ``cprofile``)."""
    real_run: Callable[..., Any] = subprocess.run

    def run(cmd: list[str], *a: Any, **k: Any) -> Any:
        if "mkdocs" in cmd and mode == "cprofile":
            cmd = [cmd[0], "-m", "cProfile", "-o", str(work / "mkdocs.prof"), *cmd[1:]]
        t = time.perf_counter()
        try:
            return real_run(cmd, *a, **k)
        finally:
            if "mkdocs" in cmd:
                timings.setdefault("mkdocs build (subprocess)", []).append(time.perf_counter() - t)

    subprocess.run = run  # type: ignore[assignment]


def _print_stats(source: Any, sort: str, limit: int, lines: slice, title: str, restrict: str | None = None) -> None:
    s = io.StringIO()
    stats = pstats.Stats(source, stream=s).sort_stats(sort)
    if restrict:
        stats.print_stats(restrict, limit)
    else:
        stats.print_stats(limit)
    print(f"\n=== {title}")
    print("\n".join(s.getvalue().splitlines()[lines]))


def main(argv: list[str]) -> None:
    mode, work, args = argv[0], Path(argv[1]), argv[2:]
    import generator.site.build as build
    import generator.site.pages as pages
    from generator.cli import cli

    _wrap_mkdocs(mode, work)
    if mode == "timers":
        for name in ("load_registry", "scan_runs", "build_plan", "_vega_bundle"):
            if hasattr(build, name):
                timed(build, name)
        for name in [n for n in dir(pages) if n.endswith(("_page", "_index", "gather"))]:
            timed(pages, name, f"  pages.{name}")
        from generator.site import charts

        timed(charts.Chart, "svg", "Chart.svg (vl-convert)")
        import generator.analysis.leaderboard as lb

        prefix = "generator.site.pages"
        for mod in {m for m in sys.modules.values() if getattr(m, "__name__", "").startswith(prefix)}:
            if getattr(mod, "leaderboard", None) is lb.leaderboard:
                timed(mod, "leaderboard", "    analysis.leaderboard (all calls)")
        t0 = time.perf_counter()
        cli.main(["build", *args], standalone_mode=False)
        total = time.perf_counter() - t0
        print(f"\n=== wall-clock stages of one build ({total:.1f} s in all); peak RSS of the process so far")
        for label, ts in timings.items():
            calls = f"  ({len(ts)} calls)" if len(ts) > 1 else ""
            print(f"{sum(ts):8.2f} s  {high.get(label, 0):7,.0f} MB  {label}{calls}")
        return
    prof = cProfile.Profile()
    prof.enable()
    cli.main(["build", *args], standalone_mode=False)
    prof.disable()
    _print_stats(
        prof,
        "cumulative",
        30,
        slice(6, 42),
        "cProfile of the in-process build, generator/ functions by cumulative time",
        r"generator/(site|analysis|runs|registry/loader)",
    )
    _print_stats(prof, "tottime", 15, slice(6, 26), "in-process, by own time")
    mk = str(work / "mkdocs.prof")
    _print_stats(mk, "cumulative", 25, slice(6, 36), "cProfile of the mkdocs subprocess, by cumulative time")
    _print_stats(mk, "tottime", 12, slice(6, 22), "mkdocs, by own time")


if __name__ == "__main__":
    main(sys.argv[1:])
