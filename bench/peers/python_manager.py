"""Python's multiprocessing.Manager start, for bench/manager_bench.ts.

Run: python3 bench/peers/python_manager.py [runs]   (default 10)
Times `Manager()` until a managed dict is made and one `get` answered
(the same span as the "startup" row of bench/manager_bench.ts), then
shuts it down, `runs` times in one program. Prints JSON: the first
(a fresh program's), then avg, min and p50 of all, in ms.
"""
import json
import multiprocessing as mp
import sys
import time


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        m = mp.Manager()
        d = m.dict({"k": 1})
        d.get("k")
        times.append((time.perf_counter() - t) * 1000)
        m.shutdown()
    first = times[0]
    times.sort()
    print(json.dumps({
        "python": sys.version.split()[0],
        "start_method": mp.get_start_method(),
        "runs": runs,
        "first_ms": round(first, 1),
        "avg_ms": round(sum(times) / runs, 1),
        "min_ms": round(times[0], 1),
        "p50_ms": round(times[runs // 2], 1),
    }))


if __name__ == "__main__":
    main()
