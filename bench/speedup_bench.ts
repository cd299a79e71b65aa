/**
 * Speed-up of `Pool(k).map` over a serial loop, by task size and worker
 * count: the data behind `bench/speedup.svg` (`deno task bench:chart`).
 *
 * Run: deno bench --allow-all bench/speedup_bench.ts
 *
 * - `cpu <size>`: about 128 ms of CPU work per iteration, cut into tasks of
 *   10 µs, 100 µs, 1 ms or 10 ms, run serially on this thread (the group's
 *   baseline) and by `Pool(k).map` with automatic chunking for k = 1 … N
 *   (N = `cpuCount()`), the call a user would write.
 * - `noop`: 20,000 no-op `applyAsync` calls in flight on `Pool(N)`.
 */
import { cpuCount, parentProcess, Pool } from "../mod.ts";
import { burn, noop, sizeLabel, SIZES, TASKS } from "./_tasks.ts";

// Under `deno bench`, `import.meta.main` is false: the benchmarks run only
// in the main program, not in workers that might import this module.
if (parentProcess() === null) {
  const workers = Math.max(1, cpuCount());
  const pools: Pool[] = [];
  for (let k = 1; k <= workers; k++) {
    const pool = new Pool(k, { module: TASKS });
    await pool.map(noop, Array.from({ length: 4 * k }, (_, i) => i), 1);
    pools.push(pool);
  }
  for (const us of SIZES) {
    const items = new Array(Math.max(16, Math.round(128_000 / us))).fill(us);
    const group = `cpu ${sizeLabel(us)}`;
    Deno.bench({
      name: `${group}: serial`,
      group,
      baseline: true,
      n: 10,
      warmup: 2,
      fn() {
        for (const u of items) burn(u);
      },
    });
    for (const pool of pools) {
      const k = pools.indexOf(pool) + 1;
      Deno.bench({
        name: `${group}: Pool(${k}).map`,
        group,
        n: 10,
        warmup: 2,
        async fn() {
          await pool.map(burn, items);
        },
      });
    }
  }
  const widest = pools.at(-1)!;
  Deno.bench({
    name: `noop: applyAsync x20000 on Pool(${workers})`,
    group: "noop",
    n: 10,
    warmup: 2,
    async fn() {
      const rs = new Array(20_000);
      for (let i = 0; i < rs.length; i++) {
        rs[i] = widest.applyAsync(noop, [i]);
      }
      await Promise.all(rs);
    },
  });
}
