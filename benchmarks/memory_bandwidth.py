"""Memory read bandwidth of this machine, for ``bandwidth_gbs`` in ``registry/hardware.yaml``.

Decode speed on a CPU is bounded by how fast the weights can be read (see the
hardware page's ceiling), so a machine's bandwidth figure should be measured the
way llama.cpp reads: every thread streaming its share of a buffer far larger than
the caches. This sums a float64 buffer (default 2 GB) split across 1..N threads
(NumPy releases the GIL while it sums) and prints the best of several passes.

    .venv/bin/python benchmarks/memory_bandwidth.py [--gb 2] [--passes 5] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def read_gbs(buf: np.ndarray, threads: int, passes: int) -> float:
    parts = np.array_split(buf, threads)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(np.sum, parts))  # warm: page tables, thread start
        best = 0.0
        for _ in range(passes):
            t0 = time.perf_counter()
            list(pool.map(np.sum, parts))
            best = max(best, buf.nbytes / (time.perf_counter() - t0) / 1e9)
    return best


def main() -> None:
    cores = os.cpu_count() or 1
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gb", type=float, default=2.0, help="buffer size in GB (far above the caches)")
    ap.add_argument("--passes", type=int, default=5)
    ap.add_argument("--threads", default=",".join(str(n) for n in range(1, cores + 1)))
    args = ap.parse_args()
    buf = np.ones(int(args.gb * 1e9) // 8)  # np.ones writes every page, so none is lazily zero
    print(f"{'threads':>7} {'read GB/s':>9}")
    for n in [int(x) for x in args.threads.split(",")]:
        print(f"{n:>7} {read_gbs(buf, n, args.passes):>9.1f}")
    print(f"buffer {buf.nbytes / 1e9:.1f} GB, best of {args.passes} passes; {cores} cores")


if __name__ == "__main__":
    main()
