"""Python's multiprocessing.Pool on the workloads of bench/speedup_bench.ts.

Run: python3 bench/peers/python_pool.py [workers]
Prints JSON: {"noop_tasks_per_s": ..., "speedup": {"<us>": ...}} for the
chart and for bench/RESULTS.md. Uses the platform's default start method
(fork on Linux), as a Python user would.
"""
import json
import multiprocessing as mp
import os
import sys
import time


def burn(us):
    end = time.perf_counter() + us / 1e6
    x = 0.0
    while time.perf_counter() < end:
        for i in range(100):
            x += (i + x) ** 0.5 if i + x >= 0 else 0
    return x


def noop(x):
    return x


def best(fn, runs=5):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count()
    out = {"workers": workers, "python": sys.version.split()[0], "speedup": {}}
    with mp.Pool(workers) as pool:
        pool.map(noop, range(4 * workers), 1)
        n = 20_000
        t = best(lambda: [r.get() for r in [pool.apply_async(noop, (i,)) for i in range(n)]])
        out["noop_tasks_per_s"] = n / t
        # 64 tasks of 100 us, chunksize 1 (bench/pool_bench.ts "cpu 100us").
        items = [100] * 64
        serial = best(lambda: [burn(u) for u in items], 20)
        parallel = best(lambda: pool.map(burn, items, 1), 20)
        out["chunksize1_64x100us"] = serial / parallel
        # 4 tasks of 1 ms, then 60 of 100 us (pool_bench.ts "cpu uneven").
        items = [1000] * 4 + [100] * 60
        serial = best(lambda: [burn(u) for u in items], 20)
        parallel = best(lambda: pool.map(burn, items, 1), 20)
        out["chunksize1_uneven"] = serial / parallel
        for us in (10, 100, 1000, 10_000):
            items = [us] * max(16, round(128_000 / us))
            serial = best(lambda: [burn(u) for u in items], 3)
            parallel = best(lambda: pool.map(burn, items), 3)
            out["speedup"][str(us)] = serial / parallel
    print(json.dumps(out))


if __name__ == "__main__":
    main()
