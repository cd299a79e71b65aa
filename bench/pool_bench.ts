/**
 * Pool throughput and latency (issue: Process and Pool).
 *
 * Run: deno bench --allow-all bench/pool_bench.ts
 * Figures and the machine are in bench/RESULTS.md.
 *
 * - cpu/<size>: 64 CPU-bound tasks of about 100 µs, 1 ms and 10 ms, run
 *   serially on this thread vs spread over Pool(2) (`map`, chunksize 1).
 * - cpu uneven: the same with 4 tasks of 1 ms first, then 60 of 100 µs.
 * - cpu 100us floor: the 100 µs map on two bare `node:worker_threads`
 *   workers that take tasks from one shared index and answer in one
 *   message each (`bench/_claim_worker.ts`): the floor of the pool's design
 *   on this machine, timed in the same run.
 * - noop/applyAsync: 20,000 no-op tasks in flight at once.
 * - noop/map 1M: `map` over 1,000,000 no-op items, automatic chunking.
 * - latency/apply: one `await pool.apply(noop)` at a time.
 * - startup: `new Pool(2)` to the first result, next to the platform's
 *   floor: an empty `node:worker_threads` worker's start to its first
 *   message (`bench/_empty_worker.ts`). The difference is ours. Only that
 *   span is timed, not the teardown after it.
 * - big: `await pool.apply(byteLength, [new Uint8Array(16 MiB)])`, the
 *   array copied (not transferred) to the worker.
 */
import { Worker as NodeWorker } from "node:worker_threads";
import { parentProcess, Pool } from "../mod.ts";
import { burn, byteLength, noop, TASKS } from "./_tasks.ts";

const HERE = TASKS;

// Workers import bench/_tasks.ts to find `burn` and `noop`; the benchmarks
// themselves run only in the main program (`import.meta.main` is false
// under `deno bench`, so it cannot be the guard here).
if (parentProcess() === null) {
  const pool = new Pool(2, { module: HERE });
  // Warm both workers (module load, function lookup) before timing.
  await pool.map(noop, [1, 2, 3, 4], 1);

  for (const us of [100, 1000, 10_000]) {
    const n = 64;
    const items = new Array(n).fill(us);
    const label = us >= 1000 ? `${us / 1000}ms` : `${us}us`;
    Deno.bench({
      name: `cpu ${label} x${n}: serial`,
      group: `cpu ${label}`,
      baseline: true,
      fn() {
        for (const u of items) burn(u);
      },
    });
    Deno.bench({
      name: `cpu ${label} x${n}: Pool(2).map`,
      group: `cpu ${label}`,
      async fn() {
        await pool.map(burn, items, 1);
      },
    });
  }

  // The floor of the 100 µs row: two bare workers, no pool.
  const bare = [0, 1].map(() => {
    const w = new NodeWorker(new URL("./_claim_worker.ts", import.meta.url));
    w.unref();
    return w;
  });
  const floorArgs = new Float64Array(64).fill(100);
  Deno.bench({
    name: "cpu 100us x64: floor, 2 bare workers",
    group: "cpu 100us",
    async fn() {
      const next = new Int32Array(new SharedArrayBuffer(4));
      // Held only while they work: idle, they do not keep the program alive.
      await Promise.all(bare.map((w) =>
        new Promise((resolve) => {
          w.ref();
          w.once("message", (m) => {
            w.unref();
            resolve(m);
          });
          w.postMessage({ args: floorArgs, next });
        })
      ));
    },
  });

  // Tasks of uneven length, the long ones first, chunksize 1: a worker
  // busy with a long task should hold back none of the short ones.
  const uneven = [...new Array(4).fill(1000), ...new Array(60).fill(100)];
  Deno.bench({
    name: "cpu uneven (4 x 1 ms, then 60 x 100 us): serial",
    group: "cpu uneven",
    baseline: true,
    fn() {
      for (const u of uneven) burn(u);
    },
  });
  Deno.bench({
    name: "cpu uneven (4 x 1 ms, then 60 x 100 us): Pool(2).map",
    group: "cpu uneven",
    async fn() {
      await pool.map(burn, uneven, 1);
    },
  });

  Deno.bench({
    name: "noop applyAsync x20000 in flight",
    group: "noop",
    async fn() {
      const rs = new Array(20_000);
      for (let i = 0; i < rs.length; i++) rs[i] = pool.applyAsync(noop, [i]);
      await Promise.all(rs);
    },
  });

  const million = Array.from({ length: 1_000_000 }, (_, i) => i);
  Deno.bench({
    name: "noop map over 1,000,000 items (auto chunksize)",
    group: "noop",
    n: 10,
    async fn() {
      await pool.map(noop, million);
    },
  });

  Deno.bench({
    name: "latency: await pool.apply(noop), one at a time",
    group: "latency",
    async fn() {
      await pool.apply(noop, [1]);
    },
  });

  const big = new Uint8Array(16 << 20);
  Deno.bench({
    name: "apply with a 16 MiB Uint8Array",
    group: "big",
    n: 10,
    async fn() {
      await pool.apply(byteLength, [big]);
    },
  });
  Deno.bench({
    name: "structuredClone of the same 16 MiB Uint8Array (reference)",
    group: "big",
    baseline: true,
    n: 10,
    fn() {
      structuredClone(big);
    },
  });

  const EMPTY_WORKER = new URL("./_empty_worker.ts", import.meta.url);
  Deno.bench({
    name: "startup: empty node:worker_threads worker to first message",
    group: "startup",
    baseline: true,
    n: 20,
    async fn(b) {
      b.start();
      const w = new NodeWorker(EMPTY_WORKER);
      await new Promise((resolve) => w.once("message", resolve));
      b.end();
      await w.terminate();
    },
  });

  Deno.bench({
    name: "startup: new Pool(2) to first result",
    group: "startup",
    n: 20,
    async fn(b) {
      b.start();
      const p = new Pool(2, { module: HERE });
      await p.apply(noop, [1]);
      b.end();
      p.terminate();
      await p.join();
    },
  });
}
