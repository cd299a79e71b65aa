"""Python's multiprocessing.Pool on the big maps of bench/map_bench.ts.

Run: python3 bench/peers/python_map.py [n ...]   (default: 1000000 4000000)
For each n, in a fresh Pool(2) (fork, Linux's default): one cold
`pool.map(noop, items)` (automatic chunks, as a user writes it), then five
warm ones; and the peak resident memory (VmHWM) of the parent and of each
worker after them. Prints one JSON object per n, for bench/RESULTS.md.
"""
import json
import multiprocessing as mp
import os
import sys
import time


def noop(x):
    return x


def hwm_mib(pid="self"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(n):
    with mp.Pool(2) as pool:
        pool.map(noop, [1, 2, 3, 4], 1)  # both workers started
        items = list(range(n))
        t = time.perf_counter()
        out = pool.map(noop, items)
        cold = time.perf_counter() - t
        assert len(out) == n
        del out
        warm = []
        for _ in range(5):
            t = time.perf_counter()
            pool.map(noop, items)
            warm.append(time.perf_counter() - t)
        workers = [hwm_mib(p.pid) for p in mp.active_children()]
        return {
            "n": n,
            "python": sys.version.split()[0],
            "cold_ms": round(cold * 1000, 1),
            "warm_avg_ms": round(sum(warm) / len(warm) * 1000, 1),
            "warm_min_ms": round(min(warm) * 1000, 1),
            "parent_hwm_mib": round(hwm_mib(), 1),
            "workers_hwm_mib": [round(w, 1) for w in workers],
        }


def main():
    sizes = [int(float(a)) for a in sys.argv[1:]] or [1_000_000, 4_000_000]
    for n in sizes:
        print(json.dumps(measure(n)), flush=True)


if __name__ == "__main__":
    main()
